package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// This file is the lifecycle engine. An operation starts with one atomic
// write that records its intent (domain.Pending) on the organization; every
// later step is idempotent, and the organization's own writes are
// compare-and-set on its Version. Whoever holds the lease drives the
// operation to its end: the request that started it, or, once the lease has
// run out because that request's process died, whoever touches the
// organization next or the recovery pass at startup. docs/lifecycle.md
// draws the state machine.

// Failpoint names, one after each step of each operation.
const (
	FPCreateReserved   = "create.reserved"
	FPCreateInserted   = "create.inserted"
	FPCreateAdmin      = "create.admin"
	FPCreateCollection = "create.collection"
	FPCreateAborted    = "create.aborted"
	FPUpdateReserved   = "update.reserved"
	FPUpdatePending    = "update.pending"
	FPUpdateAdmin      = "update.admin"
	FPUpdateCollection = "update.collection"
	FPUpdateCommitted  = "update.committed"
	FPDeleteMarked     = "delete.marked"
	FPDeleteDropped    = "delete.dropped"
	FPDeleteAdmin      = "delete.admin"
	FPDeleteOrg        = "delete.org"
)

// newPending starts an intent whose lease begins now.
func (s *Service) newPending(op domain.Op) *domain.Pending {
	return &domain.Pending{Op: op, LeaseUntil: s.now().Add(s.lease)}
}

// expired reports whether org's pending operation has outlived its lease.
func (s *Service) expired(org domain.Organization) bool {
	return org.Pending != nil && !s.clock.Now().Before(org.Pending.LeaseUntil)
}

// opContext detaches the operation from the caller's cancellation (a
// client hanging up must not leave the operation half done) and ends it a
// third of a lease before the lease does, so an owner never acts once
// another may have taken over.
func (s *Service) opContext(ctx context.Context, p *domain.Pending) (context.Context, context.CancelFunc) {
	left := p.LeaseUntil.Sub(s.clock.Now()) - s.lease/3
	return context.WithTimeout(context.WithoutCancel(ctx), left)
}

// step calls the failpoint after a step.
func (s *Service) step(ctx context.Context, point string) error {
	if err := s.fail.Check(ctx, point); err != nil {
		return fmt.Errorf("failpoint %s: %w", point, err)
	}
	return ctx.Err()
}

// settle returns organization id with no pending operation: it waits (up to
// busyWait) for an operation in flight, and takes over and finishes one
// whose lease has run out. It returns domain.ErrOrgNotFound if the
// organization is gone and domain.ErrOrgBusy if it stays busy.
func (s *Service) settle(ctx context.Context, id domain.ID) (domain.Organization, error) {
	// Waiting is for real concurrency, so it is bounded in real time.
	deadline := time.Now().Add(s.busyWait)
	for {
		org, err := s.orgs.ByID(ctx, id)
		if err != nil || org.Pending == nil {
			return org, err
		}
		if s.expired(org) {
			org, err = s.takeOver(ctx, org)
			// ErrStale: someone else moved first. A conflict: the operation
			// was rolled back (a create is gone, an update undone). Either
			// way, look again at what is there now.
			if errors.Is(err, domain.ErrStale) || domain.ErrorCode(err) == domain.CodeConflict {
				continue
			}
			return org, err
		}
		if time.Now().After(deadline) {
			return domain.Organization{}, domain.ErrOrgBusy
		}
		select {
		case <-ctx.Done():
			return domain.Organization{}, ctx.Err()
		case <-time.After(busyPollInterval):
		}
	}
}

// takeOver claims org's expired operation with a fresh lease and drives it
// to its end. It returns domain.ErrStale if another took it first.
func (s *Service) takeOver(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	next, err := s.replace(ctx, org, org.Renew(s.now().Add(s.lease)))
	if err != nil {
		return domain.Organization{}, err
	}
	s.log.InfoContext(ctx, "lifecycle: resuming operation", "org_id", org.ID, "op", next.Pending.Op)
	return s.drive(ctx, next)
}

