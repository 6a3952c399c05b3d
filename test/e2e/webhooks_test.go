package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
)

// hookEnv configures an orgd for webhook tests: a super admin, no rate
// limit in the way, and retries in seconds.
func hookEnv(extra map[string]string) map[string]string {
	env := map[string]string{
		"FIRST_SUPERADMIN_EMAIL": "root@platform.test", "FIRST_SUPERADMIN_PASSWORD": "root-password-long",
		"RATE_LIMIT_PER_MINUTE": "1000000", "WEBHOOK_RETRY_SCHEDULE": "200ms,500ms,1s,1s,1s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s,2s",
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// register registers rcv as an endpoint at path for token's caller, and
// has it trust the secret shown.
func (c client) register(path, token string, rcv *harness.Receiver, types ...string) map[string]any {
	c.t.Helper()
	body := map[string]any{"url": rcv.URL}
	if len(types) > 0 {
		body["types"] = types
	}
	r := c.call(http.MethodPost, path, body, token)
	require.Equal(c.t, http.StatusCreated, r.status, r.raw)
	rcv.Trust(r.body["secret"].(string))
	return r.body
}

// allEvents reads the whole log (or one organization's stream, with org
// set) as the super admin.
func (c client) allEvents(root, org string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		path := "/events?limit=100&after=" + url.QueryEscape(cursor)
		if org != "" {
			path += "&organization_id=" + org
		}
		r := c.call(http.MethodGet, path, nil, root)
		require.Equal(c.t, http.StatusOK, r.status, r.raw)
		items := r.body["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		if len(items) == 0 {
			return out
		}
		cursor = r.body["next"].(string)
	}
}

func eventIDs(events []map[string]any) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e["id"].(string)
	}
	return out
}

// fromCreation is the ids of events from endpoint id's webhook.created
// on: what it is sent.
func fromCreation(t *testing.T, events []map[string]any, id string) []string {
	t.Helper()
	for i, e := range events {
		if e["type"] == "webhook.created" && e["data"].(map[string]any)["webhook_id"] == id {
			return eventIDs(events[i:])
		}
	}
	t.Fatalf("no webhook.created for %s", id)
	return nil
}

// waitDelivered waits until rcv has seen every id of want, and returns
// the ids in the order each first arrived and how many came twice.
func waitDelivered(t *testing.T, rcv *harness.Receiver, want []string, within time.Duration) ([]string, int) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		got, repeats := harness.FirstSeen(rcv.Got())
		if len(got) >= len(want) || time.Now().After(deadline) {
			return got, repeats
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestWebhooksDeliverEveryChange: 500 changes by 4 clients, each
// delivered to the super admin's endpoint in the whole log's order and to
// an organization's endpoint in its organization's, every one verified
// by the reference library.
func TestWebhooksDeliverEveryChange(t *testing.T) {
	c := start(t, hookEnv(nil))
	root := c.login("root@platform.test", "root-password-long")
	all, own := harness.NewReceiver(t), harness.NewReceiver(t)
	created := c.register("/webhooks", root, all)
	assert.Nil(t, created["organization_id"])

	const clients, changes = 4, 500
	teams := make([]*team, clients)
	for i := range teams {
		teams[i] = newTeam(c, fmt.Sprintf("hooks%d", i))
	}
	ownID := c.register("/org/webhooks", teams[0].tokens["owner"], own)["id"].(string)
	var wg sync.WaitGroup
	for i, tm := range teams {
		wg.Go(func() {
			owner := tm.tokens["owner"]
			for n := range changes/clients - 1 { // one change each was the creation
				var r reply
				if n%2 == 0 {
					r = c.call(http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("m%d-%d@%s.test", i, n, tm.org), "role": "member"}, owner)
					tm.lastToken = r.body["id"].(string)
				} else {
					r = c.call(http.MethodDelete, "/org/invitations?id="+tm.lastToken, nil, owner)
				}
				if !assert.Less(t, r.status, 300, r.raw) {
					return
				}
			}
		})
	}
	wg.Wait()

	want := fromCreation(t, c.allEvents(root, ""), created["id"].(string))
	require.GreaterOrEqual(t, len(want), changes, "every change is an event")
	got, repeats := waitDelivered(t, all, want, time.Minute)
	assert.Equal(t, want, got, "every event, in the whole log's order")
	assert.Zero(t, repeats, "none twice while nothing fails")
	assert.Zero(t, all.Refused(), "every signature verified")

	orgID := teams[0].orgID(c, root)
	wantOwn := fromCreation(t, c.allEvents(root, orgID), ownID)
	got, _ = waitDelivered(t, own, wantOwn, time.Minute)
	assert.Equal(t, wantOwn, got, "the organization's endpoint: its events, in its order")
	for _, d := range own.Got() {
		assert.Equal(t, orgID, d.OrgID())
	}
	assert.Zero(t, own.Refused())

	r := c.call(http.MethodGet, "/webhooks", nil, root)
	require.Equal(t, http.StatusOK, r.status)
	delivery := r.body["items"].([]any)[0].(map[string]any)["delivery"].(map[string]any)
	assert.NotNil(t, delivery["last_success_at"])
	assert.Equal(t, float64(0), delivery["consecutive_failures"])
}

