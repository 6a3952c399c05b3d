package contract

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/ports"
)

// NewThrottle returns a LoginThrottle with policy p whose clock is driven
// by the returned advance.
type NewThrottle func(t *testing.T, p domain.LoginBackoff) (th ports.LoginThrottle, advance func(time.Duration))

// LoginThrottle checks a ports.LoginThrottle against its policy.
func LoginThrottle(t *testing.T, newThrottle NewThrottle) {
	p := domain.LoginBackoff{Free: 2, Base: time.Second, Max: 8 * time.Second, Forget: time.Hour}
	t.Run("backoff", func(t *testing.T) {
		l, advance := newThrottle(t, p)
		wantWaits := []time.Duration{0, 0, 1, 2, 4, 8, 8, 8}
		for i, want := range wantWaits {
			require.NoError(t, l.Failed(ctx(t), "k"))
			got, err := l.Wait(ctx(t), "k")
			require.NoError(t, err)
			assert.InDelta(t, want*time.Second, got, float64(10*time.Millisecond), "after failure %d", i+1)
			advance(got)
		}
		w, err := l.Wait(ctx(t), "other")
		require.NoError(t, err)
		assert.Zero(t, w, "keys are independent")
	})
	t.Run("success-resets", func(t *testing.T) {
		l, _ := newThrottle(t, p)
		for range 4 {
			require.NoError(t, l.Failed(ctx(t), "k"))
		}
		require.NoError(t, l.Succeeded(ctx(t), "k"))
		require.NoError(t, l.Failed(ctx(t), "k"))
		w, err := l.Wait(ctx(t), "k")
		require.NoError(t, err)
		assert.Zero(t, w)
	})
	t.Run("forgets", func(t *testing.T) {
		l, advance := newThrottle(t, p)
		for range 5 {
			require.NoError(t, l.Failed(ctx(t), "k"))
		}
		advance(2 * time.Hour)
		w, err := l.Wait(ctx(t), "k")
		require.NoError(t, err)
		assert.Zero(t, w, "old failures are forgotten")
		require.NoError(t, l.Failed(ctx(t), "k"))
		w, err = l.Wait(ctx(t), "k")
		require.NoError(t, err)
		assert.Zero(t, w, "and counting starts again")
	})
}
