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

// GetOrgByExternalID returns the organization whose external id is id:
// for the super admin any, for a member its own (another's answers not
// found, as one that does not exist).
func (s *Service) GetOrgByExternalID(ctx context.Context, p domain.Principal, id string) (domain.Organization, error) {
	if s.extIDs.reg == nil {
		return domain.Organization{}, ErrNoExternalIDs
	}
	id, err := domain.NewExternalID(id)
	if err != nil {
		return domain.Organization{}, err
	}
	c, err := s.extIDs.reg.Claim(ctx, id)
	if errors.Is(err, domain.ErrNoClaim) {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	if err != nil {
		return domain.Organization{}, err
	}
	if !p.Super && c.OrgID != p.OrgID {
		return domain.Organization{}, domain.ErrOrgNotFound
	}
	org, err := s.orgs.ByID(ctx, c.OrgID)
	if err == nil && s.expired(org) {
		org, err = s.settle(ctx, org.ID)
	}
	if err != nil {
		return domain.Organization{}, err
	}
	if !org.Visible() || org.ExternalID != id {
		return domain.Organization{}, domain.ErrOrgNotFound // changed meanwhile, or its claim is a leftover
	}
	return org, nil
}
