package contract

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/token"
	"orgd/adapters/webhook"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
	"orgd/test/fakes"
)

const lease = usecase.DefaultLease

// rig is one store with the use cases on top of it.
type rig struct {
	st     Stores
	clock  *fakes.Clock
	tokens *token.JWT
	sealer *webhook.Sealer
}

func newRig(t *testing.T, newStores NewStores) *rig {
	tok, err := token.New("HS256", []byte("contract-test-key-contract-test-key"))
	require.NoError(t, err)
	sealer, err := webhook.NewSealer([]byte("contract-test-key-contract-test-key"))
	require.NoError(t, err)
	return &rig{st: newStores(t), clock: fakes.NewClock(time.Now().UTC()), tokens: tok, sealer: sealer}
}

// service returns a Service on the rig's store; fp may be nil. A nil clock
// means the system clock (for races, which wait on real time).
func (r *rig) service(t *testing.T, fp ports.Failpoints, clock ports.Clock) *usecase.Service {
	s, err := usecase.New(context.Background(), usecase.Deps{
		Orgs: r.st.Orgs, Names: r.st.Names, Emails: r.st.Emails, ExternalIDs: r.st.ExternalIDs, Admins: r.st.Admins, Tenants: r.st.Tenants,
		Rosters: r.st.Rosters, Invitations: r.st.Invitations, Events: r.st.Events,
		Webhooks: r.st.Webhooks, WebhookSender: &fakes.Receiver{}, Sealer: r.sealer,
		Hasher: fakes.Hasher{}, Tokens: r.tokens, Clock: clock, Failpoints: fp,
		BusyWait: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return s
}

func (r *rig) create(t *testing.T, s *usecase.Service, name string, docs int) domain.Principal {
	t.Helper()
	org, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: name, Email: "admin@" + name + ".test", Password: "password-" + name})
	require.NoError(t, err)
	if docs > 0 {
		require.NoError(t, r.st.Tenants.Seed(ctx(t), org.ID, org.Name.Collection(), docs))
	}
	return domain.Principal{AdminID: org.Owners[0].AdminID, OrgID: org.ID, OrgRole: domain.RoleOwner}
}

// whole states what one organization must look like.
type whole struct {
	name, email, password string
	docs                  int64
}

// checkInvariants asserts the whole store holds exactly the organizations
// in want, each whole under exactly one name, with nothing else left over:
// no pending operation, no stray claim, collection or admin.
func (r *rig) checkInvariants(t *testing.T, s *usecase.Service, want []whole, strayEmails ...string) {
	t.Helper()
	assert.Empty(t, r.intents(t), "no operation may stay pending")
	r.checkStreams(t)

	var wantKeys, wantColls, wantEmails []string
	for _, w := range want {
		wantEmails = append(wantEmails, w.email)
		n, err := domain.NewOrgName(w.name)
		require.NoError(t, err)
		wantKeys = append(wantKeys, n.Key())
		wantColls = append(wantColls, n.Collection())

		org, err := s.GetOrg(ctx(t), w.name)
		if !assert.NoError(t, err, "organization %s must be visible", w.name) {
			continue
		}
		assert.Equal(t, w.name, org.Name.String())
		assert.Equal(t, domain.Email(w.email), org.AdminEmail())
		claim, err := r.st.Names.Claim(ctx(t), n.Key())
		if assert.NoError(t, err) {
			assert.True(t, claim.Same(org.NameClaim()), "the name's claim is the organization's: %+v, organization %+v", claim, org)
		}
		count, err := r.st.Tenants.Count(ctx(t), org.ID, org.Name.Collection())
		if assert.NoError(t, err, "collection %s must exist", org.Name.Collection()) {
			assert.Equal(t, w.docs, count, "every document of %s is in %s", w.name, org.Name.Collection())
		}
		admin, err := r.st.Admins.ByID(ctx(t), org.Owners[0].AdminID)
		if assert.NoError(t, err) {
			assert.Equal(t, org.ID, admin.OrgID)
			assert.Equal(t, domain.Email(w.email), admin.Email)
		}
		claim, err = r.st.Emails.Claim(ctx(t), w.email)
		if assert.NoError(t, err) {
			assert.True(t, claim.Same(admin.Member().EmailClaim(org.ID)), "the email's claim is the admin's: %+v, admin %+v", claim, admin)
		}
		roster, err := r.st.Rosters.Page(ctx(t), org.ID, 0)
		if assert.NoError(t, err) && assert.Len(t, roster, 1, "the roster lists its one member") {
			assert.True(t, roster[0].Equal(admin.Member()), "the roster lists the account as it is: %+v, %+v", roster[0], admin)
		}
		res, err := s.Login(ctx(t), usecase.LoginInput{Email: w.email, Password: w.password})
		if assert.NoError(t, err, "admin of %s can log in", w.name) {
			assert.Equal(t, org.ID, res.Org.ID)
		}
	}
	assert.ElementsMatch(t, wantKeys, claimKeys(t, r.st.Names), "claims are exactly the organizations' names")
	colls, err := r.st.Tenants.List(ctx(t))
	require.NoError(t, err)
	sort.Strings(wantColls)
	assert.ElementsMatch(t, wantColls, colls, "tenant collections are exactly the organizations'")
	assert.ElementsMatch(t, wantEmails, claimKeys(t, r.st.Emails), "email claims are exactly the admins' emails")
	admins, err := r.st.Admins.All(ctx(t))
	require.NoError(t, err)
	var emails []string
	for _, a := range admins {
		emails = append(emails, string(a.Email))
	}
	assert.ElementsMatch(t, wantEmails, emails, "admins are exactly the organizations'")
	for _, e := range strayEmails {
		assert.NotContains(t, emails, e, "no admin %s may be left", e)
	}
}

