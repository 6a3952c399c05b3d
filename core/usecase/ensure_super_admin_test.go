package usecase_test

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

func TestSuperAdmin(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{})
	created, err := h.svc.EnsureSuperAdmin(ctx, "Root@Platform.test", "root-password-1")
	require.NoError(t, err)
	assert.True(t, created)
	created, err = h.svc.EnsureSuperAdmin(ctx, "root@platform.test", "root-password-1")
	require.NoError(t, err)
	assert.False(t, created, "idempotent")

	res, err := h.svc.Login(ctx, usecase.LoginInput{Email: "root@platform.test", Password: "root-password-1"})
	require.NoError(t, err)
	assert.True(t, res.Claims.Super)
	assert.Empty(t, res.Org.ID)
	root, err := h.svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	assert.True(t, root.Super)

	h.create(t, "beta", "b@x.com", "12345678")
	h.create(t, "alpha", "a@x.com", "12345678")
	page, err := h.svc.ListOrgs(ctx, root, 1, 1)
	require.NoError(t, err)
	assert.Equal(t, int64(2), page.Total)
	require.Len(t, page.Items, 1)
	assert.Equal(t, "alpha", page.Items[0].Name.String())

	orgAdmin, _ := h.login(t, "a@x.com", "12345678")
	_, err = h.svc.ListOrgs(ctx, orgAdmin, 1, 10)
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
	_, err = h.svc.ListOrgs(ctx, root, 0, 10)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.ListOrgs(ctx, root, 1, usecase.MaxPageSize+1)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.ListOrgs(ctx, root, math.MaxInt, 20)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "a page whose offset would overflow is refused")
	page, err = h.svc.ListOrgs(ctx, root, usecase.MaxPage, usecase.MaxPageSize)
	require.NoError(t, err)
	assert.Empty(t, page.Items, "the last page allowed is merely empty")

	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Name: ptr("mine")})
	require.ErrorIs(t, err, domain.ErrNoOrganization)
	_, err = h.svc.DeleteOrg(ctx, orgAdmin, "beta", nil)
	require.ErrorIs(t, err, domain.ErrNotOwner)
	name, err := h.svc.DeleteOrg(ctx, root, "beta", nil)
	require.NoError(t, err, "the super admin deletes any organization")
	assert.Equal(t, "beta", name)

	_, err = h.svc.EnsureSuperAdmin(ctx, "a@x.com", "whatever-password")
	require.Error(t, err, "an org admin's email cannot become the super admin's")
}
