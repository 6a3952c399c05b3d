package usecase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// stream reads the whole of a stream through Events, a few at a time.
func (h *harness) stream(t *testing.T, p domain.Principal, q usecase.EventQuery) []domain.Event {
	t.Helper()
	var out []domain.Event
	for {
		q.Limit = 3
		page, err := h.svc.Events(context.Background(), p, q)
		require.NoError(t, err)
		out = append(out, page.Items...)
		if len(page.Items) == 0 {
			return out
		}
		q.After = page.Next
	}
}

func types(events []domain.Event) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.Type
	}
	return out
}

// TestEveryChangeIsOneEvent: each committed change of every operation is
// one event, in commit order, naming who did it and what changed, never a
// secret; refusals, validation errors and changes that change nothing
// record none.
func TestEveryChangeIsOneEvent(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@platform.test", "root-password-1")
	require.NoError(t, err)
	root, _ := h.login(t, "root@platform.test", "root-password-1")
	org := h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	inv, err := h.svc.Invite(ctx, owner, "b@x.test", "admin")
	require.NoError(t, err)
	_, _, err = h.svc.Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password2", Client: "c"})
	require.NoError(t, err)
	revoked, err := h.svc.Invite(ctx, owner, "c@x.test", "member")
	require.NoError(t, err)
	_, err = h.svc.Revoke(ctx, owner, "", string(revoked.ID))
	require.NoError(t, err)
	_, err = h.svc.SetRole(ctx, owner, "b@x.test", "member")
	require.NoError(t, err)
	_, err = h.svc.UpdateOrg(ctx, owner, usecase.UpdateOrgInput{Name: ptr("acme_two"), Email: ptr("a2@x.test"), Password: ptr("password3")})
	require.NoError(t, err)
	owner, _ = h.login(t, "a2@x.test", "password3")
	member, _ := h.login(t, "b@x.test", "password2")
	_, err = h.svc.RemoveMember(ctx, member, "b@x.test") // it leaves
	require.NoError(t, err)

	// Refusals and changes that change nothing record no event.
	_, err = h.svc.UpdateOrg(ctx, owner, usecase.UpdateOrgInput{Name: ptr("acme_two")})
	require.NoError(t, err, "unchanged")
	_, err = h.svc.UpdateOrg(ctx, owner, usecase.UpdateOrgInput{Name: ptr("x")})
	require.Error(t, err)
	_, err = h.svc.RemoveMember(ctx, owner, "a2@x.test")
	require.ErrorIs(t, err, domain.ErrLastOwner)
	_, err = h.svc.Invite(ctx, owner, "a2@x.test", "member")
	require.ErrorIs(t, err, domain.ErrEmailExists)
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "ACME_TWO", Email: "z@x.test", Password: "password1"})
	require.ErrorIs(t, err, domain.ErrOrgExists)

	events := h.stream(t, owner, usecase.EventQuery{})
	assert.Equal(t, []string{
		usecase.EventOrgCreated, usecase.EventInvitationCreated, usecase.EventMemberJoined,
		usecase.EventInvitationCreated, usecase.EventInvitationRevoked, usecase.EventMemberRoleChanged,
		usecase.EventOrgRenamed, usecase.EventEmailChanged, usecase.EventPasswordChanged, usecase.EventMemberRemoved,
	}, types(events))
	for i, e := range events {
		assert.Equal(t, int64(i), e.OrgSeq, "in commit order")
		assert.Equal(t, org.ID, e.OrgID)
		assert.NotEmpty(t, e.Actor.ID, e.Type)
		assert.Equal(t, domain.ActorAdmin, e.Actor.Kind, e.Type)
		for _, secret := range []string{"password1", "password2", "password3", "plain$", strings.Split(inv.Token, ".")[1], inv.Digest} {
			if secret != "" {
				assert.NotContains(t, string(e.Data), secret, "%s holds no secret", e.Type)
			}
		}
		var data map[string]any
		require.NoError(t, json.Unmarshal(e.Data, &data), "data is a JSON object")
	}
	renamed := events[6]
	assert.JSONEq(t, `{"from":"acme","to":"acme_two"}`, string(renamed.Data))
	assert.Equal(t, "acme_two", renamed.OrgName, "an event names the organization as of the change")
	assert.Equal(t, domain.Email("a@x.test"), renamed.Actor.Email, "the actor as it asked")
	var left map[string]any
	require.NoError(t, json.Unmarshal(events[9].Data, &left))
	assert.Equal(t, "left", left["reason"])
	assert.Equal(t, "b@x.test", left["email"])

	all := h.stream(t, root, usecase.EventQuery{})
	assert.Equal(t, events, all, "the whole log holds the same events, in the same order")
	mine := h.stream(t, root, usecase.EventQuery{OrgID: org.ID, Type: usecase.EventInvitationCreated})
	assert.Equal(t, []string{usecase.EventInvitationCreated, usecase.EventInvitationCreated}, types(mine), "filtered by organization and type")
}

