package usecase_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

func TestInvitationTokenIsTheInvitationsOwn(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	one, err := h.svc.Invite(ctx, owner, "b@x.test", "member")
	require.NoError(t, err)
	two, err := h.svc.Invite(ctx, owner, "c@x.test", "member")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, len(one.Token)-len(one.ID)-1, 43, "at least 256 bits of secret, base64url")
	// One invitation's secret does not open another.
	swapped := string(one.ID) + two.Token[len(two.ID):]
	_, _, err = h.svc.Accept(ctx, usecase.AcceptInput{Token: swapped, Password: "password1", Client: "c"})
	require.ErrorIs(t, err, domain.ErrInvitationInvalid)
	stored, err := h.store.Invitations().ByID(ctx, one.ID)
	require.NoError(t, err)
	assert.NotContains(t, one.Token, stored.Digest, "only a digest is stored")
	assert.Len(t, stored.Digest, 64)
}
