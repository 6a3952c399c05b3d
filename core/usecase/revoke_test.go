package usecase_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
)

// TestRevokeReadsTheRevokerAgain: a revocation is decided by the
// revoker's role as it is when the revocation is written, not as it was
// when its request was authenticated: an admin demoted (or removed) in
// between may not revoke.
func TestRevokeReadsTheRevokerAgain(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	h.join(t, owner, "adm@x.test", domain.RoleAdmin)
	h.join(t, owner, "gone@x.test", domain.RoleAdmin)
	admin, _ := h.login(t, "adm@x.test", "password1")
	gone, _ := h.login(t, "gone@x.test", "password1")
	inv, err := h.svc.Invite(ctx, owner, "b@x.test", "member")
	require.NoError(t, err)

	_, err = h.svc.SetRole(ctx, owner, "adm@x.test", "member")
	require.NoError(t, err)
	_, err = h.svc.Revoke(ctx, admin, "", string(inv.ID)) // authenticated as an admin, before the demotion
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "%v", err)

	_, err = h.svc.RemoveMember(ctx, owner, "gone@x.test")
	require.NoError(t, err)
	_, err = h.svc.Revoke(ctx, gone, "", string(inv.ID))
	assert.ErrorIs(t, err, domain.ErrInvalidToken, "a removed admin's request is as its dead token")

	list, err := h.svc.ListInvitations(ctx, owner, "")
	require.NoError(t, err)
	require.Len(t, list, 1, "the invitation stands")
	_, err = h.svc.Revoke(ctx, owner, "", string(inv.ID))
	require.NoError(t, err)
}
