package usecase_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/ratelimit"
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
	list, err := h.svc.ListInvitations(ctx, owner, "")
	require.NoError(t, err)
	require.Len(t, list, 1, "listed until revoked, so its inviter sees it expired")
	assert.Empty(t, list[0].Digest, "never the digest")
	_, err = h.svc.Revoke(ctx, owner, "", string(inv.ID))
	require.NoError(t, err)
}

// TestOnlyACompletedAcceptClearsFailures: a valid token whose accept is
// refused (its email taken since the invitation) does not reset the
// address's failed guesses; an accept that completes does.
func TestOnlyACompletedAcceptClearsFailures(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{Attempts: ratelimit.NewLocalLoginAttempts()})
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	taken, err := h.svc.Invite(ctx, owner, "taken@x.test", "member")
	require.NoError(t, err)
	h.create(t, "other", "taken@x.test", "password1") // the email is an account's now
	wrong := string(taken.ID) + "." + strings.Repeat("A", 43)
	accept := func(tok, client string) error {
		_, _, err := h.svc.Accept(ctx, usecase.AcceptInput{Token: tok, Password: "password1", Client: client})
		return err
	}

	checked, limited := 0, 0
	for range 6 {
		for range 5 {
			switch err := accept(wrong, "198.51.100.1"); domain.ErrorCode(err) {
			case domain.CodeUnauthorized:
				checked++
			case domain.CodeRateLimited:
				limited++
			default:
				t.Fatalf("a wrong token: %v", err)
			}
		}
		err := accept(taken.Token, "198.51.100.1")
		assert.Contains(t, []domain.Code{domain.CodeConflict, domain.CodeRateLimited}, domain.ErrorCode(err), "%v", err)
	}
	free := domain.DefaultLoginPolicy.Pair.Free
	assert.LessOrEqual(t, checked, free+1, "the refused accepts cleared nothing: %d wrong tokens checked", checked)
	assert.Positive(t, limited)

	// An accept that completes clears the address's failures.
	ok, err := h.svc.Invite(ctx, owner, "new@x.test", "member")
	require.NoError(t, err)
	for range free {
		require.ErrorIs(t, accept(wrong, "203.0.113.7"), domain.ErrInvitationInvalid)
	}
	require.NoError(t, accept(ok.Token, "203.0.113.7"))
	for range free {
		require.ErrorIs(t, accept(wrong, "203.0.113.7"), domain.ErrInvitationInvalid, "a fresh allowance after a completed accept")
	}
}