// claimKeys lists the keys claimed in reg.
func claimKeys(t *testing.T, reg ports.ClaimRegistry) []string {
	t.Helper()
	claims, err := reg.All(ctx(t))
	require.NoError(t, err)
	keys := make([]string, len(claims))
	for i, c := range claims {
		keys[i] = c.Key
	}
	return keys
}

// recoveries are the ways an interrupted operation gets finished.
var recoveries = []struct {
	name string
	run  func(t *testing.T, r *rig, s *usecase.Service, touch ...string)
}{
	{"restart-exclusive", func(t *testing.T, r *rig, s *usecase.Service, _ ...string) {
		r.clock.Advance(time.Millisecond) // a restart takes time
		_, err := s.Recover(ctx(t), true)
		require.NoError(t, err)
	}},
	{"lease-expired", func(t *testing.T, r *rig, s *usecase.Service, _ ...string) {
		r.clock.Advance(lease + time.Second)
		_, err := s.Recover(ctx(t), false)
		require.NoError(t, err)
	}},
	{"touched", func(t *testing.T, r *rig, s *usecase.Service, touch ...string) {
		r.clock.Advance(lease + time.Second)
		for _, name := range touch {
			_, err := s.GetOrg(ctx(t), name)
			if err != nil {
				require.ErrorIs(t, err, domain.ErrOrgNotFound)
			}
		}
		// Touching settles the organization; the sweep then finds only
		// abandoned claims left to free.
		require.Empty(t, r.intents(t), "touching must finish the operation")
		_, err := s.Recover(ctx(t), false)
		require.NoError(t, err)
	}},
}

// Lifecycle checks that create, update (rename) and delete are whole after a
// crash at any step, however recovery comes, and that concurrent requests
// have exactly one winner.
func Lifecycle(t *testing.T, newStores NewStores) {
	t.Run("create-crash", func(t *testing.T) { createCrash(t, newStores) })
	t.Run("create-abort", func(t *testing.T) { createAbort(t, newStores) })
	t.Run("rename-crash", func(t *testing.T) { renameCrash(t, newStores) })
	t.Run("delete-crash", func(t *testing.T) { deleteCrash(t, newStores) })
	t.Run("races", func(t *testing.T) { races(t, newStores) })
	t.Run("lost-claim", func(t *testing.T) { lostClaim(t, newStores) })
	t.Run("members", func(t *testing.T) { Members(t, newStores) })
	t.Run("webhook-crash", func(t *testing.T) { webhookCrash(t, newStores) })
}