// TestEventsOfOperationsFinishedByRecovery: an operation its request never
// finished commits its events when recovery finishes it, with the actor
// and request that began it; one rolled back commits none.
func TestEventsOfOperationsFinishedByRecovery(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	h := newHarnessWith(t, usecase.Deps{Clock: clock})
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	svc := h.with(t, usecase.Deps{Failpoints: fakes.CrashAt(usecase.FPUpdateCollection)})
	_, err := svc.UpdateOrg(usecase.WithRequestID(ctx, "req-42"), owner, usecase.UpdateOrgInput{Name: ptr("bravo")})
	require.ErrorIs(t, err, fakes.ErrCrash)
	assert.Len(t, h.stream(t, owner, usecase.EventQuery{}), 1, "nothing is committed yet")

	clock.Advance(usecase.DefaultLease + time.Second)
	rep, err := h.svc.Recover(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Resumed)
	events := h.stream(t, owner, usecase.EventQuery{})
	require.Equal(t, []string{usecase.EventOrgCreated, usecase.EventOrgRenamed}, types(events))
	assert.Equal(t, "req-42", events[1].RequestID, "the request that began it")
	assert.Equal(t, owner.AdminID, events[1].Actor.ID)

	// A create whose email another takes meanwhile is rolled back: no event.
	lost := h.with(t, usecase.Deps{Failpoints: fakes.CrashAt(usecase.FPCreateInserted)})
	_, err = lost.CreateOrg(ctx, usecase.CreateOrgInput{Name: "ghost", Email: "g@x.test", Password: "password1"})
	require.ErrorIs(t, err, fakes.ErrCrash)
	require.NoError(t, h.store.Admins().Insert(ctx, domain.Admin{ID: domain.NewID(clock.Now()), Email: "g@x.test", Role: domain.RoleOrgAdmin, OrgID: domain.NewID(clock.Now()), CreatedAt: clock.Now()}))
	clock.Advance(usecase.DefaultLease + time.Second)
	_, err = h.svc.Recover(ctx, false)
	require.NoError(t, err)
	root := domain.Principal{Super: true, AdminID: domain.NewID(clock.Now())}
	for _, e := range h.stream(t, root, usecase.EventQuery{}) {
		assert.NotEqual(t, "ghost", e.OrgName, "a rolled-back create has no event")
	}
}

// TestEventCursor: a reader following Next sees every event once, and
// waits at the end; a cursor is checked; limits are checked.
func TestEventCursor(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	page, err := h.svc.Events(ctx, owner, usecase.EventQuery{Limit: 100})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	end, err := h.svc.Events(ctx, owner, usecase.EventQuery{Limit: 100, After: page.Next})
	require.NoError(t, err)
	assert.Empty(t, end.Items)
	assert.Equal(t, page.Next, end.Next, "at the end the cursor stays")
	for i := range 30 {
		_, err := h.svc.Invite(ctx, owner, fmt.Sprintf("x%d@x.test", i), "member")
		require.NoError(t, err)
	}
	more, err := h.svc.Events(ctx, owner, usecase.EventQuery{Limit: 100, After: end.Next})
	require.NoError(t, err)
	assert.Len(t, more.Items, 30, "what came after the cursor, and only that")
	assert.Equal(t, int64(1), more.Items[0].OrgSeq)

	for _, bad := range []usecase.EventQuery{{Limit: 0}, {Limit: 101}, {Limit: 10, After: "nope"}, {Limit: 10, After: page.Next + "A"}, {Limit: 10, Type: "organization.exploded"}} {
		_, err := h.svc.Events(ctx, owner, bad)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%+v", bad)
	}
	h.join(t, owner, "m@x.test", domain.RoleMember)
	member, _ := h.login(t, "m@x.test", "password1")
	_, err = h.svc.Events(ctx, member, usecase.EventQuery{Limit: 10})
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "a member reads no events")
}

