// Package e2e drives the real orgd binary over HTTP on the embedded store.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/config"
	"orgd/test/harness"
)

func TestMain(m *testing.M) { os.Exit(harness.Main(m)) }

const secret = "e2e-secret-key-e2e-secret-key-e2e-secret"

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// client wraps a Proc with JSON helpers.
type client struct {
	t *testing.T
	p *harness.Proc
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (c client) call(method, path string, body any, token string, header ...string) reply {
	c.t.Helper()
	var b []byte
	switch v := body.(type) {
	case nil:
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		var err error
		b, err = json.Marshal(v)
		require.NoError(c.t, err)
	}
	h := http.Header{}
	if b != nil {
		h.Set("Content-Type", "application/json")
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		h.Set(header[i], header[i+1])
	}
	resp, raw, err := c.p.Do(ctx(c.t), method, path, b, h)
	require.NoError(c.t, err)
	req, err := http.NewRequest(method, c.p.URL+path, bytes.NewReader(b))
	require.NoError(c.t, err)
	req.Header = h
	checkAgainstSpec(c.t, req, resp.StatusCode, resp.Header, raw)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if len(raw) > 0 {
		require.NoError(c.t, json.Unmarshal(raw, &r.body), "every response is JSON: %s", raw)
	}
	if resp.StatusCode >= 400 && method != http.MethodHead {
		require.Len(c.t, r.body, 1, "errors are exactly {\"detail\": ...}: %s", raw)
		require.IsType(c.t, "", r.body["detail"], raw)
		assert.NotEmpty(c.t, r.body["detail"])
		assert.Equal(c.t, "application/json", strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	}
	assert.NotEmpty(c.t, resp.Header.Get("X-Request-ID"))
	return r
}

func (c client) create(name, email, pw string) reply {
	c.t.Helper()
	r := c.call(http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": email, "password": pw}, "")
	require.Equal(c.t, http.StatusCreated, r.status, r.raw)
	return r
}

func (c client) login(email, pw string) string {
	c.t.Helper()
	r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": email, "password": pw}, "")
	require.Equal(c.t, http.StatusOK, r.status, r.raw)
	return r.body["access_token"].(string)
}

// eventsAfter reads the caller's organization's events after cursor,
// following next to the end, and returns them and the cursor to go on
// from.
func (c client) eventsAfter(token, cursor string) ([]map[string]any, string) {
	c.t.Helper()
	var out []map[string]any
	for {
		r := c.call(http.MethodGet, "/org/events?limit=100&after="+url.QueryEscape(cursor), nil, token)
		require.Equal(c.t, http.StatusOK, r.status, r.raw)
		items := r.body["items"].([]any)
		cursor = r.body["next"].(string)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		if len(items) == 0 {
			return out, cursor
		}
	}
}

// events returns the cursor after the caller's organization's events so
// far.
func (c client) events(token, cursor string) string {
	c.t.Helper()
	_, next := c.eventsAfter(token, cursor)
	return next
}

func start(t *testing.T, env map[string]string) client {
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env["SECRET_KEY"]; !ok {
		env["SECRET_KEY"] = secret
	}
	return client{t: t, p: harness.Start(t, harness.Options{Env: env})}
}

func mongoClient(t *testing.T, uri string) *mongo.Client {
	t.Helper()
	mc, err := mongo.Connect(options.Client().ApplyURI(uri).SetServerSelectionTimeout(10 * time.Second))
	require.NoError(t, err)
	t.Cleanup(func() { _ = mc.Disconnect(context.Background()) })
	return mc
}

func tenantCollection(t *testing.T, mc *mongo.Client, key string) *mongo.Collection {
	t.Helper()
	c, err := harness.TenantCollection(ctx(t), mc, key)
	require.NoError(t, err)
	return c
}

func TestAPIReferenceFlow(t *testing.T) {
	c := start(t, nil)
	created := c.create("acme_corp", "admin@acme.com", "SecurePass123")
	assert.Equal(t, "acme_corp", created.body["organization_name"])
	assert.Equal(t, "org_acme_corp", created.body["collection_name"])
	assert.Equal(t, "admin@acme.com", created.body["admin_email"])
	at, err := time.Parse(time.RFC3339, created.body["created_at"].(string))
	require.NoError(t, err, "created_at is ISO-8601")
	assert.WithinDuration(t, time.Now(), at, time.Minute)
	// The reference's four fields, then what orgd adds: its state and
	// public metadata for anyone, and for its creator (and members) its
	// private metadata and external id.
	assert.Equal(t, "active", created.body["state"])
	assert.Equal(t, map[string]any{}, created.body["public_metadata"])
	assert.Equal(t, map[string]any{}, created.body["private_metadata"])
	assert.Contains(t, created.body, "external_id")
	assert.Nil(t, created.body["external_id"])
	assert.Len(t, created.body, 8)

	got := c.call(http.MethodGet, "/org/get?organization_name=acme_corp", nil, "")
	require.Equal(t, http.StatusOK, got.status)
	public := maps.Clone(created.body)
	delete(public, "private_metadata")
	delete(public, "external_id")
	assert.Equal(t, public, got.body, "anyone reads the public part")

	login := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "admin@acme.com", "password": "SecurePass123"}, "")
	require.Equal(t, http.StatusOK, login.status)
	assert.Equal(t, "bearer", login.body["token_type"])
	assert.Equal(t, "admin@acme.com", login.body["admin_email"])
	assert.Equal(t, "acme_corp", login.body["organization_name"])
	assert.Regexp(t, `^[0-9a-f]{24}$`, login.body["organization_id"])
	assert.Equal(t, "no-store", login.header.Get("Cache-Control"))
	token := login.body["access_token"].(string)

	// Seed tenant documents straight into the collection, then rename.
	mc := mongoClient(t, c.p.MongoURI)
	docs := make([]any, 2000)
	for i := range docs {
		docs[i] = bson.D{{Key: "i", Value: i}}
	}
	_, err = tenantCollection(t, mc, "acme_corp").InsertMany(ctx(t), docs)
	require.NoError(t, err)

	upd := c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "acme_corporation", "email": "admin@acme.com", "password": "NewPassword123"}, token)
	require.Equal(t, http.StatusOK, upd.status, upd.raw)
	assert.Equal(t, "acme_corporation", upd.body["organization_name"])
	assert.Equal(t, "org_acme_corporation", upd.body["collection_name"])
	assert.Equal(t, created.body["created_at"], upd.body["created_at"])
	n, err := tenantCollection(t, mc, "acme_corporation").CountDocuments(ctx(t), bson.D{})
	require.NoError(t, err)
	assert.Equal(t, int64(2000), n, "every document moved with the organization")
	names, err := harness.TenantCollections(ctx(t), mc)
	require.NoError(t, err)
	assert.Equal(t, []string{"org_acme_corporation"}, names)

	assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name=acme_corp", nil, "").status)
	// The password changed, so the old token is revoked.
	assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "acme_corporation"}, token).status)
	token = c.login("admin@acme.com", "NewPassword123")

	del := c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "acme_corporation"}, token)
	require.Equal(t, http.StatusOK, del.status, del.raw)
	assert.Equal(t, map[string]any{"message": "Organization 'acme_corporation' deleted successfully"}, del.body)
	assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name=acme_corporation", nil, "").status)
	assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodPost, "/admin/login", map[string]string{"email": "admin@acme.com", "password": "NewPassword123"}, "").status)
	names, err = harness.TenantCollections(ctx(t), mc)
	require.NoError(t, err)
	assert.Empty(t, names, "the collection is dropped")
	c.create("acme_corporation", "admin@acme.com", "SecurePass123")
}

