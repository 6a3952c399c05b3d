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
