package usecase

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// This file is webhook delivery. Each endpoint follows its stream of the
// event log from its cursor, one event at a time: the next is sent only
// once the one before is acknowledged (a 2xx), or given up on with the
// endpoint disabled. The cursor moves only after an acknowledgement, in
// a compare-and-set write on the endpoint, so every committed event is
// delivered at least once whatever happens to the process delivering it;
// an attempt cut short is made again, with the same webhook-id.
//
// One orgd at a time delivers a given endpoint: the one that holds its
// lease (renewed while it delivers, given back when it stops, taken over
// once it runs out: its holder died). Each endpoint has its own
// goroutine, so a slow or dead receiver delays no other.

// MaxAttemptTime bounds one delivery attempt: a receiver must answer
// within it.
const MaxAttemptTime = 15 * time.Second

// maxAttemptsInFlight bounds the attempts one orgd makes at once.
const maxAttemptsInFlight = 64

// maxRetryAfter bounds how long a receiver's Retry-After holds delivery.
const maxRetryAfter = 24 * time.Hour

// reapEvery is how often delivery checks that a disabled or idle
// organization's endpoint still has its organization: a deleted
// organization's endpoints go once they have nothing more to deliver.
const reapEvery = time.Minute

// The receiver's answers delivery tells apart, besides 2xx and 3xx.
const (
	statusGone        = 410 // disable the endpoint
	statusTooMany     = 429 // honour Retry-After
	statusUnavailable = 503 // honour Retry-After
)

// Delivery outcomes, as WebhookStats counts them.
const (
	OutcomeDelivered = "delivered" // the receiver answered 2xx
	OutcomeFailed    = "failed"    // it answered otherwise, or not in time: retried
	OutcomeGone      = "gone"      // it answered 410: the endpoint is disabled
	OutcomeNoSecret  = "no_secret" // no secret could be unsealed: nothing sent
)

// WebhookStats is what delivery reports, since this Service started.
type WebhookStats struct {
	// Outcomes counts attempts by outcome; Attempts counts them all.
	Outcomes map[string]int64
	Attempts int64
	// Lag is, per endpoint this orgd delivers, the age of the oldest
	// event not yet delivered to it (0: none is waiting).
	Lag map[domain.ID]time.Duration
}

// DeliveryOptions tune DeliverWebhooks.
type DeliveryOptions struct {
	// Poll is how often the endpoints are read again (default 1s): new
	// ones, ones another orgd let go, events placed by another orgd.
	Poll time.Duration
	// Watch is how often, on a shared store, the event log's head is
	// read to learn of events other orgd placed (default 100ms): one
	// point read, whatever the number of endpoints.
	Watch time.Duration
	// Exclusive says no other process uses the store (the embedded store
	// is locked to one): leases held by others are left over from a
	// process that died, and are taken over at once, and every event is
	// placed here, so the head needs no watching.
	Exclusive bool
}

// deliverer delivers to every endpoint, while DeliverWebhooks runs.
type deliverer struct {
	s      *Service
	holder string
	opts   DeliveryOptions
	sem    chan struct{}

	mu      sync.Mutex
	running map[domain.ID]chan struct{} // an endpoint's worker, and how to wake it
	lag     map[domain.ID]time.Duration
	reaped  map[domain.ID]time.Time // when an idle endpoint's organization was last looked at
}

// webhookCounters count attempts; they outlive a deliverer.
type webhookCounters struct {
	attempts atomic.Int64
	mu       sync.Mutex
	outcomes map[string]int64
}

// WebhookStats reports what delivery has done so far.
func (s *Service) WebhookStats() WebhookStats {
	out := WebhookStats{Outcomes: map[string]int64{}, Lag: map[domain.ID]time.Duration{}}
	if s.hooks == nil {
		return out
	}
	c := &s.hooks.counters
	out.Attempts = c.attempts.Load()
	c.mu.Lock()
	for k, v := range c.outcomes {
		out.Outcomes[k] = v
	}
	c.mu.Unlock()
	if d := s.hooks.active.Load(); d != nil {
		d.mu.Lock()
		for k, v := range d.lag {
			out.Lag[k] = v
		}
		d.mu.Unlock()
	}
	return out
}

