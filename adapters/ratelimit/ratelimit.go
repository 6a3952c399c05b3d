// Package ratelimit chooses where the per-IP rate-limit counters live: in
// this process (one node), or in Redis so every replica shares one limit.
package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"
	sredis "github.com/ulule/limiter/v3/drivers/store/redis"
)

// KeyPrefix namespaces orgd's counters in a shared Redis.
const KeyPrefix = "orgd:ratelimit"

// Store returns the counter store for redisURL: in memory when it is
// empty, else Redis, which must answer a ping now. The returned close
// releases the Redis connection.
func Store(ctx context.Context, redisURL string) (limiter.Store, func() error, error) {
	if redisURL == "" {
		return memory.NewStore(), func() error { return nil }, nil
	}
	opts, err := redis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 2*time.Second, time.Second, time.Second
	client := redis.NewClient(opts)
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := client.Ping(pctx).Err(); err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("redis at REDIS_URL does not answer: %w", err)
	}
	st, err := sredis.NewStoreWithOptions(client, limiter.StoreOptions{Prefix: KeyPrefix, MaxRetry: 3})
	if err != nil {
		_ = client.Close()
		return nil, nil, fmt.Errorf("redis rate-limit store: %w", err)
	}
	return st, client.Close, nil
}
