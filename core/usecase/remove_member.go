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
	target, err := s.member(ctx, p, email)
	if err != nil {
		return domain.Member{}, err
	}
	var removed domain.Member
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPRemovePending, plan: func(org domain.Organization) (domain.Organization, error) {
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		cur, err := s.current(ctx, org, target.ID)
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
		pending := s.newPending(domain.OpRemove)
		pending.Member, pending.Page = cur.Member(), cur.Page
		removed = cur.Member()
		return org.Begin(pending), nil
	}})
	if err != nil {
		return domain.Member{}, err
	}
	return removed, nil
}

// finishRemove carries out a removal's steps; each is idempotent. The
// member's email is given back last, once it is listed nowhere.
func (s *Service) finishRemove(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	p := org.Pending
	if err := s.admins.Delete(ctx, p.Member.AdminID); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPRemoveAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.dropRosterEntry(ctx, org.ID, p.Page, p.Member.AdminID); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPRemoveRoster); err != nil {
		return domain.Organization{}, err
	}
	out, err := s.commit(ctx, org, org.Removed())
	if err != nil {
		return domain.Organization{}, err
	}
	if err := s.releaseAll(ctx, []domain.Claim{p.Member.EmailClaim(org.ID)}); err != nil {
		s.log.WarnContext(ctx, "lifecycle: a removed member's email not released", "org_id", org.ID, "error", err)
	}
	return out, nil
}
