package usecase

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"orgd/core/domain"
)

// This file is an organization's membership: listing members, changing a
// member's role, removing one (or leaving), and the roster steps the other
// operations share. Every change goes through the organization's one
// pending operation (the lifecycle engine), so it is crash-safe and one at
// a time per organization.

// Failpoints of a role change and a removal.
const (
	FPRoleSet       = "setrole.pending"
	FPRoleAdmin     = "setrole.admin"
	FPRemovePending = "remove.pending"
	FPRemoveAdmin   = "remove.admin"
	FPRemoveRoster  = "remove.roster"
)

// MemberPage is one page of an organization's members, in the order they
// joined.
type MemberPage struct {
	Items    []domain.Member
	Page     int
	PageSize int
	Total    int64
}

// ListMembers returns one page (1-based) of the members of the caller's
// organization; the super admin names any organization. It reads the
// organization and the one or two roster pages the page spans: its cost
// does not grow with the number of members.
func (s *Service) ListMembers(ctx context.Context, p domain.Principal, orgName string, page, size int) (MemberPage, error) {
	if err := checkPage(page, size); err != nil {
		return MemberPage{}, err
	}
	org, err := s.memberOrg(ctx, p, orgName, domain.ActListMembers)
	if err != nil {
		return MemberPage{}, err
	}
	out := MemberPage{Page: page, PageSize: size, Total: int64(org.Members)}
	skip, want := (page-1)*size, size
	for i, n := range org.Roster {
		if want == 0 {
			break
		}
		if skip >= n {
			skip -= n
			continue
		}
		members, err := s.rosters.Page(ctx, org.ID, i)
		if err != nil {
			return MemberPage{}, err
		}
		members = members[min(skip, len(members)):]
		out.Items = append(out.Items, members[:min(want, len(members))]...)
		want -= min(want, len(members))
		skip = 0
	}
	return out, nil
}

// memberOrg returns the organization a principal acts on: its own (the
// role allowing act), or for the super admin the one named.
func (s *Service) memberOrg(ctx context.Context, p domain.Principal, orgName string, act domain.Action) (domain.Organization, error) {
	if p.Super {
		if orgName == "" {
			return domain.Organization{}, domain.Errorf(domain.CodeInvalid, "organization_name query parameter is required for the super admin")
		}
		return s.GetOrg(ctx, orgName)
	}
	if orgName != "" {
		return domain.Organization{}, domain.Errorf(domain.CodeInvalid, "organization_name is for the super admin; a member lists its own organization")
	}
	if !domain.Allowed(p.OrgRole, act) {
		return domain.Organization{}, domain.ErrNotAllowed(p.OrgRole, act)
	}
	org, err := s.orgs.ByID(ctx, p.OrgID)
	if err != nil {
		return domain.Organization{}, err
	}
	if !org.Visible() {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return org, nil
}

// member returns the member of the caller's organization with email.
func (s *Service) member(ctx context.Context, p domain.Principal, email string) (domain.Admin, error) {
	e, err := domain.NewEmail(email)
	if err != nil {
		return domain.Admin{}, err
	}
	admin, err := s.adminByEmail(ctx, e)
	if errors.Is(err, domain.ErrAdminNotFound) || (err == nil && admin.OrgID != p.OrgID) {
		return domain.Admin{}, domain.ErrMemberNotFound
	}
	return admin, err
}

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

// caller reads the member p of org again, as the plan of an operation it
// asked must: its role may have changed since its request was
// authenticated (rights follow changes at once), or it may be gone, or
// have changed its password (its token dead either way).
func (s *Service) caller(ctx context.Context, org domain.Organization, p domain.Principal) (domain.Admin, error) {
	admin, err := s.current(ctx, org, p.AdminID)
	if errors.Is(err, domain.ErrMemberNotFound) || (err == nil && admin.CredentialsVersion != p.CredentialsVersion) {
		return admin, domain.ErrInvalidToken
	}
	return admin, err
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

// errEmailHeld says a new member's email belongs to an admin account that
// is not the member's (it holds no claim on it): the operation adding it
// must be undone.
var errEmailHeld = errors.New("email held by another account")

// addMember inserts the account of the member org's pending create or join
// adds, and lists it on its roster page; both idempotent. It returns
// errEmailHeld if another account has the email.
func (s *Service) addMember(ctx context.Context, org domain.Organization) error {
	p := org.Pending
	m := p.Member
	admin := domain.Admin{
		ID: m.AdminID, Email: m.Email, PasswordHash: p.PasswordHash, Role: domain.RoleOrgAdmin,
		OrgID: org.ID, CreatedAt: m.JoinedAt, OrgRole: m.Role, EmailOp: m.EmailOp, Page: p.Page,
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
	return s.putRosterEntry(ctx, org.ID, p.Page, m)
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

// checkPage checks a listing's page (1-based) and page size.
func checkPage(page, size int) error {
	switch {
	case page < 1:
		return domain.Errorf(domain.CodeInvalid, "page must be 1 or more")
	case size < 1 || size > MaxPageSize:
		return domain.Errorf(domain.CodeInvalid, fmt.Sprintf("page_size must be 1 to %d", MaxPageSize))
	case page > MaxPage:
		return domain.Errorf(domain.CodeInvalid, fmt.Sprintf("page must be at most %d", MaxPage))
	}
	return nil
}
