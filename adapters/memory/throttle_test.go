package memory_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/memory"
	"orgd/test/fakes"
)

func TestLoginThrottleBackoff(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Unix(1_800_000_000, 0))
	p := memory.ThrottlePolicy{Free: 2, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}
	l := memory.NewLoginThrottle(p, clock.Now)

	wantWaits := []time.Duration{0, 0, 1, 2, 4, 8, 8, 8}
	for i, want := range wantWaits {
		require.NoError(t, l.Failed(ctx, "k"))
		got, err := l.Wait(ctx, "k")
		require.NoError(t, err)
		assert.Equal(t, want*time.Second, got, "after failure %d", i+1)
		clock.Advance(got)
	}
	w, _ := l.Wait(ctx, "other")
	assert.Zero(t, w, "keys are independent")

	require.NoError(t, l.Succeeded(ctx, "k"))
	require.NoError(t, l.Failed(ctx, "k"))
	w, _ = l.Wait(ctx, "k")
	assert.Zero(t, w, "success resets the count")

	for range 5 {
		require.NoError(t, l.Failed(ctx, "j"))
	}
	clock.Advance(2 * time.Hour)
	w, _ = l.Wait(ctx, "j")
	assert.Zero(t, w, "old failures are forgotten")
}
