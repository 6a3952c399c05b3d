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

func TestLogin(t *testing.T) {
	tests := []struct {
		name     string
		email    string
		password string
		wantErr  error
		wantCode domain.Code
	}{
		{name: "login-200", email: "a@x.com", password: "12345678"},
		{name: "login-200-email-case", email: "A@X.com", password: "12345678"},
		{name: "login-401-wrong-password", email: "a@x.com", password: "123456789", wantErr: domain.ErrInvalidCredentials},
		{name: "login-401-unknown-email", email: "b@x.com", password: "12345678", wantErr: domain.ErrInvalidCredentials},
		{name: "login-422-bad-email", email: "nope", password: "12345678", wantCode: domain.CodeInvalid},
		{name: "login-422-empty-password", email: "a@x.com", password: "", wantCode: domain.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			org := h.create(t, "acme", "a@x.com", "12345678")
			res, err := h.svc.Login(context.Background(), usecase.LoginInput{Email: tc.email, Password: tc.password})
			switch {
			case tc.wantErr != nil:
				require.ErrorIs(t, err, tc.wantErr)
				assert.Equal(t, "Invalid email or password", err.Error(), "one answer for unknown email and wrong password")
			case tc.wantCode != "":
				assert.Equal(t, tc.wantCode, domain.ErrorCode(err))
			default:
				require.NoError(t, err)
				assert.Equal(t, org.ID, res.Org.ID)
				assert.Equal(t, h.clock.Now().Add(usecase.DefaultTokenTTL), res.Claims.ExpiresAt)
				p, err := h.svc.Authenticate(context.Background(), res.Token)
				require.NoError(t, err)
				assert.Equal(t, domain.Principal{AdminID: org.Owners[0].AdminID, OrgID: org.ID, OrgRole: domain.RoleOwner}, p)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		_, tok := h.login(t, "a@x.com", "12345678")
		h.clock.Advance(usecase.DefaultTokenTTL + time.Minute)
		_, err := h.svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("survives-rename", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		p, tok := h.login(t, "a@x.com", "12345678")
		_, err := h.svc.UpdateOrg(context.Background(), p, usecase.UpdateOrgInput{Name: ptr("renamed")})
		require.NoError(t, err)
		_, err = h.svc.Authenticate(context.Background(), tok)
		require.NoError(t, err, "the token names ids, not names")
	})
	t.Run("revoked-by-password-change", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		p, tok := h.login(t, "a@x.com", "12345678")
		_, err := h.svc.UpdateOrg(context.Background(), p, usecase.UpdateOrgInput{Password: ptr("new-password")})
		require.NoError(t, err)
		_, err = h.svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
		h.login(t, "a@x.com", "new-password")
	})
	t.Run("revoked-by-delete", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		p, tok := h.login(t, "a@x.com", "12345678")
		_, err := h.svc.DeleteOrg(context.Background(), p, "acme")
		require.NoError(t, err)
		_, err = h.svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("garbage", func(t *testing.T) {
		h := newHarness(t)
		_, err := h.svc.Authenticate(context.Background(), "not.a.token")
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
}
