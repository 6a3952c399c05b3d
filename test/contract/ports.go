package contract

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/ports"
)

// OrgRepository checks a ports.OrgRepository.
func OrgRepository(t *testing.T, newStores NewStores) {
	t.Run("insert-get", func(t *testing.T) {
		r := newStores(t).Orgs
		o := sampleOrg("Acme_Corp")
		o.Pending = &domain.Pending{Op: domain.OpCreate, LeaseUntil: t0.Add(30e9), Data: []byte(`{"password_hash":"h"}`)}
		o.State = domain.StateCreating
		require.NoError(t, r.Insert(ctx(t), o))

		got, err := r.ByID(ctx(t), o.ID)
		require.NoError(t, err)
		assert.Equal(t, o, got)
	})
	t.Run("not-found", func(t *testing.T) {
		r := newStores(t).Orgs
		_, err := r.ByID(ctx(t), domain.NewID(t0))
		assert.ErrorIs(t, err, domain.ErrOrgNotFound)
		_, err = r.ByID(ctx(t), "not-an-id")
		assert.ErrorIs(t, err, domain.ErrOrgNotFound)
	})
	t.Run("name-key-unique", func(t *testing.T) {
		r := newStores(t).Orgs
		require.NoError(t, r.Insert(ctx(t), sampleOrg("acme")))
		err := r.Insert(ctx(t), sampleOrg("acme"))
		assert.ErrorIs(t, err, domain.ErrOrgExists)
	})
	t.Run("replace-compare-and-set", func(t *testing.T) {
		r := newStores(t).Orgs
		o := sampleOrg("acme")
		require.NoError(t, r.Insert(ctx(t), o))
		next := o
		next.Name, next.Version = domain.StoredOrgName("ACME"), 2
		require.NoError(t, r.Replace(ctx(t), next, 1))
		stale := o
		stale.Name, stale.Version = domain.StoredOrgName("Acme"), 2
		assert.ErrorIs(t, r.Replace(ctx(t), stale, 1), domain.ErrStale)
		got, err := r.ByID(ctx(t), o.ID)
		require.NoError(t, err)
		assert.Equal(t, "ACME", got.Name.String())
		assert.Equal(t, int64(2), got.Version)
		gone := sampleOrg("ghost")
		assert.ErrorIs(t, r.Replace(ctx(t), gone, 1), domain.ErrStale)
	})
	t.Run("delete-compare-and-set", func(t *testing.T) {
		r := newStores(t).Orgs
		o := sampleOrg("acme")
		require.NoError(t, r.Insert(ctx(t), o))
		assert.ErrorIs(t, r.Delete(ctx(t), o.ID, 7), domain.ErrStale)
		require.NoError(t, r.Delete(ctx(t), o.ID, 1))
		assert.ErrorIs(t, r.Delete(ctx(t), o.ID, 1), domain.ErrStale)
		_, err := r.ByID(ctx(t), o.ID)
		assert.ErrorIs(t, err, domain.ErrOrgNotFound)
	})
	t.Run("list-pages-active-in-name-order", func(t *testing.T) {
		r := newStores(t).Orgs
		for _, n := range []string{"delta", "Alpha", "charlie", "bravo", "echo"} {
			require.NoError(t, r.Insert(ctx(t), sampleOrg(n)))
		}
		hidden := sampleOrg("aaa-creating")
		hidden.State = domain.StateCreating
		require.NoError(t, r.Insert(ctx(t), hidden))
		page, total, err := r.List(ctx(t), 0, 2)
		require.NoError(t, err)
		assert.Equal(t, int64(5), total, "only active organizations count")
		require.Len(t, page, 2)
		assert.Equal(t, []string{"alpha", "bravo"}, []string{page[0].Name.Key(), page[1].Name.Key()})
		page, _, err = r.List(ctx(t), 4, 2)
		require.NoError(t, err)
		require.Len(t, page, 1)
		assert.Equal(t, "echo", page[0].Name.Key())
		page, _, err = r.List(ctx(t), 10, 2)
		require.NoError(t, err)
		assert.Empty(t, page)
	})
	t.Run("list-after-in-id-order", func(t *testing.T) {
		r := newStores(t).Orgs
		var ids []domain.ID
		for _, n := range []string{"delta", "alpha", "charlie", "bravo", "echo"} {
			o := sampleOrg(n)
			require.NoError(t, r.Insert(ctx(t), o))
			ids = append(ids, o.ID)
		}
		slices.Sort(ids) // one second's ids: in random order of creation
		hidden := sampleOrg("creating")
		hidden.State = domain.StateCreating
		require.NoError(t, r.Insert(ctx(t), hidden))
		idsOf := func(orgs []domain.Organization) []domain.ID {
			out := []domain.ID{}
			for _, o := range orgs {
				out = append(out, o.ID)
			}
			return out
		}
		page, err := r.ListAfter(ctx(t), "", 2)
		require.NoError(t, err)
		assert.Equal(t, ids[:2], idsOf(page), "the first, in id order")
		page, err = r.ListAfter(ctx(t), page[1].ID, 2)
		require.NoError(t, err)
		assert.Equal(t, ids[2:4], idsOf(page))
		require.NoError(t, r.Delete(ctx(t), ids[4], 1))
		page, err = r.ListAfter(ctx(t), ids[3], 2)
		require.NoError(t, err)
		assert.Empty(t, page, "deleted and not yet visible ones are not listed")
		late := sampleOrg("foxtrot")
		late.ID = domain.NewID(t0.Add(time.Hour)) // created later: a later id
		require.NoError(t, r.Insert(ctx(t), late))
		page, err = r.ListAfter(ctx(t), ids[3], 10)
		require.NoError(t, err)
		assert.Equal(t, []domain.ID{late.ID}, idsOf(page), "one created since is listed after")
		assert.Equal(t, "foxtrot", page[0].Name.Key())
	})
	t.Run("with-pending", func(t *testing.T) {
		r := newStores(t).Orgs
		a, b := sampleOrg("calm"), sampleOrg("busy")
		b.Pending = &domain.Pending{Op: "update", LeaseUntil: t0, RequestID: "req-1", Actor: domain.Actor{ID: domain.NewID(t0), Email: "x@y.test", Kind: domain.ActorAdmin}, Data: []byte(`{"new_name":"Busier","new_email":"x@y.test","credentials_version":3,"password_hash":"h"}`)}
		require.NoError(t, r.Insert(ctx(t), a))
		require.NoError(t, r.Insert(ctx(t), b))
		got, err := r.WithPending(ctx(t))
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Equal(t, b, got[0])

		// The operation ends: the organization is no longer pending.
		done := b
		done.Pending, done.Version = nil, 2
		require.NoError(t, r.Replace(ctx(t), done, 1))
		got, err = r.WithPending(ctx(t))
		require.NoError(t, err)
		assert.Empty(t, got)
		// A pending delete ends with the organization gone.
		c := sampleOrg("going")
		c.State, c.Pending = domain.StateDeleting, &domain.Pending{Op: domain.OpDelete, LeaseUntil: t0}
		require.NoError(t, r.Insert(ctx(t), c))
		got, err = r.WithPending(ctx(t))
		require.NoError(t, err)
		assert.Len(t, got, 1)
		require.NoError(t, r.Delete(ctx(t), c.ID, 1))
		got, err = r.WithPending(ctx(t))
		require.NoError(t, err)
		assert.Empty(t, got)
	})
	t.Run("all-any-state", func(t *testing.T) {
		r := newStores(t).Orgs
		a, b := sampleOrg("alpha"), sampleOrg("beta")
		b.State = domain.StateCreating
		require.NoError(t, r.Insert(ctx(t), a))
		require.NoError(t, r.Insert(ctx(t), b))
		all, err := r.All(ctx(t))
		require.NoError(t, err)
		assert.ElementsMatch(t, []domain.Organization{a, b}, all)
	})
}

