package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// Authenticate checks an access token and that what it names still holds:
// the account exists, still belongs to the organization, which is still
// there, and has not changed password since the token was issued. It
// returns the account's role as of now: rights follow changes at once.
//
// The account and its organization are read at once. An operation on the
// account in flight (a password, email or role change, a removal) writes
// the account before the organization records it: then Authenticate waits
// for it to finish (as a login does), so a request sees it whole or not
// at all.
func (s *Service) Authenticate(ctx context.Context, token string) (domain.Principal, error) {
	c, err := s.tokens.Verify(token)
	if err != nil {
		return domain.Principal{}, err
	}
	admin, org, err := s.account(ctx, c)
	if writesAccount(org.Pending, c.AdminID) {
		if _, err = s.settle(ctx, org.ID); err == nil {
			admin, org, err = s.account(ctx, c)
		}
	}
	if err != nil {
		return domain.Principal{}, err
	}
	super := admin.Role == domain.RoleSuperAdmin
	if admin.OrgID != c.OrgID || super != c.Super || admin.CredentialsVersion != c.CredentialsVersion || (!super && !org.Visible()) {
		return domain.Principal{}, domain.ErrInvalidToken
	}
	if !super && org.Deactivated() {
		return domain.Principal{}, domain.ErrDeactivated // good again once it is activated
	}
	return domain.Principal{AdminID: admin.ID, OrgID: admin.OrgID, Super: super, Email: admin.Email, OrgRole: admin.OrgRole, CredentialsVersion: admin.CredentialsVersion}, nil
}

// account reads the account a token names and, unless it is the super
// admin's, its organization, both at once. Either one gone is
// domain.ErrInvalidToken; an organization found is returned even when
// the account is gone, for the caller to settle what is in flight on it.
func (s *Service) account(ctx context.Context, c domain.TokenClaims) (domain.Admin, domain.Organization, error) {
	var found chan orgLookup
	if !c.Super {
		found = make(chan orgLookup, 1)
		go func() {
			org, err := s.orgs.ByID(ctx, c.OrgID)
			found <- orgLookup{org, err}
		}()
	}
	admin, err := s.admins.ByID(ctx, c.AdminID)
	var o orgLookup
	if found != nil {
		o = <-found
	}
	switch {
	case errors.Is(o.err, domain.ErrOrgNotFound):
		return domain.Admin{}, domain.Organization{}, domain.ErrInvalidToken
	case o.err != nil:
		return domain.Admin{}, domain.Organization{}, o.err
	case errors.Is(err, domain.ErrAdminNotFound):
		return domain.Admin{}, o.org, domain.ErrInvalidToken
	}
	return admin, o.org, err
}
