// Package plan pins the mechanism that keeps per-request cost flat in the
// number of organizations: every filter a request sends is an index
// lookup, as the store itself explains it.
package plan_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// query is one filter orgd sent, and where.
type query struct {
	db, coll, cmd string
	filter        bson.Raw
}

// recorder keeps the filter of every find, update, delete, count and
// aggregate orgd sends.
type recorder struct {
	mu      sync.Mutex
	on      bool
	queries []query
}

func (r *recorder) monitor() *event.CommandMonitor {
	return &event.CommandMonitor{Started: func(_ context.Context, e *event.CommandStartedEvent) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.on {
			return
		}
		coll, _ := e.Command.Lookup(e.CommandName).StringValueOK()
		add := func(f bson.RawValue) {
			doc, _ := f.DocumentOK()
			r.queries = append(r.queries, query{db: e.DatabaseName, coll: coll, cmd: e.CommandName, filter: doc})
		}
		switch e.CommandName {
		case "find", "count":
			add(e.Command.Lookup("filter"))
		case "findAndModify":
			add(e.Command.Lookup("query"))
		case "update", "delete":
			key := map[string]string{"update": "updates", "delete": "deletes"}[e.CommandName]
			stmts, _ := e.Command.Lookup(key).Array().Values()
			for _, s := range stmts {
				add(s.Document().Lookup("q"))
			}
		case "aggregate":
			r.queries = append(r.queries, query{db: e.DatabaseName, coll: coll, cmd: e.CommandName})
		}
	}}
}

func (r *recorder) record(on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = on
}

// TestRequestPathUsesOnlyIndexedPointQueries runs every use case a request
// can reach on the real adapter, records every filter the adapter sends,
// and asks the store how it runs each: on the embedded store, as an SQLite
// search through orgd's _id index, never a scan; on MongoDB, never a
// collection scan. This pins the mechanism that makes per-request cost
// flat in the number of organizations.
func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

