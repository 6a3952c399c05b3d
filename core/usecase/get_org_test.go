package usecase_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

func TestGetOrg(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		wantCode domain.Code
	}{
		{name: "get-200", query: "Acme"},
		{name: "get-200-other-case", query: "aCME"},
		{name: "get-404", query: "nobody", wantCode: domain.CodeNotFound},
		{name: "get-422-empty", query: "", wantCode: domain.CodeInvalid},
		{name: "get-422-operator", query: `{"$ne":null}`, wantCode: domain.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			want := h.create(t, "Acme", "a@x.com", "12345678")
			got, err := h.svc.GetOrg(context.Background(), tc.query)
			if tc.wantCode != "" {
				assert.Equal(t, tc.wantCode, domain.ErrorCode(err), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
}

// TestGetOrgAfterAbandonedCreateLostItsEmail: a create dies after recording
// its intent, and meanwhile another admin takes its email. The next reader
// finishes the create by rolling it back, and sees no organization (404),
// not the create's conflict (400).
func TestGetOrgAfterAbandonedCreateLostItsEmail(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	crash := fakes.CrashAt(usecase.FPCreateInserted)
	h := newHarnessWith(t, usecase.Deps{Clock: clock, Failpoints: crash})
	_, err := h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "a@x.com", Password: "12345678"})
	require.ErrorIs(t, err, fakes.ErrCrash)
	require.NoError(t, h.store.Admins().Insert(ctx, domain.Admin{ID: domain.NewID(clock.Now()), Email: "a@x.com", Role: domain.RoleOrgAdmin, OrgID: domain.NewID(clock.Now())}))

	clock.Advance(usecase.DefaultLease + time.Second)
	_, err = h.svc.GetOrg(ctx, "acme")
	require.ErrorIs(t, err, domain.ErrOrgNotFound)
	claims, err := h.store.Names().All(ctx)
	require.NoError(t, err)
	assert.Empty(t, claims, "the rolled-back create freed its name")
}

// TestReleaseAbandonedSparesClaimsInFlight checks the background sweep
// after an exclusive takeover: a claim an earlier process left is freed at
// once, one this process just reserved for an operation in flight (its
// organization not written yet) only after a lease.
func TestReleaseAbandonedSparesClaimsInFlight(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	require.NoError(t, h.store.Names().Reserve(ctx, domain.Claim{Key: "ghost", OrgID: domain.NewID(h.clock.Now()), At: h.clock.Now()}))
	h.clock.Advance(time.Second) // the restart
	_, err := h.svc.RecoverPending(ctx, true)
	require.NoError(t, err)
	require.NoError(t, h.store.Emails().Reserve(ctx, domain.Claim{Key: "a@x.test", OrgID: domain.NewID(h.clock.Now()), AdminID: domain.NewID(h.clock.Now()), At: h.clock.Now()}))

	n, err := h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = h.store.Names().Claim(ctx, "ghost")
	require.ErrorIs(t, err, domain.ErrNoClaim, "the earlier process's claim is freed")
	_, err = h.store.Emails().Claim(ctx, "a@x.test")
	require.NoError(t, err, "the claim of an operation in flight is kept")

	h.clock.Advance(usecase.DefaultLease + time.Second)
	n, err = h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "once its lease ran out with nothing referencing it, it is abandoned")
}
