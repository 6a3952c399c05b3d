package usecase_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
)

// countingRosters counts the roster pages read.
type countingRosters struct {
	ports.Rosters
	reads atomic.Int64
}

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

// TestListMembersCostIsFlat pins the mechanism that keeps a page of
// members as cheap at any size: it reads the organization and at most
// the two roster pages a page of the list spans.
func TestListMembersCostIsFlat(t *testing.T) {
	ctx := context.Background()
	rosters := &countingRosters{}
	h := newHarnessWith(t, usecase.Deps{Rosters: rosters})
	rosters.Rosters = h.store.Rosters()
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	const n = 2*domain.RosterPageSize + 50
	for i := range n - 1 {
		h.join(t, owner, fmt.Sprintf("m%03d@x.test", i), domain.RoleMember)
	}
	seen := map[domain.Email]bool{}
	for page := 1; page <= (n+29)/30; page++ {
		rosters.reads.Store(0)
		res, err := h.svc.ListMembers(ctx, owner, "", page, 30)
		require.NoError(t, err)
		assert.LessOrEqual(t, rosters.reads.Load(), int64(2), "page %d reads at most two roster pages", page)
		assert.Positive(t, rosters.reads.Load(), "the pages are read through the counter")
		assert.EqualValues(t, n, res.Total)
		for _, m := range res.Items {
			assert.False(t, seen[m.Email], "%s listed once", m.Email)
			seen[m.Email] = true
		}
	}
	assert.Len(t, seen, n, "every member is listed")
	res, err := h.svc.ListMembers(ctx, owner, "", 1, 5)
	require.NoError(t, err)
	assert.Equal(t, domain.Email("a@x.test"), res.Items[0].Email, "in the order they joined")
	assert.Equal(t, domain.RoleOwner, res.Items[0].Role)
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
	_, err = h.svc.ListInvitations(ctx, member)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	_, err = h.svc.ListMembers(ctx, owner, "other", 1, 10)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "only the super admin names an organization")
	_, err = h.svc.DeleteOrg(ctx, member, "acme")
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))
	_, err = h.svc.SetRole(ctx, owner, "a@x.test", "member")
	require.ErrorIs(t, err, domain.ErrLastOwner)
	m, err := h.svc.SetRole(ctx, owner, "m@x.test", "member")
	require.NoError(t, err, "setting the role a member has is no error")
	assert.Equal(t, domain.RoleMember, m.Role)
	rep, err := h.svc.Audit(ctx, false)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings, "refusals changed nothing")
}

// An invitation stored but never listed (its invite cut off between the
// two writes) is deleted by recovery once a lease has passed; a listed
// one, and a young unlisted one (an invite in flight), stay.
func TestRecoveryDeletesStrayInvitations(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	org := h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	listed, err := h.svc.Invite(ctx, owner, "listed@x.test", "member")
	require.NoError(t, err)
	now := h.clock.Now()
	stray := domain.Invitation{ID: domain.NewID(now), OrgID: org.ID, Email: "stray@x.test", Role: domain.RoleMember, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	require.NoError(t, h.store.Invitations().Insert(ctx, stray))

	_, err = h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	_, err = h.store.Invitations().ByID(ctx, stray.ID)
	require.NoError(t, err, "young: it may be an invite in flight")

	h.clock.Advance(usecase.DefaultLease + time.Second)
	_, err = h.svc.ReleaseAbandoned(ctx)
	require.NoError(t, err)
	_, err = h.store.Invitations().ByID(ctx, stray.ID)
	require.ErrorIs(t, err, domain.ErrInvitationInvalid, "the stray is gone")
	_, err = h.store.Invitations().ByID(ctx, listed.ID)
	require.NoError(t, err, "a listed invitation stays")
	rep, err := h.svc.Audit(ctx, true)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
}