// lostClaim takes a rename's claim on its new name away behind orgd's
// back, while the rename is pending, and gives the name to another
// organization; recovery must settle the rename without it (the
// organization keeps its old name and every document), or, where it
// cannot tell whose collection is whose, say so loudly and answer busy.
func lostClaim(t *testing.T, newStores NewStores) {
	for _, point := range []string{usecase.FPUpdatePending, usecase.FPUpdateCollection} {
		t.Run(point, func(t *testing.T) {
			r := newRig(t, newStores)
			s := r.service(t, nil, r.clock)
			a := r.create(t, s, "acme", 7)
			b := r.create(t, s, "bravo", 3)
			target := "zulu"
			_, err := r.service(t, fakes.CrashAt(point), r.clock).UpdateOrg(ctx(t), a, usecase.UpdateOrgInput{Name: &target})
			require.ErrorIs(t, err, fakes.ErrCrash)

			acme, err := r.st.Orgs.ByID(ctx(t), a.OrgID)
			require.NoError(t, err)
			require.NotNil(t, acme.Pending)
			taken, err := r.st.Names.Claim(ctx(t), target)
			require.NoError(t, err)
			require.Equal(t, acme.Pending.ID, taken.Op, "the rename's own claim")
			require.NoError(t, r.st.Names.Release(ctx(t), taken))
			bravo, err := r.st.Orgs.ByID(ctx(t), b.OrgID)
			require.NoError(t, err)
			stolen := bravo
			stolen.Name, stolen.NameOp, stolen.Version = domain.StoredOrgName(target), domain.NewID(t0), bravo.Version+1
			require.NoError(t, r.st.Orgs.Replace(ctx(t), stolen, bravo.Version))
			claim := stolen.NameClaim()
			claim.At = r.clock.Now()
			require.NoError(t, r.st.Names.Reserve(ctx(t), claim))

			r.clock.Advance(lease + time.Second)
			_, err = s.Recover(ctx(t), false)
			if point == usecase.FPUpdateCollection && r.st.Tenants.Place(a.OrgID) == r.st.Tenants.Place(b.OrgID) {
				// org_zulu beside bravo's place could be either's: an
				// operator decides.
				require.Error(t, err)
				assert.EqualValues(t, 1, s.Stuck(), "counted")
				org, err := s.GetOrg(ctx(t), "acme")
				require.NoError(t, err, "within the lease recovery took, it reads as before the rename")
				assert.Equal(t, "acme", org.Name.String())
				r.clock.Advance(lease + time.Second)
				_, err = s.GetOrg(ctx(t), "acme")
				assert.Equal(t, domain.CodeBusy, domain.ErrorCode(err), "then its organization answers busy: %v", err)
				assert.EqualValues(t, 2, s.Stuck())
				return
			}
			require.NoError(t, err)
			assert.Zero(t, s.Stuck())
			org, err := s.GetOrg(ctx(t), "acme")
			require.NoError(t, err, "the rename is forgone; the organization keeps its name")
			n, err := r.st.Tenants.Count(ctx(t), org.ID, "org_acme")
			require.NoError(t, err)
			assert.Equal(t, int64(7), n, "with every document")
			assert.Empty(t, r.intents(t))
		})
	}
}

func createCrash(t *testing.T, newStores NewStores) {
	acme := whole{name: "acme", email: "admin@acme.test", password: "password-acme"}
	for _, point := range []string{usecase.FPCreateReserved, usecase.FPCreateInserted, usecase.FPCreateAdmin, usecase.FPCreateCollection} {
		for _, rec := range recoveries {
			t.Run(point+"/"+rec.name, func(t *testing.T) {
				r := newRig(t, newStores)
				fp := fakes.CrashAt(point)
				_, err := r.service(t, fp, r.clock).CreateOrg(ctx(t), usecase.CreateOrgInput{Name: acme.name, Email: acme.email, Password: acme.password})
				require.ErrorIs(t, err, fakes.ErrCrash)

				s := r.service(t, nil, r.clock)
				_, err = s.GetOrg(ctx(t), "acme")
				require.ErrorIs(t, err, domain.ErrOrgNotFound, "a create in flight is not visible")

				rec.run(t, r, s, "acme")
				if point == usecase.FPCreateReserved {
					// Only the claim was written: the create never happened,
					// and the name is free again.
					r.checkInvariants(t, s, nil, acme.email)
					r.create(t, s, "acme", 0)
				} else {
					// The intent was recorded: recovery finishes the create.
					r.checkInvariants(t, s, []whole{acme})
					_, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: "ACME", Email: "other@x.test", Password: "password1"})
					require.ErrorIs(t, err, domain.ErrOrgExists)
				}
			})
		}
	}
}

