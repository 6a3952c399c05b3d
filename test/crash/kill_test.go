// Package crash kills the real orgd process (SIGKILL) at random moments
// during renames and deletes, restarts it on the same data, and checks from
// outside, over HTTP and straight through the driver, that every
// organization is whole under exactly one name with all its documents.
package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/test/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

// iterations is how many kills each test makes: ORGD_KILL_ITERATIONS, or
// a modest default for CI (task crash runs many).
func iterations(t *testing.T) int {
	if s := os.Getenv("ORGD_KILL_ITERATIONS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		return n
	}
	return 12
}

const (
	secret     = "crash-secret-key-crash-secret-key-crash"
	tenantDocs = 3000
	// The super admin reads the event log.
	rootEmail    = "root@platform.test"
	rootPassword = "root-password-long"
)

// events returns the types of organization org's events, in order, as
// the super admin reads them.
func (n *node) events(org string) []string {
	n.t.Helper()
	root := n.mustLogin(rootEmail, rootPassword)
	st, body := n.call(http.MethodGet, "/events?limit=100&organization_id="+org, nil, root)
	require.Equal(n.t, http.StatusOK, st, "%v", body)
	var out []string
	for _, e := range body["items"].([]any) {
		out = append(out, e.(map[string]any)["type"].(string))
	}
	return out
}

// orgID is the organization an account logs into.
func (n *node) orgID(email, pw string) string {
	n.t.Helper()
	st, body := n.call(http.MethodPost, "/admin/login", map[string]string{"email": email, "password": pw}, "")
	require.Equal(n.t, http.StatusOK, st, "%v", body)
	return body["organization_id"].(string)
}

type node struct {
	t   *testing.T
	dir string
	env map[string]string // besides the defaults
	p   *harness.Proc
	db  *mongo.Database
	mc  *mongo.Client
}

