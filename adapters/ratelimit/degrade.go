package ratelimit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ulule/limiter/v3"

	"orgd/core/domain"
	"orgd/ports"
)

// While Redis does not answer, each replica falls back to counters of its
// own rather than fail a request or let every request through:
//
//   - the per-IP request limit holds per replica (a client spread over N
//     replicas may get N times the limit);
//   - the login back-off holds per replica too (failures counted before
//     the outage are out of reach until Redis returns).
//
// The first failure is logged at WARN and flips orgd_redis_up to 0; every
// request served from the local counters counts in
// orgd_redis_fallbacks_total. Redis is then left alone for retryAfter, so
// a request waits at most one short timeout for it, not one per call; the
// next call after that tries it again, and the first success logs its
// return.

// retryAfter is how long Redis is left alone after it failed.
const retryAfter = 5 * time.Second

// Health is the state of the shared Redis, as the fallbacks see it.
type Health struct {
	log       *slog.Logger
	clock     ports.Clock
	ping      func(context.Context) error
	down      atomic.Bool
	retryAt   atomic.Int64 // unix nanoseconds
	fallbacks atomic.Int64
	mu        sync.Mutex // orders the up and down log lines
}

// Up reports whether Redis answered last time it was asked.
func (h *Health) Up() bool { return !h.down.Load() }

// Check asks Redis again if it was down and is due for a retry (so that
// readiness and the metrics see it come back even while no request asks
// it), and reports whether it is up.
func (h *Health) Check(ctx context.Context) bool {
	if h.down.Load() && h.try() {
		_, _ = via(ctx, h, func() (struct{}, error) { return struct{}{}, h.ping(ctx) }, func() (struct{}, error) { return struct{}{}, nil })
	}
	return h.Up()
}

// Fallbacks returns how many calls this process served from its own
// counters because Redis did not answer.
func (h *Health) Fallbacks() int64 { return h.fallbacks.Load() }

// try reports whether to ask Redis now.
func (h *Health) try() bool {
	return !h.down.Load() || h.clock.Now().UnixNano() >= h.retryAt.Load()
}

// failed records that Redis did not answer err.
func (h *Health) failed(ctx context.Context, err error) {
	h.fallbacks.Add(1)
	h.retryAt.Store(h.clock.Now().Add(retryAfter).UnixNano())
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down.Swap(true) {
		h.log.WarnContext(ctx, "redis does not answer: rate limits and login back-off are this replica's own until it returns",
			"error", err, "retry_every", retryAfter.String())
	}
}

// answered records that Redis answered.
func (h *Health) answered(ctx context.Context) {
	if !h.down.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.down.Swap(false) {
		h.log.InfoContext(ctx, "redis answers again: rate limits and login back-off are shared again")
	}
}

// via runs op on Redis when it is thought up (or due for a retry), and on
// the local counters otherwise or when Redis fails it. What the local
// counters answer never fails.
func via[T any](ctx context.Context, h *Health, shared, local func() (T, error)) (T, error) {
	if h.try() {
		v, err := shared()
		if err == nil {
			h.answered(ctx)
			return v, nil
		}
		if ctx.Err() != nil {
			return v, err // the caller gave up, not Redis
		}
		h.failed(ctx, err)
	} else {
		h.fallbacks.Add(1)
	}
	return local()
}

// fallbackAttempts is a LoginAttempts in Redis that falls back to one in
// this process.
type fallbackAttempts struct {
	shared, local ports.LoginAttempts
	health        *Health
}

var _ ports.LoginAttempts = (*fallbackAttempts)(nil)

func (f *fallbackAttempts) Begin(ctx context.Context, keys []string, now time.Time, keep time.Duration, decide func([]domain.AttemptRecord) domain.Admission) (domain.Admission, error) {
	return via(ctx, f.health,
		func() (domain.Admission, error) { return f.shared.Begin(ctx, keys, now, keep, decide) },
		func() (domain.Admission, error) { return f.local.Begin(ctx, keys, now, keep, decide) })
}

func (f *fallbackAttempts) End(ctx context.Context, ends []ports.AttemptEnd, now time.Time, keep time.Duration) error {
	_, err := via(ctx, f.health,
		func() (struct{}, error) { return struct{}{}, f.shared.End(ctx, ends, now, keep) },
		func() (struct{}, error) { return struct{}{}, f.local.End(ctx, ends, now, keep) })
	return err
}

// fallbackStore is a limiter.Store in Redis that falls back to one in
// this process.
type fallbackStore struct {
	shared, local limiter.Store
	health        *Health
}

var _ limiter.Store = (*fallbackStore)(nil)

func (f *fallbackStore) Get(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return via(ctx, f.health,
		func() (limiter.Context, error) { return f.shared.Get(ctx, key, rate) },
		func() (limiter.Context, error) { return f.local.Get(ctx, key, rate) })
}

func (f *fallbackStore) Peek(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return via(ctx, f.health,
		func() (limiter.Context, error) { return f.shared.Peek(ctx, key, rate) },
		func() (limiter.Context, error) { return f.local.Peek(ctx, key, rate) })
}

func (f *fallbackStore) Reset(ctx context.Context, key string, rate limiter.Rate) (limiter.Context, error) {
	return via(ctx, f.health,
		func() (limiter.Context, error) { return f.shared.Reset(ctx, key, rate) },
		func() (limiter.Context, error) { return f.local.Reset(ctx, key, rate) })
}

func (f *fallbackStore) Increment(ctx context.Context, key string, count int64, rate limiter.Rate) (limiter.Context, error) {
	return via(ctx, f.health,
		func() (limiter.Context, error) { return f.shared.Increment(ctx, key, count, rate) },
		func() (limiter.Context, error) { return f.local.Increment(ctx, key, count, rate) })
}
