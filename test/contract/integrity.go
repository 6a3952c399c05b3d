package contract

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// kinds lists the kinds of rep's findings, in order.
func kinds(rep usecase.IntegrityReport) []usecase.FindingKind {
	out := make([]usecase.FindingKind, len(rep.Findings))
	for i, f := range rep.Findings {
		out[i] = f.Kind
	}
	return out
}

// Integrity checks the integrity audit and its repair: each kind of damage
// is found, confirmed, and repaired where that is safe, on every adapter.
func Integrity(t *testing.T, newStores NewStores) {
	t.Run("clean", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		r.create(t, s, "acme", 5)
		r.create(t, s, "bravo", 0)
		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, rep.Findings)
		assert.Equal(t, 2, rep.Organizations)
		assert.Equal(t, 4, rep.Claims)
		assert.Equal(t, 2, rep.Collections)
	})
	t.Run("lost-name-claim", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		p := r.create(t, s, "acme", 5)
		org, err := r.st.Orgs.ByID(ctx(t), p.OrgID)
		require.NoError(t, err)
		require.NoError(t, r.st.Names.Release(ctx(t), org.NameClaim()))
		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		require.Equal(t, []usecase.FindingKind{usecase.FindingNameClaim}, kinds(rep))
		assert.Equal(t, org.ID, rep.Findings[0].OrgID)
		assert.Equal(t, "acme", rep.Findings[0].Key)

		fixed, err := s.Repair(ctx(t), false)
		require.NoError(t, err)
		assert.Equal(t, "claimed again for the organization", fixed.Found[0].Repair)
		assert.Empty(t, fixed.Left.Findings)
		r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme", docs: 5}})
	})
	t.Run("name-taken-by-another", func(t *testing.T) {
		// The damage the duplicate-request defect did: an organization's
		// name claim gone, and another organization's claim on its key.
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		a := r.create(t, s, "acme", 1)
		b := r.create(t, s, "bravo", 1)
		org, err := r.st.Orgs.ByID(ctx(t), a.OrgID)
		require.NoError(t, err)
		require.NoError(t, r.st.Names.Release(ctx(t), org.NameClaim()))
		require.NoError(t, r.st.Names.Reserve(ctx(t), domain.Claim{Kind: domain.KindName, Key: "acme", OrgID: b.OrgID, At: r.clock.Now()}))
		r.clock.Advance(lease + time.Second)
		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		assert.ElementsMatch(t, []usecase.FindingKind{usecase.FindingNameClaim, usecase.FindingDeadClaim}, kinds(rep))
		// The stray claim is released first, so acme's is taken again.
		fixed, err := s.Repair(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, fixed.Left.Findings)
	})
	t.Run("orphan-given-back", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		p := r.create(t, s, "acme", 40)
		// The collection moved away behind orgd's back.
		require.NoError(t, r.st.Tenants.Rename(ctx(t), p.OrgID, "org_acme", "org_elsewhere"))
		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		require.ElementsMatch(t, []usecase.FindingKind{usecase.FindingCollection, usecase.FindingOrphan}, kinds(rep))
		for _, f := range rep.Findings {
			if f.Kind == usecase.FindingOrphan {
				assert.Equal(t, int64(40), f.Docs, "the orphan is reported with its documents")
			}
		}
		fixed, err := s.Repair(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, fixed.Left.Findings)
		r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme", docs: 40}})
	})
	t.Run("orphans-quarantined-or-dropped", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		r.create(t, s, "acme", 3)
		ghost := domain.NewID(t0)
		require.NoError(t, r.st.Tenants.Create(ctx(t), ghost, "org_ghost"))
		require.NoError(t, r.st.Tenants.Seed(ctx(t), ghost, "org_ghost", 12))
		require.NoError(t, r.st.Tenants.Create(ctx(t), ghost, "org_empty"))
		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		require.Equal(t, []usecase.FindingKind{usecase.FindingOrphan, usecase.FindingOrphan}, kinds(rep))

		fixed, err := s.Repair(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, fixed.Left.Findings)
		var quarantined string
		for _, f := range fixed.Found {
			if f.Key == "org_empty" {
				assert.Equal(t, "dropped: it was empty", f.Repair)
			} else {
				quarantined = f.Repair
			}
		}
		require.True(t, strings.HasPrefix(quarantined, "quarantined as "), quarantined)
		name := strings.Fields(quarantined)[2]
		name = name[strings.LastIndexByte(name, '.')+1:]
		require.True(t, strings.HasPrefix(name, usecase.QuarantinePrefix+"ghost_"), name)
		n, err := r.st.Tenants.Count(ctx(t), ghost, name)
		require.NoError(t, err)
		assert.Equal(t, int64(12), n, "no document is dropped")
	})
	t.Run("dead-claim-stray-admin-stale-marker", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		p := r.create(t, s, "acme", 0)
		// The sweep takes the create's placed event out of its outbox,
		// and its marker with it.
		_, err := s.Recover(ctx(t), false)
		require.NoError(t, err)
		old := r.clock.Now()
		require.NoError(t, r.st.Names.Reserve(ctx(t), domain.Claim{Kind: domain.KindName, Key: "ghost", OrgID: domain.NewID(old), At: old}))
		stray := domain.Admin{ID: domain.NewID(old), Email: "stray@x.test", PasswordHash: "plain$x", Role: domain.RoleOrgAdmin, OrgID: domain.NewID(old), CreatedAt: old}
		require.NoError(t, r.st.Admins.Insert(ctx(t), stray))
		require.NoError(t, r.st.Emails.Reserve(ctx(t), domain.Claim{Kind: domain.KindEmail, Key: "stray@x.test", OrgID: stray.OrgID, AdminID: stray.ID, At: old}))
		// A compare-and-set that loses leaves its marker (on adapters
		// that keep markers) with no operation behind it.
		org, err := r.st.Orgs.ByID(ctx(t), p.OrgID)
		require.NoError(t, err)
		lost := org.Begin(&domain.Pending{Op: domain.OpDelete, ID: domain.NewID(old), LeaseUntil: old})
		lost.Version = org.Version + 1
		require.ErrorIs(t, r.st.Orgs.Replace(ctx(t), lost, org.Version+7), domain.ErrStale)
		markers, err := r.st.Orgs.Markers(ctx(t))
		require.NoError(t, err)

		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, rep.Findings, "nothing is stale before a lease has passed")
		r.clock.Advance(lease + time.Second)
		rep, err = s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		assert.Equal(t, 2, rep.Count(usecase.FindingDeadClaim), "%+v", rep.Findings)
		assert.Equal(t, 1, rep.Count(usecase.FindingStrayAdmin))
		assert.Equal(t, len(markers), rep.Count(usecase.FindingStaleMarker))

		fixed, err := s.Repair(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, fixed.Left.Findings)
		markers, err = r.st.Orgs.Markers(ctx(t))
		require.NoError(t, err)
		assert.Empty(t, markers)
		r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme"}}, "stray@x.test")
	})
	t.Run("stale-intent-offline", func(t *testing.T) {
		r := newRig(t, newStores)
		crashed := r.service(t, fakes.CrashAt(usecase.FPCreateAdmin), r.clock)
		_, err := crashed.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: "acme", Email: "admin@acme.test", Password: "password-acme"})
		require.ErrorIs(t, err, fakes.ErrCrash)
		s := r.service(t, nil, r.clock)
		rep, err := s.CheckIntegrity(ctx(t), false)
		require.NoError(t, err)
		assert.Empty(t, rep.Findings, "online, an operation within its lease is in flight")
		rep, err = s.CheckIntegrity(ctx(t), true)
		require.NoError(t, err)
		assert.Equal(t, []usecase.FindingKind{usecase.FindingStaleIntent}, kinds(rep), "offline, nothing is in flight")

		fixed, err := s.Repair(ctx(t), true)
		require.NoError(t, err)
		assert.Equal(t, 1, fixed.Recovered.Resumed)
		assert.Empty(t, fixed.Left.Findings)
		r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme"}})
	})
	t.Run("admin-mismatch-left-for-operator", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, r.clock)
		p := r.create(t, s, "acme", 0)
		admin, err := r.st.Admins.ByID(ctx(t), p.AdminID)
		require.NoError(t, err)
		admin.Email = "someone@else.test"
		require.NoError(t, r.st.Admins.Update(ctx(t), admin))
		fixed, err := s.Repair(ctx(t), false)
		require.NoError(t, err)
		assert.Equal(t, []usecase.FindingKind{usecase.FindingAdmin}, kinds(fixed.Left))
		assert.Empty(t, fixed.Found[0].Repair, "an operator decides")
	})
}
