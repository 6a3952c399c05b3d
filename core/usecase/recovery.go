package usecase

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"orgd/core/domain"
)

// This file is recovery: finishing operations whose owner died, freeing
// claims nobody holds, and saying loudly what cannot be settled.

// RecoveryReport says what recovery did.
type RecoveryReport struct {
	// Resumed counts the operations driven to their end (or rolled back).
	Resumed int `json:"resumed"`
	// ClaimsReleased counts the abandoned name and email claims freed.
	ClaimsReleased int `json:"claims_released"`
	// InvitationsDeleted counts invitations stored but never listed by
	// their organization (an invite cut off between its two writes).
	InvitationsDeleted int `json:"invitations_deleted"`
	// EventsPlaced counts the committed events recovery placed in the
	// event log (their committer died first, or the log could not take
	// them then).
	EventsPlaced int `json:"events_placed"`
}

// add counts what o did into r.
func (r *RecoveryReport) add(o RecoveryReport) {
	r.Resumed += o.Resumed
	r.ClaimsReleased += o.ClaimsReleased
	r.InvitationsDeleted += o.InvitationsDeleted
	r.EventsPlaced += o.EventsPlaced
}

// Recover finishes every pending operation, frees every abandoned claim
// and deletes the stray invitations (RecoverPending, then
// ReleaseAbandoned), and reports all of it.
func (s *Service) Recover(ctx context.Context, exclusive bool) (RecoveryReport, error) {
	rep, err := s.RecoverPending(ctx, exclusive)
	rel, err2 := s.ReleaseAbandoned(ctx)
	rep.add(rel)
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
	return s.recoverPending(ctx, exclusive, true)
}

// RecoverAtStart is RecoverPending as a start needs it before serving:
// every operation settled and every committed event placed, but the
// outboxes of organizations whose events are all placed left for
// RecoverPending in the background (clearing one is a write each: after
// many changes, thousands of them, and a start would wait for them all).
func (s *Service) RecoverAtStart(ctx context.Context, exclusive bool) (RecoveryReport, error) {
	return s.recoverPending(ctx, exclusive, false)
}

func (s *Service) recoverPending(ctx context.Context, exclusive, clear bool) (RecoveryReport, error) {
	if exclusive {
		now := s.now()
		s.exclusive.CompareAndSwap(nil, &now)
	}
	var rep RecoveryReport
	return rep, s.resumePending(ctx, exclusive, clear, &rep)
}

// ReleaseAbandoned frees the claims no operation will ever use and
// deletes the invitations no organization lists, and reports how many. It
// reads every organization and every claim once, so it may run in the
// background while requests are served.
func (s *Service) ReleaseAbandoned(ctx context.Context) (RecoveryReport, error) {
	var rep RecoveryReport
	err := s.releaseAbandoned(ctx, &rep)
	return rep, err
}

// Stuck returns how many times recovery has met an operation it could not
// settle (each is logged at ERROR with its organization) since the
// Service started.
func (s *Service) Stuck() int64 { return s.stuckCount.Load() }

// errStuck marks an operation recovery cannot settle by itself; clients
// touching its organization are told to retry later.
var errStuck = &domain.Error{
	Code:       domain.CodeBusy,
	Message:    "Organization is waiting for an operator's repair; retry later",
	RetryAfter: time.Minute,
}

// stuck logs at ERROR that org's operation cannot be settled, and why,
// counts it, and returns the error that says so.
func (s *Service) stuck(ctx context.Context, org domain.Organization, why error) error {
	s.stuckCount.Add(1)
	op := domain.Op("")
	if org.Pending != nil {
		op = org.Pending.Op
	}
	s.log.ErrorContext(ctx, "lifecycle: operation cannot be settled; run orgd check",
		"org_id", org.ID, "op", op, "error", why)
	return fmt.Errorf("organization %s: %w: %w", org.ID, errStuck, why)
}

