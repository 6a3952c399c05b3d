package usecase

import (
	"context"

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
