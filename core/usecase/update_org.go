package usecase

import (
	"context"
	"errors"
	"fmt"

	"orgd/core/domain"
)

// Failpoints of an update, one after each of its steps.
const (
	FPUpdateReserved   = "update.reserved"
	FPUpdatePending    = "update.pending"
	FPUpdateAdmin      = "update.admin"
	FPUpdateCollection = "update.collection"
	FPUpdateCommitted  = "update.committed"
)

// UpdateOrgInput changes the caller's organization (its name: admins and
// owners) and the caller's own credentials (any member): a nil field is
// left as it is, and at least one must be set.
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
// Steps: claim the new name key and the new email (as this update's own);
// record the intent on the organization; update the admin; rename the collection (one atomic
// namespace change on the store, so documents are never split between two
// collections); write the new name and clear the intent; release the old
// name key and email.
func (s *Service) UpdateOrg(ctx context.Context, p domain.Principal, in UpdateOrgInput) (domain.Organization, error) {
	if p.Super {
		return domain.Organization{}, domain.ErrNoOrganization
	}
	if in.Name != nil && !domain.Allowed(p.OrgRole, domain.ActRename) {
		return domain.Organization{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRename)
	}
	ch, err := s.parseUpdate(ctx, in)
	if err != nil {
		return domain.Organization{}, err
	}
	before, after, _, err := s.perform(ctx, p.OrgID, change{reserved: FPUpdateReserved, begun: FPUpdatePending,
		plan: func(org domain.Organization) (domain.Organization, error) {
			caller, err := s.caller(ctx, org, p)
			if err != nil {
				return org, err
			}
			if ch.name != nil && !domain.Allowed(caller.OrgRole, domain.ActRename) {
				return org, domain.ErrNotAllowed(caller.OrgRole, domain.ActRename)
			}
			pending, err := s.planUpdate(org, caller, ch)
			if err != nil {
				return org, err
			}
			return org.Begin(pending), nil
		}})
	if err != nil {
		return before, err
	}
	return after, nil
}

// updateInput is an update's validated input.
type updateInput struct {
	name     *domain.OrgName
	email    *domain.Email
	password string // the new password's hash
}

func (s *Service) parseUpdate(ctx context.Context, in UpdateOrgInput) (updateInput, error) {
	var ch updateInput
	if in.Name == nil && in.Email == nil && in.Password == nil {
		return ch, domain.ErrNothingToUpdate
	}
	if in.Name != nil {
		n, err := domain.NewOrgName(*in.Name)
		if err != nil {
			return ch, err
		}
		ch.name = &n
	}
	if in.Email != nil {
		e, err := domain.NewEmail(*in.Email)
		if err != nil {
			return ch, err
		}
		ch.email = &e
	}
	if in.Password != nil {
		pw, err := domain.NewPassword(*in.Password)
		if err != nil {
			return ch, err
		}
		if ch.password, err = s.hasher.Hash(ctx, pw); err != nil {
			return ch, fmt.Errorf("hash password: %w", err)
		}
	}
	return ch, nil
}

// planUpdate is the intent of applying ch (a rename, the caller's own
// email and password) to org, or errUnchanged.
func (s *Service) planUpdate(org domain.Organization, caller domain.Admin, ch updateInput) (*domain.Pending, error) {
	pending := s.newPending(domain.OpUpdate)
	pending.Member, pending.Page = caller.Member(), caller.Page
	if ch.name != nil && *ch.name != org.Name {
		pending.NewName = *ch.name
	}
	if ch.email != nil && *ch.email != caller.Email {
		pending.NewEmail = *ch.email
	}
	if ch.password != "" {
		pending.PasswordHash = ch.password
		pending.CredentialsVersion = caller.CredentialsVersion + 1
	}
	if !pending.Changes() {
		return nil, errUnchanged
	}
	return pending, nil
}

// finishUpdate carries out the update steps after the intent was recorded;
// each is idempotent.
func (s *Service) finishUpdate(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	p := org.Pending
	if p.NewEmail != "" || p.PasswordHash != "" {
		if err := s.updateCredentials(ctx, org); errors.Is(err, domain.ErrEmailExists) {
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
		if err := s.moveCollection(ctx, org.ID, org.Name.Collection(), p.NewName.Collection()); err != nil {
			return domain.Organization{}, err
		}
	}
	if err := s.step(ctx, FPUpdateCollection); err != nil {
		return domain.Organization{}, err
	}
	out, err := s.commit(ctx, org, org.Apply())
	if err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPUpdateCommitted); err != nil {
		return domain.Organization{}, err
	}
	// Give back what the update replaced: the old name's and old email's
	// claims, as the operations that took them.
	var old []domain.Claim
	if renames {
		old = append(old, org.NameClaim())
	}
	if p.NewEmail != "" {
		old = append(old, p.Member.EmailClaim(org.ID))
	}
	if releaseErr := s.releaseAll(ctx, old); releaseErr != nil {
		// The update is done; recovery frees the old claims later.
		s.log.WarnContext(ctx, "lifecycle: old name or email not released", "org_id", org.ID, "error", releaseErr)
	}
	return out, nil
}

// updateCredentials writes the member's new email (with the claim the
// update took on it) and password to its account, and its new email to
// its roster entry.
func (s *Service) updateCredentials(ctx context.Context, org domain.Organization) error {
	p := org.Pending
	admin, err := s.admins.ByID(ctx, p.Member.AdminID)
	if err != nil {
		return err
	}
	if p.NewEmail != "" {
		admin.Email, admin.EmailOp = p.NewEmail, p.ID
	}
	if p.PasswordHash != "" {
		admin.PasswordHash, admin.CredentialsVersion = p.PasswordHash, p.CredentialsVersion
	}
	if err := s.admins.Update(ctx, admin); err != nil {
		return err
	}
	if p.NewEmail == "" {
		return nil
	}
	return s.putRosterEntry(ctx, org.ID, p.Page, admin.Member())
}

// abortUpdate drops an update that cannot complete (its email is taken)
// before any of it was applied, and returns cause.
func (s *Service) abortUpdate(ctx context.Context, org domain.Organization, cause error) error {
	if _, err := s.commit(ctx, org, org.Abort()); err != nil {
		return err
	}
	if err := s.releaseAll(ctx, org.IntentClaims()); err != nil {
		return err
	}
	return cause
}