// transient reports an error that says nothing about the operation
// itself: the store is away or full, or someone else is at it.
func transient(err error) bool {
	switch domain.ErrorCode(err) {
	case domain.CodeUnavailable, domain.CodeStorageFull, domain.CodeBusy:
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// resumePending drives pending operations to their end: all of them if
// exclusive, else those whose lease has run out. Its cost grows with the
// number of pending operations only. An operation that fails for a
// reason that will not pass by itself is reported as stuck.
func (s *Service) resumePending(ctx context.Context, exclusive, clear bool, rep *RecoveryReport) error {
	pending, err := s.orgs.WithPending(ctx)
	if err != nil {
		return fmt.Errorf("list pending: %w", err)
	}
	errs := s.settleOutboxes(ctx, pending, clear, rep)
	for _, org := range pending {
		if org.Pending == nil {
			continue // settled above
		}
		if !exclusive && !s.expired(org) {
			continue
		}
		_, err := s.takeOver(ctx, org)
		switch {
		case err == nil, errors.Is(err, domain.ErrOrgNotFound), errors.Is(err, domain.ErrStale):
			rep.Resumed++
		case domain.ErrorCode(err) == domain.CodeConflict:
			rep.Resumed++ // rolled back: the operation could not be completed
		case errors.Is(err, errStuck), transient(err):
			errs = append(errs, fmt.Errorf("resume %s of %s: %w", org.Pending.Op, org.ID, err))
		default:
			errs = append(errs, s.stuck(ctx, org, fmt.Errorf("resume %s: %w", org.Pending.Op, err)))
		}
	}
	return errors.Join(append(errs, s.clearMarkers(ctx))...)
}

// outboxesAtOnce bounds the organizations settleOutboxes works on at once.
const outboxesAtOnce = 8

// settleOutboxes places the events of the committed organizations among
// orgs (those with no operation under way: their events not all placed,
// or their outbox not cleared yet), a few organizations at once: after a
// burst of changes there are as many as organizations changed.
func (s *Service) settleOutboxes(ctx context.Context, orgs []domain.Organization, clear bool, rep *RecoveryReport) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, outboxesAtOnce)
	for _, org := range orgs {
		if org.Pending != nil {
			continue
		}
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			n, err := s.settleOutbox(ctx, org, clear)
			mu.Lock()
			defer mu.Unlock()
			rep.EventsPlaced += n
			if err != nil {
				errs = append(errs, fmt.Errorf("place events of %s: %w", org.ID, err))
			}
		})
	}
	wg.Wait()
	return errs
}

// clearMarkers removes the pending markers left without an operation (a
// compare-and-set that lost after writing its marker, a removal cut
// short) once they are older than a lease, so they do not pile up.
func (s *Service) clearMarkers(ctx context.Context) error {
	markers, err := s.orgs.Markers(ctx)
	if err != nil {
		return fmt.Errorf("list markers: %w", err)
	}
	var errs []error
	for _, m := range markers {
		if !s.pastLease(m.At) {
			continue
		}
		org, err := s.orgs.ByID(ctx, m.OrgID)
		switch {
		case err == nil && org.Pending != nil:
			continue
		case err != nil && !errors.Is(err, domain.ErrOrgNotFound):
			errs = append(errs, err)
			continue
		}
		errs = append(errs, s.orgs.Unmark(ctx, m))
	}
	return errors.Join(errs...)
}

