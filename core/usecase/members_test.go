package usecase_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

func (c *countingRosters) Page(ctx context.Context, org domain.ID, i int) ([]domain.Member, error) {
	c.reads.Add(1)
	return c.Rosters.Page(ctx, org, i)
}

func (h *harness) join(t *testing.T, owner domain.Principal, email string, role domain.OrgRole) {
	t.Helper()
	inv, err := h.svc.Invite(context.Background(), owner, email, string(role))
	require.NoError(t, err)
	_, _, err = h.svc.Accept(context.Background(), usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
	require.NoError(t, err)
}

func TestMembershipRefusals(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.create(t, "acme", "a@x.test", "password1")
	h.create(t, "other", "o@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	h.join(t, owner, "m@x.test", domain.RoleMember)
	member, _ := h.login(t, "m@x.test", "password1")

	_, err := h.svc.Invite(ctx, owner, "o@x.test", "member")
	require.ErrorIs(t, err, domain.ErrEmailExists, "an email an admin holds anywhere")
	_, err = h.svc.Invite(ctx, owner, "x@x.test", "boss")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.SetRole(ctx, owner, "o@x.test", "admin")
	require.ErrorIs(t, err, domain.ErrMemberNotFound, "another organization's admin is no member here")
	_, err = h.svc.RemoveMember(ctx, member, "a@x.test")
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	_, err = h.svc.ListInvitations(ctx, member, "")
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	_, err = h.svc.ListMembers(ctx, owner, "other", 1, 10)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "only the super admin names an organization")
	_, err = h.svc.DeleteOrg(ctx, member, "acme", nil)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	_, err = h.svc.SetRole(ctx, owner, "a@x.test", "member")
	require.ErrorIs(t, err, domain.ErrLastOwner)
	m, err := h.svc.SetRole(ctx, owner, "m@x.test", "member")
	require.NoError(t, err, "setting the role a member has is no error")
	assert.Equal(t, domain.RoleMember, m.Role)
	rep, err := h.svc.CheckIntegrity(ctx, false)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings, "refusals changed nothing")
}
