package contract

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/ports"
)

// NewAttempts returns an empty LoginAttempts, and a function that moves
// the store's own clock (for expiry) forward.
type NewAttempts func(t *testing.T) (ports.LoginAttempts, func(time.Duration))

// LoginAttempts checks a ports.LoginAttempts.
func LoginAttempts(t *testing.T, newAttempts NewAttempts) {
	t0 := time.Unix(1_800_000_000, 0)
	keep := time.Hour
	admit := func(t *testing.T, l ports.LoginAttempts, now time.Time, keys ...string) []domain.AttemptRecord {
		t.Helper()
		var seen []domain.AttemptRecord
		w, err := l.Admit(ctx(t), keys, now, keep, func(r []domain.AttemptRecord) time.Duration { seen = r; return 0 })
		require.NoError(t, err)
		require.Zero(t, w)
		return seen
	}
	t.Run("admit-counts-each-key", func(t *testing.T) {
		l, _ := newAttempts(t)
		assert.Equal(t, []domain.AttemptRecord{{}, {}}, admit(t, l, t0, "a", "b"))
		got := admit(t, l, t0.Add(time.Second), "a", "c")
		assert.Equal(t, 1, got[0].Failures)
		assert.True(t, t0.Equal(got[0].Last))
		assert.Equal(t, domain.AttemptRecord{}, got[1], "keys are independent")
		got = admit(t, l, t0.Add(2*time.Second), "b", "a")
		assert.Equal(t, 1, got[0].Failures)
		assert.Equal(t, 2, got[1].Failures)
		assert.True(t, t0.Add(time.Second).Equal(got[1].Last))
	})
	t.Run("a-refused-attempt-is-not-counted", func(t *testing.T) {
		l, _ := newAttempts(t)
		w, err := l.Admit(ctx(t), []string{"a"}, t0, keep, func([]domain.AttemptRecord) time.Duration { return 7 * time.Second })
		require.NoError(t, err)
		assert.Equal(t, 7*time.Second, w)
		assert.Equal(t, domain.AttemptRecord{}, admit(t, l, t0, "a")[0])
	})
	t.Run("forget", func(t *testing.T) {
		l, _ := newAttempts(t)
		admit(t, l, t0, "a", "b")
		require.NoError(t, l.Forget(ctx(t), "a", "b"))
		assert.Equal(t, []domain.AttemptRecord{{}, {}}, admit(t, l, t0, "a", "b"))
	})
	t.Run("expires-after-keep", func(t *testing.T) {
		l, advance := newAttempts(t)
		admit(t, l, t0, "a")
		advance(keep + time.Second)
		assert.Equal(t, domain.AttemptRecord{}, admit(t, l, t0.Add(keep+time.Second), "a")[0])
	})
	t.Run("admit-is-atomic", func(t *testing.T) {
		// 50 concurrent attempts, each admitted only while fewer than 6
		// were: exactly 6 get in, however they interleave.
		l, _ := newAttempts(t)
		var mu sync.Mutex
		admitted := 0
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				w, err := l.Admit(ctx(t), []string{"acct", "pair"}, t0, keep, func(r []domain.AttemptRecord) time.Duration {
					if r[0].Failures >= 6 {
						return time.Second
					}
					return 0
				})
				assert.NoError(t, err)
				if w == 0 {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 6, admitted)
		assert.Equal(t, 6, admit(t, l, t0, "acct")[0].Failures)
	})
}
