package usecase

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"orgd/core/domain"
	"orgd/ports"
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
	Claims domain.TokenClaims
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
	admin, found, err := s.checkPassword(ctx, email, domain.Password(in.Password))
	s.endAttempt(ctx, account, pair, err)
	if err != nil {
		return LoginResult{}, err
	}
	if admin.Role == domain.RoleSuperAdmin {
		return s.issue(admin, domain.Organization{})
	}
	org, err := found.org, found.err
	if err == nil && (s.expired(org) || writesAccount(org.Pending, admin.ID)) {
		// An operation in flight on this account decides what this login
		// may see (an email or password change, a role change or a
		// removal writes the account before the organization records
		// it): wait for it, or finish any operation whose lease ran out,
		// and check the credentials against what it left. A create or
		// delete in flight needs no wait: its organization is not visible
		// either way.
		org, err = s.settle(ctx, org.ID)
	}
	if err == nil {
		// The account is read again after its organization: a change of
		// its email or password lands on the account before the
		// organization records it, so the two agree as of the
		// organization's read, and the login takes effect there.
		admin, err = s.recheck(ctx, admin, email, domain.Password(in.Password))
	}
	// An organization being created or deleted has no admin yet or any
	// more.
	if errors.Is(err, domain.ErrOrgNotFound) || (err == nil && !org.Visible()) {
		return LoginResult{}, domain.ErrInvalidCredentials
	}
	if err != nil {
		return LoginResult{}, err
	}
	if org.Deactivated() {
		return LoginResult{}, domain.ErrDeactivated // told only with the right password
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

// admit checks a login attempt against the login policy and counts it in
// flight (admitWith).
func (s *Service) admit(ctx context.Context, account, pair string) error {
	return s.admitWith(ctx, []string{account, pair}, func(r []domain.AttemptRecord, now time.Time) domain.Admission {
		return s.policy.Admit(r[1], r[0], now)
	}, "Too many failed logins for this account. Please try again later.")
}

// admitWith checks an attempt on keys against decide and counts it in
// flight, in one atomic step, so concurrent attempts cannot all pass one
// check. An attempt the back-off refuses gets domain.CodeRateLimited with
// failed as its detail and its RetryAfter. One that must wait for
// attempts in flight to end (a burst of logins from one address) waits,
// up to loginBusyWait, then is refused as busy, never as failed.
func (s *Service) admitWith(ctx context.Context, keys []string, decide func([]domain.AttemptRecord, time.Time) domain.Admission, failed string) error {
	deadline := time.Now().Add(loginBusyWait)
	for {
		now := s.clock.Now()
		adm, err := s.attempts.Begin(ctx, keys, now, s.policy.Keep(), func(r []domain.AttemptRecord) domain.Admission {
			return decide(r, now)
		})
		switch {
		case err != nil:
			return err
		case adm.Admitted():
			return nil
		case adm.Wait > 0:
			return &domain.Error{Code: domain.CodeRateLimited, Message: failed, RetryAfter: adm.Wait}
		case time.Now().After(deadline):
			return &domain.Error{
				Code:       domain.CodeRateLimited,
				Message:    "Too many attempts in progress for this account from this address. Please retry shortly.",
				RetryAfter: time.Second,
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(loginPollInterval + rand.N(loginPollInterval)): //nolint:gosec // jitter, not a secret
		}
	}
}

// loginPollInterval is how often an attempt waiting for a place asks
// again (jittered, so a burst does not ask in step), and loginBusyWait how
// long it waits at most: a burst of correct logins from one address is let
// through at the rate passwords are checked.
const (
	loginPollInterval = 10 * time.Millisecond
	loginBusyWait     = 10 * time.Second
)

// endAttempt ends an admitted attempt by how its password check ended
// (err): wrong credentials count a failure on the account and the
// address; a success forgets the address's failures (only this address
// proved itself: the account's stay, or a guesser would get a fresh
// allowance each time the admin logs in); any other error only ends it.
// It is not the attempt's business if the records cannot be written: that
// is logged, and the attempt's place frees itself after
// domain.InFlightFor.
func (s *Service) endAttempt(ctx context.Context, account, pair string, err error) {
	failed := errors.Is(err, domain.ErrInvalidCredentials)
	ends := []ports.AttemptEnd{{Key: account, Failed: failed}, {Key: pair, Failed: failed, Forget: err == nil}}
	if err := s.attempts.End(context.WithoutCancel(ctx), ends, s.clock.Now(), s.policy.Keep()); err != nil {
		s.log.WarnContext(ctx, "login attempt not recorded", "error", err)
	}
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
	claims := domain.TokenClaims{
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