func (c *webhookCounters) count(outcome string) {
	c.attempts.Add(1)
	c.mu.Lock()
	if c.outcomes == nil {
		c.outcomes = map[string]int64{}
	}
	c.outcomes[outcome]++
	c.mu.Unlock()
}

// DeliverWebhooks delivers events to every endpoint until ctx ends, then
// gives back the endpoints it holds. Every replica runs it.
func (s *Service) DeliverWebhooks(ctx context.Context, opts DeliveryOptions) error {
	if err := s.deliveryOn(); err != nil {
		return err
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.Watch <= 0 {
		opts.Watch = 100 * time.Millisecond
	}
	d := &deliverer{
		s: s, holder: string(domain.NewID(s.now())), opts: opts, sem: make(chan struct{}, maxAttemptsInFlight),
		running: map[domain.ID]chan struct{}{}, lag: map[domain.ID]time.Duration{}, reaped: map[domain.ID]time.Time{},
	}
	s.hooks.active.Store(d)
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { d.relay(ctx) })
	if !opts.Exclusive {
		wg.Go(func() { d.watch(ctx) })
	}
	t := time.NewTicker(opts.Poll)
	defer t.Stop()
	for {
		d.scan(ctx, &wg)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.hooks.rescan:
			// An endpoint was registered, enabled or replayed here.
		}
	}
}

// relay passes this process's wake-ups (events placed here) on to the
// workers, at once.
func (d *deliverer) relay(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.s.hooks.wake:
			d.wakeAll()
		}
	}
}

// watch wakes the workers whenever the log's head moves: another orgd
// placed events (this one's own wake them at once).
func (d *deliverer) watch(ctx context.Context) {
	t := time.NewTicker(d.opts.Watch)
	defer t.Stop()
	last := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		head, err := d.s.eventLog.Head(ctx)
		if err != nil {
			continue
		}
		if head.Next != last {
			if last >= 0 {
				d.wakeAll()
			}
			last = head.Next
		}
	}
}

// wakeAll tells every worker to look for events.
func (d *deliverer) wakeAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, wake := range d.running {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
}

// scan reads every endpoint and starts a worker for each that may have
// work and has none here; it settles the outboxes of endpoints of every
// organization's events, and removes those whose deletion is committed.
func (d *deliverer) scan(ctx context.Context, wg *sync.WaitGroup) {
	all, err := d.s.hooks.webhooks.All(ctx)
	if err != nil {
		if ctx.Err() == nil {
			d.s.log.WarnContext(ctx, "webhooks: endpoints not read; trying again", "error", err)
		}
		return
	}
	for _, w := range all {
		if w.Deleting || (w.OrgID == "" && len(w.Outbox) > 0) {
			if _, err := d.s.settleWebhook(ctx, w); err != nil && ctx.Err() == nil {
				d.s.log.WarnContext(ctx, "webhooks: endpoint's events not placed yet", "webhook_id", w.ID, "error", err)
			}
			if w.Deleting {
				continue
			}
		}
		if w.Disabled() {
			d.reap(ctx, w)
			continue
		}
		if d.heldElsewhere(w) {
			continue
		}
		d.mu.Lock()
		_, busy := d.running[w.ID]
		if !busy {
			wake := make(chan struct{}, 1)
			d.running[w.ID] = wake
			wg.Go(func() { d.work(ctx, w.ID, wake) })
		}
		d.mu.Unlock()
	}
}

// heldElsewhere reports whether another orgd's lease on w still runs.
func (d *deliverer) heldElsewhere(w domain.Webhook) bool {
	if w.Lease.Holder == "" || w.Lease.Holder == d.holder || d.opts.Exclusive {
		return false
	}
	return d.s.clock.Now().Before(w.Lease.Until)
}

