// Package ratelimit chooses where abuse counters live: in this process
// (one node), or in Redis so every replica shares them. That covers the
// per-IP request limit (ulule/limiter's stores) and the login attempt
// records the login back-off reads (LoginAttempts).
package ratelimit

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	sredis "github.com/ulule/limiter/v3/drivers/store/redis"

	"orgd/ports"
)

// KeyPrefix namespaces orgd's counters in a shared Redis.
const KeyPrefix = "orgd:ratelimit"

// Stores are the counters for one process.
type Stores struct {
	// Requests holds the per-IP request counters.
	Requests limiter.Store
	// Logins holds the login attempt records.
	Logins ports.LoginAttempts
	// Close releases the Redis connection, if any.
	Close func() error
	// Shared reports whether the counters are in Redis.
	Shared bool
	// Redis is the state of the shared Redis (nil without one): the
	// counters fall back to this process's own while it does not answer.
	Redis *Health
}

// Redis timeouts: an answer from Redis on loopback or in a data centre
// takes a millisecond; one that takes longer than these is an outage, and
// the request goes on with the local counters (see Health).
const (
	redisDialTimeout = 500 * time.Millisecond
	redisIOTimeout   = 300 * time.Millisecond
)

// Open returns the counters for redisURL: in memory when it is empty,
// else in Redis, which must answer a ping now, with this process's own
// counters to fall back on while it does not answer later (logged to log;
// clock, nil for the system's, times when Redis is asked again).
func Open(ctx context.Context, redisURL string, log *slog.Logger, clock ports.Clock) (Stores, error) {
	if redisURL == "" {
		return Stores{
			Requests: memory.NewStore(),
			Logins:   NewLocalLoginAttempts(),
			Close:    func() error { return nil },
		}, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return Stores{}, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	opts.PoolTimeout, opts.MaxRetries = redisIOTimeout, 1
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return Stores{}, fmt.Errorf("redis at REDIS_URL does not answer: %w", err)
	}
	requests, err := sredis.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: KeyPrefix, MaxRetry: 3})
	if err != nil {
		_ = client.Close()
		return Stores{}, fmt.Errorf("redis rate-limit store: %w", err)
	}
	if clock == nil {
		clock = systemClock{}
	}
	health := &Health{log: log, clock: clock, ping: func(ctx context.Context) error { return client.Ping(ctx).Err() }}
	return Stores{
		Requests: &fallbackStore{shared: requests, local: memory.NewStore(), health: health},
		Logins:   &fallbackAttempts{shared: NewRedisLoginAttempts(client), local: NewLocalLoginAttempts(), health: health},
		Close:    client.Close,
		Shared:   true,
		Redis:    health,
	}, nil
}

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }
