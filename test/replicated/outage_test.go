//go:build mongodb

package replicated

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb/mongotest"
	"orgd/test/harness"
)

// TestServerOutage cuts every replica off the shared server (a proxy
// between them drops every connection and refuses new ones), with
// operations in flight, and lets it back: meanwhile each replica answers
// what needs the store 503 with Retry-After within STORE_TIMEOUT, never
// hangs or answers 500, /readyz says 503 and /healthz 200; afterwards every
// replica serves again by itself and the store is whole.
func TestServerOutage(t *testing.T) {
	u, err := url.Parse(os.Getenv(mongotest.EnvURI))
	require.NoError(t, err)
	proxy := harness.StartProxy(t, u.Host)
	via := strings.Replace(os.Getenv(mongotest.EnvURI), u.Host, proxy.Addr, 1)
	c := newClusterVia(t, 2, via, map[string]string{"STORE_TIMEOUT": "2s"})
	c.create(0, "acme", "admin@acme.test")
	tok := c.login(1, "admin@acme.test")

	// Renames in flight on both replicas when the server goes away.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = c.call(i, http.MethodPut, "/org/update", map[string]string{"organization_name": []string{"acme_a", "acme_b"}[i]}, tok).status
		}()
	}
	time.Sleep(5 * time.Millisecond)
	proxy.Cut()
	wg.Wait()
	for _, st := range statuses {
		assert.Contains(t, []int{200, 400, 503}, st, "an operation cut off answers 503, never 500")
	}
	for i := range 2 {
		t0 := time.Now()
		r := c.call(i, http.MethodGet, "/org/get?organization_name=acme", nil, "")
		assert.Equal(t, http.StatusServiceUnavailable, r.status, r.raw)
		assert.Less(t, time.Since(t0), 5*time.Second, "within STORE_TIMEOUT, not hanging")
		assert.Equal(t, http.StatusServiceUnavailable, c.call(i, http.MethodGet, "/readyz", nil, "").status)
		assert.Equal(t, http.StatusOK, c.call(i, http.MethodGet, "/healthz", nil, "").status)
	}

	proxy.Restore(t)
	require.Eventually(t, func() bool {
		return c.call(0, http.MethodGet, "/readyz", nil, "").status == 200 && c.call(1, http.MethodGet, "/readyz", nil, "").status == 200
	}, 30*time.Second, 200*time.Millisecond, "both replicas serve again by themselves")
	pendingGone(t, c)
	found := 0
	for _, n := range []string{"acme", "acme_a", "acme_b"} {
		if c.call(-1, http.MethodGet, "/org/get?organization_name="+n, nil, "").status == 200 {
			found++
		}
	}
	assert.Equal(t, 1, found, "the organization is under exactly one name")
	out, code := c.check()
	assert.Equal(t, 0, code, out)
}