// orgID is the team's organization's id, as the super admin reads it.
func (tm *team) orgID(c client, root string) string {
	c.t.Helper()
	for _, e := range c.allEvents(root, "") {
		if e["type"] == "organization.created" && e["organization_name"] == tm.org {
			return e["organization_id"].(string)
		}
	}
	c.t.Fatalf("no organization.created for %s", tm.org)
	return ""
}

// TestWebhookReceiverDown: the receiver is down a while changes go on;
// once it is back, every event arrives, in order. WEBHOOK_DOWN sets how
// long (default 5s; BENCHMARKS.md reports a 60s run).
func TestWebhookReceiverDown(t *testing.T) {
	down := 5 * time.Second
	if v := os.Getenv("WEBHOOK_DOWN"); v != "" {
		var err error
		down, err = time.ParseDuration(v)
		require.NoError(t, err)
	}
	c := start(t, hookEnv(nil))
	root := c.login("root@platform.test", "root-password-long")
	rcv := harness.NewReceiver(t)
	id := c.register("/webhooks", root, rcv)["id"].(string)
	tm := newTeam(c, "downstream")
	rcv.Down()
	stop := time.Now().Add(down)
	n := 0
	for time.Now().Before(stop) {
		r := c.call(http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("m%d@downstream.test", n), "role": "member"}, tm.tokens["owner"])
		require.Equal(t, http.StatusCreated, r.status, r.raw)
		n++
		time.Sleep(50 * time.Millisecond)
	}
	r := c.call(http.MethodGet, "/webhooks", nil, root)
	delivery := r.body["items"].([]any)[0].(map[string]any)["delivery"].(map[string]any)
	assert.Equal(t, "connection refused", delivery["last_failure"])
	assert.Positive(t, delivery["consecutive_failures"])
	want := fromCreation(t, c.allEvents(root, ""), id)
	rcv.Up(t)
	back := time.Now()
	got, repeats := waitDelivered(t, rcv, want, time.Minute)
	assert.Equal(t, want, got, "%d changes made while it was down for %s: none lost, in order", n, down)
	assert.Zero(t, repeats, "none twice: no attempt was acknowledged and not recorded")
	t.Logf("receiver down %s, %d changes meanwhile: all %d events delivered %s after it came back, %d twice",
		down, n, len(got), time.Since(back).Round(10*time.Millisecond), repeats)
}

