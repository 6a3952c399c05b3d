package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orgd/core/domain"
)

// LoginInput is what an admin logs in with, and from where.
type LoginInput struct {
	Email    string
	Password string
	// Client is the caller's address; the login back-off is kept per
	// account and address (domain.LoginPolicy).
	Client string
}

// LoginResult is a fresh access token and whom it is for. Org is the zero
// value for the super admin.
type LoginResult struct {
	Token  string
	Claims domain.Claims
	Admin  domain.Admin
	Org    domain.Organization
}

// Login checks an admin's credentials and issues an access token naming the
// admin and the organization by ID. Repeated failures on one email are
// slowed down by the login policy (domain.CodeRateLimited with
// RetryAfter). An unknown email, a wrong password and an organization that
// is not (or no longer) active all give domain.ErrInvalidCredentials, at
// the same cost.
func (s *Service) Login(ctx context.Context, in LoginInput) (LoginResult, error) {
	email, err := domain.NewEmail(in.Email)
	if err != nil {
		return LoginResult{}, err
	}
	if in.Password == "" {
		return LoginResult{}, domain.Errorf(domain.CodeInvalid, "password is required")
	}
	account, pair := domain.LoginKeys(email, in.Client)
	if err := s.admit(ctx, account, pair); err != nil {
		return LoginResult{}, err
	}
	// The attempt now counts as a failure until it succeeds.
	admin, found, err := s.checkPassword(ctx, email, domain.Password(in.Password))
	if err != nil {
		return LoginResult{}, err
	}
	// Only this address proved itself: the account's record stays, or a
	// guesser would get a fresh allowance each time the admin logs in.
	if err := s.attempts.Forget(ctx, pair); err != nil {
		return LoginResult{}, err
	}
	if admin.Role == domain.RoleSuperAdmin {
		return s.issue(admin, domain.Organization{})
	}
	org, err := found.org, found.err
	if err == nil && (s.expired(org) || (org.Pending != nil && org.Pending.Op == domain.OpUpdate)) {
		// An update in flight decides what this login may see (an email
		// or password change applies to the admin before the organization
		// records it): wait for it, or finish any operation whose lease
		// ran out, and check the credentials against what it left. A
		// create or delete in flight needs no wait: its organization is
		// not visible either way.
		if org, err = s.settle(ctx, org.ID); err == nil {
			admin, err = s.recheck(ctx, admin, email, domain.Password(in.Password))
		}
	}
	// An organization being created or deleted has no admin yet or any
	// more.
	if errors.Is(err, domain.ErrOrgNotFound) || (err == nil && !org.Visible()) {
		return LoginResult{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, err
	}
	return s.issue(admin, org)
}

// recheck reads admin again after an operation settled, and returns it if
// it still has email and pw (checked again only if its hash changed).
func (s *Service) recheck(ctx context.Context, admin domain.Admin, email domain.Email, pw domain.Password) (domain.Admin, error) {
	now, err := s.admins.ByID(ctx, admin.ID)
	if errors.Is(err, domain.ErrAdminNotFound) {
		return domain.Admin{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return domain.Admin{}, err
	}
	if now.Email != email {
		return domain.Admin{}, domain.ErrInvalidCredentials
	}
	if now.PasswordHash != admin.PasswordHash {
		ok, err := s.hasher.Verify(ctx, now.PasswordHash, pw)
		if err != nil {
			return domain.Admin{}, fmt.Errorf("verify password: %w", err)
		}
		if !ok {
			return domain.Admin{}, domain.ErrInvalidCredentials
		}
	}
	return now, nil
}

// admit checks the attempt against the login policy and counts it, in one
// atomic step, so concurrent attempts cannot all pass one check. An
// attempt that must wait is refused with domain.CodeRateLimited and its
// RetryAfter, and is not counted.
func (s *Service) admit(ctx context.Context, account, pair string) error {
	now := s.clock.Now()
	wait, err := s.attempts.Admit(ctx, []string{account, pair}, now, s.policy.Keep(), func(r []domain.AttemptRecord) time.Duration {
		return s.policy.Wait(r[1], r[0], now)
	})
	if err != nil {
		return err
	}
	if wait > 0 {
		return &domain.Error{
			Code:       domain.CodeRateLimited,
			Message:    "Too many failed logins for this account. Please try again later.",
			RetryAfter: wait,
		}
	}
	return nil
}

// orgLookup is the result of reading an admin's organization.
type orgLookup struct {
	org domain.Organization
	err error
}

// checkPassword returns the admin with email if pw is its password and,
// for an organization admin, its organization, read while the hash is
// being checked so the lookup costs no time of its own. An unknown email
// costs one hash verification too, and gives the same error.
func (s *Service) checkPassword(ctx context.Context, email domain.Email, pw domain.Password) (domain.Admin, orgLookup, error) {
	admin, err := s.adminByEmail(ctx, email)
	if errors.Is(err, domain.ErrAdminNotFound) {
		if _, err := s.hasher.Verify(ctx, s.dummyHash, pw); err != nil {
			return domain.Admin{}, orgLookup{}, fmt.Errorf("verify dummy: %w", err)
		}
		return domain.Admin{}, orgLookup{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return domain.Admin{}, orgLookup{}, err
	}
	var lookup chan orgLookup
	if admin.Role != domain.RoleSuperAdmin {
		lookup = make(chan orgLookup, 1)
		go func() {
			org, err := s.orgs.ByID(ctx, admin.OrgID)
			lookup <- orgLookup{org, err}
		}()
	}
	ok, err := s.hasher.Verify(ctx, admin.PasswordHash, pw)
	var found orgLookup
	if lookup != nil {
		found = <-lookup
	}
	if err != nil {
		return domain.Admin{}, orgLookup{}, fmt.Errorf("verify password: %w", err)
	}
	if !ok {
		return domain.Admin{}, orgLookup{}, domain.ErrInvalidCredentials
	}
	return admin, found, nil
}

// issue signs a token for admin (of org, unless the super admin).
func (s *Service) issue(admin domain.Admin, org domain.Organization) (LoginResult, error) {
	now := s.clock.Now().UTC()
	claims := domain.Claims{
		AdminID:            admin.ID,
		OrgID:              org.ID,
		Super:              admin.Role == domain.RoleSuperAdmin,
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
	super := admin.Role == domain.RoleSuperAdmin
	if admin.OrgID != c.OrgID || super != c.Super || admin.CredentialsVersion != c.CredentialsVersion {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	return domain.Principal{AdminID: admin.ID, OrgID: admin.OrgID, Super: super}, nil
}
