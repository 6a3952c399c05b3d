package usecase_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// TestExpiredInvitations: an expired invitation is listed as expired
// until the retention has passed, then removed by the sweep's work as a
// change by orgd itself (one invitation.expired event), crash-safe; a
// deactivated organization's stay until its activation.
func TestExpiredInvitations(t *testing.T) {
	h := newHarnessWith(t, usecase.Deps{InvitationTTL: time.Hour})
	ctx := context.Background()
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	org := h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	h.create(t, "idle", "owner@idle.test", "pw-idle-12345")
	owner, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	idle, _ := h.login(t, "owner@idle.test", "pw-idle-12345")
	for _, email := range []string{"a@acme.test", "b@acme.test"} {
		_, err := h.svc.Invite(ctx, owner, email, "member")
		require.NoError(t, err)
	}
	_, err = h.svc.Invite(ctx, idle, "c@idle.test", "member")
	require.NoError(t, err)
	h.clock.Advance(30 * time.Minute)
	late, err := h.svc.Invite(ctx, owner, "d@acme.test", "member")
	require.NoError(t, err)
	_, err = h.svc.Deactivate(ctx, root, "idle", "unpaid")
	require.NoError(t, err)

	h.clock.Advance(45 * time.Minute) // the first three expired, the fourth not
	list, err := h.svc.ListInvitations(ctx, owner, "")
	require.NoError(t, err)
	status := map[string]string{}
	for _, inv := range list {
		status[string(inv.Email)] = inv.Status
	}
	assert.Equal(t, map[string]string{"a@acme.test": "expired", "b@acme.test": "expired", "d@acme.test": "pending"}, status)

	retention := 24 * time.Hour
	n, err := h.svc.RemoveExpiredInvitations(ctx, h.clock.Now().Add(-retention), 10)
	require.NoError(t, err)
	assert.Zero(t, n, "kept for the retention after they expired")

	h.clock.Advance(retention)
	n, err = h.with(t, usecase.Deps{Failpoints: fakes.CrashAt(usecase.FPExpirePending)}).RemoveExpiredInvitations(ctx, h.clock.Now().Add(-retention), 10)
	require.ErrorIs(t, err, fakes.ErrCrash)
	assert.Zero(t, n)
	_, err = h.with(t, usecase.Deps{}).RecoverPending(ctx, true)
	require.NoError(t, err)
	n, err = h.svc.RemoveExpiredInvitations(ctx, h.clock.Now().Add(-retention), 10)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the one the crash left was finished by recovery; the other removed now")
	n, err = h.svc.RemoveExpiredInvitations(ctx, h.clock.Now().Add(-retention), 10)
	require.NoError(t, err)
	assert.Zero(t, n, "none left but the suspended organization's")

	list, err = h.svc.ListInvitations(ctx, owner, "")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, late.ID, list[0].ID)
	assert.Equal(t, domain.InvitationExpired, list[0].Status)
	events := h.stream(t, root, usecase.EventQuery{OrgID: org.ID, Type: usecase.EventInvitationExpired})
	require.Len(t, events, 2, "one event per removal, the recovered one included")
	for _, e := range events {
		assert.Equal(t, domain.ActorSystem, e.Actor.Kind)
	}

	idleList, err := h.svc.ListInvitations(ctx, root, "idle")
	require.NoError(t, err)
	assert.Len(t, idleList, 1, "a deactivated organization changes not")
	_, err = h.svc.Activate(ctx, root, "idle", "paid")
	require.NoError(t, err)
	n, err = h.svc.RemoveExpiredInvitations(ctx, h.clock.Now().Add(-retention), 10)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "removed once it is active again")
}

// TestSuperAdminInvitations: the super admin lists and revokes any
// organization's invitations by name; a member may not name one; an id
// has one spelling.
func TestSuperAdminInvitations(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	owner, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	inv, err := h.svc.Invite(ctx, owner, "a@acme.test", "owner")
	require.NoError(t, err)

	list, err := h.svc.ListInvitations(ctx, root, "ACME")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, domain.InvitationPending, list[0].Status)
	_, err = h.svc.ListInvitations(ctx, root, "")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.ListInvitations(ctx, owner, "acme")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "a member lists its own")

	for _, bad := range []string{strings.ToUpper(string(inv.ID)), string(inv.ID) + " ", string(inv.ID)[:23], ""} {
		_, err = h.svc.Revoke(ctx, owner, "", bad)
		assert.ErrorIs(t, err, usecase.ErrBadInvitationID, "%q", bad)
	}
	_, err = h.svc.Revoke(ctx, root, "other", string(inv.ID))
	assert.ErrorIs(t, err, domain.ErrOrgNotFound)
	got, err := h.svc.Revoke(ctx, root, "acme", string(inv.ID))
	require.NoError(t, err)
	assert.Equal(t, inv.ID, got.ID)
	list, err = h.svc.ListInvitations(ctx, owner, "")
	require.NoError(t, err)
	assert.Empty(t, list)
	events := h.stream(t, root, usecase.EventQuery{Type: usecase.EventInvitationRevoked})
	require.Len(t, events, 1)
	assert.Equal(t, domain.ActorSuperAdmin, events[0].Actor.Kind)
}
