package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// This file is the claims half of the lifecycle engine: taking and giving
// back the unique keys (name keys, admin emails) an operation needs, and
// reading organizations and admins through them.
//
// A claim belongs to the operation that took it (domain.Claim.Op), and
// every release names that operation, so nothing but the owner can free
// it: a duplicate request that loses the race gives back only what it took
// itself.

// claimKind is one claim registry and what a taken key in it means to
// clients.
type claimKind struct {
	reg   ports.ClaimRegistry
	taken error
}

// registry returns the registry claims of kind k live in.
func (s *Service) registry(k domain.ClaimKind) claimKind {
	switch k {
	case domain.KindEmail:
		return s.emails
	case domain.KindExternalID:
		return s.extIDs
	}
	return s.names
}

// registries are the claim registries this Service has.
func (s *Service) registries() []claimKind {
	out := []claimKind{s.names, s.emails}
	if s.extIDs.reg != nil {
		out = append(out, s.extIDs)
	}
	return out
}

// errClaimBusy says a key is held by another operation of the same holder:
// the same request sent twice, or an operation about to give the key back.
// The caller waits for it and looks again.
var errClaimBusy = errors.New("key held by another operation of the same organization")

// reserve takes claim c (made now). The key counts as taken only once its
// holder owns it, settled (so a client is never told a name is taken that
// it cannot then find, nor by an operation that then fails): while the
// operation that took it is in flight, reserve waits for it, up to
// busyWait, and answers domain.ErrOrgBusy if it is still undecided then.
// A claim left behind by an operation that will never finish is cleared
// (see claimState); taking a key may so finish another organization's
// operation whose lease ran out. A claim that is already c (this
// operation's own, from an earlier attempt) counts as taken. It returns
// the registry's taken error if another holds the key, and errClaimBusy
// if another operation of the same holder does.
func (s *Service) reserve(ctx context.Context, c domain.Claim) error {
	k := s.registry(c.Kind)
	c.At = s.now()
	deadline := time.Now().Add(s.busyWait)
	for {
		err := k.reg.Reserve(ctx, c)
		if !errors.Is(err, domain.ErrClaimTaken) {
			return err
		}
		held, err := k.reg.Claim(ctx, c.Key)
		if errors.Is(err, domain.ErrNoClaim) {
			continue // freed meanwhile
		}
		if err != nil {
			return err
		}
		if held.Same(c) {
			return nil
		}
		state, err := s.claimState(ctx, held)
		if err != nil {
			return err
		}
		switch state {
		case claimHeld:
			if held.SameHolder(c) {
				return errClaimBusy
			}
			return k.taken
		case claimAbandoned:
			if err := k.reg.Release(ctx, held); err != nil {
				return err
			}
		case claimInFlight:
			if err := waitUntil(ctx, deadline); err != nil {
				return err
			}
		}
	}
}

// reserveAll takes claims in order. If one cannot be taken, it gives back
// the ones it took and returns why.
func (s *Service) reserveAll(ctx context.Context, claims []domain.Claim) error {
	for i, c := range claims {
		if err := s.reserve(ctx, c); err != nil {
			return errors.Join(err, s.releaseAll(ctx, claims[:i]))
		}
	}
	return nil
}

// takeClaims takes the claims next's intent needs, within its lease, and
// then calls the failpoint reserved (if it took any).
func (s *Service) takeClaims(ctx context.Context, next domain.Organization, reserved string) error {
	claims := intentClaims(next)
	if len(claims) == 0 {
		return nil
	}
	ctx, cancel := s.opContext(ctx, next.Pending)
	defer cancel()
	if err := s.reserveAll(ctx, claims); err != nil {
		return err
	}
	return s.step(ctx, reserved)
}

// releaseAll gives claims back; each is freed only if its owner, as named
// in it, still holds it.
func (s *Service) releaseAll(ctx context.Context, claims []domain.Claim) error {
	var errs []error
	for _, c := range claims {
		errs = append(errs, s.registry(c.Kind).reg.Release(ctx, c))
	}
	return errors.Join(errs...)
}

// claimStatus is where a claim stands.
type claimStatus int

const (
	// claimHeld: its holder owns it, settled (domain.Organization.Owns).
	claimHeld claimStatus = iota
	// claimInFlight: an operation in flight decides it: one that holds it
	// (a create, a delete, an update taking it), or one on its way to
	// recording it (nobody holds it, and it is younger than a lease).
	claimInFlight
	// claimAbandoned: nobody holds it, and the operation that took it is
	// not running any more; it can be released.
	claimAbandoned
)

// claimState reads where claim c stands: whether its organization (settled
// first if an expired operation would decide the question) owns it, or
// holds it by an operation in flight, or one of its members holds it (an
// email), or for a claim with no organization,
// the super admin holding the email; if nobody holds it, whether it is
// older than a lease or than this process's exclusive hold of the store
// (see RecoverPending).
func (s *Service) claimState(ctx context.Context, c domain.Claim) (claimStatus, error) {
	if c.OrgID == "" {
		admin, err := s.admins.ByID(ctx, c.AdminID)
		switch {
		case errors.Is(err, domain.ErrAdminNotFound):
		case err != nil:
			return claimHeld, err
		case string(admin.Email) == c.Key:
			return claimHeld, nil
		}
	} else {
		org, err := s.orgs.ByID(ctx, c.OrgID)
		if err == nil && s.expired(org) {
			org, err = s.settle(ctx, c.OrgID)
		}
		switch {
		case errors.Is(err, domain.ErrOrgNotFound):
		case err != nil:
			return claimHeld, err
		case org.Owns(c):
			return claimHeld, nil
		case holds(org, c):
			return claimInFlight, nil
		case c.Kind == domain.KindEmail:
			// A member's email: held by its account, settled as the
			// organization is (a create or a delete decides it).
			held, err := s.memberHolds(ctx, org, c)
			switch {
			case err != nil:
				return claimHeld, err
			case held && org.Settled():
				return claimHeld, nil
			case held:
				return claimInFlight, nil
			}
		}
	}
	if s.pastLease(c.At) {
		return claimAbandoned, nil
	}
	return claimInFlight, nil
}

