package harness

import (
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Redis is a Redis server for one test: the real redis-server when it is
// installed (CI installs it), else miniredis in the test's process, so
// what goes through Redis is always tested. It is stopped when the test
// ends.
type Redis struct {
	// URL is its redis:// address.
	URL  string
	Real bool // redis-server, not miniredis

	t    testing.TB
	port int
	cmd  *exec.Cmd
	mini *miniredis.Miniredis
}

// StartRedis starts a Redis for t.
func StartRedis(t testing.TB) *Redis {
	t.Helper()
	r := &Redis{t: t}
	if _, err := exec.LookPath("redis-server"); err == nil {
		r.Real, r.port = true, FreePort(t)
		r.URL = fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
		r.Start()
		t.Cleanup(r.Stop)
		t.Logf("redis-server at %s", r.URL)
		return r
	}
	r.mini = miniredis.RunT(t)
	r.URL = "redis://" + r.mini.Addr() + "/0"
	t.Logf("redis-server not installed: miniredis at %s", r.URL)
	return r
}

// Stop stops the server (its data goes: it keeps none on disk).
func (r *Redis) Stop() {
	if r.mini != nil {
		r.mini.Close()
		return
	}
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// Start starts it again on the same address.
func (r *Redis) Start() {
	r.t.Helper()
	if r.mini != nil {
		if err := r.mini.Restart(); err != nil {
			r.t.Fatal(err)
		}
		return
	}
	r.cmd = exec.Command("redis-server", "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no") //nolint:gosec // a test server
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", r.port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("redis-server on %s did not answer: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
