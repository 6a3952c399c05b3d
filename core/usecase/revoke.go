package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// Revoke withdraws invitation id of the caller's organization, and
// returns it: its token is dead from now on.
func (s *Service) Revoke(ctx context.Context, p domain.Principal, id string) (domain.Invitation, error) {
	if p.Super {
		return domain.Invitation{}, domain.ErrNoOrganization
	}
	if !domain.Allowed(p.OrgRole, domain.ActRevoke) {
		return domain.Invitation{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRevoke)
	}
	inv, err := s.invites.ByID(ctx, domain.ID(id))
	if errors.Is(err, domain.ErrInvitationNotFound) || (err == nil && inv.OrgID != p.OrgID) {
		return domain.Invitation{}, domain.ErrInvitationNotFound
	}
	if err != nil {
		return domain.Invitation{}, err
	}
	if !domain.Allowed(p.OrgRole, domain.ActRevoke, inv.Role) {
		return domain.Invitation{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRevoke)
	}
	_, _, err = s.update(ctx, p.OrgID, "", func(org domain.Organization) (domain.Organization, error) {
		// The revoker's role, read again: it may have been demoted or
		// removed since its request was authenticated.
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		if !domain.Allowed(me.OrgRole, domain.ActRevoke, inv.Role) {
			return org, domain.ErrNotAllowed(me.OrgRole, domain.ActRevoke)
		}
		if !containsID(org.Invitations, inv.ID) {
			return org, domain.ErrInvitationNotFound // accepted or revoked meanwhile
		}
		return org.Uninvite(inv.ID), nil
	})
	if err != nil {
		return domain.Invitation{}, err
	}
	inv.Digest = ""
	return inv, s.invites.Delete(ctx, inv.ID)
}