// reap removes organization endpoint w if its organization is gone (it
// was deleted: its last event delivered, or w disabled) or no longer
// lists it; at most once per reapEvery for each endpoint.
func (d *deliverer) reap(ctx context.Context, w domain.Webhook) bool {
	if w.OrgID == "" {
		return false
	}
	d.mu.Lock()
	last, seen := d.reaped[w.ID]
	if seen && d.s.clock.Now().Sub(last) < reapEvery {
		d.mu.Unlock()
		return false
	}
	d.reaped[w.ID] = d.s.clock.Now()
	d.mu.Unlock()
	org, err := d.s.orgs.ByID(ctx, w.OrgID)
	gone := errors.Is(err, domain.ErrOrgNotFound) || (err == nil && org.State == domain.StateDeleted)
	orphan := err == nil && !gone && org.Pending == nil && !containsID(org.Webhooks, w.ID)
	if !gone && !orphan {
		return false
	}
	if !w.Disabled() {
		// It was caught up when its organization was read: the deletion's
		// event may have been placed since, and it is told of it first.
		if _, err := d.s.eventLog.Get(ctx, w.Follows(), w.Cursor); !errors.Is(err, domain.ErrEventNotFound) {
			return false
		}
	}
	if err := d.s.hooks.webhooks.Delete(ctx, w.ID); err != nil {
		return false
	}
	d.s.log.InfoContext(ctx, "webhooks: endpoint of a deleted organization removed", "webhook_id", w.ID, "org_id", w.OrgID)
	d.mu.Lock()
	delete(d.reaped, w.ID)
	d.mu.Unlock()
	return true
}

// work delivers to endpoint id for as long as this orgd holds its lease
// and it has not been disabled or removed. Idle, it waits for a wake-up
// (events placed here, or the head moving) or a third of a lease, when
// its lease is renewed.
func (d *deliverer) work(ctx context.Context, id domain.ID, wake chan struct{}) {
	var held *domain.Webhook
	defer func() {
		if held != nil {
			d.release(*held)
		}
		d.mu.Lock()
		delete(d.running, id)
		delete(d.lag, id)
		d.mu.Unlock()
	}()
	for ctx.Err() == nil {
		w, err := d.s.hooks.webhooks.ByID(ctx, id)
		if errors.Is(err, domain.ErrWebhookNotFound) {
			held = nil
			return
		}
		if err != nil {
			d.pause(ctx, wake, d.opts.Poll)
			continue
		}
		if w, err = d.hold(ctx, w, d.s.lease*2/3); err != nil {
			if errors.Is(err, domain.ErrStale) {
				continue
			}
			if !errors.Is(err, errHeldElsewhere) && ctx.Err() == nil {
				d.s.log.WarnContext(ctx, "webhooks: endpoint lease not taken", "webhook_id", id, "error", err)
			}
			held = nil
			return
		}
		held = &w
		if w.Disabled() || w.Deleting {
			return
		}
		if wait := w.Delivery.NextAttemptAt.Sub(d.s.clock.Now()); wait > 0 {
			d.setLag(ctx, w)
			d.pause(ctx, wake, min(wait, d.s.lease/3))
			continue
		}
		if d.spent(w) {
			// The attempts are over (a 410, or the schedule spent) but the
			// endpoint is not disabled yet: its disabling failed.
			if err := d.giveUp(ctx, w); err != nil && ctx.Err() == nil {
				d.s.log.WarnContext(ctx, "webhooks: endpoint not disabled yet; trying again", "webhook_id", id, "error", err)
			}
			continue
		}
		if err := d.step(ctx, w, wake); err != nil && !errors.Is(err, domain.ErrStale) && ctx.Err() == nil {
			d.s.log.WarnContext(ctx, "webhooks: delivery interrupted; trying again", "webhook_id", id, "error", err)
			d.pause(ctx, wake, d.opts.Poll)
		}
	}
}

// errHeldElsewhere says another orgd delivers an endpoint.
var errHeldElsewhere = errors.New("endpoint delivered by another orgd")

