package usecase

import (
	"context"
	"errors"
	"fmt"

	"orgd/core/domain"
)

// UpdateOrgInput changes the caller's organization: a nil field is left as
// it is, and at least one must be set.
type UpdateOrgInput struct {
	Name     *string // new organization name: renames it and its collection
	Email    *string // the admin's new email
	Password *string // the admin's new password; revokes older tokens
}

// UpdateOrg applies in to the caller's organization. This is the RenameOrg
// use case, widened to the email and password changes the API's update
// allows in the same request. It returns domain.ErrOrgExists if the new
// name is taken in any letter case and domain.ErrEmailExists if the email
// is; then nothing has changed.
//
// Steps: claim the new name key and the new email; record the intent on
// the organization; update the admin; rename the collection (one atomic
// namespace change on the store, so documents are never split between two
// collections); write the new name and clear the intent; release the old
// name key and email.
func (s *Service) UpdateOrg(ctx context.Context, p domain.Principal, in UpdateOrgInput) (domain.Organization, error) {
	if p.Super {
		return domain.Organization{}, domain.ErrNoOrganization
	}
	if in.Name == nil && in.Email == nil && in.Password == nil {
		return domain.Organization{}, domain.ErrNothingToUpdate
	}
	var name domain.OrgName
	var email domain.Email
	var hash string
	var err error
	if in.Name != nil {
		if name, err = domain.NewOrgName(*in.Name); err != nil {
			return domain.Organization{}, err
		}
	}
	if in.Email != nil {
		if email, err = domain.NewEmail(*in.Email); err != nil {
			return domain.Organization{}, err
		}
	}
	if in.Password != nil {
		pw, err := domain.NewPassword(*in.Password)
		if err != nil {
			return domain.Organization{}, err
		}
		if hash, err = s.hasher.Hash(ctx, pw); err != nil {
			return domain.Organization{}, fmt.Errorf("hash password: %w", err)
		}
	}

	for {
		org, err := s.settle(ctx, p.OrgID)
		if err != nil {
			return domain.Organization{}, err
		}
		if !org.Visible() {
			return domain.Organization{}, domain.ErrOrgNotFound
		}
		pending := s.newPending(domain.OpUpdate)
		if in.Name != nil && name.String() != org.Name {
			pending.NewName, pending.NewNameKey, pending.NewCollection = name.String(), name.Key(), name.Collection()
		}
		if in.Email != nil && email != org.AdminEmail {
			pending.NewEmail = email
		}
		if in.Password != nil {
			admin, err := s.admins.ByID(ctx, org.AdminID)
			if err != nil {
				return domain.Organization{}, err
			}
			pending.PasswordHash = hash
			pending.CredentialsVersion = admin.CredentialsVersion + 1
		}
		if pending.NewName == "" && pending.NewEmail == "" && pending.PasswordHash == "" {
			return org, nil // nothing changes
		}
		out, err := s.startUpdate(ctx, org, pending)
		if errors.Is(err, domain.ErrStale) {
			continue // changed under us; start again from what it is now
		}
		return out, err
	}
}

// startUpdate claims the new name (if any), records the intent and drives
// the update. It returns domain.ErrStale if org changed before the intent
// was written; then nothing is left behind.
func (s *Service) startUpdate(ctx context.Context, org domain.Organization, pending *domain.Pending) (domain.Organization, error) {
	ctx, cancel := s.opContext(ctx, pending)
	defer cancel()
	next := org
	next.Pending = pending
	next.Version++
	if err := s.reserveUpdate(ctx, next); err != nil {
		return domain.Organization{}, err
	}
	if err := s.orgs.Replace(ctx, next, org.Version); err != nil {
		return domain.Organization{}, errors.Join(err, s.releaseUpdate(ctx, next))
	}
	if err := s.step(ctx, FPUpdatePending); err != nil {
		return domain.Organization{}, err
	}
	return s.finishUpdate(ctx, next)
}

