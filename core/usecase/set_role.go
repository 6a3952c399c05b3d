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
	target, err := s.member(ctx, p, email)
	if err != nil {
		return domain.Member{}, err
	}
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPRoleSet, plan: func(org domain.Organization) (domain.Organization, error) {
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		cur, err := s.current(ctx, org, target.ID)
		if err != nil {
			return org, err
		}
		if !domain.Allowed(me.OrgRole, domain.ActChangeRole, cur.OrgRole, newRole) {
			return org, domain.ErrNotAllowed(me.OrgRole, domain.ActChangeRole)
		}
		if cur.OrgRole == newRole {
			return org, errUnchanged
		}
		if newRole != domain.RoleOwner && org.LastOwner(cur.ID) {
			return org, domain.ErrLastOwner
		}
		pending := s.newPending(domain.OpSetRole)
		pending.Member, pending.Page, pending.NewRole = cur.Member(), cur.Page, newRole
		return org.Begin(pending), nil
	}})
	if err != nil {
		return domain.Member{}, err
	}
	m := target.Member()
	m.Role = newRole
	return m, nil
}

// finishSetRole carries out a role change's steps; each is idempotent.
func (s *Service) finishSetRole(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	p := org.Pending
	admin, err := s.admins.ByID(ctx, p.Member.AdminID)
	if errors.Is(err, domain.ErrAdminNotFound) {
		return s.commit(ctx, org, org.Abort()) // gone with its organization's delete, say
	}
	if err != nil {
		return domain.Organization{}, err
	}
	admin.OrgRole = p.NewRole
	if err := s.admins.Update(ctx, admin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPRoleAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.putRosterEntry(ctx, org.ID, p.Page, admin.Member()); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, org, org.RoleSet(s.now()))
}