// hold makes sure this orgd holds w's lease for more than need (taking it
// if it is free or run out, renewing it if less is left), and returns w
// as written.
func (d *deliverer) hold(ctx context.Context, w domain.Webhook, need time.Duration) (domain.Webhook, error) {
	now := d.s.clock.Now()
	if w.Lease.Holder == d.holder && w.Lease.Until.Sub(now) > need {
		return w, nil
	}
	if d.heldElsewhere(w) {
		return w, errHeldElsewhere
	}
	next := w
	next.Lease = domain.WebhookLease{Holder: d.holder, Until: d.s.now().Add(d.s.lease)}
	next.Version = w.Version + 1
	if err := d.s.hooks.webhooks.Replace(ctx, next, w.Version); err != nil {
		return w, err
	}
	return next, nil
}

// release gives w's lease back, so another orgd may deliver it at once.
func (d *deliverer) release(w domain.Webhook) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, _ = d.s.alterWebhook(ctx, w.ID, func(w domain.Webhook) (domain.Webhook, bool) {
		if w.Lease.Holder != d.holder {
			return w, false
		}
		w.Lease = domain.WebhookLease{}
		return w, true
	})
}

// pause waits for d, a wake-up or the end of ctx.
func (d *deliverer) pause(ctx context.Context, wake chan struct{}, wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-t.C:
	}
}

// step delivers the next event w wants, if there is one, or waits for
// one.
func (d *deliverer) step(ctx context.Context, w domain.Webhook, wake chan struct{}) error {
	stream := w.Follows()
	// The next place first (one read: the usual case, caught up or
	// wanting every type); a run of events it does not want, a chunk
	// at a time.
	var events []domain.Event
	e, err := d.s.eventLog.Get(ctx, stream, w.Cursor)
	switch {
	case err == nil && w.Wants(e.Type):
		d.setLagOf(w.ID, e)
		return d.attempt(ctx, w, e, w.Cursor)
	case err == nil:
		if events, err = d.s.readFrom(ctx, stream, w.Cursor, domain.EventChunk); err != nil {
			return err
		}
	case !errors.Is(err, domain.ErrEventNotFound):
		return err
	}
	pos := w.Cursor
	for _, e := range events {
		if w.Wants(e.Type) {
			d.setLagOf(w.ID, e)
			return d.attempt(ctx, w, e, pos)
		}
		pos++
	}
	if pos > w.Cursor {
		// Only events it does not want: step past them.
		return d.advance(ctx, w, pos, false)
	}
	first, err := d.s.eventLog.First(ctx, stream)
	if err != nil {
		return err
	}
	if first > w.Cursor {
		// Retention dropped what it had not been sent (it was disabled
		// longer than events are kept).
		d.s.log.WarnContext(ctx, "webhooks: events pruned before delivery; going on from the oldest kept", "webhook_id", w.ID, "skipped", first-w.Cursor)
		return d.advance(ctx, w, first, false)
	}
	d.mu.Lock()
	d.lag[w.ID] = 0
	d.mu.Unlock()
	if d.reap(ctx, w) {
		return nil
	}
	d.pause(ctx, wake, d.s.lease/3)
	return nil
}

// setLag records that w has nothing waiting, or what is waiting.
func (d *deliverer) setLag(ctx context.Context, w domain.Webhook) {
	e, err := d.s.eventLog.Get(ctx, w.Follows(), w.Cursor)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil {
		d.lag[w.ID] = 0
		return
	}
	d.lag[w.ID] = max(0, d.s.clock.Now().Sub(e.OccurredAt))
}

func (d *deliverer) setLagOf(id domain.ID, e domain.Event) {
	d.mu.Lock()
	d.lag[id] = max(0, d.s.clock.Now().Sub(e.OccurredAt))
	d.mu.Unlock()
}

