package usecase_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// keyedCreate is a create under call's key, as the HTTP edge runs it:
// kept unless it failed for a reason worth retrying (here: a crash).
func keyedCreate(svc *usecase.Service, call usecase.IdempotentCall, name string) (usecase.Answer, bool, error) {
	ctx := context.Background()
	return svc.Idempotently(ctx, call, func(ids usecase.IdempotentIDs) (usecase.Answer, bool, error) {
		org, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: name, Email: "a@" + name + ".test", Password: "password1", IDs: &ids})
		if err != nil {
			return usecase.Answer{}, false, err
		}
		return usecase.Answer{Status: 201, Body: []byte(org.ID)}, true, nil
	})
}

func TestIdempotentReplayAndReuse(t *testing.T) {
	h := newHarness(t)
	call := usecase.IdempotentCall{Scope: "create", Key: "k-1", Fingerprint: "body-1"}
	first, replayed, err := keyedCreate(h.svc, call, "acme")
	require.NoError(t, err)
	assert.False(t, replayed)
	assert.Equal(t, 201, first.Status)

	again, replayed, err := keyedCreate(h.svc, call, "acme")
	require.NoError(t, err)
	assert.True(t, replayed, "the same key and request: the first answer")
	assert.Equal(t, first, again)

	call.Fingerprint = "body-2"
	_, _, err = keyedCreate(h.svc, call, "other")
	assert.ErrorIs(t, err, usecase.ErrIdempotencyReused)
	_, err = h.svc.GetOrg(context.Background(), "other")
	assert.ErrorIs(t, err, domain.ErrOrgNotFound, "a refused key changes nothing")

	// Another caller's key of the same spelling is its own.
	call.Scope = "create:someone"
	_, replayed, err = keyedCreate(h.svc, call, "other")
	require.NoError(t, err)
	assert.False(t, replayed)

	// A day later the key is new again.
	h.clock.Advance(usecase.IdempotencyTTL + time.Second)
	call = usecase.IdempotentCall{Scope: "create", Key: "k-1", Fingerprint: "body-3"}
	_, replayed, err = keyedCreate(h.svc, call, "third")
	require.NoError(t, err)
	assert.False(t, replayed)
	n, err := h.svc.PurgeIdempotencyKeys(context.Background(), 10)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the other caller's key expired; the renewed one did not")

	for _, bad := range []string{"", "tab\tkey", string(make([]byte, 256))} {
		_, _, err := keyedCreate(h.svc, usecase.IdempotentCall{Scope: "create", Key: bad}, "x")
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q", bad)
	}
}

// TestIdempotentInFlight: a retry while the first is running is told to
// wait, with a Retry-After, and does not run.
func TestIdempotentInFlight(t *testing.T) {
	h := newHarness(t)
	call := usecase.IdempotentCall{Scope: "accept", Key: "k", Fingerprint: "f"}
	inside, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		_, _, err := h.svc.Idempotently(context.Background(), call, func(usecase.IdempotentIDs) (usecase.Answer, bool, error) {
			close(inside)
			<-release
			return usecase.Answer{Status: 201, Body: []byte("{}")}, true, nil
		})
		assert.NoError(t, err)
	})
	<-inside
	ran := false
	_, _, err := h.svc.Idempotently(context.Background(), call, func(usecase.IdempotentIDs) (usecase.Answer, bool, error) {
		ran = true
		return usecase.Answer{}, true, nil
	})
	assert.ErrorIs(t, err, usecase.ErrIdempotencyBusy)
	assert.Equal(t, time.Second, usecase.ErrIdempotencyBusy.RetryAfter)
	assert.False(t, ran)
	close(release)
	wg.Wait()
	ans, replayed, err := h.svc.Idempotently(context.Background(), call, nil)
	require.NoError(t, err)
	assert.True(t, replayed)
	assert.Equal(t, 201, ans.Status)
}

// TestIdempotentSameKeyTwiceAtOnce: many at once with one key, one runs;
// the others wait (busy) or replay its answer.
func TestIdempotentSameKeyTwiceAtOnce(t *testing.T) {
	h := newHarness(t)
	call := usecase.IdempotentCall{Scope: "create", Key: "twice", Fingerprint: "f"}
	var wg sync.WaitGroup
	var mu sync.Mutex
	fresh, replays, busy := 0, 0, 0
	for range 8 {
		wg.Go(func() {
			_, replayed, err := keyedCreate(h.svc, call, "twice")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil && replayed:
				replays++
			case err == nil:
				fresh++
			case assert.ErrorIs(t, err, usecase.ErrIdempotencyBusy):
				busy++
			}
		})
	}
	wg.Wait()
	assert.Equal(t, 1, fresh, "exactly one ran")
	assert.Equal(t, 8, fresh+replays+busy)
	orgs, _, err := h.store.Orgs().List(context.Background(), 0, 100)
	require.NoError(t, err)
	assert.Len(t, orgs, 1)
}

// TestIdempotentCreateFinishesAfterItsProcessDied: a keyed create killed
// at each step (its process gone, its key left in flight) and retried
// with its key once the lease ran out finishes the organization the first
// attempt began, under its id, and answers it.
func TestIdempotentCreateFinishesAfterItsProcessDied(t *testing.T) {
	for _, fp := range []string{usecase.FPCreateReserved, usecase.FPCreateInserted, usecase.FPCreateAdmin, usecase.FPCreateCollection} {
		t.Run(fp, func(t *testing.T) {
			h := newHarness(t)
			dying := h.with(t, usecase.Deps{Failpoints: fakes.CrashAt(fp)})
			call := usecase.IdempotentCall{Scope: "create", Key: "k", Fingerprint: "f"}
			began := make(chan domain.ID, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				_, _, _ = dying.Idempotently(context.Background(), call, func(ids usecase.IdempotentIDs) (usecase.Answer, bool, error) {
					began <- ids.Org
					_, err := dying.CreateOrg(context.Background(), usecase.CreateOrgInput{Name: "acme", Email: "a@acme.test", Password: "password1", IDs: &ids})
					require.ErrorIs(t, err, fakes.ErrCrash)
					runtime.Goexit() // the process dies here: nothing after runs
					return usecase.Answer{}, false, nil
				})
			}()
			<-done
			id := <-began

			_, _, err := keyedCreate(h.svc, call, "acme")
			assert.ErrorIs(t, err, usecase.ErrIdempotencyBusy, "within the lease the key is still its first attempt's")
			h.clock.Advance(usecase.DefaultLease + time.Second)
			ans, replayed, err := keyedCreate(h.svc, call, "acme")
			require.NoError(t, err)
			assert.False(t, replayed)
			assert.Equal(t, 201, ans.Status)
			assert.Equal(t, string(id), string(ans.Body), "the organization the first attempt began")
			org, err := h.svc.GetOrg(context.Background(), "acme")
			require.NoError(t, err)
			assert.Equal(t, id, org.ID)
			_, err = h.svc.Login(context.Background(), usecase.LoginInput{Email: "a@acme.test", Password: "password1"})
			require.NoError(t, err)
			orgs, _, err := h.store.Orgs().List(context.Background(), 0, 100)
			require.NoError(t, err)
			assert.Len(t, orgs, 1)
		})
	}
}
