package e2e

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
)

// auditLines returns the process's audit log lines with the given action
// (an access: login, login.failed, …) or event type (a committed change).
func auditLines(t *testing.T, c client, action string) []map[string]any {
	t.Helper()
	c.p.Sync(t)
	var out []map[string]any
	for _, line := range strings.Split(c.p.Logs(), "\n") {
		if !strings.Contains(line, `"audit":true`) {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["action"] == action || m["event"] == action {
			out = append(out, m)
		}
	}
	return out
}

func TestSuperAdminAndCreationPolicy(t *testing.T) {
	c := start(t, map[string]string{
		"ORG_CREATION":              "superadmin",
		"FIRST_SUPERADMIN_EMAIL":    "root@platform.test",
		"FIRST_SUPERADMIN_PASSWORD": "root-password-long",
	})
	body := map[string]string{"organization_name": "acme", "email": "a@acme.test", "password": "password1"}
	r := c.call(http.MethodPost, "/org/create", body, "")
	assert.Equal(t, http.StatusUnauthorized, r.status, "creation needs the super admin: %s", r.raw)

	login := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "root@platform.test", "password": "root-password-long"}, "")
	require.Equal(t, http.StatusOK, login.status, login.raw)
	assert.Nil(t, login.body["organization_name"])
	assert.Nil(t, login.body["organization_id"])
	assert.Contains(t, login.raw, `"organization_name":null`)
	root := login.body["access_token"].(string)

	r = c.call(http.MethodPost, "/org/create", body, root)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	r = c.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "beta", "email": "b@beta.test", "password": "password1"}, root)
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	orgAdmin := c.login("a@acme.test", "password1")
	r = c.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "gamma", "email": "g@g.test", "password": "password1"}, orgAdmin)
	assert.Equal(t, http.StatusForbidden, r.status, "an org admin cannot create: %s", r.raw)
	r = c.call(http.MethodPost, "/org/create", body, "garbage")
	assert.Equal(t, http.StatusUnauthorized, r.status, "a bad token is refused, not ignored")

	list := c.call(http.MethodGet, "/org/list?page=1&page_size=1", nil, root)
	require.Equal(t, http.StatusOK, list.status, list.raw)
	assert.EqualValues(t, 2, list.body["total"])
	assert.EqualValues(t, 1, list.body["page_size"])
	items := list.body["items"].([]any)
	require.Len(t, items, 1)
	assert.Equal(t, "acme", items[0].(map[string]any)["organization_name"])
	assert.Equal(t, http.StatusForbidden, c.call(http.MethodGet, "/org/list", nil, orgAdmin).status)
	assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodGet, "/org/list", nil, "").status)
	assert.Equal(t, http.StatusUnprocessableEntity, c.call(http.MethodGet, "/org/list?page=x", nil, root).status)
	assert.Equal(t, http.StatusUnprocessableEntity, c.call(http.MethodGet, "/org/list?page_size=1000", nil, root).status)

	assert.Equal(t, http.StatusForbidden, c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "beta"}, orgAdmin).status)
	r = c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "beta"}, root)
	require.Equal(t, http.StatusOK, r.status, "the super admin deletes any organization: %s", r.raw)
	assert.Equal(t, http.StatusForbidden, c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "mine"}, root).status)

	// One audit line per committed change, from its event.
	creates := auditLines(t, c, "organization.created")
	require.Len(t, creates, 2)
	assert.Equal(t, "acme", creates[0]["organization_name"])
	assert.Equal(t, "super_admin", creates[0]["actor_kind"])
	assert.Equal(t, "root@platform.test", creates[0]["actor_email"])
	assert.NotEmpty(t, creates[0]["request_id"], "the request id ties it to its access line, and so to the client")
	assert.NotEmpty(t, creates[0]["time"])
	deletes := auditLines(t, c, "organization.deleted")
	require.Len(t, deletes, 1)
	assert.Equal(t, "beta", deletes[0]["organization_name"])
	c.p.Sync(t)
	assert.NotContains(t, c.p.Logs(), "root-password-long")
	assert.NotContains(t, c.p.Logs(), root)
}

func TestLoginBackoff(t *testing.T) {
	c := start(t, nil)
	c.create("acme", "a@acme.test", "password1")
	for i := range 6 {
		r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "a@acme.test", "password": "guess-" + string(rune('a'+i))}, "")
		require.Equal(t, http.StatusUnauthorized, r.status, "attempt %d", i)
	}
	r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "a@acme.test", "password": "password1"}, "")
	assert.Equal(t, http.StatusTooManyRequests, r.status, "a guessed account backs off: %s", r.raw)
	assert.Equal(t, "1", r.header.Get("Retry-After"))
	// An unknown email backs off the same way: nothing tells them apart.
	for range 6 {
		c.call(http.MethodPost, "/admin/login", map[string]string{"email": "ghost@acme.test", "password": "guess-x"}, "")
	}
	r = c.call(http.MethodPost, "/admin/login", map[string]string{"email": "ghost@acme.test", "password": "guess-y"}, "")
	assert.Equal(t, http.StatusTooManyRequests, r.status)

	failed := auditLines(t, c, "login.failed")
	assert.Len(t, failed, 14)
	assert.Equal(t, "a@acme.test", failed[0]["email"])
	c.p.Sync(t)
	assert.NotContains(t, c.p.Logs(), "guess-a", "no password is logged")
}

