package usecase_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

func TestDeleteOrg(t *testing.T) {
	tests := []struct {
		name     string
		target   string
		wantErr  error
		wantCode domain.Code
	}{
		{name: "delete-200", target: "acme"},
		{name: "delete-200-other-case", target: "ACME"},
		{name: "delete-403-not-owner", target: "other", wantErr: domain.ErrNotOwner},
		{name: "delete-404", target: "nobody", wantErr: domain.ErrOrgNotFound},
		{name: "delete-422", target: "a b", wantCode: domain.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			h.create(t, "acme", "a@x.com", "12345678")
			h.create(t, "other", "o@x.com", "12345678")
			p, _ := h.login(t, "a@x.com", "12345678")
			name, err := h.svc.DeleteOrg(ctx, p, tc.target, nil)
			if tc.wantErr != nil || tc.wantCode != "" {
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
				} else {
					assert.Equal(t, tc.wantCode, domain.ErrorCode(err))
				}
				colls, _ := h.store.Tenants().List(ctx)
				assert.Len(t, colls, 2, "nothing is deleted")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, "acme", name)
			_, err = h.svc.GetOrg(ctx, "acme")
			require.ErrorIs(t, err, domain.ErrOrgNotFound)
			_, err = h.svc.Login(ctx, usecase.LoginInput{Email: "a@x.com", Password: "12345678"})
			require.ErrorIs(t, err, domain.ErrInvalidCredentials)
			colls, _ := h.store.Tenants().List(ctx)
			assert.Equal(t, []string{"org_other"}, colls)
			h.create(t, "acme", "a@x.com", "12345678")
		})
	}
}
