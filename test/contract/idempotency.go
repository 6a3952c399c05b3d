package contract

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
)

// IdempotencyKeys holds a ports.IdempotencyKeys to its contract: every
// field kept as written, one record per key, compare-and-set replaces,
// and a purge that removes only what expired, at most its limit.
func IdempotencyKeys(t *testing.T, newStores NewStores) {
	rec := func(key string, expires time.Time) domain.IdempotencyRecord {
		return domain.IdempotencyRecord{
			Key: key, Fingerprint: "f-" + key, LeaseUntil: t0.Add(time.Minute),
			OrgID: domain.NewID(t0), OpID: domain.NewID(t0), AdminID: domain.NewID(t0),
			CreatedAt: t0, ExpiresAt: expires, Version: 1,
		}
	}
	t.Run("round-trip", func(t *testing.T) {
		r := newStores(t).Idempotency
		a := rec("a", t0.Add(24*time.Hour))
		require.NoError(t, r.Insert(ctx(t), a))
		got, err := r.Get(ctx(t), "a")
		require.NoError(t, err)
		assert.Equal(t, a, got)
		assert.ErrorIs(t, r.Insert(ctx(t), rec("a", t0)), domain.ErrIdempotencyRecordExists)
		_, err = r.Get(ctx(t), "b")
		assert.ErrorIs(t, err, domain.ErrIdempotencyRecordNotFound)

		done := a
		done.Done, done.LeaseUntil, done.Status, done.Body, done.Sealed, done.Version = true, time.Time{}, 201, []byte(`{"x":1}`), true, 2
		done.Header = map[string]string{"ETag": `"a.1"`}
		require.NoError(t, r.Replace(ctx(t), done, 1))
		got, err = r.Get(ctx(t), "a")
		require.NoError(t, err)
		assert.Equal(t, done, got)
	})
	t.Run("compare-and-set", func(t *testing.T) {
		r := newStores(t).Idempotency
		a := rec("a", t0.Add(time.Hour))
		require.NoError(t, r.Insert(ctx(t), a))
		next := a
		next.Version = 2
		require.NoError(t, r.Replace(ctx(t), next, 1))
		next.Version = 3
		assert.ErrorIs(t, r.Replace(ctx(t), next, 1), domain.ErrStale, "a stale version")
		gone := rec("gone", t0)
		assert.ErrorIs(t, r.Replace(ctx(t), gone, 1), domain.ErrStale, "a record not stored")
		got, err := r.Get(ctx(t), "a")
		require.NoError(t, err)
		assert.Equal(t, int64(2), got.Version)
	})
	t.Run("purge", func(t *testing.T) {
		r := newStores(t).Idempotency
		for i, k := range []string{"old1", "old2", "old3"} {
			require.NoError(t, r.Insert(ctx(t), rec(k, t0.Add(time.Duration(i)*time.Second))))
		}
		require.NoError(t, r.Insert(ctx(t), rec("live", t0.Add(time.Hour))))
		n, err := r.Purge(ctx(t), t0.Add(time.Minute), 2)
		require.NoError(t, err)
		assert.Equal(t, 2, n, "at most the limit")
		n, err = r.Purge(ctx(t), t0.Add(time.Minute), 10)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the rest of the expired")
		for _, k := range []string{"old1", "old2", "old3"} {
			_, err := r.Get(ctx(t), k)
			assert.ErrorIs(t, err, domain.ErrIdempotencyRecordNotFound, k)
		}
		_, err = r.Get(ctx(t), "live")
		assert.NoError(t, err, "a live record stays")
	})
}
