package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// Failpoints of a role change.
const (
	FPRoleSet   = "setrole.pending"
	FPRoleAdmin = "setrole.admin"
)

// SetRole gives the member with email, in the caller's organization, a
// new role. Admins and owners change members' and admins' roles; only
// owners make or unmake owners; the last owner stays one.
func (s *Service) SetRole(ctx context.Context, p domain.Principal, email, role string) (domain.Member, error) {
	if p.Super {
		return domain.Member{}, domain.ErrNoOrganization
	}
	newRole, err := domain.NewOrgRole(role)
	if err != nil {
		return domain.Member{}, err
	}
	e, err := domain.NewEmail(email)
	if err != nil {
		return domain.Member{}, err
	}
	var target domain.Admin
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPRoleSet, plan: func(org domain.Organization) (domain.Organization, error) {
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		cur, err := s.memberOf(ctx, org, e)
		if err != nil {
			return org, err
		}
		target = cur
		if !domain.Allowed(me.OrgRole, domain.ActChangeRole, cur.OrgRole, newRole) {
			return org, domain.ErrNotAllowed(me.OrgRole, domain.ActChangeRole)
		}
		if cur.OrgRole == newRole {
			return org, errUnchanged
		}
		if newRole != domain.RoleOwner && org.LastOwner(cur.ID) {
			return org, domain.ErrLastOwner
		}
		pending, err := s.intent(ctx, callerActor(me), opSetRole, s.opID(), &setRoleOp{Member: cur.Member(), Page: cur.Page, NewRole: newRole})
		if err != nil {
			return org, err
		}
		return org.Begin(pending), nil
	}})
	if err != nil {
		return domain.Member{}, err
	}
	m := target.Member()
	m.Role = newRole
	return m, nil
}

// opSetRole is the role change operation.
const opSetRole domain.Op = "setrole"

// setRoleOp is a role change's intent: the member (as it was when the
// change began), the roster page that lists it, and its new role.
type setRoleOp struct {
	Member  domain.Member  `json:"member"`
	Page    int            `json:"page,omitempty"`
	NewRole domain.OrgRole `json:"new_role"`
}

// claims: a role change takes none.
func (op *setRoleOp) claims(domain.Organization) []domain.Claim { return nil }

// account is the member's, whose role it writes.
func (op *setRoleOp) account() domain.ID { return op.Member.AdminID }

// finish carries out a role change's steps; each is idempotent.
func (op *setRoleOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	admin, err := s.admins.ByID(ctx, op.Member.AdminID)
	if errors.Is(err, domain.ErrAdminNotFound) {
		return s.drop(ctx, org) // gone with its organization's delete, say
	}
	if err != nil {
		return domain.Organization{}, err
	}
	admin.OrgRole = op.NewRole
	if err := s.admins.Update(ctx, admin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPRoleAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.putRosterEntry(ctx, org.ID, op.Page, admin.Member()); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.RoleSet(op.Member, op.NewRole, s.now()))
}

// events: the member's role changed.
func (op *setRoleOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventMemberRoleChanged, struct {
		AdminID domain.ID      `json:"admin_id"`
		Email   domain.Email   `json:"email"`
		From    domain.OrgRole `json:"from"`
		To      domain.OrgRole `json:"to"`
	}{op.Member.AdminID, op.Member.Email, op.Member.Role, op.NewRole})}
}

// lose: a role change holds no claims to lose.
func (op *setRoleOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}