// releaseAbandoned frees the claims no operation will ever use. It reads
// every organization, account and claim once and diffs them in memory; only
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
	admins, err := s.admins.All(ctx)
	if err != nil {
		return fmt.Errorf("list admins: %w", err)
	}
	members := make(map[domain.ID]domain.Admin, len(admins))
	for _, a := range admins {
		members[a.ID] = a
	}
	var errs []error
	for _, k := range s.registries() {
		claims, err := k.reg.All(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("list claims: %w", err))
			continue
		}
		for _, c := range claims {
			if o, ok := byID[c.OrgID]; ok && o.Pending == nil && holds(o, c) {
				continue
			}
			if a, ok := members[c.AdminID]; ok && c.OrgID != "" && a.OrgID == c.OrgID && a.Member().EmailClaim(c.OrgID).Same(c) {
				if o, ok := byID[c.OrgID]; ok && o.Pending == nil {
					continue // a member's, settled
				}
			}
			state, err := s.claimState(ctx, c)
			if err == nil && state == claimAbandoned {
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
	if err := s.deleteStrayInvitations(ctx, byID, rep); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// deleteStrayInvitations deletes the invitations their organization does
// not list, older than a lease (or than this process's exclusive hold):
// an invite cut off between storing and listing one. Nobody can accept
// them; the audit would report them.
func (s *Service) deleteStrayInvitations(ctx context.Context, orgs map[domain.ID]domain.Organization, rep *RecoveryReport) error {
	invites, err := s.invites.All(ctx)
	if err != nil {
		return fmt.Errorf("list invitations: %w", err)
	}
	for _, inv := range invites {
		org, ok := orgs[inv.OrgID]
		if ok && (org.Pending != nil || containsID(org.Invitations, inv.ID)) || !s.pastLease(inv.CreatedAt) {
			continue
		}
		// Read again: it may have been listed since the organizations were.
		org, err := s.orgs.ByID(ctx, inv.OrgID)
		if err == nil && (org.Pending != nil || containsID(org.Invitations, inv.ID)) {
			continue
		}
		if err != nil && !errors.Is(err, domain.ErrOrgNotFound) {
			return err
		}
		if err := s.invites.Delete(ctx, inv.ID); err != nil {
			return err
		}
		rep.InvitationsDeleted++
	}
	if rep.InvitationsDeleted > 0 {
		s.log.InfoContext(ctx, "recovery: stray invitations deleted", "invitations_deleted", rep.InvitationsDeleted)
	}
	return nil
}

// prunePerSweep bounds the event log's retention work per sweep: at most
// this many events (four writes each) are dropped.
const prunePerSweep = 1000

// purgePerSweep bounds the Idempotency-Key records, and the expired
// invitations, removed per sweep.
const purgePerSweep = 1000

// Sweep is what the periodic sweep does.
type Sweep struct {
	// Interval is how often it runs.
	Interval time.Duration
	// Claims frees abandoned claims; that is only needed when other
	// processes share the store, since this process's own leftovers are
	// freed at its next start or when someone reserves the key.
	Claims bool
	// EventRetention, if set, prunes events older than that.
	EventRetention time.Duration
	// InvitationRetention, if set, removes invitations expired for longer
	// than that.
	InvitationRetention time.Duration
}

// RecoverEvery finishes, every w.Interval until ctx ends, the operations
// whose lease ran out (a request that failed midway, or a replica that
// died), even if nobody touches their organization, and places the
// committed events left out of the event log; it also does what w asks
// (each retention's work a bounded batch each time), and removes expired
// Idempotency-Key records, a bounded batch each time. Errors are logged.
func (s *Service) RecoverEvery(ctx context.Context, w Sweep) {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rep, err := s.SweepOnce(ctx, w)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "lifecycle: periodic recovery incomplete", "error", err)
			}
			if rep != (RecoveryReport{}) {
				s.log.InfoContext(ctx, "lifecycle: periodic recovery", "resumed", rep.Resumed,
					"claims_released", rep.ClaimsReleased, "invitations_deleted", rep.InvitationsDeleted, "events_placed", rep.EventsPlaced)
			}
		}
	}
}

// SweepOnce is one run of the periodic sweep w describes (its Interval
// aside): what RecoverEvery does at each tick.
func (s *Service) SweepOnce(ctx context.Context, w Sweep) (RecoveryReport, error) {
	var rep RecoveryReport
	err := s.resumePending(ctx, false, true, &rep)
	if w.Claims {
		err = errors.Join(err, s.sweepClaims(ctx, &rep))
	}
	if w.InvitationRetention > 0 {
		n, ierr := s.RemoveExpiredInvitations(ctx, s.clock.Now().Add(-w.InvitationRetention), purgePerSweep)
		err = errors.Join(err, ierr)
		if n > 0 {
			s.log.InfoContext(ctx, "invitations: expired invitations removed", "invitations", n)
		}
	}
	if w.EventRetention > 0 {
		n, perr := s.PruneEvents(ctx, s.clock.Now().Add(-w.EventRetention), prunePerSweep)
		err = errors.Join(err, perr)
		if n > 0 {
			s.log.InfoContext(ctx, "event log: old events pruned", "events", n)
		}
	}
	n, perr := s.PurgeIdempotencyKeys(ctx, purgePerSweep)
	err = errors.Join(err, perr)
	if n > 0 {
		s.log.InfoContext(ctx, "idempotency: expired keys removed", "keys", n)
	}
	return rep, err
}
