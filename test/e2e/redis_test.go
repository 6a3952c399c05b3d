package e2e

import (
	"net/http"
	"testing"

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