// createAbort makes a create lose its email to a racing create after its
// intent is recorded, and crashes it while it is undoing itself.
func createAbort(t *testing.T, newStores NewStores) {
	for _, crash := range []bool{false, true} {
		t.Run(fmt.Sprintf("crash=%v", crash), func(t *testing.T) {
			r := newRig(t, newStores)
			rival := domain.Admin{ID: domain.NewID(t0), Email: "admin@acme.test", PasswordHash: "plain$x", OrgID: domain.NewID(t0)}
			fp := fakes.CrashAt("")
			if crash {
				fp = fakes.CrashAt(usecase.FPCreateAborted)
			}
			fp.On(usecase.FPCreateInserted, func(ctx context.Context) {
				require.NoError(t, r.st.Admins.Insert(ctx, rival))
			})
			_, err := r.service(t, fp, r.clock).CreateOrg(ctx(t), usecase.CreateOrgInput{Name: "acme", Email: "admin@acme.test", Password: "password1"})
			s := r.service(t, nil, r.clock)
			if crash {
				require.ErrorIs(t, err, fakes.ErrCrash)
				r.clock.Advance(lease + time.Second)
				_, err = s.Recover(ctx(t), false)
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, domain.ErrEmailExists)
			}
			require.NoError(t, r.st.Admins.Delete(ctx(t), rival.ID))
			r.checkInvariants(t, s, nil, "admin@acme.test")
		})
	}
}

func renameCrash(t *testing.T, newStores NewStores) {
	const docs = 300
	points := []string{usecase.FPUpdateReserved, usecase.FPUpdatePending, usecase.FPUpdateAdmin, usecase.FPUpdateCollection, usecase.FPUpdateCommitted}
	for _, point := range points {
		for _, rec := range recoveries {
			t.Run(point+"/"+rec.name, func(t *testing.T) {
				r := newRig(t, newStores)
				s := r.service(t, nil, r.clock)
				p := r.create(t, s, "acme", docs)
				other := r.create(t, s, "bystander", 7)
				_ = other

				newName, newPass := "Acme_Two", "new-password"
				newEmail := "boss@acme.test"
				_, err := r.service(t, fakes.CrashAt(point), r.clock).UpdateOrg(ctx(t), p, usecase.UpdateOrgInput{Name: &newName, Email: &newEmail, Password: &newPass})
				require.ErrorIs(t, err, fakes.ErrCrash)

				// While the rename is pending, readers see the organization
				// whole under one name.
				old, errOld := s.GetOrg(ctx(t), "acme")
				_, errNew := s.GetOrg(ctx(t), newName)
				if point == usecase.FPUpdateCommitted {
					require.ErrorIs(t, errOld, domain.ErrOrgNotFound)
					require.NoError(t, errNew)
				} else {
					require.NoError(t, errOld)
					assert.Equal(t, "org_acme", old.Name.Collection())
					require.ErrorIs(t, errNew, domain.ErrOrgNotFound)
				}

				rec.run(t, r, s, "acme", newName)
				bystander := whole{name: "bystander", email: "admin@bystander.test", password: "password-bystander", docs: 7}
				if point == usecase.FPUpdateReserved {
					r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme", docs: docs}, bystander})
				} else {
					r.checkInvariants(t, s, []whole{{name: newName, email: newEmail, password: newPass, docs: docs}, bystander}, "admin@acme.test")
					_, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: "acme", Email: "x@acme.test", Password: "password1"})
					require.NoError(t, err, "the old name is free again")
				}
			})
		}
	}
}