// errUnchanged is returned by an update's change function when there is
// nothing to write.
var errUnchanged = errors.New("nothing changes")

// update changes organization id compare-and-set: it settles the
// organization (no operation pending), asks change for its next state and
// writes that, conditional on the version it read. If another write got
// there first, it lets go the claims the next state's intent took (see
// reserveIntent) and starts again from what is there now. On any other
// failure it keeps them: the intent may have been written all the same,
// and an unreferenced claim is freed later (see abandoned). It returns the
// organization as read and as written; with errUnchanged from change, it
// writes nothing and returns no error.
func (s *Service) update(ctx context.Context, id domain.ID, change func(domain.Organization) (domain.Organization, error)) (before, after domain.Organization, err error) {
	for {
		org, err := s.settle(ctx, id)
		if err != nil {
			return org, org, err
		}
		next, err := change(org)
		if errors.Is(err, errUnchanged) {
			return org, org, nil
		}
		if err != nil {
			return org, next, err
		}
		if next, err = s.replace(ctx, org, next); err != nil {
			if !errors.Is(err, domain.ErrStale) {
				// The write may have landed (an answer lost on the way):
				// keep the claims, which recovery frees if it did not.
				return org, next, err
			}
			if err := s.releaseIntent(ctx, next); err != nil {
				return org, next, err
			}
			continue
		}
		return org, next, nil
	}
}

// replace writes next over org, conditional on org's version, and returns
// next with the version it now has; domain.ErrStale if org changed.
func (s *Service) replace(ctx context.Context, org, next domain.Organization) (domain.Organization, error) {
	next.Version = org.Version + 1
	return next, s.orgs.Replace(ctx, next, org.Version)
}

// proceed carries out org's operation, which its caller has just begun
// (the step named point), to its end.
func (s *Service) proceed(ctx context.Context, org domain.Organization, point string) (domain.Organization, error) {
	ctx, cancel := s.opContext(ctx, org.Pending)
	defer cancel()
	if err := s.step(ctx, point); err != nil {
		return domain.Organization{}, err
	}
	return s.finish(ctx, org)
}

// drive carries out the remaining steps of org's pending operation, whose
// lease the caller holds.
func (s *Service) drive(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	ctx, cancel := s.opContext(ctx, org.Pending)
	defer cancel()
	return s.finish(ctx, org)
}

// finish carries out the remaining steps of org's pending operation. It
// returns the organization as the operation leaves it,
// domain.ErrOrgNotFound if the operation removed it, or the error that
// ended the operation.
func (s *Service) finish(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	switch org.Pending.Op {
	case domain.OpCreate:
		return s.finishCreate(ctx, org)
	case domain.OpUpdate:
		return s.finishUpdate(ctx, org)
	case domain.OpDelete:
		if err := s.finishDelete(ctx, org); err != nil {
			return domain.Organization{}, err
		}
		return domain.Organization{}, domain.ErrOrgNotFound
	default:
		return domain.Organization{}, fmt.Errorf("organization %s: unknown pending operation %q", org.ID, org.Pending.Op)
	}
}

// commit writes next (org with its operation applied) over org. If the
// write loses because another owner finished the operation first, it
// returns what that owner wrote.
func (s *Service) commit(ctx context.Context, org, next domain.Organization) (domain.Organization, error) {
	next, err := s.replace(ctx, org, next)
	if !errors.Is(err, domain.ErrStale) {
		return next, err
	}
	cur, err := s.orgs.ByID(ctx, org.ID)
	if err != nil {
		return domain.Organization{}, err
	}
	if cur.Pending == nil {
		return cur, nil
	}
	return domain.Organization{}, domain.ErrOrgBusy
}

// claimKind is one claim registry (name keys or admin emails), what a
// taken key means to clients, and how to tell that an organization still
// references a key claimed for it.
type claimKind struct {
	reg   ports.ClaimRegistry
	taken error
	held  func(org domain.Organization, key string) bool
}

