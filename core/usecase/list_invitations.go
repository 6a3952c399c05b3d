package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// ListedInvitation is an invitation as a listing shows it: never its
// token's digest, with its status.
type ListedInvitation struct {
	domain.Invitation
	Status string
}

// ListInvitations returns the invitations of the caller's organization,
// or for the super admin of organization orgName (never their tokens),
// each pending or expired (expired ones are removed after
// INVITATION_RETENTION).
func (s *Service) ListInvitations(ctx context.Context, p domain.Principal, orgName string) ([]ListedInvitation, error) {
	org, err := s.memberOrg(ctx, p, orgName, domain.ActListInvitations)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]ListedInvitation, 0, len(org.Invitations))
	for _, id := range org.Invitations {
		inv, err := s.invites.ByID(ctx, id)
		if errors.Is(err, domain.ErrInvitationNotFound) {
			continue // listed, already gone: a join deletes its invitation before its commit unlists it
		}
		if err != nil {
			return nil, err
		}
		inv.Digest = ""
		out = append(out, ListedInvitation{Invitation: inv, Status: inv.Status(now)})
	}
	return out, nil
}
