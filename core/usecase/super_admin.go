package usecase

import (
	"context"
	"errors"
	"fmt"
	"io"

	"orgd/core/domain"
)

// EnsureSuperAdmin creates the platform's super admin if no admin has the
// email yet. It is idempotent: an existing super admin is left as it is
// (its stored password wins over FIRST_SUPERADMIN_PASSWORD). An
// organization admin holding or acquiring the email is an error.
//
// Steps: claim the email (a claim with no organization), insert the admin.
// A claim left by a start that died between the two is taken over.
func (s *Service) EnsureSuperAdmin(ctx context.Context, email, password string) (created bool, err error) {
	e, err := domain.NewEmail(email)
	if err != nil {
		return false, fmt.Errorf("FIRST_SUPERADMIN_EMAIL: %w", err)
	}
	pw, err := domain.NewPassword(password)
	if err != nil {
		return false, fmt.Errorf("FIRST_SUPERADMIN_PASSWORD: %w", err)
	}
	for range 3 {
		created, err := s.ensureSuperAdmin(ctx, e, pw)
		if !errors.Is(err, domain.ErrEmailExists) {
			return created, err
		}
		// Another replica inserted it first: look again.
	}
	return false, fmt.Errorf("FIRST_SUPERADMIN_EMAIL %s: %w", e, domain.ErrEmailExists)
}

func (s *Service) ensureSuperAdmin(ctx context.Context, e domain.Email, pw domain.Password) (bool, error) {
	existing, err := s.adminByEmail(ctx, e)
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
	claim := domain.Claim{Kind: domain.KindEmail, Key: string(e), AdminID: domain.NewID(now)}
	if err := s.reserve(ctx, claim); errors.Is(err, domain.ErrEmailExists) {
		held, err := s.emails.reg.Claim(ctx, claim.Key)
		if err != nil {
			return false, err
		}
		if held.OrgID != "" {
			return false, fmt.Errorf("FIRST_SUPERADMIN_EMAIL %s belongs to an organization admin", e)
		}
		claim = held // an earlier start's claim, or a racing replica's: one ID wins
	} else if err != nil {
		return false, err
	}
	err = s.admins.Insert(ctx, domain.Admin{ID: claim.AdminID, Email: e, PasswordHash: hash, Role: domain.RoleSuperAdmin, CreatedAt: now})
	return err == nil, err
}

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
	if page < 1 {
		return Page{}, domain.Errorf(domain.CodeInvalid, "page must be 1 or more")
	}
	if size < 1 || size > MaxPageSize {
		return Page{}, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("page_size must be 1 to %d", MaxPageSize))
	}
	if page > MaxPage {
		return Page{}, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("page must be at most %d", MaxPage))
	}
	items, total, err := s.orgs.List(ctx, (page-1)*size, size)
	if err != nil {
		return Page{}, err
	}
	return Page{Items: items, Page: page, PageSize: size, Total: total}, nil
}

// Snapshot writes a point-in-time snapshot of the whole store to the
// writer open returns, which it calls only once the super admin is
// authorized and the store can take one.
func (s *Service) Snapshot(ctx context.Context, p domain.Principal, open func() io.Writer) error {
	if !p.Super {
		return domain.ErrSuperAdminOnly
	}
	if s.snaps == nil {
		return domain.ErrNoSnapshots
	}
	return s.snaps.Snapshot(ctx, &lazyWriter{open: open})
}

// lazyWriter opens its destination at the first write, so that a snapshot
// refused before its first byte (one already running) is still an error
// answer.
type lazyWriter struct {
	open func() io.Writer
	w    io.Writer
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if l.w == nil {
		l.w = l.open()
	}
	return l.w.Write(b)
}
