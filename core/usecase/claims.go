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
	if k == domain.KindEmail {
		return s.emails
	}
	return s.names
}

// errClaimBusy says a key is held by another operation of the same holder:
// the same request sent twice, or an operation about to give the key back.
// The caller waits for it and looks again.
var errClaimBusy = errors.New("key held by another operation of the same organization")

// reserve takes claim c (made now). A claim left behind by an operation
// that will never finish is cleared first (see abandoned); taking a key
// may so finish another organization's operation whose lease ran out. A
// claim that is already c (this operation's own, from an earlier attempt)
// counts as taken. It returns the registry's taken error if another holds
// the key, and errClaimBusy if another operation of the same holder does.
func (s *Service) reserve(ctx context.Context, c domain.Claim) error {
	k := s.registry(c.Kind)
	c.At = s.now()
	for range 3 {
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
		abandoned, err := s.abandoned(ctx, held)
		if err != nil {
			return err
		}
		if !abandoned {
			if held.SameHolder(c) {
				return errClaimBusy
			}
			return k.taken
		}
		if err := k.reg.Release(ctx, held); err != nil {
			return err
		}
	}
	return k.taken
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
	claims := next.IntentClaims()
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

// abandoned reports whether claim c is left over from an operation that
// will never finish: nobody holds it (its organization, settled first if
// an expired operation would decide the question, neither holds it nor is
// taking it; for the super admin's email, the admin does not hold it), and
// it is older than a lease or was made before this process took the store
// over exclusively (see RecoverPending).
func (s *Service) abandoned(ctx context.Context, c domain.Claim) (bool, error) {
	if c.OrgID == "" {
		admin, err := s.admins.ByID(ctx, c.AdminID)
		switch {
		case errors.Is(err, domain.ErrAdminNotFound):
		case err != nil:
			return false, err
		case string(admin.Email) == c.Key:
			return false, nil
		}
	} else {
		org, err := s.orgs.ByID(ctx, c.OrgID)
		if err == nil && s.expired(org) {
			org, err = s.settle(ctx, c.OrgID)
		}
		switch {
		case errors.Is(err, domain.ErrOrgNotFound):
		case err != nil:
			return false, err
		case org.Holds(c):
			return false, nil
		}
	}
	return s.pastLease(c.At), nil
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
// without it: a create is undone; an update forgoes that part (a rename
// moves its collection back first) and carries out the rest. It returns
// the organization as it now is.
func (s *Service) reclaim(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	var lost []domain.Claim
	for _, c := range org.IntentClaims() {
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
	if org.Pending.Op == domain.OpCreate {
		return org, s.abortCreate(ctx, org, s.registry(lost[0].Kind).taken)
	}
	return s.forgo(ctx, org, lost)
}

// forgo drops the parts of org's pending update whose claims were lost,
// undoing what of them was applied: a moved collection moves back, an
// admin email changed goes back to the one org still holds.
func (s *Service) forgo(ctx context.Context, org domain.Organization, lost []domain.Claim) (domain.Organization, error) {
	var name, email bool
	for _, c := range lost {
		name = name || c.Kind == domain.KindName
		email = email || c.Kind == domain.KindEmail
	}
	p := org.Pending
	if name {
		if err := s.moveBack(ctx, org); err != nil {
			return org, err
		}
	}
	if email {
		admin, err := s.admins.ByID(ctx, org.AdminID)
		if err != nil {
			return org, err
		}
		if admin.Email == p.NewEmail {
			admin.Email = org.AdminEmail
			if err := s.admins.Update(ctx, admin); err != nil {
				return org, err
			}
		}
	}
	return s.replace(ctx, org, org.Forgo(name, email))
}

// moveBack returns org's collection to its current name if its pending
// rename moved it. The target name's collection is certainly org's only
// if the name's new holder keeps its collection elsewhere; otherwise
// orgd cannot tell the two apart, and leaves the operation for an
// operator (orgd check).
func (s *Service) moveBack(ctx context.Context, org domain.Organization) error {
	from, to := org.Pending.NewName.Collection(), org.Name.Collection()
	if ok, err := s.tenants.Exists(ctx, org.ID, to); err != nil || ok {
		return err // not moved
	}
	holder, err := s.names.reg.Claim(ctx, org.Pending.NewName.Key())
	if err != nil && !errors.Is(err, domain.ErrNoClaim) {
		return err
	}
	if err == nil && s.tenants.Place(holder.OrgID) == s.tenants.Place(org.ID) {
		return s.stuck(ctx, org, fmt.Errorf("its rename to %q lost the name to organization %s, whose collection lives beside it", org.Pending.NewName.Key(), holder.OrgID))
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
// more); that is not a match.
func (s *Service) adminByEmail(ctx context.Context, email domain.Email) (domain.Admin, error) {
	c, err := s.emails.reg.Claim(ctx, string(email))
	if errors.Is(err, domain.ErrNoClaim) {
		return domain.Admin{}, domain.ErrAdminNotFound
	}
	if err != nil {
		return domain.Admin{}, err
	}
	admin, err := s.admins.ByID(ctx, c.AdminID)
	if err != nil {
		return domain.Admin{}, err
	}
	if admin.Email != email {
		return domain.Admin{}, domain.ErrAdminNotFound
	}
	return admin, nil
}
