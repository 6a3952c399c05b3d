package usecase

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"orgd/core/domain"
)

// Failpoints of a create, one after each of its steps.
const (
	FPCreateReserved   = "create.reserved"
	FPCreateInserted   = "create.inserted"
	FPCreateAdmin      = "create.admin"
	FPCreateCollection = "create.collection"
	FPCreateAborted    = "create.aborted"
)

// CreateOrgInput is a request to create an organization and its admin.
type CreateOrgInput struct {
	Name     string
	Email    string
	Password string
	// Metadata is its metadata (merge patches of none) and external id.
	Metadata MetadataInput
	// By is the authenticated caller, if any. Under the super-admin-only
	// creation policy it must be the super admin.
	By *domain.Principal
	// IDs, if set, are the ids to create it under: an Idempotency-Key's,
	// the same on every retry, so that a retry finishes the organization
	// an earlier attempt began (and answers it) rather than making
	// another.
	IDs *IdempotentIDs
}

// CreateOrg creates an organization, its first owner and its tenant
// collection.
// It returns domain.ErrOrgExists if the name is taken in any letter case
// and domain.ErrEmailExists if the email is; then nothing is left behind.
//
// Steps: claim the name key and the email; insert the organization (state
// creating, the owner's password hash in its intent); insert the owner's
// account and list it on the roster; create the collection; mark the
// organization active. A crash anywhere is
// finished by recovery from the intent.
func (s *Service) CreateOrg(ctx context.Context, in CreateOrgInput) (domain.Organization, error) {
	if err := s.authorizeCreate(in.By); err != nil {
		return domain.Organization{}, err
	}
	if in.IDs != nil {
		org, done, err := s.begunBefore(ctx, in.IDs.Org)
		if done || err != nil {
			return org, err
		}
	}
	org, err := s.newOrg(ctx, in)
	if err != nil {
		return domain.Organization{}, err
	}
	ctx, cancel := s.opContext(ctx, org.Pending)
	defer cancel()

	if err := s.takeClaims(ctx, org, FPCreateReserved); err != nil {
		return domain.Organization{}, err
	}
	if err := s.orgs.Insert(ctx, org); errors.Is(err, domain.ErrOrgExists) {
		// Not inserted: free the claims now (recovery would, later).
		return domain.Organization{}, errors.Join(err, s.releaseAll(ctx, intentClaims(org)))
	} else if err != nil {
		// Perhaps inserted (an answer lost on the way): the claims stay
		// until recovery finishes the create or finds them unreferenced.
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPCreateInserted); err != nil {
		return domain.Organization{}, err
	}
	return s.finish(ctx, org)
}

// begunBefore looks for the organization an earlier attempt of a create
// (under the same ids) began: one there is finished, or waited for, and
// is the answer (done); one it rolled back, or never inserted, is
// created again.
func (s *Service) begunBefore(ctx context.Context, id domain.ID) (domain.Organization, bool, error) {
	org, err := s.settle(ctx, id)
	switch {
	case errors.Is(err, domain.ErrOrgNotFound):
		return domain.Organization{}, false, nil
	case err != nil:
		return domain.Organization{}, false, err
	case org.Visible():
		return org, true, nil
	}
	return domain.Organization{}, false, nil
}

// authorizeCreate applies the creation policy to the caller.
func (s *Service) authorizeCreate(by *domain.Principal) error {
	switch {
	case s.creation != domain.CreationSuperOnly:
		return nil
	case by == nil:
		return domain.ErrNotAuthenticated
	case !by.Super:
		return domain.ErrSuperAdminOnly
	}
	return nil
}

// newOrg validates in and returns the organization to create, with its
// intent: its creator, its first owner (and their password hash).
func (s *Service) newOrg(ctx context.Context, in CreateOrgInput) (domain.Organization, error) {
	name, err := domain.NewOrgName(in.Name)
	if err != nil {
		return domain.Organization{}, err
	}
	email, err := domain.NewEmail(in.Email)
	if err != nil {
		return domain.Organization{}, err
	}
	pw, err := domain.NewPassword(in.Password)
	if err != nil {
		return domain.Organization{}, err
	}
	meta, err := s.parseMetadata(in.Metadata)
	if err != nil {
		return domain.Organization{}, err
	}
	start, err := planMetadata(domain.Organization{}, meta)
	if err != nil {
		return domain.Organization{}, err
	}
	// A cheap early answer, before the password is hashed, for the common
	// conflict: another admin owns the email, settled. Anything less (an
	// operation in flight holds it) is for the reservation to decide.
	if c, err := s.emails.reg.Claim(ctx, string(email)); err == nil {
		if state, err := s.claimState(ctx, c); err == nil && state == claimHeld {
			return domain.Organization{}, domain.ErrEmailExists
		}
	} else if !errors.Is(err, domain.ErrNoClaim) {
		return domain.Organization{}, err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return domain.Organization{}, fmt.Errorf("hash password: %w", err)
	}
	now, id, orgID, adminID := s.now(), s.opID(), domain.NewID(s.now()), domain.NewID(s.now())
	if in.IDs != nil {
		id, orgID, adminID = in.IDs.Op, in.IDs.Org, in.IDs.Admin
	}
	creator := domain.Member{AdminID: adminID, Email: email, Role: domain.RoleOwner, JoinedAt: now, EmailOp: id}
	actor := domain.Actor{ID: creator.AdminID, Email: email, Kind: domain.ActorAdmin}
	if in.By != nil {
		actor = domain.ActorOf(*in.By) // the super admin, creating for someone
	}
	pending, err := s.intent(ctx, actor, domain.OpCreate, id, &createOp{Member: creator, PasswordHash: hash})
	if err != nil {
		return domain.Organization{}, err
	}
	org := domain.Organization{
		ID:        orgID,
		Name:      name,
		CreatedAt: now,
		State:     domain.StateCreating,
		Pending:   pending,
		Version:   1,
		NameOp:    id,
		Owners:    []domain.Owner{{AdminID: creator.AdminID, Email: email, Since: now}},
		Members:   1,
		Roster:    []int{1},
	}
	return start.apply(org, id), nil
}

