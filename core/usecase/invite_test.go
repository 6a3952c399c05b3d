package usecase_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
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
	secret, ok := domain.DecodeBase64URL(strings.SplitN(one.Token, ".", 2)[1])
	require.True(t, ok)
	sum := sha256.Sum256(secret)
	assert.Equal(t, hex.EncodeToString(sum[:]), stored.Digest, "what is stored is the SHA-256 digest of the secret")
	assert.NotEqual(t, hex.EncodeToString(secret), stored.Digest, "not the secret itself, in any spelling")
}

// TestInvitationTokenHasOneSpelling: an invitation's token opens it only
// as orgd spelled it. Other spellings of the same secret (the unused low
// bits of its last character set, a line break inside or after it,
// padding, the id in upper case) are refused as a wrong token is.
func TestInvitationTokenHasOneSpelling(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	inv, err := h.svc.Invite(ctx, owner, "b@x.test", "member")
	require.NoError(t, err)
	id, secret, _ := strings.Cut(inv.Token, ".")
	require.Len(t, secret, 43, "256 bits: the last character carries 2 unused bits")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, secret[42])
	variants := map[string]string{
		"padded":        inv.Token + "=",
		"LF inside":     id + "." + secret[:20] + "\n" + secret[20:],
		"CRLF inside":   id + "." + secret[:20] + "\r\n" + secret[20:],
		"LF after":      inv.Token + "\n",
		"id upper case": strings.ToUpper(id) + "." + secret,
		"second dot":    inv.Token + ".",
	}
	for bits := 1; bits < 4; bits++ {
		variants[fmt.Sprintf("low bits %b", bits)] = id + "." + secret[:42] + string(alphabet[last^bits])
	}
	for name, tok := range variants {
		_, _, err := h.svc.Accept(ctx, usecase.AcceptInput{Token: tok, Password: "password1", Client: "c"})
		assert.ErrorIs(t, err, domain.ErrInvitationInvalid, name)
	}
	_, _, err = h.svc.Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
	require.NoError(t, err, "the token as issued still opens it: the variants changed nothing")
}
