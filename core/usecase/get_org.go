package usecase

import (
	"context"

	"orgd/core/domain"
)

// GetOrg returns the organization named name (case-insensitively). An
// organization still being created or being deleted is not found; one with
// an update under way is returned as it was before the update.
func (s *Service) GetOrg(ctx context.Context, name string) (domain.Organization, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return domain.Organization{}, err
	}
	org, err := s.orgs.ByNameKey(ctx, n.Key())
	if err != nil {
		return domain.Organization{}, err
	}
	if org.Pending != nil && s.expired(org) {
		if org, err = s.settle(ctx, org.ID); err != nil {
			return domain.Organization{}, err
		}
		if org.NameKey != n.Key() {
			return domain.Organization{}, domain.ErrOrgNotFound
		}
	}
	if !org.Visible() {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return org, nil
}