// TestWebhookAPI: the endpoints' API, its refusals and its secrets.
func TestWebhookAPI(t *testing.T) {
	c := start(t, hookEnv(nil))
	root := c.login("root@platform.test", "root-password-long")
	tm := newTeam(c, "hookapi")
	owner := tm.tokens["owner"]
	member := tm.join("member")
	rcv := harness.NewReceiver(t)

	w := c.register("/org/webhooks", owner, rcv, "member.joined", "organization.renamed")
	id := w["id"].(string)
	secret := w["secret"].(string)
	assert.Regexp(t, `^whsec_[A-Za-z0-9+/]{43}=$`, secret)
	assert.Equal(t, []any{"member.joined", "organization.renamed"}, w["types"])

	r := c.call(http.MethodGet, "/org/webhooks", nil, owner)
	require.Equal(t, http.StatusOK, r.status)
	assert.NotContains(t, r.raw, strings.TrimPrefix(secret, "whsec_"), "a listing shows no secret")
	assert.NotContains(t, r.raw, "secret")
	rot := c.call(http.MethodPost, "/org/webhooks/rotate?id="+id, nil, owner)
	require.Equal(t, http.StatusOK, rot.status, rot.raw)
	assert.NotEqual(t, secret, rot.body["secret"])
	assert.Equal(t, "no-store", rot.header.Get("Cache-Control"))
	rcv.Trust(rot.body["secret"].(string))
	for _, path := range []string{"/org/webhooks/enable?id=" + id, "/org/webhooks/replay?id=" + id} {
		r := c.call(http.MethodPost, path, nil, owner)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.NotContains(t, r.raw, "secret", path)
	}
	events := c.call(http.MethodGet, "/org/events?limit=100", nil, owner)
	assert.NotContains(t, events.raw, strings.TrimPrefix(secret, "whsec_"))
	assert.Contains(t, events.raw, "webhook.secret_rotated")

	for _, row := range []struct {
		method, path string
		body         any
		token        string
		status       int
	}{
		{http.MethodPost, "/org/webhooks", map[string]any{"url": "ftp://x.test/"}, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/org/webhooks", map[string]any{"url": "https://x.test/", "types": []string{"organization.exploded"}}, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/org/webhooks", map[string]any{"url": "https://x.test/", "types": "member.joined"}, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/org/webhooks", map[string]any{}, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/org/webhooks", map[string]any{"url": "https://x.test/"}, tm.tokens[member], http.StatusForbidden},
		{http.MethodPost, "/org/webhooks", map[string]any{"url": "https://x.test/"}, root, http.StatusForbidden},
		{http.MethodPost, "/webhooks", map[string]any{"url": "https://x.test/"}, owner, http.StatusForbidden},
		{http.MethodPost, "/org/webhooks", map[string]any{"url": "https://x.test/"}, "", http.StatusUnauthorized},
		{http.MethodPost, "/org/webhooks/rotate?id=0123456789abcdef01234567", nil, owner, http.StatusNotFound},
		{http.MethodPost, "/org/webhooks/rotate?id=nope", nil, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/org/webhooks/rotate", nil, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/org/webhooks/replay?id=" + id, map[string]any{"after": "bogus"}, owner, http.StatusUnprocessableEntity},
		{http.MethodPost, "/webhooks/rotate?id=" + id, nil, root, http.StatusNotFound},
		{http.MethodGet, "/org/webhooks", nil, tm.tokens[member], http.StatusForbidden},
	} {
		got := c.call(row.method, row.path, row.body, row.token)
		assert.Equal(t, row.status, got.status, "%s %s: %s", row.method, row.path, got.raw)
	}

	tm.join("member") // a member.joined: delivered
	require.Eventually(t, func() bool {
		for _, d := range rcv.Got() {
			if d.Type == "member.joined" {
				return true
			}
		}
		return false
	}, 10*time.Second, 20*time.Millisecond)
	for _, d := range rcv.Got() {
		assert.Contains(t, []string{"member.joined", "organization.renamed"}, d.Type, "only the types asked")
	}
	r = c.call(http.MethodDelete, "/org/webhooks?id="+id, nil, owner)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	r = c.call(http.MethodDelete, "/org/webhooks?id="+id, nil, owner)
	assert.Equal(t, http.StatusNotFound, r.status, "deleted already")
	r = c.call(http.MethodGet, "/org/webhooks", nil, owner)
	assert.Empty(t, r.body["items"])
}

// TestWebhookAnswersOverHTTP: 410 disables, a 3xx is not followed.
func TestWebhookAnswersOverHTTP(t *testing.T) {
	c := start(t, hookEnv(nil))
	root := c.login("root@platform.test", "root-password-long")
	gone, moved := harness.NewReceiver(t), harness.NewReceiver(t)
	gone.AnswerWith(func(harness.Delivery) int { return http.StatusGone })
	moved.AnswerWith(func(harness.Delivery) int { return http.StatusPermanentRedirect })
	c.register("/webhooks", root, gone)
	c.register("/webhooks", root, moved)
	state := func(i int) map[string]any {
		url := []string{gone.URL, moved.URL}[i]
		r := c.call(http.MethodGet, "/webhooks", nil, root)
		for _, it := range r.body["items"].([]any) {
			if it.(map[string]any)["url"] == url {
				return it.(map[string]any)["delivery"].(map[string]any)
			}
		}
		t.Fatalf("no endpoint %s", url)
		return nil
	}
	require.Eventually(t, func() bool { return state(0)["disabled"] == true }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "receiver answered 410 Gone", state(0)["disabled_reason"])
	require.Eventually(t, func() bool { return state(1)["last_failure"] != nil }, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, "receiver answered 308 (redirects are not followed)", state(1)["last_failure"])
	assert.Equal(t, false, state(1)["disabled"])
	// The endpoint is disabled first, then its event committed.
	var reasons []string
	require.Eventually(t, func() bool {
		reasons = nil
		for _, e := range c.allEvents(root, "") {
			if e["type"] == "webhook.disabled" {
				reasons = append(reasons, e["data"].(map[string]any)["reason"].(string))
				assert.Equal(t, "system", e["actor"].(map[string]any)["kind"])
				assert.Nil(t, e["organization_id"])
			}
		}
		return len(reasons) > 0
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, []string{"receiver answered 410 Gone"}, reasons)
}

// TestWebhookAddressesInProduction: an endpoint on a private, link-local
// or metadata address, or on plain http, is refused at registration.
func TestWebhookAddressesInProduction(t *testing.T) {
	c := start(t, map[string]string{
		"ENVIRONMENT": "production", "SECRET_KEY": strings.Repeat("k", 40),
		"FIRST_SUPERADMIN_EMAIL": "root@platform.test", "FIRST_SUPERADMIN_PASSWORD": "root-password-long",
	})
	root := c.login("root@platform.test", "root-password-long")
	for _, u := range []string{
		"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data/", "https://127.0.0.1:8443/",
		"https://[::1]/", "https://[fd00:ec2::254]/", "https://localhost/", "http://8.8.8.8/hook",
	} {
		r := c.call(http.MethodPost, "/webhooks", map[string]any{"url": u}, root)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", u, r.raw)
	}
	r := c.call(http.MethodGet, "/webhooks", nil, root)
	assert.Empty(t, r.body["items"], "nothing registered")
}

// TestWebhooksAcrossAGracefulRestart: SIGTERM while deliveries are in
// flight to a slow receiver; each attempt in flight is seen through and
// recorded before orgd exits, so after the restart nothing is sent twice
// and nothing is missing.
func TestWebhooksAcrossAGracefulRestart(t *testing.T) {
	dir := t.TempDir()
	env := hookEnv(map[string]string{"SECRET_KEY": secret})
	p := harness.Start(t, harness.Options{DataDir: dir, Env: env})
	c := client{t: t, p: p}
	root := c.login("root@platform.test", "root-password-long")
	rcv := harness.NewReceiver(t)
	rcv.Delay(300 * time.Millisecond)
	id := c.register("/webhooks", root, rcv)["id"].(string)
	tm := newTeam(c, "graceful")
	for i := range 5 {
		r := c.call(http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("m%d@graceful.test", i), "role": "member"}, tm.tokens["owner"])
		require.Equal(t, http.StatusCreated, r.status, r.raw)
	}
	time.Sleep(100 * time.Millisecond) // an attempt is in flight
	require.NoError(t, p.Stop())
	stopped := len(rcv.Got())
	c = client{t: t, p: harness.Start(t, harness.Options{DataDir: dir, Env: env})}
	root = c.login("root@platform.test", "root-password-long")
	want := fromCreation(t, c.allEvents(root, ""), id)
	got, repeats := waitDelivered(t, rcv, want, time.Minute)
	assert.Equal(t, want, got)
	assert.Zero(t, repeats, "the attempt in flight at SIGTERM was recorded, not made again")
	assert.Positive(t, stopped, "deliveries had begun before the stop")
	assert.Less(t, stopped, len(want), "and were not all done")
}
