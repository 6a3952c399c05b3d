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
	// begin admits an attempt on keys at now and returns the records it saw.
	begin := func(t *testing.T, l ports.LoginAttempts, now time.Time, keys ...string) []domain.AttemptRecord {
		t.Helper()
		var seen []domain.AttemptRecord
		adm, err := l.Begin(ctx(t), keys, now, keep, func(r []domain.AttemptRecord) domain.Admission { seen = r; return domain.Admission{} })
		require.NoError(t, err)
		require.True(t, adm.Admitted())
		return seen
	}
	end := func(t *testing.T, l ports.LoginAttempts, now time.Time, ends ...ports.AttemptEnd) {
		t.Helper()
		require.NoError(t, l.End(ctx(t), ends, now, keep))
	}
	until := t0.Add(domain.InFlightFor)
	t.Run("begin-counts-in-flight-on-each-key", func(t *testing.T) {
		l, _ := newAttempts(t)
		assert.Equal(t, []domain.AttemptRecord{{}, {}}, begin(t, l, t0, "a", "b"))
		got := begin(t, l, t0, "a", "c")
		assert.Equal(t, domain.AttemptRecord{InFlight: 1, InFlightUntil: until}, got[0])
		assert.Equal(t, domain.AttemptRecord{}, got[1], "keys are independent")
	})
	t.Run("end-counts-a-failure-or-forgets", func(t *testing.T) {
		l, _ := newAttempts(t)
		begin(t, l, t0, "acct", "pair")
		end(t, l, t0.Add(time.Second), ports.AttemptEnd{Key: "acct", Failed: true}, ports.AttemptEnd{Key: "pair", Failed: true})
		begin(t, l, t0.Add(2*time.Second), "acct", "pair")
		got := begin(t, l, t0.Add(2*time.Second), "acct", "pair")
		assert.Equal(t, 1, got[0].Failures)
		assert.True(t, t0.Add(time.Second).Equal(got[0].Last))
		assert.Equal(t, 1, got[0].InFlight, "the second attempt in flight")
		end(t, l, t0.Add(3*time.Second), ports.AttemptEnd{Key: "acct"}, ports.AttemptEnd{Key: "pair", Forget: true})
		end(t, l, t0.Add(3*time.Second), ports.AttemptEnd{Key: "acct"}, ports.AttemptEnd{Key: "pair", Forget: true})
		got = begin(t, l, t0.Add(4*time.Second), "acct", "pair")
		assert.Equal(t, 1, got[0].Failures, "a success keeps the account's failures")
		assert.Zero(t, got[0].InFlight)
		assert.Zero(t, got[1].Failures, "and forgets the address's")
		assert.Zero(t, got[1].InFlight)
	})
	t.Run("in-flight-never-below-zero", func(t *testing.T) {
		l, _ := newAttempts(t)
		end(t, l, t0, ports.AttemptEnd{Key: "a"}, ports.AttemptEnd{Key: "a"})
		begin(t, l, t0, "a")
		assert.Equal(t, 1, begin(t, l, t0, "a")[0].InFlight)
	})
	t.Run("a-refused-attempt-is-not-counted", func(t *testing.T) {
		l, _ := newAttempts(t)
		adm, err := l.Begin(ctx(t), []string{"a"}, t0, keep, func([]domain.AttemptRecord) domain.Admission {
			return domain.Admission{Wait: 7 * time.Second}
		})
		require.NoError(t, err)
		assert.Equal(t, 7*time.Second, adm.Wait)
		assert.Equal(t, domain.AttemptRecord{}, begin(t, l, t0, "a")[0])
	})
	t.Run("expires-after-keep", func(t *testing.T) {
		l, advance := newAttempts(t)
		begin(t, l, t0, "a")
		end(t, l, t0, ports.AttemptEnd{Key: "a", Failed: true})
		advance(keep + time.Second)
		assert.Equal(t, domain.AttemptRecord{}, begin(t, l, t0.Add(keep+time.Second), "a")[0])
	})
	t.Run("begin-is-atomic", func(t *testing.T) {
		// 50 concurrent attempts, each admitted only while fewer than 6
		// are in flight: exactly 6 get in, however they interleave.
		l, _ := newAttempts(t)
		var mu sync.Mutex
		admitted := 0
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				adm, err := l.Begin(ctx(t), []string{"acct", "pair"}, t0, keep, func(r []domain.AttemptRecord) domain.Admission {
					return domain.Admission{Busy: r[0].InFlight >= 6}
				})
				assert.NoError(t, err)
				if adm.Admitted() {
					mu.Lock()
					admitted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		assert.Equal(t, 6, admitted)
		assert.Equal(t, 6, begin(t, l, t0, "acct")[0].InFlight)
	})
}
