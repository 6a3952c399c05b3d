package contract

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/ports"
)

// Rosters checks a ports.Rosters: pages read and written whole, by
// organization and page number.
func Rosters(t *testing.T, newStores NewStores) {
	member := func(email string) domain.Member {
		return domain.Member{AdminID: domain.NewID(t0), Email: domain.Email(email), Role: domain.RoleAdmin, JoinedAt: t0, EmailOp: domain.NewID(t0)}
	}
	t.Run("put-page-drop", func(t *testing.T) {
		r := newStores(t).Rosters
		org, other := domain.NewID(t0), domain.NewID(t0)
		assert.Empty(t, page(t, r, org, 0), "a page never written is empty")

		one := []domain.Member{member("a@x.test"), member("b@x.test")}
		later, elsewhere := []domain.Member{member("c@x.test")}, []domain.Member{member("d@x.test")}
		require.NoError(t, r.Put(ctx(t), org, 0, one))
		require.NoError(t, r.Put(ctx(t), org, 1, later))
		require.NoError(t, r.Put(ctx(t), other, 0, elsewhere))
		assert.Equal(t, one, page(t, r, org, 0), "read as written, in order")

		two := []domain.Member{one[1]}
		require.NoError(t, r.Put(ctx(t), org, 0, two))
		assert.Equal(t, two, page(t, r, org, 0), "a page is rewritten whole")

		all, err := r.All(ctx(t))
		require.NoError(t, err)
		assert.ElementsMatch(t, []ports.RosterPage{{OrgID: org, Page: 0, Members: two}, {OrgID: org, Page: 1, Members: later}, {OrgID: other, Page: 0, Members: elsewhere}}, all)

		require.NoError(t, r.Drop(ctx(t), org, 0))
		require.NoError(t, r.Drop(ctx(t), org, 0), "dropping a missing page is no error")
		assert.Empty(t, page(t, r, org, 0))
		assert.Equal(t, elsewhere, page(t, r, other, 0), "another organization's page stays")
	})
}

func page(t *testing.T, r ports.Rosters, org domain.ID, i int) []domain.Member {
	t.Helper()
	p, err := r.Page(ctx(t), org, i)
	require.NoError(t, err)
	return p
}

// Invitations checks a ports.Invitations.
func Invitations(t *testing.T, newStores NewStores) {
	t.Run("insert-get-delete", func(t *testing.T) {
		r := newStores(t).Invitations
		inv := domain.Invitation{
			ID: domain.NewID(t0), OrgID: domain.NewID(t0), Email: "b@x.test", Role: domain.RoleMember,
			Digest: "d1", CreatedBy: domain.NewID(t0), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour),
		}
		require.NoError(t, r.Insert(ctx(t), inv))
		got, err := r.ByID(ctx(t), inv.ID)
		require.NoError(t, err)
		assert.Equal(t, inv, got)
		for _, id := range []domain.ID{domain.NewID(t0), "not-an-id", domain.ID(string(inv.ID[:23]) + "G")} {
			_, err = r.ByID(ctx(t), id)
			assert.ErrorIs(t, err, domain.ErrInvitationNotFound, "%q", id)
		}
		all, err := r.All(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, []domain.Invitation{inv}, all)
		require.NoError(t, r.Delete(ctx(t), inv.ID))
		require.NoError(t, r.Delete(ctx(t), inv.ID), "deleting a missing one is no error")
		_, err = r.ByID(ctx(t), inv.ID)
		assert.ErrorIs(t, err, domain.ErrInvitationNotFound)
	})
	t.Run("expired-before", func(t *testing.T) {
		r := newStores(t).Invitations
		var invs []domain.Invitation
		for _, h := range []int{3, 1, 2, 10} { // expiring in this many hours, inserted out of order
			inv := domain.Invitation{
				ID: domain.NewID(t0), OrgID: domain.NewID(t0), Email: "b@x.test", Role: domain.RoleMember,
				Digest: "d", CreatedBy: domain.NewID(t0), CreatedAt: t0, ExpiresAt: t0.Add(time.Duration(h) * time.Hour),
			}
			require.NoError(t, r.Insert(ctx(t), inv))
			invs = append(invs, inv)
		}
		got, err := r.ExpiredBefore(ctx(t), t0.Add(5*time.Hour), 2)
		require.NoError(t, err)
		assert.Equal(t, []domain.Invitation{invs[1], invs[2]}, got, "the first to expire first, at most the limit")
		got, err = r.ExpiredBefore(ctx(t), t0.Add(5*time.Hour), 10)
		require.NoError(t, err)
		assert.Equal(t, []domain.Invitation{invs[1], invs[2], invs[0]}, got, "only those expired before")
		got, err = r.ExpiredBefore(ctx(t), t0.Add(time.Hour), 10)
		require.NoError(t, err)
		assert.Empty(t, got, "expired before, not at")
	})
}