// ClaimRegistry checks a ports.ClaimRegistry; pick chooses which of the
// Stores' registries, and kind is the kind of the claims it holds.
func ClaimRegistry(t *testing.T, newStores NewStores, pick func(Stores) ports.ClaimRegistry, kind domain.ClaimKind) {
	t.Run("page-in-key-order", func(t *testing.T) {
		r := pick(newStores(t))
		var want []domain.Claim
		for _, k := range []string{"delta", "alpha", "echo", "bravo", "charlie"} {
			c := domain.Claim{Kind: kind, Key: k, OrgID: domain.NewID(t0), At: t0}
			require.NoError(t, r.Reserve(ctx(t), c))
			want = append(want, c)
		}
		slices.SortFunc(want, func(a, b domain.Claim) int { return strings.Compare(a.Key, b.Key) })
		page, err := r.Page(ctx(t), "", 2)
		require.NoError(t, err)
		assert.Equal(t, want[:2], page)
		page, err = r.Page(ctx(t), page[1].Key, 2)
		require.NoError(t, err)
		assert.Equal(t, want[2:4], page)
		page, err = r.Page(ctx(t), "charlie", 10)
		require.NoError(t, err)
		assert.Equal(t, want[3:], page, "after a key, not at it")
		page, err = r.Page(ctx(t), "echo", 10)
		require.NoError(t, err)
		assert.Empty(t, page)
	})
	t.Run("reserve-claim-release", func(t *testing.T) {
		r := pick(newStores(t))
		a, b := domain.NewID(t0), domain.NewID(t0)
		c := domain.Claim{Kind: kind, Key: "acme", OrgID: a, At: t0}
		require.NoError(t, r.Reserve(ctx(t), c))
		assert.ErrorIs(t, r.Reserve(ctx(t), domain.Claim{Key: "acme", OrgID: b, At: t0}), domain.ErrClaimTaken)
		assert.ErrorIs(t, r.Reserve(ctx(t), c), domain.ErrClaimTaken, "a holder reserving again is refused too")
		got, err := r.Claim(ctx(t), "acme")
		require.NoError(t, err)
		assert.Equal(t, c, got)

		require.NoError(t, r.Release(ctx(t), domain.Claim{Key: "acme", OrgID: b}), "releasing another's claim is a no-op")
		require.NoError(t, r.Release(ctx(t), domain.Claim{Key: "acme", OrgID: a, AdminID: b}), "so is releasing it for another holder")
		_, err = r.Claim(ctx(t), "acme")
		require.NoError(t, err)
		require.NoError(t, r.Release(ctx(t), domain.Claim{Key: "acme", OrgID: a}))
		_, err = r.Claim(ctx(t), "acme")
		assert.ErrorIs(t, err, domain.ErrNoClaim)
		require.NoError(t, r.Release(ctx(t), c), "release is idempotent")
	})
	t.Run("admin-holders", func(t *testing.T) {
		r := pick(newStores(t))
		org, admin, root := domain.NewID(t0), domain.NewID(t0), domain.NewID(t0)
		orgAdmin := domain.Claim{Kind: kind, Key: "a@x.test", OrgID: org, AdminID: admin, At: t0}
		super := domain.Claim{Kind: kind, Key: "root@x.test", AdminID: root, At: t0}
		require.NoError(t, r.Reserve(ctx(t), orgAdmin))
		require.NoError(t, r.Reserve(ctx(t), super))
		for _, c := range []domain.Claim{orgAdmin, super} {
			got, err := r.Claim(ctx(t), c.Key)
			require.NoError(t, err)
			assert.Equal(t, c, got)
		}
		require.NoError(t, r.Release(ctx(t), domain.Claim{Key: "root@x.test", OrgID: org, AdminID: root}))
		_, err := r.Claim(ctx(t), "root@x.test")
		require.NoError(t, err, "a holder with an organization does not hold a claim without one")
		require.NoError(t, r.Release(ctx(t), super))
		require.NoError(t, r.Release(ctx(t), orgAdmin))
		all, err := r.All(ctx(t))
		require.NoError(t, err)
		assert.Empty(t, all)
	})
	t.Run("owned-by-operation", func(t *testing.T) {
		// A claim belongs to the operation that took it: a release naming
		// the same holder but another operation (a duplicate request's)
		// leaves it alone.
		r := pick(newStores(t))
		org, op, dup := domain.NewID(t0), domain.NewID(t0), domain.NewID(t0)
		c := domain.Claim{Kind: kind, Key: "acme", OrgID: org, Op: op, At: t0}
		require.NoError(t, r.Reserve(ctx(t), c))
		got, err := r.Claim(ctx(t), "acme")
		require.NoError(t, err)
		assert.Equal(t, c, got, "the claim names its operation")
		require.NoError(t, r.Release(ctx(t), domain.Claim{Kind: kind, Key: "acme", OrgID: org, Op: dup}))
		require.NoError(t, r.Release(ctx(t), domain.Claim{Kind: kind, Key: "acme", OrgID: org}))
		got, err = r.Claim(ctx(t), "acme")
		require.NoError(t, err, "another operation of the same holder cannot release it")
		assert.Equal(t, op, got.Op)
		require.NoError(t, r.Release(ctx(t), c))
		_, err = r.Claim(ctx(t), "acme")
		assert.ErrorIs(t, err, domain.ErrNoClaim, "its own operation can")
	})
	t.Run("all", func(t *testing.T) {
		r := pick(newStores(t))
		for _, k := range []string{"b", "a", "c"} {
			require.NoError(t, r.Reserve(ctx(t), domain.Claim{Key: k, OrgID: domain.NewID(t0), At: t0}))
		}
		all, err := r.All(ctx(t))
		require.NoError(t, err)
		keys := make([]string, len(all))
		for i, c := range all {
			keys[i] = c.Key
		}
		assert.ElementsMatch(t, []string{"a", "b", "c"}, keys)
	})
}