// reserve takes claim (made now) in k. A claim left behind by an operation
// that died is cleared first; a claim its holder already has (from its own
// earlier attempt) counts as taken by it. It returns k.taken if another
// holds the key.
func (s *Service) reserve(ctx context.Context, k claimKind, claim domain.Claim) error {
	claim.At = s.now()
	for range 3 {
		err := k.reg.Reserve(ctx, claim)
		if !errors.Is(err, domain.ErrClaimTaken) {
			return err
		}
		held, err := k.reg.Claim(ctx, claim.Key)
		if errors.Is(err, domain.ErrNoClaim) {
			continue // freed meanwhile
		}
		if err != nil {
			return err
		}
		if held.HeldBy(claim) {
			return nil
		}
		abandoned, err := s.abandoned(ctx, k, held)
		if err != nil || !abandoned {
			return errors.Join(k.taken, err)
		}
		if err := k.reg.Release(ctx, held); err != nil {
			return err
		}
	}
	return k.taken
}

// abandoned reports whether claim (in k) is left over from an operation
// that will never finish: nothing references its key any more, and the
// claim is older than a lease, or was made before this process took the
// store over exclusively (see RecoverPending). A claim of an organization
// is referenced by the organization (settled first if its expired
// operation would decide the question); a claim with no organization is
// the super admin's email, referenced by the admin holding it.
func (s *Service) abandoned(ctx context.Context, k claimKind, claim domain.Claim) (bool, error) {
	if claim.OrgID == "" {
		admin, err := s.admins.ByID(ctx, claim.AdminID)
		switch {
		case errors.Is(err, domain.ErrAdminNotFound):
		case err != nil:
			return false, err
		case string(admin.Email) == claim.Key:
			return false, nil
		}
	} else {
		org, err := s.orgs.ByID(ctx, claim.OrgID)
		if err == nil && s.expired(org) {
			org, err = s.settle(ctx, claim.OrgID)
		}
		switch {
		case errors.Is(err, domain.ErrOrgNotFound):
		case err != nil:
			return false, err
		case k.held(org, claim.Key):
			return false, nil
		}
	}
	if since := s.exclusiveSince(); !since.IsZero() && claim.At.Before(since) {
		return true, nil
	}
	return !s.clock.Now().Before(claim.At.Add(s.lease)), nil
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

// moveCollection renames a tenant collection, treating a rename already
// done as success.
func (s *Service) moveCollection(ctx context.Context, org domain.ID, from, to string) error {
	err := s.tenants.Rename(ctx, org, from, to)
	if !errors.Is(err, domain.ErrCollectionNotFound) {
		return err
	}
	ok, err := s.tenants.Exists(ctx, org, to)
	if err != nil || ok {
		return err
	}
	// Neither collection exists: the tenant's collection was removed behind
	// orgd's back. Give the organization an empty one rather than none.
	s.log.WarnContext(ctx, "lifecycle: tenant collection missing; creating it empty", "from", from, "to", to)
	return s.tenants.Create(ctx, org, to)
}

// RecoveryReport says what Recover did.
type RecoveryReport struct {
	Resumed        int // operations driven to their end
	ClaimsReleased int // abandoned name and email claims freed
}

// Recover finishes every pending operation and frees every abandoned
// claim (RecoverPending, then ReleaseAbandoned).
func (s *Service) Recover(ctx context.Context, exclusive bool) (RecoveryReport, error) {
	rep, err := s.RecoverPending(ctx, exclusive)
	rel, err2 := s.ReleaseAbandoned(ctx)
	rep.ClaimsReleased = rel
	return rep, errors.Join(err, err2)
}

// RecoverPending finishes the pending operations. With exclusive set the
// caller guarantees that no other process uses the store (the embedded
// store is locked to one process) and that this process has started no
// operation yet: every pending operation is then taken over at once, and
// from now on any unreferenced claim made before this call counts as
// abandoned. Otherwise only operations whose lease has run out are. Its
// cost grows with the number of pending operations, not of organizations.
func (s *Service) RecoverPending(ctx context.Context, exclusive bool) (RecoveryReport, error) {
	if exclusive {
		now := s.now()
		s.exclusive.CompareAndSwap(nil, &now)
	}
	var rep RecoveryReport
	return rep, s.resumePending(ctx, exclusive, &rep)
}

// ReleaseAbandoned frees the claims no operation will ever use and returns
// how many. It reads every organization and every claim once, so it may
// run in the background while requests are served.
func (s *Service) ReleaseAbandoned(ctx context.Context) (int, error) {
	var rep RecoveryReport
	err := s.releaseAbandoned(ctx, &rep)
	return rep.ClaimsReleased, err
}

// resumePending drives pending operations to their end: all of them if
// exclusive, else those whose lease has run out. Its cost grows with the
// number of pending operations only.
func (s *Service) resumePending(ctx context.Context, exclusive bool, rep *RecoveryReport) error {
	pending, err := s.orgs.WithPending(ctx)
	if err != nil {
		return fmt.Errorf("list pending: %w", err)
	}
	var errs []error
	for _, org := range pending {
		if !exclusive && !s.expired(org) {
			continue
		}
		_, err := s.takeOver(ctx, org)
		switch {
		case err == nil, errors.Is(err, domain.ErrOrgNotFound), errors.Is(err, domain.ErrStale):
			rep.Resumed++
		case domain.ErrorCode(err) == domain.CodeConflict:
			rep.Resumed++ // rolled back: the operation could not be completed
		default:
			errs = append(errs, fmt.Errorf("resume %s of %s: %w", org.Pending.Op, org.ID, err))
		}
	}
	return errors.Join(errs...)
}

// releaseAbandoned frees the claims no operation will ever use. It reads
// every organization and every claim once and diffs them in memory; only
// the claims that diff leaves in doubt (few: those of crashed or running
// operations) are looked at one by one.
func (s *Service) releaseAbandoned(ctx context.Context, rep *RecoveryReport) error {
	orgs, err := s.orgs.All(ctx)
	if err != nil {
		return fmt.Errorf("list organizations: %w", err)
	}
	byID := make(map[domain.ID]domain.Organization, len(orgs))
	for _, o := range orgs {
		byID[o.ID] = o
	}
	var errs []error
	for _, k := range []claimKind{s.names, s.emails} {
		claims, err := k.reg.All(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list claims: %w", err))
			continue
		}
		for _, c := range claims {
			if o, ok := byID[c.OrgID]; ok && o.Pending == nil && k.held(o, c.Key) {
				continue
			}
			ok, err := s.abandoned(ctx, k, c)
			if err == nil && ok {
				err = k.reg.Release(ctx, c)
				if err == nil {
					rep.ClaimsReleased++
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("claim %q: %w", c.Key, err))
			}
		}
	}
	return errors.Join(errs...)
}

// RecoverEvery finishes, every interval until ctx ends, the operations
// whose lease ran out (a request that failed midway, or a replica that
// died), even if nobody touches their organization. With sweepClaims it
// also frees abandoned claims; that is only needed when other processes
// share the store, since this process's own leftovers are freed at its
// next start or when someone reserves the key. Errors are logged.
func (s *Service) RecoverEvery(ctx context.Context, interval time.Duration, sweepClaims bool) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var rep RecoveryReport
			err := s.resumePending(ctx, false, &rep)
			if sweepClaims {
				err = errors.Join(err, s.releaseAbandoned(ctx, &rep))
			}
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "lifecycle: periodic recovery incomplete", "error", err)
			}
			if rep.Resumed > 0 || rep.ClaimsReleased > 0 {
				s.log.InfoContext(ctx, "lifecycle: periodic recovery", "resumed", rep.Resumed, "claims_released", rep.ClaimsReleased)
			}
		}
	}
}
