package usecase

import (
	"context"
	"errors"
	"fmt"

	"orgd/core/domain"
)

// EnsureSuperAdmin creates the platform's super admin if no admin has the
// email yet. It is idempotent: an existing super admin is left as it is
// (change its password by changing FIRST_SUPERADMIN_PASSWORD and deleting
// nothing: the stored one wins). An organization admin holding the email is
// an error.
func (s *Service) EnsureSuperAdmin(ctx context.Context, email, password string) (created bool, err error) {
	e, err := domain.NewEmail(email)
	if err != nil {
		return false, fmt.Errorf("FIRST_SUPERADMIN_EMAIL: %w", err)
	}
	pw, err := domain.NewPassword(password)
	if err != nil {
		return false, fmt.Errorf("FIRST_SUPERADMIN_PASSWORD: %w", err)
	}
	existing, err := s.admins.ByEmail(ctx, e)
	if err == nil {
		if existing.Role != domain.RoleSuperAdmin {
			return false, fmt.Errorf("FIRST_SUPERADMIN_EMAIL %s belongs to an organization admin", e)
		}
		return false, nil
	}
	if !errors.Is(err, domain.ErrAdminNotFound) {
		return false, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return false, fmt.Errorf("hash password: %w", err)
	}
	now := s.now()
	err = s.admins.Insert(ctx, domain.Admin{ID: domain.NewID(now), Email: e, PasswordHash: hash, Role: domain.RoleSuperAdmin, CreatedAt: now})
	if errors.Is(err, domain.ErrEmailExists) {
		return s.EnsureSuperAdmin(ctx, email, password) // another replica won the race
	}
	return err == nil, err
}

// Page is one page of a listing.
type Page struct {
	Items    []domain.Organization
	Page     int
	PageSize int
	Total    int64
}

// MaxPageSize bounds ListOrgs' page size.
const MaxPageSize = 100

// ListOrgs returns one page (1-based) of the active organizations in name
// order. Only the super admin may list.
func (s *Service) ListOrgs(ctx context.Context, p domain.Principal, page, size int) (Page, error) {
	if !p.Super {
		return Page{}, domain.ErrSuperAdminOnly
	}
	if page < 1 {
		return Page{}, domain.Errorf(domain.CodeInvalid, "page must be 1 or more")
	}
	if size < 1 || size > MaxPageSize {
		return Page{}, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("page_size must be 1 to %d", MaxPageSize))
	}
	items, total, err := s.orgs.List(ctx, (page-1)*size, size)
	if err != nil {
		return Page{}, err
	}
	return Page{Items: items, Page: page, PageSize: size, Total: total}, nil
}