// AdminRepository checks a ports.AdminRepository.
func AdminRepository(t *testing.T, newStores NewStores) {
	admin := func(email string) domain.Admin {
		return domain.Admin{ID: domain.NewID(t0), Email: domain.Email(email), PasswordHash: "$argon2id$x", Role: domain.RoleOrgAdmin, OrgID: domain.NewID(t0), CreatedAt: t0}
	}
	t.Run("super-admin-without-org", func(t *testing.T) {
		r := newStores(t).Admins
		a := domain.Admin{ID: domain.NewID(t0), Email: "root@x.test", PasswordHash: "h", Role: domain.RoleSuperAdmin, CreatedAt: t0}
		require.NoError(t, r.Insert(ctx(t), a))
		got, err := r.ByID(ctx(t), a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
	})
	t.Run("insert-get", func(t *testing.T) {
		r := newStores(t).Admins
		a := admin("a@x.test")
		require.NoError(t, r.Insert(ctx(t), a))
		got, err := r.ByID(ctx(t), a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		_, err = r.ByID(ctx(t), domain.NewID(t0))
		assert.ErrorIs(t, err, domain.ErrAdminNotFound)
		_, err = r.ByID(ctx(t), "zz")
		assert.ErrorIs(t, err, domain.ErrAdminNotFound)
	})
	t.Run("email-unique", func(t *testing.T) {
		r := newStores(t).Admins
		a := admin("a@x.test")
		require.NoError(t, r.Insert(ctx(t), a))
		assert.ErrorIs(t, r.Insert(ctx(t), admin("a@x.test")), domain.ErrEmailExists)
		assert.ErrorIs(t, r.Insert(ctx(t), a), domain.ErrEmailExists, "same id")
	})
	t.Run("update", func(t *testing.T) {
		r := newStores(t).Admins
		a, b := admin("a@x.test"), admin("b@x.test")
		require.NoError(t, r.Insert(ctx(t), a))
		require.NoError(t, r.Insert(ctx(t), b))
		a.Email, a.PasswordHash, a.CredentialsVersion = "new@x.test", "h2", 1
		require.NoError(t, r.Update(ctx(t), a))
		got, err := r.ByID(ctx(t), a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		require.NoError(t, r.Update(ctx(t), a), "update is idempotent")

		b.Email = "new@x.test"
		assert.ErrorIs(t, r.Update(ctx(t), b), domain.ErrEmailExists)
		got, err = r.ByID(ctx(t), b.ID)
		require.NoError(t, err)
		assert.Equal(t, domain.Email("b@x.test"), got.Email, "a refused update changes nothing")
		assert.ErrorIs(t, r.Update(ctx(t), admin("c@x.test")), domain.ErrAdminNotFound)
	})
	t.Run("delete", func(t *testing.T) {
		r := newStores(t).Admins
		a := admin("a@x.test")
		require.NoError(t, r.Insert(ctx(t), a))
		require.NoError(t, r.Delete(ctx(t), a.ID))
		require.NoError(t, r.Delete(ctx(t), a.ID))
		_, err := r.ByID(ctx(t), a.ID)
		assert.ErrorIs(t, err, domain.ErrAdminNotFound)
		require.NoError(t, r.Insert(ctx(t), admin("a@x.test")), "the email is free again")
	})
}

// TenantStore checks a ports.TenantStore.
func TenantStore(t *testing.T, newStores NewStores) {
	t.Run("create-idempotent", func(t *testing.T) {
		r := newStores(t).Tenants
		org := domain.NewID(t0)
		require.NoError(t, r.Create(ctx(t), org, "org_acme"))
		require.NoError(t, r.Seed(ctx(t), org, "org_acme", 3))
		require.NoError(t, r.Create(ctx(t), org, "org_acme"))
		n, err := r.Count(ctx(t), org, "org_acme")
		require.NoError(t, err)
		assert.Equal(t, int64(3), n, "creating an existing collection keeps its documents")
		ok, err := r.Exists(ctx(t), org, "org_acme")
		require.NoError(t, err)
		assert.True(t, ok)
		ok, err = r.Exists(ctx(t), org, "org_other")
		require.NoError(t, err)
		assert.False(t, ok)
	})
	t.Run("rename-moves-every-document", func(t *testing.T) {
		r := newStores(t).Tenants
		org := domain.NewID(t0)
		require.NoError(t, r.Create(ctx(t), org, "org_a-b_1"))
		require.NoError(t, r.Seed(ctx(t), org, "org_a-b_1", 2500))
		require.NoError(t, r.Rename(ctx(t), org, "org_a-b_1", "org_c"))
		n, err := r.Count(ctx(t), org, "org_c")
		require.NoError(t, err)
		assert.Equal(t, int64(2500), n)
		_, err = r.Count(ctx(t), org, "org_a-b_1")
		assert.ErrorIs(t, err, domain.ErrCollectionNotFound)
		assert.ErrorIs(t, r.Rename(ctx(t), org, "org_a-b_1", "org_d"), domain.ErrCollectionNotFound)
		names, err := r.List(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, []string{"org_c"}, names)
	})
	t.Run("rename-onto-existing-fails", func(t *testing.T) {
		r := newStores(t).Tenants
		org := domain.NewID(t0)
		require.NoError(t, r.Create(ctx(t), org, "org_a"))
		require.NoError(t, r.Create(ctx(t), org, "org_b"))
		require.NoError(t, r.Seed(ctx(t), org, "org_b", 1))
		require.Error(t, r.Rename(ctx(t), org, "org_a", "org_b"))
		n, err := r.Count(ctx(t), org, "org_b")
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "the target is untouched")
	})
	t.Run("organizations-side-by-side", func(t *testing.T) {
		r := newStores(t).Tenants
		orgs := make([]domain.ID, 8)
		for i := range orgs {
			orgs[i] = domain.NewID(t0)
			name := fmt.Sprintf("org_o%d", i)
			require.NoError(t, r.Create(ctx(t), orgs[i], name))
			require.NoError(t, r.Seed(ctx(t), orgs[i], name, i+1))
		}
		for i, org := range orgs {
			require.NoError(t, r.Rename(ctx(t), org, fmt.Sprintf("org_o%d", i), fmt.Sprintf("org_renamed%d", i)))
		}
		for i, org := range orgs {
			n, err := r.Count(ctx(t), org, fmt.Sprintf("org_renamed%d", i))
			require.NoError(t, err)
			assert.Equal(t, int64(i+1), n, "each organization keeps its own documents")
		}
		names, err := r.List(ctx(t))
		require.NoError(t, err)
		assert.Len(t, names, len(orgs))
	})
	t.Run("drop-idempotent", func(t *testing.T) {
		r := newStores(t).Tenants
		org := domain.NewID(t0)
		require.NoError(t, r.Create(ctx(t), org, "org_a"))
		require.NoError(t, r.Seed(ctx(t), org, "org_a", 5))
		require.NoError(t, r.Drop(ctx(t), org, "org_a"))
		require.NoError(t, r.Drop(ctx(t), org, "org_a"))
		ok, err := r.Exists(ctx(t), org, "org_a")
		require.NoError(t, err)
		assert.False(t, ok)
	})
}
