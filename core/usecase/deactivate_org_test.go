package usecase_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

func TestDeactivation(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	owner, token := h.login(t, "owner@acme.test", "pw-acme-12345")
	inv, err := h.svc.Invite(ctx, owner, "new@acme.test", "member")
	require.NoError(t, err)

	_, err = h.svc.Deactivate(ctx, owner, "acme", "unpaid")
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
	_, err = h.svc.Deactivate(ctx, root, "acme", "")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "a reason is required")
	org, err := h.svc.Deactivate(ctx, root, "acme", "unpaid")
	require.NoError(t, err)
	assert.True(t, org.Deactivated())
	again, err := h.svc.Deactivate(ctx, root, "acme", "still unpaid")
	require.NoError(t, err)
	assert.Equal(t, org.Revision(), again.Revision(), "deactivating twice changes nothing")

	got, err := h.svc.GetOrg(ctx, "acme")
	require.NoError(t, err, "it is still there, under its name")
	assert.True(t, got.Deactivated())
	_, err = h.svc.Authenticate(ctx, token)
	require.ErrorIs(t, err, domain.ErrDeactivated, "its members' tokens are refused")
	_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "owner@acme.test", Password: "pw-acme-12345"})
	require.ErrorIs(t, err, domain.ErrDeactivated)
	_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "owner@acme.test", Password: "wrong-password"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials, "only the right password learns it is deactivated")
	_, _, err = h.svc.Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
	require.ErrorIs(t, err, domain.ErrDeactivated)
	// A request authenticated before the deactivation changes nothing
	// either: every plan reads its caller's organization again.
	_, err = h.svc.UpdateOrg(ctx, owner, usecase.UpdateOrgInput{Name: ptr("acme-two")})
	require.ErrorIs(t, err, domain.ErrDeactivated)
	_, err = h.svc.Invite(ctx, owner, "other@acme.test", "member")
	require.ErrorIs(t, err, domain.ErrDeactivated)
	_, err = h.svc.DeleteOrg(ctx, owner, "acme", nil)
	require.ErrorIs(t, err, domain.ErrDeactivated)
	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "acme", Metadata: usecase.MetadataInput{PublicMetadata: raw(`{"a": 1}`)}})
	require.ErrorIs(t, err, domain.ErrDeactivated, "not even the super admin changes it")
	rep, err := h.svc.CheckIntegrity(ctx, true)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)

	_, err = h.svc.Activate(ctx, root, "acme", "paid")
	require.NoError(t, err)
	p, err := h.svc.Authenticate(ctx, token)
	require.NoError(t, err, "its tokens work again")
	assert.Equal(t, owner.AdminID, p.AdminID)
	_, _, err = h.svc.Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
	require.NoError(t, err, "its invitations too")
	events := h.stream(t, root, usecase.EventQuery{Limit: 100, OrgID: org.ID})
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e.Type)
	}
	assert.Equal(t, []string{usecase.EventOrgCreated, usecase.EventInvitationCreated, usecase.EventOrgDeactivated, usecase.EventOrgActivated, usecase.EventMemberJoined}, kinds)
	assert.JSONEq(t, `{"reason": "unpaid"}`, string(events[2].Data))

	h.create(t, "beta", "owner@beta.test", "pw-beta-12345")
	_, err = h.svc.Deactivate(ctx, root, "beta", "fraud")
	require.NoError(t, err)
	_, err = h.svc.DeleteOrg(ctx, root, "beta", nil)
	require.NoError(t, err, "the super admin may still delete it")
}

func TestDeactivationSurvivesACrash(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	org := h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	_, err = h.with(t, usecase.Deps{Failpoints: fakes.CrashAt(usecase.FPDeactivatePending)}).Deactivate(ctx, root, "acme", "unpaid")
	require.ErrorIs(t, err, fakes.ErrCrash)
	_, err = h.with(t, usecase.Deps{}).RecoverPending(ctx, true)
	require.NoError(t, err)
	got, err := h.svc.GetOrg(ctx, "acme")
	require.NoError(t, err)
	assert.True(t, got.Deactivated(), "recovery finished it")
	assert.Len(t, h.stream(t, root, usecase.EventQuery{Limit: 100, OrgID: org.ID, Type: usecase.EventOrgDeactivated}), 1)
}