// TenantInventory checks the ports.TenantInventory a TenantStore also is:
// every tenant collection found where it lives, counted, moved and
// dropped by its place.
func TenantInventory(t *testing.T, newStores NewStores) {
	t.Run("collections-count-move-drop", func(t *testing.T) {
		st := newStores(t).Tenants
		inv, ok := st.(ports.TenantInventory)
		require.True(t, ok, "the tenant store keeps an inventory")
		a, b := domain.NewID(t0), domain.NewID(t0)
		require.NoError(t, st.Create(ctx(t), a, "org_a"))
		require.NoError(t, st.Seed(ctx(t), a, "org_a", 3))
		require.NoError(t, st.Create(ctx(t), b, "org_b"))
		colls, err := inv.Collections(ctx(t))
		require.NoError(t, err)
		assert.ElementsMatch(t, []domain.TenantCollection{{Place: st.Place(a), Name: "org_a"}, {Place: st.Place(b), Name: "org_b"}}, colls)

		n, err := inv.CountIn(ctx(t), st.Place(a), "org_a")
		require.NoError(t, err)
		assert.Equal(t, int64(3), n)
		_, err = inv.CountIn(ctx(t), st.Place(a), "org_none")
		assert.ErrorIs(t, err, domain.ErrCollectionNotFound)

		require.NoError(t, inv.MoveIn(ctx(t), st.Place(a), "org_a", "lost_a"))
		assert.ErrorIs(t, inv.MoveIn(ctx(t), st.Place(a), "org_a", "lost_x"), domain.ErrCollectionNotFound)
		n, err = inv.CountIn(ctx(t), st.Place(a), "lost_a")
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "moved with its documents")
		colls, err = inv.Collections(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, []domain.TenantCollection{{Place: st.Place(b), Name: "org_b"}}, colls, "only org_ collections are tenant collections")

		require.NoError(t, inv.DropIn(ctx(t), st.Place(b), "org_b"))
		ok, err = st.Exists(ctx(t), b, "org_b")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}

// Markers checks what OrgRepository's markers promise: every pending
// organization is found through them, a marker is removed by Unmark only
// while it is as listed, and one an ended operation left is harmless. An
// adapter that needs no markers lists none.
func Markers(t *testing.T, newStores NewStores) {
	t.Run("unmark-only-as-listed", func(t *testing.T) {
		r := newStores(t).Orgs
		org := sampleOrg("marked")
		org.Pending = &domain.Pending{Op: "update", ID: domain.NewID(t0), LeaseUntil: t0, Data: []byte(`{"new_name":"renamed"}`)}
		require.NoError(t, r.Insert(ctx(t), org))
		marks, err := r.Markers(ctx(t))
		require.NoError(t, err)
		if len(marks) == 0 {
			pending, err := r.WithPending(ctx(t))
			require.NoError(t, err)
			require.Len(t, pending, 1, "an adapter without markers finds pending organizations itself")
			return
		}
		require.Len(t, marks, 1)
		assert.Equal(t, org.ID, marks[0].OrgID)
		assert.Equal(t, int64(1), marks[0].Version)

		// A next intent rewrites the marker: the old listing no longer
		// removes it.
		next := org
		next.Version, next.Pending = 2, &domain.Pending{Op: "setrole", ID: domain.NewID(t0), LeaseUntil: t0}
		require.NoError(t, r.Replace(ctx(t), next, 1))
		require.NoError(t, r.Unmark(ctx(t), marks[0]))
		now, err := r.Markers(ctx(t))
		require.NoError(t, err)
		require.Len(t, now, 1, "the marker of the intent under way stays")
		assert.Equal(t, int64(2), now[0].Version)
		pending, err := r.WithPending(ctx(t))
		require.NoError(t, err)
		assert.Len(t, pending, 1)

		// The operation ends: its marker goes with the write that clears it.
		done := next
		done.Version, done.Pending = 3, nil
		require.NoError(t, r.Replace(ctx(t), done, 2))
		now, err = r.Markers(ctx(t))
		require.NoError(t, err)
		assert.Empty(t, now)
		require.NoError(t, r.Unmark(ctx(t), marks[0]), "unmarking a marker gone is no error")
	})
}

// EventLog checks a ports.EventLog: the head compare-and-set on its
// version, places taken once, chunks, retention's start that never moves
// back.
func EventLog(t *testing.T, newStores NewStores) {
	event := func(id string, org domain.ID, orgSeq, seq int64) domain.Event {
		return domain.Event{
			ID: id, Type: "organization.renamed", OccurredAt: t0, OrgID: org, OrgName: "acme",
			Actor:     domain.Actor{ID: domain.NewID(t0), Email: "a@x.test", Kind: domain.ActorAdmin},
			RequestID: "req-1", Data: []byte(`{"from":"a","to":"b"}`), OrgSeq: orgSeq, Seq: seq,
		}
	}
	t.Run("head-compare-and-set", func(t *testing.T) {
		l := newStores(t).Events
		h, err := l.Head(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, domain.LogHead{}, h, "a log never written")
		last := event("op.0", domain.NewID(t0), 0, 0)
		require.NoError(t, l.PutHead(ctx(t), domain.LogHead{Next: 1, Last: &last}, 0))
		assert.ErrorIs(t, l.PutHead(ctx(t), domain.LogHead{Next: 9}, 0), domain.ErrStale, "the first head is written once")
		h, err = l.Head(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, domain.LogHead{Next: 1, Last: &last, Version: 1}, h)
		require.NoError(t, l.PutHead(ctx(t), domain.LogHead{Next: 2}, 1))
		assert.ErrorIs(t, l.PutHead(ctx(t), domain.LogHead{Next: 3}, 1), domain.ErrStale)
		h, err = l.Head(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, domain.LogHead{Next: 2, Version: 2}, h)
	})
	t.Run("places-chunks-first", func(t *testing.T) {
		l := newStores(t).Events
		org := domain.NewID(t0)
		e := event("op.0", org, 3, 7)
		require.NoError(t, l.Put(ctx(t), string(org), 3, e))
		assert.ErrorIs(t, l.Put(ctx(t), string(org), 3, event("other.0", org, 3, 8)), domain.ErrStale, "a place is taken once")
		require.NoError(t, l.Put(ctx(t), "", 7, e), "the whole log is another stream")
		got, err := l.Get(ctx(t), string(org), 3)
		require.NoError(t, err)
		assert.Equal(t, e, got)
		_, err = l.Get(ctx(t), string(org), 4)
		assert.ErrorIs(t, err, domain.ErrEventNotFound)

		chunk := []domain.Event{e, event("op.1", org, 4, 8)}
		require.NoError(t, l.PutChunk(ctx(t), string(org), 0, chunk))
		assert.ErrorIs(t, l.PutChunk(ctx(t), string(org), 0, chunk), domain.ErrStale)
		c, err := l.Chunk(ctx(t), string(org), 0)
		require.NoError(t, err)
		assert.Equal(t, chunk, c)
		_, err = l.Chunk(ctx(t), "", 0)
		assert.ErrorIs(t, err, domain.ErrEventNotFound)
		require.NoError(t, l.DropChunk(ctx(t), string(org), 0))
		_, err = l.Chunk(ctx(t), string(org), 0)
		assert.ErrorIs(t, err, domain.ErrEventNotFound)

		require.NoError(t, l.Drop(ctx(t), string(org), 3))
		require.NoError(t, l.Drop(ctx(t), string(org), 3), "dropping a missing place is no error")
		_, err = l.Get(ctx(t), string(org), 3)
		assert.ErrorIs(t, err, domain.ErrEventNotFound)
		first, err := l.First(ctx(t), string(org))
		require.NoError(t, err)
		assert.Zero(t, first)
		require.NoError(t, l.SetFirst(ctx(t), string(org), 4))
		require.NoError(t, l.SetFirst(ctx(t), string(org), 2), "never back")
		first, err = l.First(ctx(t), string(org))
		require.NoError(t, err)
		assert.Equal(t, int64(4), first)
		first, err = l.First(ctx(t), "")
		require.NoError(t, err)
		assert.Zero(t, first, "streams start apart")
	})
	t.Run("an-endpoints-own-stream", func(t *testing.T) {
		l := newStores(t).Events
		stream := domain.WebhookStream(domain.NewID(t0))
		e := event("op.0", "", 0, 5)
		e.OrgName, e.Stream = "", stream
		require.NoError(t, l.Put(ctx(t), stream, 0, e))
		got, err := l.Get(ctx(t), stream, 0)
		require.NoError(t, err)
		assert.Equal(t, e, got, "no organization, its own stream")
		assert.Equal(t, stream, got.Home())
	})
}
