package e2e

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
)

// TestDiskFull runs orgd on a small file system and fills it: every answer
// must be 201, or 507 or 503 with Retry-After (never 500: SQLite reports
// a full disk as "full" or, making a new file, as an I/O error), reads
// keep working,
// /readyz says the store cannot write, and once room is made the store
// writes again, with no restart: each organization whose create was
// refused ends up either whole or free to create again, as documented.
func TestDiskFull(t *testing.T) {
	dir := harness.Tmpfs(t, 48)
	require.NoError(t, os.Mkdir(filepath.Join(dir, "data"), 0o750))
	c := client{t: t, p: harness.Start(t, harness.Options{DataDir: filepath.Join(dir, "data"), Env: map[string]string{"SECRET_KEY": secret}})}
	c.create("before", "admin@before.test", "password1")

	var fs syscall.Statfs_t
	require.NoError(t, syscall.Statfs(dir, &fs))
	filler := filepath.Join(dir, "filler")
	free := int64(fs.Bavail) * fs.Bsize
	require.NoError(t, os.WriteFile(filler, make([]byte, free-256<<10), 0o600))

	var refused []string
	for i := range 60 {
		name := fmt.Sprintf("full%d", i)
		r := c.call(http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": "admin@" + name + ".test", "password": "password1"}, "")
		require.Contains(t, []int{http.StatusCreated, http.StatusInsufficientStorage, http.StatusServiceUnavailable}, r.status, "%s: %s\n%s", name, r.raw, c.p.Logs())
		if r.status != http.StatusCreated {
			assert.NotEmpty(t, r.header.Get("Retry-After"))
			refused = append(refused, name)
		}
	}
	require.NotEmpty(t, refused, "the disk filled up")
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name=before", nil, "").status, "reads still work")
	ready := c.call(http.MethodGet, "/readyz", nil, "")
	assert.Equal(t, http.StatusServiceUnavailable, ready.status, "readiness says the store cannot write")

	require.NoError(t, os.Remove(filler))
	require.Eventually(t, func() bool {
		return c.call(http.MethodGet, "/readyz", nil, "").status == http.StatusOK
	}, 30*time.Second, 250*time.Millisecond, "the store writes again once there is room")
	// A refused create's operation is finished, or undone, by recovery
	// once its lease has run out: then its name is whole or free.
	for _, name := range refused {
		require.Eventually(t, func() bool {
			switch c.call(http.MethodGet, "/org/get?organization_name="+name, nil, "").status {
			case http.StatusOK:
				r := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "admin@" + name + ".test", "password": "password1"}, "")
				return r.status == http.StatusOK
			case http.StatusNotFound:
				r := c.call(http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": "admin@" + name + ".test", "password": "password1"}, "")
				return r.status == http.StatusCreated
			}
			return false
		}, 90*time.Second, time.Second, "%s ends up whole or free", name)
	}
	c.p.Sync(t)
	assert.NotContains(t, c.p.Logs(), `"status":500`, "no request answered 500")
}
