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
// compare-and-set on its Version. Whoever holds the lease carries the
// operation to its end: the request that started it, or, once the lease
// has run out because that request's process died, whoever touches the
// organization next or the recovery pass (recovery.go). The claims an
// intent needs are taken before it is written (claims.go).
// docs/lifecycle.md draws the state machine.

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
	if point == "" {
		return ctx.Err()
	}
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
		if err := waitUntil(ctx, deadline); err != nil {
			return domain.Organization{}, err
		}
	}
}

// waitUntil sleeps one poll interval, or returns domain.ErrOrgBusy once
// deadline has passed (or ctx's error if it ends first).
func waitUntil(ctx context.Context, deadline time.Time) error {
	if time.Now().After(deadline) {
		return domain.ErrOrgBusy
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(busyPollInterval):
		return nil
	}
}

// takeOver claims org's expired operation with a fresh lease, makes sure
// it still holds the claims it took (reclaim), and carries it to its end.
// It returns domain.ErrStale if another took it first.
func (s *Service) takeOver(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	next, err := s.replace(ctx, org, org.Renew(s.now().Add(s.lease)))
	if err != nil {
		return domain.Organization{}, err
	}
	s.log.InfoContext(ctx, "lifecycle: resuming operation", "org_id", org.ID, "op", next.Pending.Op)
	ctx, cancel := s.opContext(ctx, next.Pending)
	defer cancel()
	if next, err = s.reclaim(ctx, next); err != nil {
		return domain.Organization{}, err
	}
	out, err := s.finish(ctx, next)
	if err == nil && out.State == domain.StateDeleted {
		return out, domain.ErrOrgNotFound // settled: gone
	}
	return out, err
}

// change is how a use case begins an operation on an existing
// organization: the failpoints after its claims are taken (reserved) and
// after its intent is recorded (begun), and its plan, which computes the
// organization's next state (with its intent) from the settled one.
type change struct {
	reserved, begun string
	plan            func(domain.Organization) (domain.Organization, error)
}

// perform is the one way a use case enters the engine for an existing
// organization: it begins the operation c plans (update) and carries it
// to its end (carry). It returns the organization as it was before and as
// the operation left it (the same, when the plan changes nothing), and
// whether the operation's intent was written (so an error after that is
// the operation's, not the plan's).
func (s *Service) perform(ctx context.Context, id domain.ID, c change) (before, after domain.Organization, begun bool, err error) {
	before, next, err := s.update(ctx, id, c.reserved, c.plan)
	if err != nil || next.Pending == nil {
		return before, before, false, err // it failed, or nothing changes
	}
	after, err = s.carry(ctx, next, c.begun)
	return before, after, true, err
}

// errUnchanged is returned by an update's plan when there is nothing to
// write.
var errUnchanged = errors.New("nothing changes")

// movedOn reports whether organization org has changed since it was read
// (a write that fails to tell counts as a change: the caller plans again,
// and meets the failure there).
func (s *Service) movedOn(ctx context.Context, org domain.Organization) bool {
	cur, err := s.orgs.ByID(ctx, org.ID)
	return err != nil || cur.Version != org.Version
}

