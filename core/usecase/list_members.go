package usecase

import (
	"context"
	"fmt"

	"orgd/core/domain"
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
