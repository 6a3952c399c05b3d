package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/ratelimit"
	"orgd/core/domain"
	"orgd/ports"
	"orgd/test/contract"
	"orgd/test/fakes"
)

func TestRedisLoginThrottle(t *testing.T) {
	contract.LoginThrottle(t, func(t *testing.T, p domain.LoginBackoff) (ports.LoginThrottle, func(time.Duration)) {
		mr := miniredis.RunT(t)
		client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = client.Close() })
		clock := fakes.NewClock(time.Unix(1_800_000_000, 0))
		advance := func(d time.Duration) {
			clock.Advance(d)
			mr.FastForward(d) // Redis expires forgotten records on its own clock
		}
		return ratelimit.NewRedisLoginThrottle(client, p, clock.Now), advance
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	st, err := ratelimit.Open(ctx, "", domain.DefaultLoginBackoff)
	require.NoError(t, err)
	assert.False(t, st.Shared)
	require.NoError(t, st.Close())

	mr := miniredis.RunT(t)
	st, err = ratelimit.Open(ctx, "redis://"+mr.Addr()+"/0", domain.DefaultLoginBackoff)
	require.NoError(t, err)
	assert.True(t, st.Shared)
	require.NoError(t, st.Logins.Failed(ctx, "a@b.co"))
	for _, k := range mr.Keys() {
		assert.NotContains(t, k, "a@b.co", "no email is stored in Redis")
	}
	require.NoError(t, st.Close())

	_, err = ratelimit.Open(ctx, "redis://127.0.0.1:1/0", domain.DefaultLoginBackoff)
	require.Error(t, err)
	_, err = ratelimit.Open(ctx, "not a url", domain.DefaultLoginBackoff)
	require.Error(t, err)
}
