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
// {failures, last, inflight, inflight_until} under a digest of the key: no
// email or address is stored in Redis. Begin is optimistic: it watches the
// keys, reads them, lets the core decide, and counts the attempt in a
// transaction that fails, and is retried, if another attempt changed a key
// meanwhile. End is one transaction of increments.
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

// beginRetries bounds Begin's optimistic retries under contention on one
// account; past it, the attempt waits as if busy rather than go in
// unchecked.
const beginRetries = 32

// recordFields are the hash fields of one record, in the order HMGET reads
// them.
var recordFields = []string{"failures", "last", "inflight", "inflight_until"}

// Begin implements ports.LoginAttempts.
func (r *RedisLoginAttempts) Begin(ctx context.Context, keys []string, now time.Time, keep time.Duration, decide func([]domain.AttemptRecord) domain.Admission) (domain.Admission, error) {
	rkeys := make([]string, len(keys))
	for i, k := range keys {
		rkeys[i] = r.key(k)
	}
	var adm domain.Admission
	txn := func(tx *redis.Tx) error {
		recs := make([]domain.AttemptRecord, len(rkeys))
		for i, k := range rkeys {
			v, err := tx.HMGet(ctx, k, recordFields...).Result()
			if err != nil {
				return err
			}
			recs[i] = parseRecord(v)
		}
		if adm = decide(recs); !adm.Admitted() {
			return nil
		}
		_, err := tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			for i, k := range rkeys {
				inflight := 0
				if now.Before(recs[i].InFlightUntil) {
					inflight = recs[i].InFlight
				}
				p.HSet(ctx, k, "inflight", inflight+1, "inflight_until", now.Add(domain.InFlightFor).UnixMilli())
				p.PExpire(ctx, k, keep)
			}
			return nil
		})
		return err
	}
	for range beginRetries {
		err := r.client.Watch(ctx, txn, rkeys...)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return domain.Admission{}, fmt.Errorf("login attempts: %w", err)
			}
			return adm, nil
		}
	}
	return domain.Admission{Busy: true}, nil
}

// End implements ports.LoginAttempts.
func (r *RedisLoginAttempts) End(ctx context.Context, ends []ports.AttemptEnd, now time.Time, keep time.Duration) error {
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		for _, e := range ends {
			k := r.key(e.Key)
			p.HIncrBy(ctx, k, "inflight", -1)
			switch {
			case e.Failed:
				p.HIncrBy(ctx, k, "failures", 1)
				p.HSet(ctx, k, "last", now.UnixMilli())
			case e.Forget:
				p.HSet(ctx, k, "failures", 0)
			}
			p.PExpire(ctx, k, keep)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("login attempts: %w", err)
	}
	return nil
}

// parseRecord reads HMGET's answer; a field this version cannot read is
// no reason to lock anyone out, so it counts as empty.
func parseRecord(v []any) domain.AttemptRecord {
	n := func(i int) int64 {
		s, _ := v[i].(string)
		x, _ := strconv.ParseInt(s, 10, 64)
		return x
	}
	rec := domain.AttemptRecord{Failures: int(max(n(0), 0)), InFlight: int(max(n(2), 0))}
	if last := n(1); last > 0 {
		rec.Last = time.UnixMilli(last)
	}
	if until := n(3); until > 0 {
		rec.InFlightUntil = time.UnixMilli(until)
	}
	return rec
}
