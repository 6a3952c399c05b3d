package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
)

func redisURL(t *testing.T) string { return harness.StartRedis(t).URL }

func TestRateLimitSharedThroughRedis(t *testing.T) {
	url := redisURL(t)
	env := map[string]string{"REDIS_URL": url, "RATE_LIMIT_PER_MINUTE": "4"}
	a, b := start(t, env), start(t, env)
	for _, c := range []client{a, b, a, b} {
		assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "").status)
	}
	r := a.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "")
	assert.Equal(t, http.StatusTooManyRequests, r.status, "two replicas share one budget")
	r = b.call(http.MethodGet, "/org/get?organization_name=ghost", nil, "")
	assert.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "0", r.header.Get("X-RateLimit-Remaining"))
}

func TestRedisUnreachableRefusesToStart(t *testing.T) {
	out, err := runCmdEnv(harness.Binary(t), []string{"DATA_DIR=" + t.TempDir(), "REDIS_URL=redis://127.0.0.1:1/0", "HTTP_ADDR=127.0.0.1:0"}, "serve")
	require.Error(t, err)
	assert.Contains(t, out, "REDIS_URL")
}

func TestLoginBackoffSharedThroughRedis(t *testing.T) {
	url := redisURL(t)
	env := map[string]string{"REDIS_URL": url}
	a := start(t, env)
	a.create("acme", "a@acme.test", "password1")
	// A second replica on its own store: the back-off is keyed by email,
	// so it needs no account there to count guesses.
	b := start(t, env)
	for i, c := range []client{a, b, a, b, a, b} {
		r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "a@acme.test", "password": "guess"}, "")
		require.Equal(t, http.StatusUnauthorized, r.status, "attempt %d", i)
	}
	r := a.call(http.MethodPost, "/admin/login", map[string]string{"email": "a@acme.test", "password": "password1"}, "")
	assert.Equal(t, http.StatusTooManyRequests, r.status, "guesses spread over replicas meet one back-off: %s", r.raw)
}

// TestRedisOutage stops Redis under a running orgd and starts it again:
// meanwhile logins (right and wrong) answer as they should, never 500 and
// never slowly; the request limit still holds, per replica; readiness
// stays 200 but says Redis is down, as do the metrics and one WARN line;
// and once Redis is back, orgd shares its counters through it again.
func TestRedisOutage(t *testing.T) {
	rd := harness.StartRedis(t)
	c := start(t, map[string]string{"REDIS_URL": rd.URL, "RATE_LIMIT_PER_MINUTE": "12"})
	c.create("acme", "admin@acme.test", "password1")
	rd.Stop()

	for i, pw := range []string{"wrong-pass", "password1", "wrong-pass", "password1"} {
		t0 := time.Now()
		r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "admin@acme.test", "password": pw}, "")
		want := map[string]int{"wrong-pass": http.StatusUnauthorized, "password1": http.StatusOK}[pw]
		assert.Equal(t, want, r.status, "login %d during the outage: %s", i, r.raw)
		assert.Less(t, time.Since(t0), 2*time.Second, "login %d waits for Redis at most a short timeout", i)
	}
	r := c.call(http.MethodGet, "/readyz", nil, "")
	assert.Equal(t, http.StatusOK, r.status, "a degraded replica still serves")
	assert.Contains(t, r.body["redis"], "down")
	assert.Contains(t, metricsText(t, c), "orgd_redis_up 0")
	limited := 0
	for range 12 {
		if c.call(http.MethodGet, "/org/get?organization_name=acme", nil, "").status == http.StatusTooManyRequests {
			limited++
		}
	}
	assert.Positive(t, limited, "the request limit holds, per replica, never lets everything through")
	c.p.Sync(t)
	assert.Equal(t, 1, strings.Count(c.p.Logs(), "redis does not answer"), "one WARN line, not one per request")

	rd.Start()
	require.Eventually(t, func() bool {
		r := c.call(http.MethodGet, "/readyz", nil, "")
		return r.status == http.StatusOK && r.body["redis"] == "up"
	}, 20*time.Second, 250*time.Millisecond, "readiness says Redis is back")
	assert.Contains(t, metricsText(t, c), "orgd_redis_up 1")
}

// metricsText returns what /metrics serves.
func metricsText(t *testing.T, c client) string {
	t.Helper()
	_, raw, err := c.p.Do(ctx(t), http.MethodGet, "/metrics", nil, nil)
	require.NoError(t, err)
	return string(raw)
}
