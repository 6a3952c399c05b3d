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
//
// Its common path is one read: the organization the name was last found
// to name, by id, which answers if it still carries the name and is
// visible. That is the answer the name's claim would lead to: a name is
// carried by at most one visible organization at a time (a rename
// releases the old name only after its commit, and a create takes it
// before its organization is visible). Anything else reads the claim.
func (s *Service) GetOrg(ctx context.Context, name string) (domain.Organization, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return domain.Organization{}, err
	}
	key := n.Key()
	if id, ok := s.nameHint.get(key); ok {
		org, err := s.orgs.ByID(ctx, id)
		if err == nil && !s.expired(org) && org.Name.Key() == key && org.Visible() {
			return org, nil
		}
		s.nameHint.drop(key)
	}
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
	s.nameHint.put(key, org.ID)
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