func TestErrors(t *testing.T) {
	c := start(t, nil)
	c.create("acme", "a@acme.test", "password1")
	c.create("other", "o@other.test", "password1")
	tokA := c.login("a@acme.test", "password1")

	big := `{"organization_name":"` + strings.Repeat("a", 2<<20) + `"}`
	rows := []struct {
		name       string
		method     string
		path       string
		body       any
		token      string
		header     []string
		wantStatus int
		wantDetail string
	}{
		{name: "create-400-duplicate-name", method: "POST", path: "/org/create", body: map[string]string{"organization_name": "ACME", "email": "x@y.test", "password": "password1"}, wantStatus: 400, wantDetail: "Organization name already exists"},
		{name: "create-400-duplicate-email", method: "POST", path: "/org/create", body: map[string]string{"organization_name": "fresh", "email": "A@acme.test", "password": "password1"}, wantStatus: 400, wantDetail: "Email already registered"},
		{name: "create-422-bad-email", method: "POST", path: "/org/create", body: map[string]string{"organization_name": "fresh", "email": "nope", "password": "password1"}, wantStatus: 422, wantDetail: "email"},
		{name: "create-422-short-password", method: "POST", path: "/org/create", body: map[string]string{"organization_name": "fresh", "email": "f@f.test", "password": "short"}, wantStatus: 422, wantDetail: "password"},
		{name: "create-422-missing-name", method: "POST", path: "/org/create", body: map[string]string{"email": "f@f.test", "password": "password1"}, wantStatus: 422, wantDetail: "organization_name is required"},
		{name: "create-422-null-name", method: "POST", path: "/org/create", body: `{"organization_name":null,"email":"f@f.test","password":"password1"}`, wantStatus: 422, wantDetail: "organization_name is required"},
		{name: "create-422-number-name", method: "POST", path: "/org/create", body: `{"organization_name":5,"email":"f@f.test","password":"password1"}`, wantStatus: 422, wantDetail: "organization_name must be a string"},
		{name: "create-422-object-email", method: "POST", path: "/org/create", body: `{"organization_name":"fresh","email":{"$gt":""},"password":"password1"}`, wantStatus: 422, wantDetail: "email must be a string"},
		{name: "create-422-array-body", method: "POST", path: "/org/create", body: `[1,2]`, wantStatus: 422, wantDetail: "JSON object"},
		{name: "create-422-malformed", method: "POST", path: "/org/create", body: `{"organization_name":`, wantStatus: 422, wantDetail: "not valid JSON"},
		{name: "create-422-two-objects", method: "POST", path: "/org/create", body: `{} {}`, wantStatus: 422, wantDetail: "single JSON object"},
		{name: "create-422-empty-body", method: "POST", path: "/org/create", body: ``, wantStatus: 422, wantDetail: "required"},
		{name: "create-422-dotted-name", method: "POST", path: "/org/create", body: map[string]string{"organization_name": "a.b", "email": "f@f.test", "password": "password1"}, wantStatus: 422, wantDetail: "organization_name"},
		{name: "create-422-system-name", method: "POST", path: "/org/create", body: map[string]string{"organization_name": "system.users", "email": "f@f.test", "password": "password1"}, wantStatus: 422, wantDetail: "organization_name"},
		{name: "create-415-form", method: "POST", path: "/org/create", body: `a=b`, header: []string{"Content-Type", "application/x-www-form-urlencoded"}, wantStatus: 415, wantDetail: "application/json"},
		{name: "create-413-too-large", method: "POST", path: "/org/create", body: big, wantStatus: 413, wantDetail: "must not exceed"},
		{name: "login-401-wrong-password", method: "POST", path: "/admin/login", body: map[string]string{"email": "a@acme.test", "password": "wrong-pass"}, wantStatus: 401, wantDetail: "Invalid email or password"},
		{name: "login-401-unknown-email", method: "POST", path: "/admin/login", body: map[string]string{"email": "ghost@acme.test", "password": "password1"}, wantStatus: 401, wantDetail: "Invalid email or password"},
		{name: "login-422-missing-password", method: "POST", path: "/admin/login", body: map[string]string{"email": "a@acme.test"}, wantStatus: 422, wantDetail: "password is required"},
		{name: "get-404", method: "GET", path: "/org/get?organization_name=ghost", wantStatus: 404, wantDetail: "Organization not found"},
		{name: "get-422-missing", method: "GET", path: "/org/get", wantStatus: 422, wantDetail: "organization_name"},
		{name: "get-422-operator", method: "GET", path: "/org/get?organization_name[$ne]=x", wantStatus: 422, wantDetail: "organization_name"},
		{name: "update-401-no-token", method: "PUT", path: "/org/update", body: map[string]string{"organization_name": "x1x"}, wantStatus: 401, wantDetail: "Not authenticated"},
		{name: "update-401-bad-token", method: "PUT", path: "/org/update", body: map[string]string{"organization_name": "x1x"}, token: "abc.def.ghi", wantStatus: 401, wantDetail: "Invalid or expired token"},
		{name: "update-400-name-taken", method: "PUT", path: "/org/update", body: map[string]string{"organization_name": "Other"}, token: tokA, wantStatus: 400, wantDetail: "Organization name already exists"},
		{name: "update-400-email-taken", method: "PUT", path: "/org/update", body: map[string]string{"email": "o@other.test"}, token: tokA, wantStatus: 400, wantDetail: "Email already registered"},
		{name: "update-422-empty", method: "PUT", path: "/org/update", body: map[string]string{}, token: tokA, wantStatus: 422, wantDetail: "At least one"},
		{name: "delete-401-no-token", method: "DELETE", path: "/org/delete", body: map[string]string{"organization_name": "acme"}, wantStatus: 401},
		{name: "delete-403-not-owner", method: "DELETE", path: "/org/delete", body: map[string]string{"organization_name": "other"}, token: tokA, wantStatus: 403, wantDetail: "your own organization"},
		{name: "delete-404", method: "DELETE", path: "/org/delete", body: map[string]string{"organization_name": "ghost"}, token: tokA, wantStatus: 404, wantDetail: "Organization not found"},
		{name: "delete-422-missing", method: "DELETE", path: "/org/delete", body: map[string]string{}, token: tokA, wantStatus: 422, wantDetail: "organization_name is required"},
		{name: "members-422-page-twice", method: "GET", path: "/org/members?page=1&page=2", token: tokA, wantStatus: 422, wantDetail: "page query parameter is given more than once"},
		{name: "members-422-page-size-twice", method: "GET", path: "/org/members?page_size=5&page_size=500", token: tokA, wantStatus: 422, wantDetail: "page_size query parameter is given more than once"},
		{name: "list-422-page-twice", method: "GET", path: "/org/list?page=1&page=2", token: tokA, wantStatus: 422, wantDetail: "page query parameter is given more than once"},
		{name: "list-422-page-size-twice", method: "GET", path: "/org/list?page_size=5&page_size=500", token: tokA, wantStatus: 422, wantDetail: "page_size query parameter is given more than once"},
		{name: "route-404", method: "GET", path: "/nope", wantStatus: 404, wantDetail: "Not Found"},
		{name: "method-405", method: "PATCH", path: "/org/get", wantStatus: 405, wantDetail: "Method Not Allowed"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c := client{t: t, p: c.p}
			got := c.call(r.method, r.path, r.body, r.token, r.header...)
			assert.Equal(t, r.wantStatus, got.status, got.raw)
			if r.wantDetail != "" {
				assert.Contains(t, got.body["detail"], r.wantDetail)
			}
			assert.NotContains(t, got.raw, "mongo", "no driver text reaches a client")
			assert.NotContains(t, got.raw, "argon2")
		})
	}
	// Nothing that was refused changed anything.
	for _, name := range []string{"acme", "other"} {
		assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name="+name, nil, "").status)
	}
	for _, name := range []string{"fresh", "x1x"} {
		assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name="+name, nil, "").status)
	}
	c.login("a@acme.test", "password1")
	c.p.Sync(t)
	assert.NotContains(t, c.p.Logs(), "password1", "no password in the logs")
	assert.NotContains(t, c.p.Logs(), tokA, "no token in the logs")
}

