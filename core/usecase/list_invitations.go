package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// ListInvitations returns the pending invitations of the caller's
// organization (never their tokens).
func (s *Service) ListInvitations(ctx context.Context, p domain.Principal) ([]domain.Invitation, error) {
	org, err := s.memberOrg(ctx, p, "", domain.ActListInvitations)
	if err != nil {
		return nil, err
	}
	out := make([]domain.Invitation, 0, len(org.Invitations))
	for _, id := range org.Invitations {
		inv, err := s.invites.ByID(ctx, id)
		if errors.Is(err, domain.ErrInvitationNotFound) {
			continue // listed, already gone: a join deletes its invitation before its commit unlists it
		}
		if err != nil {
			return nil, err
		}
		inv.Digest = ""
		out = append(out, inv)
	}
	return out, nil
}