// createOp is a create's intent: its first owner, and their password
// hash.
type createOp struct {
	Member       domain.Member `json:"member"`
	PasswordHash string        `json:"password_hash"`
}

// claims are the new organization's name and its first owner's email.
func (op *createOp) claims(org domain.Organization) []domain.Claim {
	out := []domain.Claim{org.NameClaim(), op.Member.EmailClaim(org.ID)}
	if x, ok := org.ExternalIDClaim(); ok {
		out = append(out, x)
	}
	return out
}

// account: a create's owner cannot be authenticated before it is done.
func (op *createOp) account() domain.ID { return "" }

// finish carries out the create steps after the organization's insert;
// each is idempotent.
func (op *createOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.addMember(ctx, org, op.Member, 0, op.PasswordHash); errors.Is(err, errEmailHeld) {
		return domain.Organization{}, op.abort(ctx, s, org, domain.ErrEmailExists)
	} else if err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPCreateAdmin); err != nil {
		return domain.Organization{}, err
	}
	if err := s.tenants.Create(ctx, org.ID, org.Name.Collection()); err != nil {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPCreateCollection); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.Activate())
}

// events: the organization is created, with its first owner, its
// external id and public metadata, and its private metadata's keys.
func (op *createOp) events(_, next domain.Organization) []domain.Event {
	private := slices.Sorted(maps.Keys(next.PrivateMetadata))
	return []domain.Event{happened(EventOrgCreated, struct {
		AdminEmail      domain.Email    `json:"admin_email"`
		ExternalID      *string         `json:"external_id,omitempty"`
		PublicMetadata  domain.Metadata `json:"public_metadata,omitempty"`
		PrivateMetadata []string        `json:"private_metadata,omitempty"`
	}{op.Member.Email, optional(next.ExternalID), next.PublicMetadata, private})}
}

// lose: a create that lost its name or its email is undone.
func (op *createOp) lose(ctx context.Context, s *Service, org domain.Organization, lost []domain.Claim) (domain.Organization, error) {
	return org, op.abort(ctx, s, org, s.registry(lost[0].Kind).taken)
}

// abort undoes a create that cannot complete (its email is taken by
// an admin that holds no claim on it, or it lost a claim it had taken):
// everything it wrote goes, the claims last, and cause is returned.
func (op *createOp) abort(ctx context.Context, s *Service, org domain.Organization, cause error) error {
	ours, err := s.ownsCollection(ctx, org)
	if err != nil {
		return err
	}
	if ours {
		if err := s.tenants.Drop(ctx, org.ID, org.Name.Collection()); err != nil {
			return err
		}
	}
	if err := s.rosters.Drop(ctx, org.ID, 0); err != nil {
		return err
	}
	if err := s.admins.Delete(ctx, op.Member.AdminID); err != nil {
		return err
	}
	if err := s.orgs.Delete(ctx, org.ID, org.Version); err != nil && !errors.Is(err, domain.ErrStale) {
		return err
	}
	if err := s.step(ctx, FPCreateAborted); err != nil {
		return err
	}
	if err := s.releaseAll(ctx, op.claims(org)); err != nil {
		return err
	}
	return cause
}

// ownsCollection reports whether org_<key> where org's collection lives
// can only be org's: org holds the name's claim, nobody does, or its
// holder keeps its collection in another place.
func (s *Service) ownsCollection(ctx context.Context, org domain.Organization) (bool, error) {
	held, err := s.names.reg.Claim(ctx, org.Name.Key())
	switch {
	case errors.Is(err, domain.ErrNoClaim):
		return true, nil
	case err != nil:
		return false, err
	}
	return held.Same(org.NameClaim()) || s.tenants.Place(held.OrgID) != s.tenants.Place(org.ID), nil
}
