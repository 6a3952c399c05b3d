package usecase

import (
	"context"
	"errors"
	"fmt"

	"orgd/core/domain"
)

// LoginInput is what an admin logs in with.
type LoginInput struct {
	Email    string
	Password string
}

// LoginResult is a fresh access token and whom it is for.
type LoginResult struct {
	Token  string
	Claims domain.Claims
	Admin  domain.Admin
	Org    domain.Organization
}

// Login checks an admin's credentials and issues an access token naming the
// admin and the organization by ID. An unknown email, a wrong password and
// an organization that is not (or no longer) active all give
// domain.ErrInvalidCredentials, at the same cost.
func (s *Service) Login(ctx context.Context, in LoginInput) (LoginResult, error) {
	email, err := domain.NewEmail(in.Email)
	if err != nil {
		return LoginResult{}, err
	}
	if in.Password == "" {
		return LoginResult{}, domain.Errorf(domain.CodeInvalid, "password is required")
	}
	pw := domain.Password(in.Password)
	admin, err := s.admins.ByEmail(ctx, email)
	if errors.Is(err, domain.ErrAdminNotFound) {
		if _, err := s.hasher.Verify(ctx, s.dummyHash, pw); err != nil {
			return LoginResult{}, fmt.Errorf("verify dummy: %w", err)
		}
		return LoginResult{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, err
	}
	ok, err := s.hasher.Verify(ctx, admin.PasswordHash, pw)
	if err != nil {
		return LoginResult{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return LoginResult{}, domain.ErrInvalidCredentials
	}
	org, err := s.orgs.ByID(ctx, admin.OrgID)
	if err == nil && s.expired(org) {
		org, err = s.settle(ctx, org.ID)
	}
	// An organization being created or deleted has no admin yet or any
	// more; one being updated is used as it was.
	if errors.Is(err, domain.ErrOrgNotFound) || (err == nil && !org.Visible()) {
		return LoginResult{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, err
	}
	now := s.clock.Now().UTC()
	claims := domain.Claims{
		AdminID:            admin.ID,
		OrgID:              org.ID,
		CredentialsVersion: admin.CredentialsVersion,
		IssuedAt:           now,
		ExpiresAt:          now.Add(s.tokenTTL),
	}
	tok, err := s.tokens.Issue(claims)
	if err != nil {
		return LoginResult{}, fmt.Errorf("issue token: %w", err)
	}
	return LoginResult{Token: tok, Claims: claims, Admin: admin, Org: org}, nil
}

// Authenticate checks an access token and that what it names still holds:
// the admin exists, still manages the organization, and has not changed
// password since the token was issued.
func (s *Service) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	c, err := s.tokens.Verify(token)
	if err != nil {
		return domain.Principal{}, err
	}
	admin, err := s.admins.ByID(ctx, c.AdminID)
	if errors.Is(err, domain.ErrAdminNotFound) {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	if err != nil {
		return domain.Principal{}, err
	}
	if admin.OrgID != c.OrgID || admin.CredentialsVersion != c.CredentialsVersion {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	return domain.Principal{AdminID: admin.ID, OrgID: admin.OrgID}, nil
}
