package usecase

import (
	"context"
	"encoding/base64"
	"strings"

	"orgd/core/domain"
)

// Page is one page of a listing.
type Page struct {
	Items    []domain.Organization
	Page     int
	PageSize int
	Total    int64
}

// ListOrgs' bounds: a page size, and a page number far beyond any real
// listing, so that the offset (page-1)*size can never overflow.
const (
	MaxPageSize = 100
	MaxPage     = 1_000_000
)

// ListOrgs returns one page (1-based) of the active organizations in name
// order. Only the super admin may list.
func (s *Service) ListOrgs(ctx context.Context, p domain.Principal, page, size int) (Page, error) {
	if !p.Super {
		return Page{}, domain.ErrSuperAdminOnly
	}
	if err := checkPage(page, size); err != nil {
		return Page{}, err
	}
	items, total, err := s.orgs.List(ctx, (page-1)*size, size)
	if err != nil {
		return Page{}, err
	}
	return Page{Items: items, Page: page, PageSize: size, Total: total}, nil
}

// OrgPage is one page of a keyset listing, and the cursor to go on from.
type OrgPage struct {
	Items    []domain.Organization
	PageSize int
	// Next is the cursor after the last item (after itself when the page
	// is empty). A walk lists once every organization that exists
	// throughout it; one created meanwhile may or may not be in it (ids
	// follow creation only to the second).
	Next string
}

// orgCursorPrefix starts every organization cursor (a version).
const orgCursorPrefix = "o1:"

func encodeOrgCursor(id domain.ID) string {
	return base64.RawURLEncoding.EncodeToString([]byte(orgCursorPrefix + string(id)))
}

// decodeOrgCursor reads a cursor ListOrgsAfter gave out (empty: the
// start).
func decodeOrgCursor(c string) (domain.ID, error) {
	if c == "" {
		return "", nil
	}
	raw, ok := domain.DecodeBase64URL(c)
	id, found := strings.CutPrefix(string(raw), orgCursorPrefix)
	if !ok || !found || !domain.ID(id).Valid() {
		return "", domain.Errorf(domain.CodeInvalid, "after is not a cursor this API gave out")
	}
	return domain.ID(id), nil
}

// ListOrgsAfter returns up to size active organizations after cursor
// after (empty: from the first), in id order, and the cursor to go
// on from: keyset paging, whose cost is the page's whatever the number of
// organizations or the page's place. Only the super admin may list.
func (s *Service) ListOrgsAfter(ctx context.Context, p domain.Principal, after string, size int) (OrgPage, error) {
	if !p.Super {
		return OrgPage{}, domain.ErrSuperAdminOnly
	}
	if err := checkPage(1, size); err != nil {
		return OrgPage{}, err
	}
	from, err := decodeOrgCursor(after)
	if err != nil {
		return OrgPage{}, err
	}
	items, err := s.orgs.ListAfter(ctx, from, size)
	if err != nil {
		return OrgPage{}, err
	}
	next := after
	if len(items) > 0 {
		next = encodeOrgCursor(items[len(items)-1].ID)
	}
	return OrgPage{Items: items, PageSize: size, Next: next}, nil
}