func TestRateLimit(t *testing.T) {
	c := start(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "5"})
	for i := range 5 {
		r := c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "", "X-Forwarded-For", "10.0.0."+string(rune('1'+i)))
		require.Equal(t, http.StatusNotFound, r.status)
		assert.Equal(t, "5", r.header.Get("X-RateLimit-Limit"))
		assert.Equal(t, string(rune('4'-i)), r.header.Get("X-RateLimit-Remaining"))
	}
	// Spoofed forwarding headers do not make a new client.
	r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "a@b.co", "password": "x"}, "", "X-Forwarded-For", "10.9.9.9", "X-Real-IP", "10.9.9.8")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "Too many requests. Please try again later.", r.body["detail"])
	assert.NotEmpty(t, r.header.Get("Retry-After"))
	assert.Equal(t, http.StatusTooManyRequests, c.call(http.MethodGet, "/nope", nil, "").status, "every route counts")
}

func TestRestartKeepsDataAndTokens(t *testing.T) {
	dir := t.TempDir()
	// No SECRET_KEY: development generates one into DATA_DIR and keeps it.
	p := harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": ""}})
	c := client{t: t, p: p}
	c.create("acme", "a@acme.test", "password1")
	tok := c.login("a@acme.test", "password1")
	require.NoError(t, p.Stop(), "SIGTERM exits 0")
	st, err := os.Stat(dir + "/secret_key")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	c = client{t: t, p: harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": ""}})}
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name=ACME", nil, "").status)
	upd := c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "acme2"}, tok)
	assert.Equal(t, http.StatusOK, upd.status, "a token survives a restart: %s", upd.raw)
}

