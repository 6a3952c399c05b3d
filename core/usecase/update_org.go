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
	// Metadata changes its metadata (admins and owners) and its external
	// id (the super admin).
	Metadata MetadataInput
	// Org names the organization the super admin updates (its metadata
	// and external id only); a member updates its own.
	Org string
	// IfMatch, if not nil, makes the update conditional: it is made only
	// if the organization is at one of these revisions (an empty list
	// matches none), else domain.ErrPrecondition and nothing changes.
	IfMatch []domain.Revision
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
		return s.superUpdate(ctx, p, in)
	}
	if in.Org != "" {
		return domain.Organization{}, domain.Errorf(domain.CodeInvalid, "organization_name in the query is for the super admin; a member updates its own organization")
	}
	if in.Name != nil && !domain.Allowed(p.OrgRole, domain.ActRename) {
		return domain.Organization{}, domain.ErrNotAllowed(p.OrgRole, domain.ActRename)
	}
	if in.Metadata.ExternalID != nil {
		return domain.Organization{}, errExternalIDBySuper
	}
	if in.Metadata.given() && !domain.Allowed(p.OrgRole, domain.ActEditMetadata) {
		return domain.Organization{}, domain.ErrNotAllowed(p.OrgRole, domain.ActEditMetadata)
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
			if in.IfMatch != nil && !org.Matches(in.IfMatch) {
				return org, domain.ErrPrecondition
			}
			if ch.name != nil && !domain.Allowed(caller.OrgRole, domain.ActRename) {
				return org, domain.ErrNotAllowed(caller.OrgRole, domain.ActRename)
			}
			if ch.metadataGiven && !domain.Allowed(caller.OrgRole, domain.ActEditMetadata) {
				return org, domain.ErrNotAllowed(caller.OrgRole, domain.ActEditMetadata)
			}
			op := planUpdate(org, caller, ch)
			if op.Meta, err = planMetadata(org, ch.meta); err != nil {
				return org, err
			}
			if !op.changes() {
				return org, errUnchanged
			}
			pending, err := s.intent(ctx, callerActor(caller), opUpdate, s.opID(), op)
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

// errExternalIDBySuper refuses a member setting its organization's
// external id: the product's id for it is the platform's to give.
var errExternalIDBySuper = domain.Errorf(domain.CodeForbidden, "external_id is set by the super admin, or at create")

// superUpdate is the super admin's update of organization in.Org: its
// metadata and external id, nothing else.
func (s *Service) superUpdate(ctx context.Context, p domain.Principal, in UpdateOrgInput) (domain.Organization, error) {
	if in.Name != nil || in.Email != nil || in.Password != nil {
		if in.Org == "" {
			return domain.Organization{}, domain.ErrNoOrganization
		}
		return domain.Organization{}, domain.Errorf(domain.CodeInvalid, "the super admin sets only public_metadata, private_metadata and external_id; a name, email or password is a member's to change")
	}
	if in.Org == "" {
		return domain.Organization{}, domain.Errorf(domain.CodeInvalid, "organization_name query parameter is required for the super admin")
	}
	if !in.Metadata.given() {
		return domain.Organization{}, domain.ErrNothingToUpdate
	}
	meta, err := s.parseMetadata(in.Metadata)
	if err != nil {
		return domain.Organization{}, err
	}
	target, err := s.GetOrg(ctx, in.Org)
	if err != nil {
		return domain.Organization{}, err
	}
	key := target.Name.Key()
	before, after, _, err := s.perform(ctx, target.ID, change{reserved: FPUpdateReserved, begun: FPUpdatePending,
		plan: func(org domain.Organization) (domain.Organization, error) {
			if org.Name.Key() != key || !org.Visible() {
				return org, domain.ErrOrgNotFound // renamed meanwhile, or going
			}
			if org.Deactivated() {
				return org, domain.ErrDeactivated
			}
			if in.IfMatch != nil && !org.Matches(in.IfMatch) {
				return org, domain.ErrPrecondition
			}
			op := &updateOp{}
			var err error
			if op.Meta, err = planMetadata(org, meta); err != nil {
				return org, err
			}
			if !op.changes() {
				return org, errUnchanged
			}
			pending, err := s.intent(ctx, domain.ActorOf(p), opUpdate, s.opID(), op)
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
	name          *domain.OrgName
	email         *domain.Email
	password      string // the new password's hash
	meta          metadataChange
	metadataGiven bool
}

func (s *Service) parseUpdate(ctx context.Context, in UpdateOrgInput) (updateInput, error) {
	var ch updateInput
	if in.Name == nil && in.Email == nil && in.Password == nil && !in.Metadata.given() {
		return ch, domain.ErrNothingToUpdate
	}
	var err error
	if ch.meta, err = s.parseMetadata(in.Metadata); err != nil {
		return ch, err
	}
	ch.metadataGiven = in.Metadata.given()
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

// opUpdate is the update operation: a rename, and a member's own email
// and password changes.
const opUpdate domain.Op = "update"

// updateOp is an update's intent: what changes, and the member whose
// credentials change (as it was when the update began).
type updateOp struct {
	Member domain.Member `json:"member"`
	// Page is the roster page that lists Member.
	Page int `json:"page,omitempty"`
	// PasswordHash is Member's new password hash, and CredentialsVersion
	// its credentials version once the change is applied.
	PasswordHash       string `json:"password_hash,omitempty"`
	CredentialsVersion int64  `json:"credentials_version,omitempty"`
	// NewName is the rename target; zero for none.
	NewName domain.OrgName `json:"new_name,omitzero"`
	// NewEmail is Member's new email.
	NewEmail domain.Email `json:"new_email,omitempty"`
	// Meta is what it does to the metadata and external id.
	Meta metadataUpdate `json:"meta,omitzero"`
}

// planUpdate is the update applying ch (a rename, the caller's own email
// and password) to org.
func planUpdate(org domain.Organization, caller domain.Admin, ch updateInput) *updateOp {
	op := &updateOp{Member: caller.Member(), Page: caller.Page}
	if ch.name != nil && *ch.name != org.Name {
		op.NewName = *ch.name
	}
	if ch.email != nil && *ch.email != caller.Email {
		op.NewEmail = *ch.email
	}
	if ch.password != "" {
		op.PasswordHash = ch.password
		op.CredentialsVersion = caller.CredentialsVersion + 1
	}
	return op
}

// changes reports whether the update changes anything.
func (op *updateOp) changes() bool {
	return !op.NewName.IsZero() || op.NewEmail != "" || op.PasswordHash != "" || op.Meta.changes()
}

// renames reports whether the update moves org to another name key (and
// so to another collection).
func (op *updateOp) renames(org domain.Organization) bool {
	return !op.NewName.IsZero() && op.NewName.Key() != org.Name.Key()
}

// claims are the new name key's (if it changes) and the new email's.
func (op *updateOp) claims(org domain.Organization) []domain.Claim {
	var out []domain.Claim
	if op.renames(org) {
		out = append(out, domain.Claim{Kind: domain.KindName, Key: op.NewName.Key(), OrgID: org.ID, Op: org.Pending.ID})
	}
	if op.NewEmail != "" {
		out = append(out, domain.Claim{Kind: domain.KindEmail, Key: string(op.NewEmail), OrgID: org.ID, AdminID: op.Member.AdminID, Op: org.Pending.ID})
	}
	return append(out, op.Meta.claim(org)...)
}

// account is the member's, if its email or password changes (a rename
// does not touch it).
func (op *updateOp) account() domain.ID {
	if op.NewEmail != "" || op.PasswordHash != "" {
		return op.Member.AdminID
	}
	return ""
}

// finish carries out the update steps after the intent was recorded;
// each is idempotent.
func (op *updateOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if op.NewEmail != "" || op.PasswordHash != "" {
		if err := op.updateCredentials(ctx, s, org); errors.Is(err, domain.ErrEmailExists) {
			return domain.Organization{}, s.abandon(ctx, org, err)
		} else if err != nil {
			return domain.Organization{}, err
		}
	}
	if err := s.step(ctx, FPUpdateAdmin); err != nil {
		return domain.Organization{}, err
	}
	renames := op.renames(org)
	if renames {
		if err := s.moveCollection(ctx, org.ID, org.Name.Collection(), op.NewName.Collection()); err != nil {
			return domain.Organization{}, err
		}
	}
	if err := s.step(ctx, FPUpdateCollection); err != nil {
		return domain.Organization{}, err
	}
	next := org
	if !op.NewName.IsZero() {
		next = next.Renamed(op.NewName, org.Pending.ID)
	}
	if op.NewEmail != "" {
		next = next.EmailChanged(op.Member.AdminID, op.NewEmail)
	}
	if op.Meta.changes() {
		next = op.Meta.apply(next, org.Pending.ID)
	}
	out, err := s.commit(ctx, op, org, next)
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
	if op.NewEmail != "" {
		old = append(old, op.Member.EmailClaim(org.ID))
	}
	if x, ok := org.ExternalIDClaim(); ok && op.Meta.SetsExternalID {
		old = append(old, x)
	}
	if releaseErr := s.releaseAll(ctx, old); releaseErr != nil {
		// The update is done; recovery frees the old claims later.
		s.log.WarnContext(ctx, "lifecycle: old name or email not released", "org_id", org.ID, "error", releaseErr)
	}
	return out, nil
}

// events: the rename (from the name the organization had), the member's
// email change, its password change, each as it committed.
func (op *updateOp) events(org, _ domain.Organization) []domain.Event {
	var out []domain.Event
	if !op.NewName.IsZero() {
		out = append(out, happened(EventOrgRenamed, struct {
			From string `json:"from"`
			To   string `json:"to"`
		}{org.Name.String(), op.NewName.String()}))
	}
	type account struct {
		AdminID domain.ID    `json:"admin_id"`
		Email   domain.Email `json:"email"`
	}
	email := op.Member.Email
	if op.NewEmail != "" {
		out = append(out, happened(EventEmailChanged, struct {
			AdminID domain.ID    `json:"admin_id"`
			From    domain.Email `json:"from"`
			To      domain.Email `json:"to"`
		}{op.Member.AdminID, op.Member.Email, op.NewEmail}))
		email = op.NewEmail
	}
	if op.PasswordHash != "" {
		out = append(out, happened(EventPasswordChanged, account{op.Member.AdminID, email}))
	}
	return append(out, op.Meta.event()...)
}

// updateCredentials writes the member's new email (with the claim the
// update took on it) and password to its account, and its new email to
// its roster entry.
func (op *updateOp) updateCredentials(ctx context.Context, s *Service, org domain.Organization) error {
	admin, err := s.admins.ByID(ctx, op.Member.AdminID)
	if err != nil {
		return err
	}
	if op.NewEmail != "" {
		admin.Email, admin.EmailOp = op.NewEmail, org.Pending.ID
	}
	if op.PasswordHash != "" {
		admin.PasswordHash, admin.CredentialsVersion = op.PasswordHash, op.CredentialsVersion
	}
	if err := s.admins.Update(ctx, admin); err != nil {
		return err
	}
	if op.NewEmail == "" {
		return nil
	}
	return s.putRosterEntry(ctx, org.ID, op.Page, admin.Member())
}

// lose drops the parts of the update whose claims were lost, undoing what
// of them was applied (a moved collection moves back, an email changed
// goes back to the one the member still holds), and goes on with the
// rest.
func (op *updateOp) lose(ctx context.Context, s *Service, org domain.Organization, lost []domain.Claim) (domain.Organization, error) {
	var name, email bool
	for _, c := range lost {
		name = name || c.Kind == domain.KindName
		email = email || c.Kind == domain.KindEmail
		if c.Kind == domain.KindExternalID {
			// Another organization took the external id meanwhile: the
			// update goes on without it.
			op.Meta.SetsExternalID, op.Meta.ExternalID = false, ""
		}
	}
	if name {
		if err := s.moveBack(ctx, org, op.NewName); err != nil {
			return org, err
		}
		op.NewName = domain.OrgName{}
	}
	if email {
		admin, err := s.admins.ByID(ctx, op.Member.AdminID)
		if err != nil {
			return org, err
		}
		if admin.Email == op.NewEmail {
			admin.Email, admin.EmailOp = op.Member.Email, op.Member.EmailOp
			if err := s.admins.Update(ctx, admin); err != nil {
				return org, err
			}
			if err := s.putRosterEntry(ctx, org.ID, op.Page, admin.Member()); err != nil {
				return org, err
			}
		}
		op.NewEmail = ""
	}
	next, err := rewrite(org, op)
	if err != nil {
		return org, err
	}
	return s.replace(ctx, org, next)
}
