package usecase

import (
	"context"
	"errors"
	"fmt"
	"time"

	"orgd/core/domain"
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
	next := org
	p := *org.Pending
	p.LeaseUntil = s.now().Add(s.lease)
	next.Pending = &p
	next.Version++
	if err := s.orgs.Replace(ctx, next, org.Version); err != nil {
		return domain.Organization{}, err
	}
	s.log.InfoContext(ctx, "lifecycle: resuming operation", "org_id", org.ID, "op", p.Op)
	return s.drive(ctx, next)
}

// drive carries out the remaining steps of org's pending operation, whose
// lease the caller holds. It returns the organization as the operation
// leaves it, domain.ErrOrgNotFound if the operation removed it, or the
// error that ended the operation.
func (s *Service) drive(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	ctx, cancel := s.opContext(ctx, org.Pending)
	defer cancel()
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
	next.Version = org.Version + 1
	err := s.orgs.Replace(ctx, next, org.Version)
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

// reserve takes the claim on a name key. A claim left behind by an
// operation that died is cleared first; a claim that claim.OrgID already
// holds (from its own earlier attempt) counts as taken by it.
func (s *Service) reserve(ctx context.Context, claim domain.NameClaim) error {
	for range 3 {
		err := s.names.Reserve(ctx, claim)
		if !errors.Is(err, domain.ErrOrgExists) {
			return err
		}
		held, err := s.names.Claim(ctx, claim.Key)
		if errors.Is(err, domain.ErrOrgNotFound) {
			continue // freed meanwhile
		}
		if err != nil {
			return err
		}
		if held.OrgID == claim.OrgID {
			return nil
		}
		abandoned, err := s.abandoned(ctx, held, false)
		if err != nil || !abandoned {
			return errors.Join(domain.ErrOrgExists, err)
		}
		if err := s.names.Release(ctx, held.Key, held.OrgID); err != nil {
			return err
		}
	}
	return domain.ErrOrgExists
}

// abandoned reports whether claim is left over from an operation that will
// never finish: its organization is gone or does not reference the key, and
// the claim is older than a lease (or force is set because no other process
// can be running). An organization whose expired operation would decide the
// question is settled first.
func (s *Service) abandoned(ctx context.Context, claim domain.NameClaim, force bool) (bool, error) {
	org, err := s.orgs.ByID(ctx, claim.OrgID)
	if err == nil && s.expired(org) {
		org, err = s.settle(ctx, claim.OrgID)
	}
	switch {
	case errors.Is(err, domain.ErrOrgNotFound):
	case err != nil:
		return false, err
	case org.References(claim.Key):
		return false, nil
	}
	return force || !s.clock.Now().Before(claim.At.Add(s.lease)), nil
}

// moveCollection renames a tenant collection, treating a rename already
// done as success.
func (s *Service) moveCollection(ctx context.Context, from, to string) error {
	err := s.tenants.Rename(ctx, from, to)
	if !errors.Is(err, domain.ErrCollectionNotFound) {
		return err
	}
	ok, err := s.tenants.Exists(ctx, to)
	if err != nil || ok {
		return err
	}
	// Neither collection exists: the tenant's collection was removed behind
	// orgd's back. Give the organization an empty one rather than none.
	s.log.WarnContext(ctx, "lifecycle: tenant collection missing; creating it empty", "from", from, "to", to)
	return s.tenants.Create(ctx, to)
}

// RecoveryReport says what Recover did.
type RecoveryReport struct {
	Resumed        int // operations driven to their end
	ClaimsReleased int // abandoned name claims freed
}

// Recover finishes every pending operation and frees every abandoned name
// claim. With exclusive set the caller guarantees no other process uses
// the store (the embedded store is locked to one process), so operations
// and claims are taken over without waiting for their leases; otherwise
// only expired ones are.
func (s *Service) Recover(ctx context.Context, exclusive bool) (RecoveryReport, error) {
	var rep RecoveryReport
	pending, err := s.orgs.WithPending(ctx)
	if err != nil {
		return rep, fmt.Errorf("list pending: %w", err)
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
	claims, err := s.names.All(ctx)
	if err != nil {
		return rep, errors.Join(append(errs, fmt.Errorf("list claims: %w", err))...)
	}
	for _, c := range claims {
		ok, err := s.abandoned(ctx, c, exclusive)
		if err == nil && ok {
			err = s.names.Release(ctx, c.Key, c.OrgID)
			if err == nil {
				rep.ClaimsReleased++
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("claim %q: %w", c.Key, err))
		}
	}
	return rep, errors.Join(errs...)
}

// RecoverEvery runs Recover (non-exclusive) every interval until ctx ends,
// so operations abandoned by a replica that died are finished even if no
// request touches their organization. Errors are logged.
func (s *Service) RecoverEvery(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := s.Recover(ctx, false)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "lifecycle: periodic recovery incomplete", "error", err)
			}
			if rep.Resumed > 0 || rep.ClaimsReleased > 0 {
				s.log.InfoContext(ctx, "lifecycle: periodic recovery", "resumed", rep.Resumed, "claims_released", rep.ClaimsReleased)
			}
		}
	}
}
