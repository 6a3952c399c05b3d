package ratelimit_test

import (
	"context"
	"log/slog"
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

func TestRedisLoginAttempts(t *testing.T) {
	contract.LoginAttempts(t, func(t *testing.T) (ports.LoginAttempts, func(time.Duration)) {
		mr := miniredis.RunT(t)
		client := redis.NewClient(&redis.Options{Addr: mr.Addr()})
		t.Cleanup(func() { _ = client.Close() })
		// Redis expires records on its own clock.
		return ratelimit.NewRedisLoginAttempts(client), mr.FastForward
	})
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	st, err := ratelimit.Open(ctx, "", slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	assert.False(t, st.Shared)
	require.NoError(t, st.Close())

	mr := miniredis.RunT(t)
	st, err = ratelimit.Open(ctx, "redis://"+mr.Addr()+"/0", slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	assert.True(t, st.Shared)
	account, pair := domain.LoginKeys("a@b.co", "192.0.2.7")
	_, err = st.Logins.Begin(ctx, []string{account, pair}, time.Now(), time.Hour, func([]domain.AttemptRecord) domain.Admission { return domain.Admission{} })
	require.NoError(t, err)
	require.Len(t, mr.Keys(), 2)
	for _, k := range mr.Keys() {
		assert.NotContains(t, k, "a@b.co", "no email is stored in Redis")
		assert.NotContains(t, k, "192.0.2.7", "nor any address")
	}
	require.NoError(t, st.Close())

	_, err = ratelimit.Open(ctx, "redis://127.0.0.1:1/0", slog.New(slog.DiscardHandler), nil)
	require.Error(t, err)
	_, err = ratelimit.Open(ctx, "not a url", slog.New(slog.DiscardHandler), nil)
	require.Error(t, err)
}

// TestRedisIsAskedAgainByTheClock: after Redis fails to answer, the
// counters leave it alone for a while by the clock they were given, then
// ask it again.
func TestRedisIsAskedAgainByTheClock(t *testing.T) {
	ctx := context.Background()
	mr := miniredis.RunT(t)
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	st, err := ratelimit.Open(ctx, "redis://"+mr.Addr()+"/0", slog.New(slog.DiscardHandler), clock)
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	begin := func() {
		_, err := st.Logins.Begin(ctx, []string{"k"}, clock.Now(), time.Hour, func([]domain.AttemptRecord) domain.Admission { return domain.Admission{} })
		require.NoError(t, err, "an outage never fails a call")
	}

	mr.Close()
	begin()
	require.False(t, st.Redis.Up())
	require.NoError(t, mr.Restart())
	begin()
	assert.False(t, st.Redis.Up(), "left alone until its retry is due")
	assert.EqualValues(t, 2, st.Redis.Fallbacks())
	clock.Advance(6 * time.Second)
	begin()
	assert.True(t, st.Redis.Up(), "asked again once the clock says so")
	assert.EqualValues(t, 2, st.Redis.Fallbacks())
}
