package usecase_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// An invitation stored but never listed (its invite cut off between the
// two writes) is deleted by recovery once a lease has passed; a listed
// one, and a young unlisted one (an invite in flight), stay.
func TestRecoveryDeletesStrayInvitations(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	org := h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	listed, err := h.svc.Invite(ctx, owner, "listed@x.test", "member")
	require.NoError(t, err)
	now := h.clock.Now()
	stray := domain.Invitation{ID: domain.NewID(now), OrgID: org.ID, Email: "stray@x.test", Role: domain.RoleMember, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, h.store.Invitations().Insert(ctx, stray))

	_, err = h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	_, err = h.store.Invitations().ByID(ctx, stray.ID)
	require.NoError(t, err, "young: it may be an invite in flight")

	h.clock.Advance(usecase.DefaultLease + time.Second)
	_, err = h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	_, err = h.store.Invitations().ByID(ctx, stray.ID)
	require.ErrorIs(t, err, domain.ErrInvitationNotFound, "the stray is gone")
	_, err = h.store.Invitations().ByID(ctx, listed.ID)
	require.NoError(t, err, "a listed invitation stays")
	rep, err := h.svc.CheckIntegrity(ctx, true)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
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

	rep, err := h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.ClaimsReleased)
	_, err = h.store.Names().Claim(ctx, "ghost")
	require.ErrorIs(t, err, domain.ErrNoClaim, "the earlier process's claim is freed")
	_, err = h.store.Emails().Claim(ctx, "a@x.test")
	require.NoError(t, err, "the claim of an operation in flight is kept")

	h.clock.Advance(usecase.DefaultLease + time.Second)
	rep, err = h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.ClaimsReleased, "once its lease ran out with nothing referencing it, it is abandoned")
}

// TestRecoveryReportsWhatItDid: Recover, and the repair built on it,
// report each thing recovery did, under the keys orgd check --json
// prints.
func TestRecoveryReportsWhatItDid(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	org := h.create(t, "acme", "a@x.test", "password1")
	strays := func() {
		now := h.clock.Now()
		require.NoError(t, h.store.Invitations().Insert(ctx, domain.Invitation{ID: domain.NewID(now), OrgID: org.ID, Email: "stray@x.test", Role: domain.RoleMember, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
		require.NoError(t, h.store.Names().Reserve(ctx, domain.Claim{Key: "ghost", OrgID: domain.NewID(now), At: now}))
		h.clock.Advance(usecase.DefaultLease + time.Second)
	}

	strays()
	rep, err := h.svc.Recover(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, usecase.RecoveryReport{ClaimsReleased: 1, InvitationsDeleted: 1}, rep)

	strays()
	repair, err := h.svc.Repair(ctx, false)
	require.NoError(t, err)
	b, err := json.Marshal(repair.Recovered)
	require.NoError(t, err)
	assert.JSONEq(t, `{"resumed":0,"claims_released":1,"invitations_deleted":1,"events_placed":0}`, string(b))
	assert.Empty(t, repair.Left.Findings)
}
