package usecase

import (
	"context"

	"orgd/core/domain"
)

// GetOrg returns the organization named name (case-insensitively). An
// organization still being created or being deleted is not found; one with
// an update under way is returned as it was before the update. An
// operation whose owner died is finished first, so a rename interrupted
// after its collection moved is found under its new name.
func (s *Service) GetOrg(ctx context.Context, name string) (domain.Organization, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return domain.Organization{}, err
	}
	key := n.Key()
	org, err := s.orgByName(ctx, key)
	if err == nil && s.expired(org) {
		org, err = s.settle(ctx, org.ID)
	}
	if err != nil {
		return domain.Organization{}, err
	}
	if org.Name.Key() != key || !org.Visible() {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return org, nil
}