func TestHealth(t *testing.T) {
	c := start(t, nil)
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/healthz", nil, "").status)
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/readyz", nil, "").status)
}

func TestCLI(t *testing.T) {
	bin := harness.Binary(t)
	out, err := runCmd(bin, "--help")
	require.NoError(t, err)
	for _, k := range []string{"serve", "migrate", "recover", "healthcheck", "version"} {
		assert.Contains(t, out, k)
	}
	for _, k := range config.Keys {
		assert.Contains(t, out, k.Name, "--help lists every configuration key")
	}
	for _, sub := range []string{"serve", "migrate", "recover", "healthcheck", "version"} {
		out, err := runCmd(bin, sub, "--help")
		require.NoError(t, err, "%s --help exits 0", sub)
		assert.Contains(t, out, "Usage:", "%s --help prints the usage and does nothing else", sub)
		assert.NotContains(t, out, "listening")
	}
	_, err = runCmd(bin, "serve", "extra")
	assert.Error(t, err, "arguments are refused, not ignored")
	// Bad configuration: one line naming the key, before the store starts,
	// and in JSON when LOG_FORMAT says so.
	badDir := t.TempDir()
	out, err = runCmdEnv(bin, []string{"DATA_DIR=" + badDir, "SHUTDOWN_TIMEOUT=15"}, "serve")
	require.Error(t, err)
	assert.Equal(t, "orgd: config: SHUTDOWN_TIMEOUT: time: missing unit in duration", strings.TrimSpace(out))
	out, err = runCmdEnv(bin, []string{"DATA_DIR=" + badDir, "HTTP_ADDR=nonsense"}, "serve")
	require.Error(t, err)
	assert.Contains(t, out, "HTTP_ADDR")
	assert.NotContains(t, out, "embedded store started", "HTTP_ADDR is checked before the store starts")
	out, err = runCmdEnv(bin, []string{"DATA_DIR=" + badDir, "SHUTDOWN_TIMEOUT=15", "LOG_FORMAT=json"}, "serve")
	require.Error(t, err)
	var line map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimSpace(out)), &line), "a fatal error is one JSON line: %s", out)
	assert.Contains(t, line["error"], "SHUTDOWN_TIMEOUT")
	out, err = runCmd(bin, "version")
	require.NoError(t, err)
	assert.Contains(t, out, "orgd")
	_, err = runCmd(bin, "bogus")
	assert.Error(t, err)

	dataDir := t.TempDir()
	out, err = runCmdEnv(bin, []string{"DATA_DIR=" + dataDir}, "migrate")
	require.NoError(t, err, out)
	assert.Contains(t, out, "applied 1: master collections")
	assert.Regexp(t, `schema version \d+ \(\d+ applied now\)`, out)
	out, err = runCmdEnv(bin, []string{"DATA_DIR=" + dataDir}, "migrate")
	require.NoError(t, err, out)
	assert.Contains(t, out, "(0 applied now)", "migrate is idempotent")

	dir := t.TempDir()
	out, err = runCmdEnv(bin, []string{"ENVIRONMENT=production", "SECRET_KEY=your_secret_key", "DATA_DIR=" + dir}, "serve")
	require.Error(t, err, "production refuses an example secret")
	assert.Contains(t, out, "SECRET_KEY")
	out, err = runCmdEnv(bin, []string{"ENVIRONMENT=production", "DATA_DIR=" + dir}, "serve")
	require.Error(t, err, "production refuses a missing secret")
	assert.Contains(t, out, "SECRET_KEY")
}

