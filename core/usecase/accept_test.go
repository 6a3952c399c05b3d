package usecase_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

func TestInvitationExpires(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{InvitationTTL: time.Hour})
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	inv, err := h.svc.Invite(ctx, owner, "b@x.test", "member")
	require.NoError(t, err)
	assert.Equal(t, time.Hour, inv.ExpiresAt.Sub(inv.CreatedAt), "INVITATION_TTL sets the expiry")
	h.clock.Advance(time.Hour)
	_, _, err = h.svc.Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
	require.ErrorIs(t, err, domain.ErrInvitationInvalid, "expired at its expiry")
	list, err := h.svc.ListInvitations(ctx, owner)
	require.NoError(t, err)
	require.Len(t, list, 1, "listed until revoked, so its inviter sees it expired")
	assert.Empty(t, list[0].Digest, "never the digest")
	_, err = h.svc.Revoke(ctx, owner, string(inv.ID))
	require.NoError(t, err)
}