// finishUpdate carries out the update steps after the intent was recorded;
// each is idempotent.
func (s *Service) finishUpdate(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	p := org.Pending
	if p.NewEmail != "" || p.PasswordHash != "" {
		admin, err := s.admins.ByID(ctx, org.AdminID)
		if err != nil {
			return domain.Organization{}, err
		}
		if p.NewEmail != "" {
			admin.Email = p.NewEmail
		}
		if p.PasswordHash != "" {
			admin.PasswordHash = p.PasswordHash
			admin.CredentialsVersion = p.CredentialsVersion
		}
		if err := s.admins.Update(ctx, admin); errors.Is(err, domain.ErrEmailExists) {
			return domain.Organization{}, s.abortUpdate(ctx, org, err)
		} else if err != nil {
			return domain.Organization{}, err
		}
	}
	if err := s.step(ctx, FPUpdateAdmin); err != nil {
		return domain.Organization{}, err
	}
	renames := p.Renames(org)
	if renames {
		if err := s.moveCollection(ctx, org.ID, org.Collection, p.NewCollection); err != nil {
			return domain.Organization{}, err
		}
	}
	if err := s.step(ctx, FPUpdateCollection); err != nil {
		return domain.Organization{}, err
	}
	next := org
	if p.NewName != "" {
		next.Name, next.NameKey, next.Collection = p.NewName, p.NewNameKey, p.NewCollection
	}
	if p.NewEmail != "" {
		next.AdminEmail = p.NewEmail
	}
	next.Pending = nil
	out, err := s.commit(ctx, org, next)
	if err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPUpdateCommitted); err != nil {
		return domain.Organization{}, err
	}
	var releaseErr error
	if renames {
		releaseErr = s.names.reg.Release(ctx, org.NameClaim())
	}
	if p.NewEmail != "" {
		releaseErr = errors.Join(releaseErr, s.emails.reg.Release(ctx, org.EmailClaim(org.AdminEmail)))
	}
	if releaseErr != nil {
		// The update is done; recovery frees the old claims later.
		s.log.WarnContext(ctx, "lifecycle: old name or email not released", "org_id", org.ID, "error", releaseErr)
	}
	return out, nil
}

// reserveUpdate takes the claims org's pending update needs: its new name
// key and its admin's new email. If either is taken, it releases what it
// took and returns why.
func (s *Service) reserveUpdate(ctx context.Context, org domain.Organization) error {
	p := org.Pending
	if p.Renames(org) {
		if err := s.reserve(ctx, s.names, domain.Claim{Key: p.NewNameKey, OrgID: org.ID}); err != nil {
			return err
		}
	}
	if p.NewEmail != "" {
		if err := s.reserve(ctx, s.emails, org.EmailClaim(p.NewEmail)); err != nil {
			return errors.Join(err, s.releaseUpdate(ctx, org))
		}
	}
	if p.Renames(org) || p.NewEmail != "" {
		return s.step(ctx, FPUpdateReserved)
	}
	return nil
}

// releaseUpdate frees the claims reserveUpdate took for org's pending
// update.
func (s *Service) releaseUpdate(ctx context.Context, org domain.Organization) error {
	var err error
	p := org.Pending
	if p.Renames(org) {
		err = s.names.reg.Release(ctx, domain.Claim{Key: p.NewNameKey, OrgID: org.ID})
	}
	if p.NewEmail != "" {
		err = errors.Join(err, s.emails.reg.Release(ctx, org.EmailClaim(p.NewEmail)))
	}
	return err
}

// abortUpdate drops an update that cannot complete (its email is taken)
// before any of it was applied, and returns cause.
func (s *Service) abortUpdate(ctx context.Context, org domain.Organization, cause error) error {
	next := org
	next.Pending = nil
	if _, err := s.commit(ctx, org, next); err != nil {
		return err
	}
	if err := s.releaseUpdate(ctx, org); err != nil {
		return err
	}
	return cause
}