func deleteCrash(t *testing.T, newStores NewStores) {
	for _, point := range []string{usecase.FPDeleteMarked, usecase.FPDeleteDropped, usecase.FPDeleteAdmin, usecase.FPDeleteOrg} {
		for _, rec := range recoveries {
			t.Run(point+"/"+rec.name, func(t *testing.T) {
				r := newRig(t, newStores)
				s := r.service(t, nil, r.clock)
				p := r.create(t, s, "acme", 120)
				r.create(t, s, "bystander", 3)

				_, err := r.service(t, fakes.CrashAt(point), r.clock).DeleteOrg(ctx(t), p, "acme", nil)
				require.ErrorIs(t, err, fakes.ErrCrash)

				// Once marked, the delete has happened as far as clients see.
				_, err = s.GetOrg(ctx(t), "acme")
				require.ErrorIs(t, err, domain.ErrOrgNotFound)
				_, err = s.Login(ctx(t), usecase.LoginInput{Email: "admin@acme.test", Password: "password-acme"})
				require.ErrorIs(t, err, domain.ErrInvalidCredentials)

				rec.run(t, r, s, "acme")
				bystander := whole{name: "bystander", email: "admin@bystander.test", password: "password-bystander", docs: 3}
				r.checkInvariants(t, s, []whole{bystander}, "admin@acme.test")
				r.create(t, s, "acme", 0)
				r.checkInvariants(t, s, []whole{bystander, {name: "acme", email: "admin@acme.test", password: "password-acme"}})
			})
		}
	}
}

// outcomes counts results by error.
type outcomes struct {
	mu   sync.Mutex
	errs []error
}

func (o *outcomes) add(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.errs = append(o.errs, err)
}

func (o *outcomes) count(target error) int {
	n := 0
	for _, err := range o.errs {
		if (target == nil && err == nil) || (target != nil && errors.Is(err, target)) {
			n++
		}
	}
	return n
}

func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(i)
		}()
	}
	close(start)
	wg.Wait()
}