func TestTrustedProxies(t *testing.T) {
	c := start(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.1/32", "RATE_LIMIT_PER_MINUTE": "2"})
	get := func(xff string) int {
		return c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "", "X-Forwarded-For", xff).status
	}
	assert.Equal(t, http.StatusNotFound, get("10.1.1.1"))
	assert.Equal(t, http.StatusNotFound, get("10.1.1.1"))
	assert.Equal(t, http.StatusTooManyRequests, get("10.1.1.1"))
	assert.Equal(t, http.StatusNotFound, get("10.1.1.2"), "behind a trusted proxy, each forwarded client has its own budget")
	assert.Equal(t, http.StatusNotFound, get("10.9.9.9, 10.1.1.3"), "read from the right: the nearest untrusted hop is the client")
}

func TestSecurityHeaders(t *testing.T) {
	c := start(t, nil)
	c.create("acme", "a@acme.test", "password1")
	for _, r := range []reply{
		c.call(http.MethodGet, "/org/get?organization_name=acme", nil, ""),
		c.call(http.MethodGet, "/nope", nil, ""),
		c.call(http.MethodPost, "/admin/login", map[string]string{"email": "a@acme.test", "password": "password1"}, ""),
	} {
		assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
		assert.Equal(t, "no-store", r.header.Get("Cache-Control"))
	}
	for _, auth := range []string{"Basic YTpi", "Bearer", "bearer  ", "Token abc"} {
		r := c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "x1x"}, "", "Authorization", auth)
		assert.Equal(t, http.StatusUnauthorized, r.status, auth)
	}
}

// TestIdleConnectionsNeverLockOutClients holds more idle keep-alive
// connections than the process has files for, and checks that new
// clients are still served and that the store still answers: orgd caps its
// connections below the file limit and closes idle ones to admit new ones.
func TestIdleConnectionsNeverLockOutClients(t *testing.T) {
	const files, idle = 256, 400
	p := harness.Start(t, harness.Options{FileLimit: files, Env: map[string]string{"SECRET_KEY": secret}})
	addr := strings.TrimPrefix(p.URL, "http://")
	var held []net.Conn
	t.Cleanup(func() {
		for _, c := range held {
			_ = c.Close()
		}
	})
	for range idle {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		require.NoError(t, err)
		held = append(held, c)
		// One request, then the connection stays open and idle.
		_, err = c.Write([]byte("GET /healthz HTTP/1.1\r\nHost: orgd\r\n\r\n"))
		require.NoError(t, err)
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"/healthz", "/readyz", "/org/get?organization_name=nobody"} {
		resp, err := client.Get(p.URL + path)
		require.NoError(t, err, path)
		_ = resp.Body.Close()
		assert.Contains(t, []int{http.StatusOK, http.StatusNotFound}, resp.StatusCode, path)
	}
	body := strings.NewReader(`{"organization_name":"busy","email":"admin@busy.test","password":"password1"}`)
	resp, err := client.Post(p.URL+"/org/create", "application/json", body)
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusCreated, resp.StatusCode, "the store still has connections")
	p.Sync(t)
	assert.Regexp(t, `"max_connections":19[0-9]`, p.Logs(), "the cap leaves a quarter of the files to the store")
}

// TestConcurrentGuessesMeetTheBackoff sends 100 wrong passwords for one
// account at once from one address: only the free attempts may reach a
// password check. Then the admin, from another address, gets in at once.
func TestConcurrentGuessesMeetTheBackoff(t *testing.T) {
	c := start(t, map[string]string{"TRUSTED_PROXIES": "127.0.0.0/8"})
	c.create("acme", "admin@acme.test", "password1")
	login := func(pw, from string) int {
		body := []byte(`{"email":"admin@acme.test","password":"` + pw + `"}`)
		resp, _, err := c.p.Do(t.Context(), http.MethodPost, "/admin/login", body,
			http.Header{"Content-Type": {"application/json"}, "X-Forwarded-For": {from}})
		require.NoError(t, err)
		return resp.StatusCode
	}
	const n = 100
	statuses := make(chan int, n)
	for range n {
		go func() { statuses <- login("wrong-password", "198.51.100.1") }()
	}
	count := map[int]int{}
	for range n {
		count[<-statuses]++
	}
	assert.Equal(t, map[int]int{http.StatusUnauthorized: 6, http.StatusTooManyRequests: n - 6}, count,
		"5 free failures and the one after them are checked; every other concurrent guess waits")
	assert.Equal(t, http.StatusOK, login("password1", "203.0.113.9"), "the admin, from its own address, is not locked out")
}

// TestSecondWriterOfEmbeddedStoreRefused points a second orgd at the first
// one's exposed embedded store: its conditional writes are not atomic
// across connections, so the second must refuse to start, in one line
// saying why. The first, killed and restarted, takes its store back.
func TestSecondWriterOfEmbeddedStoreRefused(t *testing.T) {
	dir := t.TempDir()
	first := harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": secret}})
	second, err := harness.Launch(harness.Binary(t), harness.Options{DataDir: t.TempDir(), Env: map[string]string{
		"SECRET_KEY": secret, "MONGODB_URI": first.MongoURI, "INSTANCE_ID": "second",
	}})
	if second != nil {
		t.Cleanup(second.Kill)
	}
	require.Error(t, err, "the second orgd must not serve")
	lines := strings.Split(strings.TrimSpace(second.Logs()), "\n")
	last := lines[len(lines)-1]
	assert.Contains(t, last, "in use by another orgd", "one line says why: %s", last)
	assert.Contains(t, last, "orgd owning "+dir)

	first.Kill()
	again := harness.Start(t, harness.Options{DataDir: dir, Env: map[string]string{"SECRET_KEY": secret}})
	resp, err := http.Get(again.URL + "/readyz")
	require.NoError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the owner restarted after a crash takes its store back at once")
}
