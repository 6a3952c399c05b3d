package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"orgd/core/domain"
)

// This file is what the membership use cases share: reading a caller or a
// member again inside a plan, adding an account, and the roster steps.
// Every change goes through the organization's one pending operation (the
// lifecycle engine), so it is crash-safe and one at a time per
// organization.

// memberOf returns the member of org that has email now, as the plan of
// an operation on it must read it: since the request began, the member
// may have changed its email (then another may have taken it), or left.
func (s *Service) memberOf(ctx context.Context, org domain.Organization, email domain.Email) (domain.Admin, error) {
	if !org.Visible() {
		return domain.Admin{}, domain.ErrOrgNotFound
	}
	admin, err := s.adminByEmail(ctx, email)
	if errors.Is(err, domain.ErrAdminNotFound) || (err == nil && admin.OrgID != org.ID) {
		return domain.Admin{}, domain.ErrMemberNotFound
	}
	return admin, err
}

// current reads member id of org again, as the plan of an operation on it
// must: it may have changed, or left, since the request began.
func (s *Service) current(ctx context.Context, org domain.Organization, id domain.ID) (domain.Admin, error) {
	if !org.Visible() {
		return domain.Admin{}, domain.ErrOrgNotFound
	}
	admin, err := s.admins.ByID(ctx, id)
	if errors.Is(err, domain.ErrAdminNotFound) || (err == nil && admin.OrgID != org.ID) {
		return domain.Admin{}, domain.ErrMemberNotFound
	}
	return admin, err
}

// callerActor is caller, an organization's member, as the actor of a
// change it asks.
func callerActor(caller domain.Admin) domain.Actor {
	return domain.Actor{ID: caller.ID, Email: caller.Email, Kind: domain.ActorAdmin}
}

// caller reads the member p of org again, as the plan of an operation it
// asked must: its role may have changed since its request was
// authenticated (rights follow changes at once), or it may be gone, or
// have changed its password (its token dead either way).
func (s *Service) caller(ctx context.Context, org domain.Organization, p domain.Principal) (domain.Admin, error) {
	if org.Deactivated() {
		return domain.Admin{}, domain.ErrDeactivated
	}
	admin, err := s.current(ctx, org, p.AdminID)
	if errors.Is(err, domain.ErrMemberNotFound) || (err == nil && admin.CredentialsVersion != p.CredentialsVersion) {
		return admin, domain.ErrInvalidToken
	}
	return admin, err
}

// errEmailHeld says a new member's email belongs to an admin account that
// is not the member's (it holds no claim on it): the operation adding it
// must be undone.
var errEmailHeld = errors.New("email held by another account")

// addMember inserts the account of member m, whom org's pending create or
// join adds with password hash hash, and lists it on roster page page;
// both idempotent. It returns errEmailHeld if another account has the
// email.
func (s *Service) addMember(ctx context.Context, org domain.Organization, m domain.Member, page int, hash string) error {
	admin := domain.Admin{
		ID: m.AdminID, Email: m.Email, PasswordHash: hash, Role: domain.RoleOrgAdmin,
		OrgID: org.ID, CreatedAt: m.JoinedAt, OrgRole: m.Role, EmailOp: m.EmailOp, Page: page,
	}
	if err := s.admins.Insert(ctx, admin); errors.Is(err, domain.ErrEmailExists) {
		// Inserted by an earlier attempt of this operation, or the email is
		// another account's.
		prev, err := s.admins.ByID(ctx, admin.ID)
		if errors.Is(err, domain.ErrAdminNotFound) {
			return errEmailHeld
		}
		if err != nil {
			return err
		}
		if prev.OrgID != org.ID {
			return fmt.Errorf("admin %s belongs to organization %s, not %s", prev.ID, prev.OrgID, org.ID)
		}
	} else if err != nil {
		return err
	}
	return s.putRosterEntry(ctx, org.ID, page, m)
}

// putRosterEntry lists m on page i of org's roster, in place of its entry
// there if it has one, else after the others.
func (s *Service) putRosterEntry(ctx context.Context, org domain.ID, i int, m domain.Member) error {
	page, err := s.rosters.Page(ctx, org, i)
	if err != nil {
		return err
	}
	page = slices.Clone(page)
	if j := slices.IndexFunc(page, func(x domain.Member) bool { return x.AdminID == m.AdminID }); j >= 0 {
		if page[j].Equal(m) {
			return nil
		}
		page[j] = m
	} else {
		page = append(page, m)
	}
	return s.rosters.Put(ctx, org, i, page)
}

// dropRosterEntry takes admin off page i of org's roster.
func (s *Service) dropRosterEntry(ctx context.Context, org domain.ID, i int, admin domain.ID) error {
	page, err := s.rosters.Page(ctx, org, i)
	if err != nil {
		return err
	}
	j := slices.IndexFunc(page, func(x domain.Member) bool { return x.AdminID == admin })
	if j < 0 {
		return nil
	}
	return s.rosters.Put(ctx, org, i, slices.Delete(slices.Clone(page), j, j+1))
}