// TestEventRetention: pruning drops the oldest events from both streams;
// a reader whose cursor lies before them goes on from the oldest kept.
func TestEventRetention(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	h := newHarnessWith(t, usecase.Deps{Clock: clock})
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	for i := range 5 {
		_, err := h.svc.Invite(ctx, owner, fmt.Sprintf("x%d@x.test", i), "member")
		require.NoError(t, err)
	}
	clock.Advance(time.Hour)
	cutoff := clock.Now()
	for i := range 3 {
		_, err := h.svc.Invite(ctx, owner, fmt.Sprintf("y%d@x.test", i), "member")
		require.NoError(t, err)
	}
	n, err := h.svc.PruneEvents(ctx, cutoff, 4)
	require.NoError(t, err)
	assert.Equal(t, 4, n, "a bounded batch")
	n, err = h.svc.PruneEvents(ctx, cutoff, 100)
	require.NoError(t, err)
	assert.Equal(t, 2, n, "then the rest that is old enough")
	kept := h.stream(t, owner, usecase.EventQuery{})
	require.Len(t, kept, 3)
	assert.Equal(t, int64(6), kept[0].OrgSeq)
	root := domain.Principal{Super: true, AdminID: domain.NewID(clock.Now())}
	assert.Len(t, h.stream(t, root, usecase.EventQuery{}), 3)
}

// TestDroppedOperationRecordsNoEvent: an operation that ends with nothing
// applied (a role change whose member went meanwhile) records no event.
func TestDroppedOperationRecordsNoEvent(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	h := newHarnessWith(t, usecase.Deps{Clock: clock})
	h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	h.join(t, owner, "m@x.test", domain.RoleMember)
	m, _ := h.login(t, "m@x.test", "password1")
	_, err := h.with(t, usecase.Deps{Failpoints: fakes.CrashAt(usecase.FPRoleSet)}).SetRole(ctx, owner, "m@x.test", "admin")
	require.ErrorIs(t, err, fakes.ErrCrash)
	require.NoError(t, h.store.Admins().Delete(ctx, m.AdminID)) // gone, as with a delete
	clock.Advance(usecase.DefaultLease + time.Second)
	_, err = h.svc.Recover(ctx, false)
	require.NoError(t, err)
	for _, e := range h.stream(t, owner, usecase.EventQuery{}) {
		assert.NotEqual(t, usecase.EventMemberRoleChanged, e.Type, "the role change applied nothing")
	}
}

// TestEventChunksAreCopies: a stream reads the same through its chunks
// and without them (a chunk its writer died before copying), and a
// chunk is copied once its last place is filled.
func TestEventChunksAreCopies(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	org := h.create(t, "acme", "a@x.test", "password1")
	owner, _ := h.login(t, "a@x.test", "password1")
	for i := range 24 {
		_, err := h.svc.Invite(ctx, owner, fmt.Sprintf("x%d@x.test", i), "member")
		require.NoError(t, err)
	}
	for k := range int64(2) {
		chunk, err := h.store.Events().Chunk(ctx, string(org.ID), k)
		require.NoError(t, err, "chunk %d is copied", k)
		assert.Len(t, chunk, domain.EventChunk)
	}
	_, err := h.store.Events().Chunk(ctx, string(org.ID), 2)
	require.ErrorIs(t, err, domain.ErrEventNotFound, "the third is not full yet")
	with := h.stream(t, owner, usecase.EventQuery{})
	require.Len(t, with, 25)
	require.NoError(t, h.store.Events().DropChunk(ctx, string(org.ID), 1))
	without := h.stream(t, owner, usecase.EventQuery{})
	assert.Equal(t, with, without)
	for i, e := range without {
		assert.Equal(t, int64(i), e.OrgSeq)
	}
}