func (n *node) start() {
	n.t.Helper()
	env := map[string]string{"SECRET_KEY": secret, "FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword}
	for k, v := range n.env {
		env[k] = v
	}
	p := harness.Start(n.t, harness.Options{DataDir: n.dir, Env: env})
	n.t.Cleanup(func() {
		if n.t.Failed() && p == n.p {
			n.t.Logf("logs of the last orgd:\n%s", p.Logs())
		}
	})
	n.p = p
	mc, err := mongo.Connect(options.Client().ApplyURI(n.p.MongoURI).SetServerSelectionTimeout(10 * time.Second))
	require.NoError(n.t, err)
	n.mc, n.db = mc, mc.Database(harness.Database)
}

func (n *node) kill() {
	_ = n.mc.Disconnect(context.Background())
	n.p.Kill()
}

var resumedRE = regexp.MustCompile(`"msg":"recovery","resumed":(\d+)`)

// resumed returns how many interrupted operations the process's startup
// recovery finished.
func (n *node) resumed() int {
	n.p.Sync(n.t)
	m := resumedRE.FindStringSubmatch(n.p.Logs())
	require.NotNil(n.t, m, "startup logs a recovery line")
	v, _ := strconv.Atoi(m[1])
	return v
}

// repaired reports whether the embedded store had to clear leftovers of a
// collection change it was killed in the middle of.
func (n *node) repaired() int {
	n.p.Sync(n.t)
	if strings.Contains(n.p.Logs(), "interrupted collection change") {
		return 1
	}
	return 0
}

func (n *node) call(method, path string, body any, token string) (int, map[string]any) {
	n.t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, raw, err := n.p.Do(ctx, method, path, b, h)
	require.NoError(n.t, err)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

func (n *node) mustLogin(email, pw string) string {
	n.t.Helper()
	st, body := n.call(http.MethodPost, "/admin/login", map[string]string{"email": email, "password": pw}, "")
	require.Equal(n.t, http.StatusOK, st, "%v", body)
	return body["access_token"].(string)
}

func (n *node) tenant(key string) *mongo.Collection {
	n.t.Helper()
	c, err := harness.TenantCollection(context.Background(), n.mc, key)
	require.NoError(n.t, err)
	return c
}

func (n *node) seed(key string, count int) {
	n.t.Helper()
	docs := make([]any, count)
	for i := range docs {
		docs[i] = bson.D{{Key: "i", Value: i}, {Key: "payload", Value: "tenant document"}}
	}
	_, err := n.tenant(key).InsertMany(context.Background(), docs)
	require.NoError(n.t, err)
}

func (n *node) count(key string) int64 {
	n.t.Helper()
	c, err := n.tenant(key).CountDocuments(context.Background(), bson.D{})
	require.NoError(n.t, err)
	return c
}

// checkStore asserts the master database matches orgs exactly: name key ->
// document count.
func (n *node) checkStore(orgs map[string]int64) {
	n.t.Helper()
	ctx := context.Background()
	var want []string
	for k, docs := range orgs {
		want = append(want, "org_"+k)
		assert.Equal(n.t, docs, n.count(k), "org_%s holds every document", k)
	}
	colls, err := harness.TenantCollections(ctx, n.mc)
	require.NoError(n.t, err)
	assert.ElementsMatch(n.t, want, colls, "no stray tenant collection")
	pending, err := n.db.Collection("organizations").CountDocuments(ctx, bson.D{{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}})
	require.NoError(n.t, err)
	assert.Zero(n.t, pending, "no operation left pending")
	claims, err := n.db.Collection("name_claims").CountDocuments(ctx, bson.D{})
	require.NoError(n.t, err)
	assert.Equal(n.t, int64(len(orgs)), claims, "one name claim per organization")
	claims, err = n.db.Collection("email_claims").CountDocuments(ctx, bson.D{})
	require.NoError(n.t, err)
	assert.Equal(n.t, int64(len(orgs)+1), claims, "one email claim per organization, and the super admin's")
	admins, err := n.db.Collection("admins").CountDocuments(ctx, bson.D{})
	require.NoError(n.t, err)
	assert.Equal(n.t, int64(len(orgs)+1), admins, "one admin per organization, and the super admin")
}

// sendAndKill fires the request and SIGKILLs the process after a random
// delay of up to maxDelay, while the request may be anywhere in flight.
func (n *node) sendAndKill(method, path string, body any, token string, maxDelay time.Duration) {
	b, _ := json.Marshal(body)
	go func() {
		req, _ := http.NewRequest(method, n.p.URL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(time.Duration(rand.Int64N(int64(maxDelay))))
	n.kill()
}

func TestKillDuringRename(t *testing.T) {
	n := &node{t: t, dir: t.TempDir()}
	n.start()
	st, _ := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "tenant", "email": "admin@tenant.test", "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st)
	st, _ = n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "bystander", "email": "admin@bystander.test", "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st)
	n.seed("tenant", tenantDocs)
	n.seed("bystander", 10)

	names := [2]string{"tenant", "tenant_renamed"}
	cur, recovered, moved, repaired := 0, 0, 0, 0
	tenant := n.orgID("admin@tenant.test", "password1")
	for i := range iterations(t) {
		tok := n.mustLogin("admin@tenant.test", "password1")
		n.sendAndKill(http.MethodPut, "/org/update", map[string]string{"organization_name": names[1-cur]}, tok, 25*time.Millisecond)
		n.start()
		recovered += n.resumed()
		repaired += n.repaired()

		stOld, _ := n.call(http.MethodGet, "/org/get?organization_name="+names[cur], nil, "")
		stNew, _ := n.call(http.MethodGet, "/org/get?organization_name="+names[1-cur], nil, "")
		require.True(t, (stOld == 200) != (stNew == 200), "iteration %d: visible under exactly one name (old %d, new %d)", i, stOld, stNew)
		if stNew == 200 {
			cur, moved = 1-cur, moved+1
		}
		n.checkStore(map[string]int64{names[cur]: tenantDocs, "bystander": 10})
		n.mustLogin("admin@tenant.test", "password1")
		// Every rename that landed, whoever finished it, is one event;
		// one that did not, none.
		want := []string{"organization.created"}
		for range moved {
			want = append(want, "organization.renamed")
		}
		require.Equal(t, want, n.events(tenant), "iteration %d", i)
		if t.Failed() {
			return
		}
	}
	t.Logf("kill-during-rename: %d kills, %d renames landed, %d interrupted operations finished by startup recovery, %d store repairs", iterations(t), moved, recovered, repaired)
}

func TestKillDuringDelete(t *testing.T) {
	n := &node{t: t, dir: t.TempDir()}
	n.start()
	st, _ := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "bystander", "email": "admin@bystander.test", "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st)
	n.seed("bystander", 10)

	recovered, gone, repaired := 0, 0, 0
	for i := range iterations(t) {
		name := fmt.Sprintf("victim%d", i%3)
		email := "admin@" + name + ".test"
		st, body := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": email, "password": "password1"}, "")
		require.Equal(t, http.StatusCreated, st, "iteration %d: the name is free again: %v", i, body)
		n.seed(strings.ToLower(name), 500)
		tok := n.mustLogin(email, "password1")
		victim := n.orgID(email, "password1")

		n.sendAndKill(http.MethodDelete, "/org/delete", map[string]string{"organization_name": name}, tok, 15*time.Millisecond)
		n.start()
		recovered += n.resumed()
		repaired += n.repaired()

		stGet, _ := n.call(http.MethodGet, "/org/get?organization_name="+name, nil, "")
		stLogin, _ := n.call(http.MethodPost, "/admin/login", map[string]string{"email": email, "password": "password1"}, "")
		switch stGet {
		case http.StatusOK: // still whole
			assert.Equal(t, http.StatusOK, stLogin)
			n.checkStore(map[string]int64{name: 500, "bystander": 10})
			tok = n.mustLogin(email, "password1")
			st, body := n.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": name}, tok)
			require.Equal(t, http.StatusOK, st, "%v", body)
		case http.StatusNotFound: // completely gone
			gone++
			assert.Equal(t, http.StatusUnauthorized, stLogin)
		default:
			t.Fatalf("iteration %d: get answered %d", i, stGet)
		}
		n.checkStore(map[string]int64{"bystander": 10})
		// The delete is one event, whoever finished it.
		require.Equal(t, []string{"organization.created", "organization.deleted"}, n.events(victim), "iteration %d", i)
		if t.Failed() {
			return
		}
	}
	t.Logf("kill-during-delete: %d kills, %d deletes landed, %d interrupted operations finished by startup recovery, %d store repairs", iterations(t), gone, recovered, repaired)
}

// TestKillLeavesAnEmptyStoreFile: a kill right after the store created a
// database file, before it wrote a table there, leaves an empty *.sqlite.
// The next start sets it aside with a warning naming it, and every
// organization is whole (the adapter's test takes a snapshot over such a
// file).
func TestKillLeavesAnEmptyStoreFile(t *testing.T) {
	n := &node{t: t, dir: t.TempDir()}
	n.start()
	st, _ := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "acme", "email": "admin@acme.test", "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st)
	n.seed("acme", 40)
	n.kill()
	require.NoError(t, os.WriteFile(n.dir+"/"+harness.Database+"_t99.sqlite", nil, 0o600))

	n.start()
	n.p.Sync(t)
	assert.Contains(t, n.p.Logs(), harness.Database+"_t99.sqlite.empty-", "the start names the file it set aside")
	n.checkStore(map[string]int64{"acme": 40})
	n.mustLogin("admin@acme.test", "password1")
}