func races(t *testing.T, newStores NewStores) {
	const n = 24
	t.Run("creates-same-name", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		var o outcomes
		parallel(n, func(i int) {
			name := "acme"
			if i%2 == 1 {
				name = "ACME" // letter case does not make another name
			}
			_, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: name, Email: fmt.Sprintf("a%d@acme.test", i), Password: "password1"})
			o.add(err)
		})
		assert.Equal(t, 1, o.count(nil), "exactly one create wins: %v", o.errs)
		assert.Equal(t, n-1, o.count(domain.ErrOrgExists), "%v", o.errs)
		claims, err := r.st.Names.All(ctx(t))
		require.NoError(t, err)
		assert.Len(t, claims, 1)
		colls, err := r.st.Tenants.List(ctx(t))
		require.NoError(t, err)
		assert.Equal(t, []string{"org_acme"}, colls)
	})
	t.Run("creates-distinct-names", func(t *testing.T) {
		// On the embedded store these make collections side by side in the
		// same tenant database files.
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		var o outcomes
		parallel(n, func(i int) {
			_, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: fmt.Sprintf("org%d", i), Email: fmt.Sprintf("a%d@acme.test", i), Password: "password1"})
			o.add(err)
		})
		assert.Equal(t, n, o.count(nil), "every create succeeds: %v", o.errs)
		want := make([]whole, n)
		for i := range want {
			want[i] = whole{name: fmt.Sprintf("org%d", i), email: fmt.Sprintf("a%d@acme.test", i), password: "password1"}
		}
		r.checkInvariants(t, s, want)
	})
	t.Run("creates-same-email", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		var o outcomes
		parallel(n, func(i int) {
			_, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: fmt.Sprintf("org%d", i), Email: "same@acme.test", Password: "password1"})
			o.add(err)
		})
		assert.Equal(t, 1, o.count(nil), "exactly one create wins: %v", o.errs)
		assert.Equal(t, n-1, o.count(domain.ErrEmailExists), "%v", o.errs)
		claims, err := r.st.Names.All(ctx(t))
		require.NoError(t, err)
		assert.Len(t, claims, 1, "losers leave no claim behind")
		colls, err := r.st.Tenants.List(ctx(t))
		require.NoError(t, err)
		assert.Len(t, colls, 1, "losers leave no collection behind")
	})
	t.Run("renames-same-target", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		ps := make([]domain.Principal, 4)
		for i := range ps {
			ps[i] = r.create(t, s, fmt.Sprintf("org%d", i), 10)
		}
		var o outcomes
		target := "target"
		parallel(len(ps), func(i int) {
			_, err := s.UpdateOrg(ctx(t), ps[i], usecase.UpdateOrgInput{Name: &target})
			o.add(err)
		})
		assert.Equal(t, 1, o.count(nil), "exactly one rename wins: %v", o.errs)
		assert.Equal(t, len(ps)-1, o.count(domain.ErrOrgExists), "%v", o.errs)
		colls, err := r.st.Tenants.List(ctx(t))
		require.NoError(t, err)
		assert.Len(t, colls, len(ps))
		assert.Contains(t, colls, "org_target")
		for _, p := range ps {
			org, err := r.st.Orgs.ByID(ctx(t), p.OrgID)
			require.NoError(t, err)
			n, err := r.st.Tenants.Count(ctx(t), org.ID, org.Name.Collection())
			require.NoError(t, err)
			assert.Equal(t, int64(10), n, "%s keeps its documents", org.Name.Collection())
		}
	})
	t.Run("same-rename-twice", func(t *testing.T) {
		// A double click, a client retrying on timeout, a proxy replaying:
		// the same rename sent twice at once. Both may answer 200; the
		// organization must stay whole under the new name every time.
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		p := r.create(t, s, "acme", 20)
		names := []string{"acme_two", "acme"}
		for round := range 40 {
			name := names[round%2]
			var o outcomes
			parallel(2, func(int) {
				_, err := s.UpdateOrg(ctx(t), p, usecase.UpdateOrgInput{Name: &name})
				o.add(err)
			})
			require.Equal(t, 2, o.count(nil), "round %d: both answer the organization as renamed: %v", round, o.errs)
			org, err := s.GetOrg(ctx(t), name)
			require.NoError(t, err, "round %d: the organization is found under its new name", round)
			require.Equal(t, p.OrgID, org.ID)
		}
		r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme", docs: 20}})
	})
	t.Run("same-email-change-twice", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		p := r.create(t, s, "acme", 0)
		emails := []string{"boss@acme.test", "admin@acme.test"}
		for round := range 40 {
			email := emails[round%2]
			var o outcomes
			parallel(2, func(int) {
				_, err := s.UpdateOrg(ctx(t), p, usecase.UpdateOrgInput{Email: &email})
				o.add(err)
			})
			require.Equal(t, 2, o.count(nil), "round %d: %v", round, o.errs)
			_, err := s.Login(ctx(t), usecase.LoginInput{Email: email, Password: "password-acme"})
			require.NoError(t, err, "round %d: the admin logs in with the new email", round)
		}
		r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme"}})
	})
	t.Run("two-admins-one-email", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		a := r.create(t, s, "acme", 0)
		b := r.create(t, s, "bravo", 0)
		email := "shared@x.test"
		var o outcomes
		parallel(2, func(i int) {
			_, err := s.UpdateOrg(ctx(t), []domain.Principal{a, b}[i], usecase.UpdateOrgInput{Email: &email})
			o.add(err)
		})
		require.Equal(t, 1, o.count(nil), "exactly one wins: %v", o.errs)
		require.Equal(t, 1, o.count(domain.ErrEmailExists), "%v", o.errs)
		winner, loser := "acme", "bravo"
		if _, err := s.Login(ctx(t), usecase.LoginInput{Email: email, Password: "password-bravo"}); err == nil {
			winner, loser = loser, winner
		}
		r.checkInvariants(t, s, []whole{
			{name: winner, email: email, password: "password-" + winner},
			{name: loser, email: "admin@" + loser + ".test", password: "password-" + loser},
		}, "admin@"+winner+".test")
	})
	t.Run("same-create-twice", func(t *testing.T) {
		for round := range 10 {
			r := newRig(t, newStores)
			s := r.service(t, nil, nil)
			var o outcomes
			parallel(2, func(int) {
				_, err := s.CreateOrg(ctx(t), usecase.CreateOrgInput{Name: "acme", Email: "admin@acme.test", Password: "password-acme"})
				o.add(err)
			})
			require.Equal(t, 1, o.count(nil), "round %d: exactly one create wins: %v", round, o.errs)
			require.Equal(t, 1, o.count(domain.ErrOrgExists)+o.count(domain.ErrEmailExists), "round %d: %v", round, o.errs)
			r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme"}})
		}
	})
	t.Run("rename-vs-delete", func(t *testing.T) {
		for round := range 6 {
			r := newRig(t, newStores)
			s := r.service(t, nil, nil)
			p := r.create(t, s, "acme", 50)
			newName := "renamed"
			var renameErr, deleteErr error
			parallel(2, func(i int) {
				if i == 0 {
					_, renameErr = s.UpdateOrg(ctx(t), p, usecase.UpdateOrgInput{Name: &newName})
				} else {
					_, deleteErr = s.DeleteOrg(ctx(t), p, "acme", nil)
				}
			})
			require.True(t, renameErr == nil || errors.Is(renameErr, domain.ErrOrgNotFound), "round %d rename: %v", round, renameErr)
			require.True(t, deleteErr == nil || errors.Is(deleteErr, domain.ErrOrgNotFound), "round %d delete: %v", round, deleteErr)
			if deleteErr == nil {
				// Deleted (a rename that came first was deleted with it).
				r.checkInvariants(t, s, nil, "admin@acme.test")
			} else {
				require.NoError(t, renameErr, "round %d: one of them must win", round)
				r.checkInvariants(t, s, []whole{{name: newName, email: "admin@acme.test", password: "password-acme", docs: 50}})
			}
		}
	})
	t.Run("delete-vs-login", func(t *testing.T) {
		r := newRig(t, newStores)
		s := r.service(t, nil, nil)
		p := r.create(t, s, "acme", 5)
		var o outcomes
		var deleteErr error
		parallel(n, func(i int) {
			if i == 0 {
				_, deleteErr = s.DeleteOrg(ctx(t), p, "acme", nil)
				return
			}
			_, err := s.Login(ctx(t), usecase.LoginInput{Email: "admin@acme.test", Password: "password-acme"})
			o.add(err)
		})
		require.NoError(t, deleteErr)
		assert.Equal(t, n-1, o.count(nil)+o.count(domain.ErrInvalidCredentials), "logins succeed or are refused, nothing else: %v", o.errs)
		r.checkInvariants(t, s, nil, "admin@acme.test")
	})
}