func TestMetrics(t *testing.T) {
	c := start(t, map[string]string{"RATE_LIMIT_PER_MINUTE": "3"})
	c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "")
	c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "")
	c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "")
	c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "")
	c.call(http.MethodGet, "/no/such/route", nil, "")
	resp, raw, err := c.p.Do(ctx(t), http.MethodGet, "/metrics", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	text := string(raw)
	for _, want := range []string{
		`orgd_http_requests_total{method="GET",route="/org/get",status="404"} 3`,
		`orgd_http_requests_total{method="GET",route="/org/get",status="429"} 1`,
		`orgd_rate_limited_total 2`,
		`orgd_http_request_duration_seconds_bucket{method="GET",route="/org/get"`,
		`orgd_store_command_duration_seconds_count{command="find",outcome="ok"}`,
		`orgd_password_hash_in_progress 0`,
		`orgd_password_hash_queued 0`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
		`orgd_build_info{`,
	} {
		assert.Contains(t, text, want)
	}
	assert.NotContains(t, text, "/no/such/route", "unknown paths do not become label values")
}

// TestGracefulShutdown sends SIGTERM while logins (each an argon2id hash)
// are queued and in flight: every accepted one must still be answered, and
// orgd exits 0.
func TestGracefulShutdown(t *testing.T) {
	c := start(t, nil)
	// Attempts in flight count against an account's login back-off, so the
	// logins are spread over accounts, within each one's free attempts.
	const accounts = 8
	for i := range accounts {
		c.create(fmt.Sprintf("acme%d", i), fmt.Sprintf("a%d@acme.test", i), "password1")
	}
	const n = 40 // about 20 hash times of queued work: many are in flight at SIGTERM
	results := make(chan int, n)
	for i := range n {
		go func() {
			body := []byte(fmt.Sprintf(`{"email":"a%d@acme.test","password":"password1"}`, i%accounts))
			resp, _, err := c.p.Do(context.Background(), http.MethodPost, "/admin/login", body, http.Header{"Content-Type": {"application/json"}})
			if err != nil {
				results <- 0
				return
			}
			results <- resp.StatusCode
		}()
	}
	time.Sleep(100 * time.Millisecond) // let them reach the server
	require.NoError(t, c.p.Stop(), "SIGTERM exits 0")
	ok, refused := 0, 0
	for range n {
		switch <-results {
		case http.StatusOK:
			ok++
		case 0:
			refused++ // arrived after the listener closed: never accepted
		default:
			t.Error("an accepted request was not answered properly")
		}
	}
	assert.Positive(t, ok, "in-flight requests finish")
	assert.Contains(t, c.p.Logs(), "shutting down")
	assert.Contains(t, c.p.Logs(), `"msg":"shutdown completed"`, "the last line says the shutdown completed")
	t.Logf("%d answered, %d arrived after the listener closed", ok, refused)
}
