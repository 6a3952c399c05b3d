package usecase

import (
	"context"

	"orgd/core/domain"
)

// Failpoints of a removal.
const (
	FPRemovePending = "remove.pending"
	FPRemoveAdmin   = "remove.admin"
	FPRemoveRoster  = "remove.roster"
)

// RemoveMember removes the member with email from the caller's
// organization; with the caller's own email, the caller leaves. Its
// account goes (its tokens die with it), and its email is free again.
func (s *Service) RemoveMember(ctx context.Context, p domain.Principal, email string) (domain.Member, error) {
	if p.Super {
		return domain.Member{}, domain.ErrNoOrganization
	}
	e, err := domain.NewEmail(email)
	if err != nil {
		return domain.Member{}, err
	}
	var removed domain.Member
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPRemovePending, plan: func(org domain.Organization) (domain.Organization, error) {
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		cur, err := s.memberOf(ctx, org, e)
		if err != nil {
			return org, err
		}
		// Leaving is every member's right; removing another, the table's.
		if cur.ID != me.ID && !domain.Allowed(me.OrgRole, domain.ActRemove, cur.OrgRole) {
			return org, domain.ErrNotAllowed(me.OrgRole, domain.ActRemove)
		}
		if org.LastOwner(cur.ID) {
			return org, domain.ErrLastOwner
		}
		pending, err := s.intent(ctx, callerActor(me), opRemove, s.opID(), &removeOp{Member: cur.Member(), Page: cur.Page})
		if err != nil {
			return org, err
		}
		removed = cur.Member()
		return org.Begin(pending), nil
	}})
	if err != nil {
		return domain.Member{}, err
	}
	return removed, nil
}

// opRemove is the removal operation (a member removed, or leaving).
const opRemove domain.Op = "remove"

// removeOp is a removal's intent: the member (as it was when the removal
// began) and the roster page that lists it.
type removeOp struct {
	Member domain.Member `json:"member"`
	Page   int           `json:"page,omitempty"`
}

// claims: a removal takes none (it gives the member's email back).
func (op *removeOp) claims(domain.Organization) []domain.Claim { return nil }

// account is the member's, which it deletes.
func (op *removeOp) account() domain.ID { return op.Member.AdminID }

// finish carries out a removal's steps; each is idempotent. The member's
// email is given back last, once it is listed nowhere.
func (op *removeOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.admins.Delete(ctx, op.Member.AdminID); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPRemoveAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.dropRosterEntry(ctx, org.ID, op.Page, op.Member.AdminID); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPRemoveRoster); err != nil {
		return domain.Organization{}, err
	}
	out, err := s.commit(ctx, op, org, org.Removed(op.Member, op.Page))
	if err != nil {
		return domain.Organization{}, err
	}
	if err := s.releaseAll(ctx, []domain.Claim{op.Member.EmailClaim(org.ID)}); err != nil {
		s.log.WarnContext(ctx, "lifecycle: a removed member's email not released", "org_id", org.ID, "error", err)
	}
	return out, nil
}

// events: the member was removed, or left (its own removal).
func (op *removeOp) events(org, _ domain.Organization) []domain.Event {
	reason := "removed"
	if org.Pending.Actor.ID == op.Member.AdminID {
		reason = "left"
	}
	return []domain.Event{happened(EventMemberRemoved, struct {
		AdminID domain.ID      `json:"admin_id"`
		Email   domain.Email   `json:"email"`
		Role    domain.OrgRole `json:"role"`
		Reason  string         `json:"reason"`
		By      domain.ID      `json:"by"`
	}{op.Member.AdminID, op.Member.Email, op.Member.Role, reason, org.Pending.Actor.ID})}
}

// lose: a removal holds no claims to lose.
func (op *removeOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}
