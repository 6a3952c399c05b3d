package usecase

import (
	"context"
	"errors"
	"fmt"

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