// advance moves w's cursor to pos (after an acknowledgement, delivered
// set), compare-and-set: a write meanwhile (a replay, a rotation, a
// takeover) makes the caller read it again.
func (d *deliverer) advance(ctx context.Context, w domain.Webhook, pos int64, delivered bool) error {
	next := w
	next.Cursor = pos
	if delivered {
		next.Delivery.LastSuccessAt, next.Delivery.Failures, next.Delivery.NextAttemptAt = d.s.now(), 0, time.Time{}
	}
	next.Version = w.Version + 1
	return d.s.hooks.webhooks.Replace(ctx, next, w.Version)
}

// attempt sends e, at place pos of w's stream, to w once, and records
// how it went.
func (d *deliverer) attempt(ctx context.Context, w domain.Webhook, e domain.Event, pos int64) error {
	from := w.Cursor
	now := d.s.clock.Now()
	var secrets [][]byte
	for _, sec := range w.Signing(now) {
		if plain, err := d.s.hooks.sealer.Open(sec.Sealed); err == nil {
			secrets = append(secrets, plain)
		}
	}
	if len(secrets) == 0 {
		d.s.hooks.counters.count(OutcomeNoSecret)
		return d.failed(ctx, w, from, "no signing secret could be unsealed (SECRET_KEY changed?); rotate the endpoint's secret", 0, false)
	}
	body, err := payloadOf(e)
	if err != nil {
		return d.failed(ctx, w, from, "the event cannot be encoded", 0, false)
	}
	select {
	case d.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	// The lease must outlast the attempt, however long the wait for a
	// slot was: else another orgd could take it over and send the same
	// event alongside.
	timeout := min(MaxAttemptTime, d.s.lease/2)
	if w, err = d.hold(ctx, w, timeout+d.s.lease/6); err != nil {
		<-d.sem
		return err
	}
	// Once begun, an attempt is seen through and recorded, also when
	// orgd is shutting down: cut short, it would be made again.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	res := d.s.hooks.sender.Send(actx, ports.WebhookRequest{URL: w.URL, ID: e.ID, Timestamp: d.s.clock.Now(), Body: body, Secrets: secrets})
	cancel()
	<-d.sem
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	switch {
	case res.Status >= 200 && res.Status < 300:
		d.s.hooks.counters.count(OutcomeDelivered)
		if e.Type == EventOrgDeleted {
			// Its last event: once idle, it goes without waiting reapEvery.
			d.mu.Lock()
			delete(d.reaped, w.ID)
			d.mu.Unlock()
		}
		return d.recorded(rctx, w, from, func(w domain.Webhook) domain.Webhook {
			w.Cursor = pos + 1
			w.Delivery.LastSuccessAt = d.s.now()
			return w.Retry()
		})
	case res.Status == statusGone:
		d.s.hooks.counters.count(OutcomeGone)
		return d.failed(rctx, w, from, goneReason, 0, true)
	default:
		d.s.hooks.counters.count(OutcomeFailed)
		var after time.Duration
		if res.Status == statusTooMany || res.Status == statusUnavailable {
			after = min(res.RetryAfter, maxRetryAfter)
		}
		return d.failed(rctx, w, from, failureOf(res), after, false)
	}
}

// goneReason is why an endpoint whose receiver answered 410 is disabled.
const goneReason = "receiver answered 410 Gone"

// failureOf says why an attempt failed, in orgd's words.
func failureOf(res ports.WebhookResponse) string {
	switch {
	case res.Status >= 300 && res.Status < 400:
		return fmt.Sprintf("receiver answered %d (redirects are not followed)", res.Status)
	case res.Status != 0:
		return fmt.Sprintf("receiver answered %d", res.Status)
	case res.Failure != "":
		return res.Failure
	}
	return "no answer"
}

// failed records a failed attempt on w (whose cursor was from): the next
// is due after retryAfter if the receiver asked for one, else after the
// schedule's delay for this failure, with jitter (the last delay once
// past its end). With gone, or once the schedule is spent, w is
// disabled.
func (d *deliverer) failed(ctx context.Context, w domain.Webhook, from int64, reason string, retryAfter time.Duration, gone bool) error {
	var failures int
	err := d.recorded(ctx, w, from, func(w domain.Webhook) domain.Webhook {
		now := d.s.now()
		w.Delivery.Failures++
		failures = w.Delivery.Failures
		if w.Delivery.FailingSince.IsZero() {
			w.Delivery.FailingSince = now
		}
		w.Delivery.LastFailure, w.Delivery.LastFailureAt = reason, now
		delay := retryAfter
		if delay <= 0 {
			schedule := d.s.hooks.schedule
			delay = jitter(schedule[min(failures, len(schedule))-1])
		}
		w.Delivery.NextAttemptAt = now.Add(delay)
		if gone || d.spent(w) {
			// Disabled next; should that fail, tried again after a while,
			// never sent again at once.
			w.Delivery.NextAttemptAt = now.Add(d.s.lease)
		}
		return w
	})
	if err != nil {
		return err
	}
	d.s.log.InfoContext(ctx, "webhooks: attempt failed", "webhook_id", w.ID, "failures", failures, "reason", reason)
	cur, err := d.s.hooks.webhooks.ByID(ctx, w.ID)
	if err != nil || !d.spent(cur) {
		return err
	}
	return d.giveUp(ctx, cur)
}

// spent reports whether delivery to w gave up on its event: its receiver
// answered 410, or its attempts failed for as long as the schedule lasts
// (its count of attempts made, and its total time, give or take the
// jitter: a receiver answering 429 or 503 with a short Retry-After is
// given the same time as one that does not answer).
func (d *deliverer) spent(w domain.Webhook) bool {
	if w.Delivery.Failures == 0 {
		return false
	}
	if w.Delivery.LastFailure == goneReason {
		return true
	}
	schedule := d.s.hooks.schedule
	var total time.Duration
	for _, delay := range schedule {
		total += delay
	}
	return w.Delivery.Failures > len(schedule) && d.s.clock.Now().Sub(w.Delivery.FailingSince) >= total*9/10
}

// giveUp disables w, whose attempts are spent, with why. An endpoint whose
// organization is gone is removed instead.
func (d *deliverer) giveUp(ctx context.Context, w domain.Webhook) error {
	why := w.Delivery.LastFailure
	if why != goneReason {
		why = fmt.Sprintf("%d attempts failed over %s; the last: %s", w.Delivery.Failures,
			d.s.clock.Now().Sub(w.Delivery.FailingSince).Round(time.Second), w.Delivery.LastFailure)
	}
	err := d.s.disableWebhook(ctx, w, why)
	switch {
	case errors.Is(err, domain.ErrOrgNotFound):
		d.s.log.InfoContext(ctx, "webhooks: endpoint of a deleted organization removed", "webhook_id", w.ID, "org_id", w.OrgID, "reason", why)
		return d.s.hooks.webhooks.Delete(ctx, w.ID)
	case errors.Is(err, domain.ErrWebhookNotFound):
		return nil
	case err != nil:
		return fmt.Errorf("disable: %w", err)
	}
	d.s.log.WarnContext(ctx, "webhooks: endpoint disabled", "webhook_id", w.ID, "reason", why)
	return nil
}

// recorded applies change to w, whose attempt began at cursor from,
// compare-and-set; if w was written meanwhile, again on what is there,
// as long as this orgd still delivers it and its cursor has not moved (a
// replay meanwhile voids the attempt's result).
func (d *deliverer) recorded(ctx context.Context, w domain.Webhook, from int64, change func(domain.Webhook) domain.Webhook) error {
	for {
		next := change(w)
		next.Version = w.Version + 1
		err := d.s.hooks.webhooks.Replace(ctx, next, w.Version)
		if !errors.Is(err, domain.ErrStale) {
			return err
		}
		if w, err = d.s.hooks.webhooks.ByID(ctx, w.ID); err != nil {
			return err
		}
		if w.Lease.Holder != d.holder || w.Cursor != from || w.Deleting {
			return domain.ErrStale
		}
	}
}

// jitter is d, give or take a tenth.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64())) //nolint:gosec // spreading retries needs no secrecy
}
