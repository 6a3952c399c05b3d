package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"orgd/core/domain"
	"orgd/ports"
)

// RedisLoginAttempts implements ports.LoginAttempts in Redis, so a guesser
// spreading attempts over replicas meets one back-off. Each key is a hash
// {failures, last} under a digest of the key: no email or address is
// stored in Redis. Admit is optimistic: it watches the keys, reads them,
// lets the core decide, and counts the attempt in a transaction that
// fails, and is retried, if another attempt changed a key meanwhile.
type RedisLoginAttempts struct {
	client redis.UniversalClient
}

var _ ports.LoginAttempts = (*RedisLoginAttempts)(nil)

// NewRedisLoginAttempts returns a RedisLoginAttempts on client.
func NewRedisLoginAttempts(client redis.UniversalClient) *RedisLoginAttempts {
	return &RedisLoginAttempts{client: client}
}

func (r *RedisLoginAttempts) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return KeyPrefix + ":login:" + hex.EncodeToString(sum[:16])
}

// admitRetries bounds Admit's optimistic retries under contention on one
// account; past it, the attempt is refused for a moment rather than let in
// unchecked.
const admitRetries = 32

// Admit implements ports.LoginAttempts.
func (r *RedisLoginAttempts) Admit(ctx context.Context, keys []string, now time.Time, keep time.Duration, decide func([]domain.AttemptRecord) time.Duration) (time.Duration, error) {
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = r.key(k)
	}
	var wait time.Duration
	txn := func(tx *redis.Tx) error {
		recs := make([]domain.AttemptRecord, len(rkeys))
		for i, k := range rkeys {
			v, err := tx.HMGet(ctx, k, "failures", "last").Result()
			if err != nil {
				return err
			}
			recs[i] = parseRecord(v)
		}
		if wait = decide(recs); wait > 0 {
			return nil
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range rkeys {
				p.HSet(ctx, k, "failures", recs[i].Failures+1, "last", now.UnixMilli())
				p.PExpire(ctx, k, keep)
			}
			return nil
		})
		return err
	}
	for range admitRetries {
		err := r.client.Watch(ctx, txn, rkeys...)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return 0, fmt.Errorf("login attempts: %w", err)
			}
			return wait, nil
		}
	}
	return time.Second, nil
}

// parseRecord reads HMGET's answer; a record this version cannot read is
// no reason to lock anyone out, so it counts as empty.
func parseRecord(v []any) domain.AttemptRecord {
	f, _ := v[0].(string)
	l, _ := v[1].(string)
	failures, err1 := strconv.Atoi(f)
	last, err2 := strconv.ParseInt(l, 10, 64)
	if err1 != nil || err2 != nil {
		return domain.AttemptRecord{}
	}
	return domain.AttemptRecord{Failures: failures, Last: time.UnixMilli(last)}
}

// Forget implements ports.LoginAttempts.
func (r *RedisLoginAttempts) Forget(ctx context.Context, keys ...string) error {
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = r.key(k)
	}
	if err := r.client.Del(ctx, rkeys...).Err(); err != nil {
		return fmt.Errorf("login attempts: %w", err)
	}
	return nil
}
