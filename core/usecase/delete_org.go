package usecase

import (
	"context"
	"errors"

	"orgd/core/domain"
)

// Failpoints of a delete, one after each of its steps.
const (
	FPDeleteMarked  = "delete.marked"
	FPDeleteDropped = "delete.dropped"
	FPDeleteAdmin   = "delete.admin"
	FPDeleteOrg     = "delete.org"
)

// DeleteOrg deletes the organization named name, which must be the
// caller's (the super admin may delete any): its collection, its admin and
// its metadata, then its name and email. It returns the name as stored;
// domain.ErrOrgNotFound if there is no such organization,
// domain.ErrNotOwner if it is not the caller's.
//
// Once the organization is marked deleting, clients see it as gone and the
// delete only ever moves forward, so a crash midway is finished by recovery.
func (s *Service) DeleteOrg(ctx context.Context, p domain.Principal, name string) (string, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return "", err
	}
	key := n.Key()
	org, err := s.orgByName(ctx, key)
	if err != nil {
		return "", err
	}
	if org.ID != p.OrgID && !p.Super {
		if org.Name.Key() != key || (!org.Visible() && org.Pending != nil) {
			return "", domain.ErrOrgNotFound
		}
		return "", domain.ErrNotOwner
	}
	before, _, begun, err := s.perform(ctx, org.ID, change{begun: FPDeleteMarked,
		plan: func(org domain.Organization) (domain.Organization, error) {
			if org.Name.Key() != key || !org.Visible() {
				return org, domain.ErrOrgNotFound // renamed meanwhile, or going
			}
			return org.Begin(s.newPending(domain.OpDelete)), nil
		}})
	if !begun || !errors.Is(err, domain.ErrOrgNotFound) {
		return "", err // ErrOrgNotFound once begun: the delete is done
	}
	return before.Name.String(), nil
}

// finishDelete carries out the delete steps after the organization was
// marked deleting; each is idempotent.
func (s *Service) finishDelete(ctx context.Context, org domain.Organization) error {
	if err := s.tenants.Drop(ctx, org.ID, org.Name.Collection()); err != nil {
		return err
	}
	if err := s.step(ctx, FPDeleteDropped); err != nil {
		return err
	}
	if err := s.admins.Delete(ctx, org.AdminID); err != nil {
		return err
	}
	if err := s.step(ctx, FPDeleteAdmin); err != nil {
		return err
	}
	err := s.orgs.Delete(ctx, org.ID, org.Version)
	if errors.Is(err, domain.ErrStale) {
		// Gone already (another owner got here first) or taken over.
		if _, err := s.orgs.ByID(ctx, org.ID); !errors.Is(err, domain.ErrOrgNotFound) {
			return errors.Join(domain.ErrOrgBusy, err)
		}
	} else if err != nil {
		return err
	}
	if err := s.step(ctx, FPDeleteOrg); err != nil {
		return err
	}
	return s.releaseAll(ctx, []domain.Claim{org.NameClaim(), org.EmailClaim()})
}