// update changes organization id compare-and-set, in plain sight:
//
//  1. settle the organization (no operation pending);
//  2. plan its next state, which only computes;
//  3. take the claims the next state's intent needs (its own, by its ID),
//     then call the failpoint reserved;
//  4. write the next state, conditional on the version read in 1.
//
// If another write got there first, it gives back the claims step 3 took
// (only those: they are this attempt's own) and starts again from what is
// there now; so it does if a key is taken but the organization changed
// while the key was being decided. If a claim is held by another operation of the same
// organization (the same request sent twice, or an operation about to
// release it), it waits for that one and plans again, so a duplicate
// finds its change made and answers as it is. On any other failure after
// step 3 it keeps the claims: the intent may have been written all the
// same, and a claim nobody holds is freed later (see claimState). It
// returns the organization as read and as written; with errUnchanged from
// plan, it writes nothing and returns no error. A refusal of plan (or
// errUnchanged) stands only once the organization is seen not to have
// changed meanwhile.
func (s *Service) update(ctx context.Context, id domain.ID, reserved string, plan func(domain.Organization) (domain.Organization, error)) (before, after domain.Organization, err error) {
	deadline := time.Now().Add(s.busyWait)
	for {
		org, err := s.settle(ctx, id)
		if err != nil {
			return org, org, err
		}
		next, err := plan(org)
		if err != nil && s.movedOn(ctx, org) {
			// The plan read accounts too; an operation begun since the
			// organization was read may have written them already, so its
			// verdict may mix two states: plan again on what is there now.
			continue
		}
		if errors.Is(err, errUnchanged) {
			return org, org, nil
		}
		if err != nil {
			return org, next, err
		}
		err = s.takeClaims(ctx, next, reserved)
		if errors.Is(err, errClaimBusy) {
			if err := waitUntil(ctx, deadline); err != nil {
				return org, next, err
			}
			continue
		}
		if domain.ErrorCode(err) == domain.CodeConflict {
			// Taken: true of the organization as read only if it has not
			// changed while the key's holder was waited for (a delete
			// meanwhile makes the answer "not found").
			if cur, rerr := s.orgs.ByID(ctx, id); rerr != nil || cur.Version != org.Version {
				continue
			}
		}
		if err != nil {
			return org, next, err
		}
		written, err := s.replace(ctx, org, next)
		if errors.Is(err, domain.ErrStale) {
			if err := s.releaseAll(ctx, intentClaims(next)); err != nil {
				return org, next, err
			}
			continue
		}
		return org, written, err
	}
}

// replace writes next over org, conditional on org's version, and returns
// next with the version it now has; domain.ErrStale if org changed.
func (s *Service) replace(ctx context.Context, org, next domain.Organization) (domain.Organization, error) {
	next.Version = org.Version + 1
	return next, s.orgs.Replace(ctx, next, org.Version)
}

// carry carries out org's operation, which its caller has just begun
// (the step named point), to its end, within the operation's lease.
func (s *Service) carry(ctx context.Context, org domain.Organization, point string) (domain.Organization, error) {
	ctx, cancel := s.opContext(ctx, org.Pending)
	defer cancel()
	if err := s.step(ctx, point); err != nil {
		return domain.Organization{}, err
	}
	return s.finish(ctx, org)
}

// finish carries out the remaining steps of org's pending operation
// (operation.finish). It returns the organization as the operation leaves
// it (in state domain.StateDeleted if it removed it), or the error that
// ended the operation.
func (s *Service) finish(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	op, err := opOf(org.Pending)
	if err != nil {
		return domain.Organization{}, fmt.Errorf("organization %s: %w", org.ID, err)
	}
	return op.finish(ctx, s, org)
}

// commit ends org's pending operation op: it writes next (org with the
// operation's effect applied) without the intent and with the events op
// records, over org, and then places those events in the event log. If
// the write loses because another owner finished the operation first, it
// returns what that owner wrote.
func (s *Service) commit(ctx context.Context, op operation, org, next domain.Organization) (domain.Organization, error) {
	unplaced, err := s.unplaced(ctx, org.Outbox)
	if err != nil {
		return domain.Organization{}, err
	}
	next.Outbox = unplaced
	next = next.Done().Record(s.record(org, next, op.events(org, next))...)
	next, err = s.replace(ctx, org, next)
	if err == nil {
		s.publishNow(ctx, next)
	}
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

// drop ends org's pending operation with none of it applied: the intent
// goes, nothing else changes, and no event is recorded.
func (s *Service) drop(ctx context.Context, org domain.Organization) (domain.Organization, error) {
	return s.commit(ctx, nothing{}, org, org)
}

// nothing is what a dropped operation commits: no event.
type nothing struct{ operation }

func (nothing) events(domain.Organization, domain.Organization) []domain.Event { return nil }

// abandon drops org's pending operation, none of which was applied, gives
// back the claims its intent took, and returns cause.
func (s *Service) abandon(ctx context.Context, org domain.Organization, cause error) error {
	if _, err := s.drop(ctx, org); err != nil {
		return err
	}
	return errors.Join(cause, s.releaseAll(ctx, intentClaims(org)))
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