func TestRequestPathUsesOnlyIndexedPointQueries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rec recorder
	st := mongotest.Open(t, mongodb.Options{Monitor: rec.monitor()})
	tok, err := token.New("HS256", []byte("plan-test-key-plan-test-key-plan"))
	require.NoError(t, err)
	svc, err := usecase.New(ctx, usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
		Rosters: st.Rosters(), Invitations: st.Invitations(), Events: st.Events(), Idempotency: st.IdempotencyKeys(),
		Hasher: fakes.Hasher{}, Tokens: tok, Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	// Enough organizations that a scan and a search differ in plan.
	for i := range 20 {
		_, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: fmt.Sprintf("filler%d", i), Email: fmt.Sprintf("f%d@x.test", i), Password: "password1"})
		require.NoError(t, err)
	}
	_, err = svc.EnsureSuperAdmin(ctx, "root@x.test", "root-password")
	require.NoError(t, err)
	rootLogin, err := svc.Login(ctx, usecase.LoginInput{Email: "root@x.test", Password: "root-password"})
	require.NoError(t, err)
	root, err := svc.Authenticate(ctx, rootLogin.Token)
	require.NoError(t, err)
	// The embedded store's keyset listing loads its index of ids once,
	// by one scan, at its first use after a start: not on every request.
	_, err = svc.ListOrgsAfter(ctx, root, "", 5)
	require.NoError(t, err)

	rec.record(true)
	// Keyset listing: a first page and the next.
	page, err := svc.ListOrgsAfter(ctx, root, "", 5)
	require.NoError(t, err)
	require.Len(t, page.Items, 5)
	_, err = svc.ListOrgsAfter(ctx, root, page.Next, 5)
	require.NoError(t, err)
	org, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "Acme", Email: "a@acme.test", Password: "password1"})
	require.NoError(t, err)
	_, err = svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "b@acme.test", Password: "password1"})
	require.ErrorIs(t, err, domain.ErrOrgExists)
	_, err = svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "other", Email: "a@acme.test", Password: "password1"})
	require.ErrorIs(t, err, domain.ErrEmailExists)
	_, err = svc.GetOrg(ctx, "ACME")
	require.NoError(t, err)
	_, err = svc.GetOrg(ctx, "nobody")
	require.ErrorIs(t, err, domain.ErrOrgNotFound)
	_, err = svc.Login(ctx, usecase.LoginInput{Email: "nobody@x.test", Password: "password1"})
	require.ErrorIs(t, err, domain.ErrInvalidCredentials)
	_, err = svc.Login(ctx, usecase.LoginInput{Email: "root@x.test", Password: "root-password"})
	require.NoError(t, err)
	res, err := svc.Login(ctx, usecase.LoginInput{Email: "a@acme.test", Password: "password1"})
	require.NoError(t, err)
	p, err := svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	name, email, pw := "Acme2", "boss@acme.test", "password2"
	_, err = svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: &name, Email: &email, Password: &pw})
	require.NoError(t, err)
	// The password change revoked the token: log in again.
	res, err = svc.Login(ctx, usecase.LoginInput{Email: email, Password: pw})
	require.NoError(t, err)
	p, err = svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	// Membership: every request path of members and invitations.
	for _, email := range []string{"m@acme.test", "n@acme.test"} {
		inv, err := svc.Invite(ctx, p, email, "admin")
		require.NoError(t, err)
		_, _, err = svc.Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
		require.NoError(t, err)
	}
	_, _, err = svc.Accept(ctx, usecase.AcceptInput{Token: "6b11a687ea467052ce539711." + strings.Repeat("A", 43), Password: "password1", Client: "c"})
	require.ErrorIs(t, err, domain.ErrInvitationInvalid)
	_, err = svc.ListMembers(ctx, p, "", 1, 20)
	require.NoError(t, err)
	revoked, err := svc.Invite(ctx, p, "r@acme.test", "member")
	require.NoError(t, err)
	_, err = svc.ListInvitations(ctx, p, "")
	require.NoError(t, err)
	_, err = svc.Revoke(ctx, p, "", string(revoked.ID))
	require.NoError(t, err)
	_, err = svc.SetRole(ctx, p, "m@acme.test", "member")
	require.NoError(t, err)
	_, err = svc.RemoveMember(ctx, p, "m@acme.test")
	require.NoError(t, err)
	_, err = svc.DeleteOrg(ctx, p, "acme2", nil)
	require.NoError(t, err)
	// A keyed create, and its replay.
	for range 2 {
		call := usecase.IdempotentCall{Scope: "create", Key: "k1", Fingerprint: "f1"}
		_, _, err = svc.Idempotently(ctx, call, func(ids usecase.IdempotentIDs) (usecase.Answer, bool, error) {
			_, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "keyed", Email: "k@x.test", Password: "password1", IDs: &ids})
			return usecase.Answer{Status: 201}, true, err
		})
		require.NoError(t, err)
	}
	rec.record(false)

	require.NotEmpty(t, rec.queries)
	for _, q := range rec.queries {
		where := fmt.Sprintf("%s on %s.%s, filter %v", q.cmd, q.db, q.coll, q.filter)
		require.NotEqual(t, "aggregate", q.cmd, "no aggregation on the request path: %s", where)
		require.NotEqual(t, "count", q.cmd, "no count on the request path: %s", where)
		keys, err := q.filter.Elements()
		require.NoError(t, err)
		require.NotEmpty(t, keys, "a filter, not a scan: %s", where)
		require.Equal(t, "_id", keys[0].Key(), "a lookup by _id: %s", where)
		if st.SingleWriter() {
			// The embedded store pushes down, and so indexes, {_id} alone.
			require.Len(t, keys, 1, "a filter on _id alone: %s", where)
		}
		mongotest.AssertIndexed(t, st, q.db, q.coll, q.filter)
	}

	// A tenant's own lookups by _id, as a client of its collection makes
	// them, are searches too.
	tenant, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "tenant", Email: "t@x.test", Password: "password1"})
	require.NoError(t, err)
	require.NoError(t, st.Tenants().Seed(ctx, tenant.ID, tenant.Name.Collection(), 50))
	var doc struct {
		ID bson.ObjectID `bson:"_id"`
	}
	require.NoError(t, st.Tenants().Collection(tenant.ID, tenant.Name.Collection()).FindOne(ctx, bson.D{}).Decode(&doc))
	filter, err := bson.Marshal(bson.D{{Key: "_id", Value: doc.ID}})
	require.NoError(t, err)
	mongotest.AssertIndexed(t, st, mongodb.TenantDatabase(st.Database().Name(), tenant.ID), tenant.Name.Collection(), filter)
	_ = org
}