// intents returns the organizations with an operation pending.
func (r *rig) intents(t *testing.T) []domain.Organization {
	t.Helper()
	unsettled, err := r.st.Orgs.WithPending(ctx(t))
	require.NoError(t, err)
	var out []domain.Organization
	for _, o := range unsettled {
		if o.Pending != nil {
			out = append(out, o)
		}
	}
	return out
}

// checkStreams asserts that every organization's events are in the event
// log: its stream holds exactly the EventSeq events committed to it, in
// order, each also in the whole log at its place.
func (r *rig) checkStreams(t *testing.T) {
	t.Helper()
	orgs, err := r.st.Orgs.All(ctx(t))
	require.NoError(t, err)
	for _, o := range orgs {
		for i := range o.EventSeq {
			e, err := r.st.Events.Get(ctx(t), string(o.ID), i)
			require.NoError(t, err, "organization %s: event %d of %d is in its stream", o.Name, i, o.EventSeq)
			assert.Equal(t, i, e.OrgSeq)
			all, err := r.st.Events.Get(ctx(t), "", e.Seq)
			require.NoError(t, err)
			assert.Equal(t, e.ID, all.ID, "in the whole log at its place")
		}
		_, err := r.st.Events.Get(ctx(t), string(o.ID), o.EventSeq)
		assert.ErrorIs(t, err, domain.ErrEventNotFound, "organization %s: no event past its %d", o.Name, o.EventSeq)
	}
}
