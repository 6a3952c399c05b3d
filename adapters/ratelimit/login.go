package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"orgd/core/domain"
	"orgd/ports"
)

// RedisLoginThrottle implements ports.LoginThrottle in Redis, so a guesser
// spreading attempts over replicas meets one back-off. Keys are hashes of
// the emails: no address is stored in Redis.
type RedisLoginThrottle struct {
	client redis.Cmdable
	policy domain.LoginBackoff
	now    func() time.Time
}

var _ ports.LoginThrottle = (*RedisLoginThrottle)(nil)

// NewRedisLoginThrottle returns a RedisLoginThrottle; now is time.Now when
// nil (the waits are computed from it; Redis expires forgotten records).
func NewRedisLoginThrottle(client redis.Cmdable, p domain.LoginBackoff, now func() time.Time) *RedisLoginThrottle {
	if now == nil {
		now = time.Now
	}
	return &RedisLoginThrottle{client: client, policy: p, now: now}
}

func (r *RedisLoginThrottle) key(k string) string {
	sum := sha256.Sum256([]byte(k))
	return KeyPrefix + ":login:" + hex.EncodeToString(sum[:16])
}

// Wait implements ports.LoginThrottle.
func (r *RedisLoginThrottle) Wait(ctx context.Context, key string) (time.Duration, error) {
	v, err := r.client.HGet(ctx, r.key(key), "until").Result()
	if err == redis.Nil { //nolint:errorlint // redis.Nil is a sentinel value, never wrapped
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("login throttle: %w", err)
	}
	// A record this version cannot read is no reason to lock anyone out.
	if until, perr := strconv.ParseInt(v, 10, 64); perr == nil {
		return max(time.UnixMilli(until).Sub(r.now()), 0), nil
	}
	return 0, nil
}

// failed counts a failure and pushes the record's "until" forward (never
// back, whatever order concurrent failures land in), atomically.
var failed = redis.NewScript(`
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
local free, base, cap, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local extra = count - free
if extra > 0 then
  local delay = cap
  if extra <= 30 then delay = math.min(base * 2 ^ (extra - 1), cap) end
  local deadline = now + delay
  local prev = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
  if deadline > prev then redis.call('HSET', KEYS[1], 'until', string.format('%d', deadline)) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return count
`)

// Failed implements ports.LoginThrottle.
func (r *RedisLoginThrottle) Failed(ctx context.Context, key string) error {
	p := r.policy
	err := failed.Run(ctx, r.client, []string{r.key(key)},
		p.Free, p.Base.Milliseconds(), p.Max.Milliseconds(), r.now().UnixMilli(), p.Forget.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}

// Succeeded implements ports.LoginThrottle.
func (r *RedisLoginThrottle) Succeeded(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("login throttle: %w", err)
	}
	return nil
}
