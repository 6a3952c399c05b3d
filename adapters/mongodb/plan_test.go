package mongodb_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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
func TestRequestPathUsesOnlyIndexedPointQueries(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var rec recorder
	st := mongotest.Open(t, mongodb.Options{Monitor: rec.monitor()})
	tok, err := token.New("HS256", []byte("plan-test-key-plan-test-key-plan"))
	require.NoError(t, err)
	svc, err := usecase.New(ctx, usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
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

	rec.record(true)
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
	_, err = svc.DeleteOrg(ctx, p, "acme2")
	require.NoError(t, err)
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
		assertIndexed(t, st, q.db, q.coll, q.filter)
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
	assertIndexed(t, st, mongodb.TenantDatabase(st.Database().Name(), tenant.ID), tenant.Name.Collection(), filter)
	_ = org
}

// assertIndexed explains a find with filter and asserts the store answers
// it through an index.
func assertIndexed(t *testing.T, st *mongodb.Store, db, coll string, filter bson.Raw) {
	t.Helper()
	where := fmt.Sprintf("%s.%s %v", db, coll, filter)
	var out bson.M
	err := st.Database().Client().Database(db).RunCommand(context.Background(), bson.D{
		{Key: "explain", Value: bson.D{{Key: "find", Value: coll}, {Key: "filter", Value: filter}}},
	}).Decode(&out)
	require.NoError(t, err, where)
	plan := fmt.Sprint(out["queryPlanner"])
	if st.SingleWriter() {
		assert.Equal(t, true, out["filterPushdown"], "the store pushes the filter down to SQLite: %s", where)
		assert.Regexp(t, `SEARCH \S+ USING INDEX \S+__id_ \(<expr>=\?\)`, plan, "SQLite searches the _id index: %s: %s", where, plan)
		assert.NotContains(t, plan, "detail=SCAN", "SQLite never scans: %s: %s", where, plan)
		return
	}
	raw, err := bson.MarshalExtJSON(bson.D{{Key: "p", Value: out["queryPlanner"]}}, false, false)
	require.NoError(t, err)
	var doc struct{ P map[string]any }
	require.NoError(t, json.Unmarshal(raw, &doc))
	qp := doc.P
	stages := planStages(qp)
	switch {
	case qp["winningPlan"] != nil: // MongoDB
		assert.NotContains(t, stages, "COLLSCAN", "MongoDB never scans: %s: %s", where, plan)
		assert.True(t, slices.ContainsFunc(stages, func(s string) bool { return strings.Contains(s, "IXSCAN") || strings.Contains(s, "IDHACK") }),
			"MongoDB looks the _id up in its index: %s: %s", where, plan)
	case qp["Plan"] != nil: // PostgreSQL under DocumentDB (FerretDB 2)
		assert.NotContains(t, stages, "Seq Scan", "PostgreSQL never scans: %s: %s", where, plan)
		assert.Contains(t, stages, "Index Scan _id_", "PostgreSQL searches the _id index: %s: %s", where, plan)
	default:
		t.Fatalf("an explain orgd does not know: %s: %v", where, out)
	}
}

// planStages lists every stage of an explain's plan tree: MongoDB's
// stage names, or PostgreSQL's node types with their index.
func planStages(plan map[string]any) []string {
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch n := v.(type) {
		case map[string]any:
			if s, ok := n["stage"].(string); ok {
				out = append(out, s)
			}
			if s, ok := n["Node Type"].(string); ok {
				if idx, ok := n["Index Name"].(string); ok {
					s += " " + idx
				}
				out = append(out, s)
			}
			for _, child := range n {
				walk(child)
			}
		case []any:
			for _, child := range n {
				walk(child)
			}
		}
	}
	walk(plan)
	return out
}