// memberHolds reports whether a member of org holds email claim c: its
// account is org's and holds c as its own.
func (s *Service) memberHolds(ctx context.Context, org domain.Organization, c domain.Claim) (bool, error) {
	admin, err := s.admins.ByID(ctx, c.AdminID)
	if errors.Is(err, domain.ErrAdminNotFound) {
		return false, nil
	}
	return err == nil && admin.OrgID == org.ID && admin.Member().EmailClaim(org.ID).Same(c), err
}

// pastLease reports whether something made at t (a claim, a marker) is
// older than a lease, or older than this process's exclusive hold of the
// store: either way, the operation that made it is not running any more.
func (s *Service) pastLease(t time.Time) bool {
	if since := s.exclusiveSince(); !since.IsZero() && t.Before(since) {
		return true
	}
	return !s.clock.Now().Before(t.Add(s.lease))
}

// exclusiveSince is when this process took the store over exclusively
// (zero if it has not, or shares the store): claims made before then
// belong to processes that are gone.
func (s *Service) exclusiveSince() time.Time {
	if t := s.exclusive.Load(); t != nil {
		return *t
	}
	return time.Time{}
}

// reclaim makes sure that org's pending operation, which the caller has
// just taken over, still holds every claim it took. A claim given up
// meanwhile (by an operator's repair, say) is taken again, as its own.
// One that another holder has taken since is lost, and the operation does
// without it: a create or a join is undone; an update forgoes that part (a rename
// moves its collection back first) and carries out the rest. It returns
// the organization as it now is.
func (s *Service) reclaim(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	op, err := opOf(org.Pending)
	if err != nil {
		return org, err
	}
	var lost []domain.Claim
	for _, c := range op.claims(org) {
		err := s.reserve(ctx, c)
		switch {
		case err == nil:
		case errors.Is(err, errClaimBusy):
			return org, domain.ErrOrgBusy
		case domain.ErrorCode(err) == domain.CodeConflict:
			lost = append(lost, c)
		default:
			return org, err
		}
	}
	if len(lost) == 0 {
		return org, nil
	}
	s.log.WarnContext(ctx, "lifecycle: an operation lost a claim it had taken; it goes on without it",
		"org_id", org.ID, "op", org.Pending.Op, "claims", len(lost))
	return op.lose(ctx, s, org, lost)
}

// moveBack returns org's collection to its current name if its pending
// rename to name moved it. The target name's collection is certainly
// org's only if the name's new holder keeps its collection elsewhere;
// otherwise orgd cannot tell the two apart, and leaves the operation for
// an operator (orgd check).
func (s *Service) moveBack(ctx context.Context, org domain.Organization, name domain.OrgName) error {
	from, to := name.Collection(), org.Name.Collection()
	if ok, err := s.tenants.Exists(ctx, org.ID, to); err != nil || ok {
		return err // not moved
	}
	holder, err := s.names.reg.Claim(ctx, name.Key())
	if err != nil && !errors.Is(err, domain.ErrNoClaim) {
		return err
	}
	if err == nil && s.tenants.Place(holder.OrgID) == s.tenants.Place(org.ID) {
		return s.stuck(ctx, org, fmt.Errorf("its rename to %q lost the name to organization %s, whose collection lives beside it", name.Key(), holder.OrgID))
	}
	return s.moveCollection(ctx, org.ID, from, to)
}

// orgByName returns the organization holding the claim on name key key, in
// whatever state: its current name, or the target of a rename under way.
// It returns domain.ErrOrgNotFound if nobody claims key. Two reads by key,
// whatever the number of organizations.
func (s *Service) orgByName(ctx context.Context, key string) (domain.Organization, error) {
	c, err := s.names.reg.Claim(ctx, key)
	if errors.Is(err, domain.ErrNoClaim) {
		return domain.Organization{}, fmt.Errorf("name %q: %w", key, domain.ErrOrgNotFound)
	}
	if err != nil {
		return domain.Organization{}, err
	}
	return s.orgs.ByID(ctx, c.OrgID)
}

// adminByEmail returns the admin holding email, or domain.ErrAdminNotFound.
// The claim may name an admin that does not hold the email (yet, or any
// more); that is not a match. When the two disagree because an update of
// the admin's organization is between changing the admin and recording
// itself, that update is waited for (or finished, past its lease) first,
// so the answer is the email's owner before or after it, never halfway.
func (s *Service) adminByEmail(ctx context.Context, email domain.Email) (domain.Admin, error) {
	c, err := s.emails.reg.Claim(ctx, string(email))
	if errors.Is(err, domain.ErrNoClaim) {
		return domain.Admin{}, domain.ErrAdminNotFound
	}
	if err != nil {
		return domain.Admin{}, err
	}
	admin, err := s.admins.ByID(ctx, c.AdminID)
	if err != nil || admin.Email == email {
		return admin, err
	}
	if c.OrgID != "" {
		org, err := s.orgs.ByID(ctx, c.OrgID)
		if err == nil && org.Pending != nil {
			if _, err := s.settle(ctx, c.OrgID); err != nil && !errors.Is(err, domain.ErrOrgNotFound) {
				return domain.Admin{}, err
			}
			if admin, err = s.admins.ByID(ctx, c.AdminID); err != nil || admin.Email == email {
				return admin, err
			}
		}
	}
	return domain.Admin{}, domain.ErrAdminNotFound
}
