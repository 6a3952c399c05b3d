package usecase

import (
	"context"
	"errors"

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
	org, err := s.orgs.ByNameKey(ctx, key)
	if errors.Is(err, domain.ErrOrgNotFound) {
		org, err = s.renamingTo(ctx, key)
	}
	if err != nil {
		return domain.Organization{}, err
	}
	if s.expired(org) {
		if org, err = s.settle(ctx, org.ID); err != nil {
			return domain.Organization{}, err
		}
	}
	if org.NameKey != key || !org.Visible() {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return org, nil
}

// renamingTo returns the organization an abandoned rename to key belongs
// to, or domain.ErrOrgNotFound.
func (s *Service) renamingTo(ctx context.Context, key string) (domain.Organization, error) {
	claim, err := s.names.Claim(ctx, key)
	if err != nil {
		return domain.Organization{}, err
	}
	org, err := s.orgs.ByID(ctx, claim.OrgID)
	if err != nil {
		return domain.Organization{}, err
	}
	if org.Pending == nil || org.Pending.NewNameKey != key || !s.expired(org) {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	return org, nil
}
