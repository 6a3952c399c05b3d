package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/test/harness"
)

const (
	rootEmail    = "root@platform.test"
	rootPassword = "root-password-long"
)

func snapshotEnv() map[string]string {
	return map[string]string{
		"FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword,
		"SECRET_KEY": secret, "RATE_LIMIT_PER_MINUTE": "100000",
	}
}

// TestSnapshotUnderWriteLoadIsPointInTime takes a snapshot through the API
// while organizations are created, filled, renamed and deleted and while
// documents are written in sequence across tenant databases; restores it
// with "orgd snapshot restore" into a new data directory; and starts orgd
// on it. Every organization must be whole under one name (its collection
// there, holding its document if it was renamed, since the document was
// written before the rename), no collection may be left without its
// organization, and the sequence must be a gap-free prefix: a document is
// in the snapshot only if every document written before it is, whichever
// file each went to.
func TestSnapshotUnderWriteLoadIsPointInTime(t *testing.T) {
	c := client{t: t, p: harness.Start(t, harness.Options{Env: snapshotEnv()})}
	mc := mongoClient(t, c.p.MongoURI)
	seqColls := seedSequenceOrgs(t, c, mc, 8)

	ctx, stop := context.WithCancel(ctx(t))
	var wg sync.WaitGroup
	var seq atomic.Int64
	wg.Go(func() { writeSequence(ctx, t, seqColls, &seq) })
	for w := range 2 {
		wg.Go(func() { churn(ctx, t, c, mc, w) })
	}

	time.Sleep(1500 * time.Millisecond)
	root := c.login(rootEmail, rootPassword)
	file := filepath.Join(t.TempDir(), "snap.tar.gz")
	resp := getSnapshot(t, c, root, file)
	assert.Equal(t, "application/gzip", resp.Header.Get("Content-Type"))
	assert.Contains(t, resp.Header.Get("Content-Disposition"), "orgd-snapshot-")
	time.Sleep(500 * time.Millisecond)
	stop()
	wg.Wait()
	written := seq.Load()

	dir := filepath.Join(t.TempDir(), "restored")
	out := orgdCommand(t, map[string]string{"DATA_DIR": dir}, "snapshot", "restore", file)
	assert.Contains(t, out, "restored "+file)

	r := client{t: t, p: harness.Start(t, harness.Options{DataDir: dir, Env: snapshotEnv()})}
	rmc := mongoClient(t, r.p.MongoURI)
	restored := checkSequencePrefix(t, rmc, seqColls)
	assert.Positive(t, restored, "the snapshot holds documents written before it")
	assert.Less(t, restored, written, "writes after the snapshot are not in it")
	orgs := checkOrgsWhole(t, r, rmc)
	t.Logf("snapshot holds %d of %d sequence documents and %d organizations", restored, written, orgs)
}

func seedSequenceOrgs(t *testing.T, c client, mc *mongo.Client, n int) []*mongo.Collection {
	var colls []*mongo.Collection
	for i := range n {
		key := fmt.Sprintf("seq_%d", i)
		c.create(key, key+"@seq.test", "Password123")
		colls = append(colls, tenantCollection(t, mc, key))
	}
	dbs := map[string]bool{}
	for _, coll := range colls {
		dbs[coll.Database().Name()] = true
	}
	require.Greater(t, len(dbs), 1, "the sequence spans several files")
	return colls
}

// writeSequence inserts documents {_id: 0, 1, 2, ...} one at a time, round
// robin over colls (in different tenant databases, so in different
// files), until ctx ends; seq ends as the number written.
func writeSequence(ctx context.Context, t *testing.T, colls []*mongo.Collection, seq *atomic.Int64) {
	for i := int64(0); ctx.Err() == nil; i++ {
		_, err := colls[i%int64(len(colls))].InsertOne(context.WithoutCancel(ctx), bson.D{{Key: "_id", Value: i}})
		if !assert.NoError(t, err) {
			return
		}
		seq.Store(i + 1)
	}
}

// churn creates organizations, writes a document into each, renames it,
// and deletes every third, until ctx ends.
func churn(ctx context.Context, t *testing.T, c client, mc *mongo.Client, w int) {
	for i := 0; ctx.Err() == nil; i++ {
		name := fmt.Sprintf("churn_%d_%d", w, i)
		email := name + "@churn.test"
		c.create(name, email, "Password123")
		_, err := tenantCollection(t, mc, name).InsertOne(context.WithoutCancel(ctx), bson.D{{Key: "n", Value: i}})
		require.NoError(t, err)
		tok := c.login(email, "Password123")
		r := c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": name + "_r"}, tok)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		if i%3 == 0 {
			tok = c.login(email, "Password123")
			r = c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": name + "_r"}, tok)
			require.Equal(t, http.StatusOK, r.status, r.raw)
		}
	}
}

// getSnapshot downloads a snapshot into file.
func getSnapshot(t *testing.T, c client, token, file string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx(t), http.MethodGet, c.p.URL+"/admin/snapshot", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	f, err := os.Create(file) //nolint:gosec // the test's own temp file
	require.NoError(t, err)
	_, err = io.Copy(f, resp.Body)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return resp
}

// orgdCommand runs the orgd binary with args and the embedded store's
// environment plus env, and returns its output; it must succeed.
func orgdCommand(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := orgdCommandErr(t, env, args...)
	require.NoError(t, err, out)
	return out
}

func orgdCommandErr(t *testing.T, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx(t), harness.Binary(t), args...) //nolint:gosec // the test's own binary
	cmd.Dir = t.TempDir()                                          // no .env
	cmd.Env = append(os.Environ(), "MONGODB_URI=", "SECRET_KEY="+secret)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// checkSequencePrefix returns how many sequence documents the store holds,
// and checks they are exactly 0..n-1.
func checkSequencePrefix(t *testing.T, mc *mongo.Client, colls []*mongo.Collection) int64 {
	t.Helper()
	var ids []int64
	for _, coll := range colls {
		cur, err := mc.Database(coll.Database().Name()).Collection(coll.Name()).Find(ctx(t), bson.D{})
		require.NoError(t, err)
		var docs []struct {
			ID int64 `bson:"_id"`
		}
		require.NoError(t, cur.All(ctx(t), &docs))
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
	}
	slices.Sort(ids)
	for i, id := range ids {
		require.Equal(t, int64(i), id, "sequence document %d is missing while later ones are present", i)
	}
	return int64(len(ids))
}

// checkOrgsWhole checks every organization the restored orgd lists: its
// collection exists and holds what it must, and no tenant collection
// belongs to none.
func checkOrgsWhole(t *testing.T, c client, mc *mongo.Client) int {
	t.Helper()
	root := c.login(rootEmail, rootPassword)
	var names []string
	for page := 1; ; page++ {
		list := c.call(http.MethodGet, fmt.Sprintf("/org/list?page=%d&page_size=100", page), nil, root)
		require.Equal(t, http.StatusOK, list.status, list.raw)
		items := list.body["items"].([]any)
		for _, it := range items {
			names = append(names, it.(map[string]any)["organization_name"].(string))
		}
		if len(items) < 100 {
			break
		}
	}
	want := map[string]bool{}
	renamed := 0
	for _, name := range names {
		coll := tenantCollection(t, mc, name)
		want[coll.Name()] = true
		if !strings.HasPrefix(name, "churn_") {
			continue
		}
		n, err := coll.CountDocuments(ctx(t), bson.D{})
		require.NoError(t, err)
		if strings.HasSuffix(name, "_r") {
			renamed++
			assert.EqualValues(t, 1, n, "%s was renamed after its document was written; the document moves with it", name)
		} else {
			assert.LessOrEqual(t, n, int64(1), name)
		}
	}
	assert.Positive(t, renamed, "the load renamed organizations before the snapshot")
	got, err := harness.TenantCollections(ctx(t), mc)
	require.NoError(t, err)
	for _, name := range got {
		assert.True(t, want[name], "tenant collection %s belongs to no organization", name)
	}
	assert.Len(t, got, len(want), "each organization has exactly one collection")
	return len(names)
}

// TestSnapshotEndpointAndCommands: who may take a snapshot, what "orgd
// snapshot save" keeps, and what restore refuses.
func TestSnapshotEndpointAndCommands(t *testing.T) {
	c := client{t: t, p: harness.Start(t, harness.Options{Env: snapshotEnv()})}
	c.create("acme", "admin@acme.test", "Password123")
	orgAdmin := c.login("admin@acme.test", "Password123")
	r := c.call(http.MethodGet, "/admin/snapshot", nil, "")
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.Equal(t, "Not authenticated", r.body["detail"])
	r = c.call(http.MethodGet, "/admin/snapshot", nil, orgAdmin)
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "Only the super admin may do this", r.body["detail"])

	dir := t.TempDir()
	file := filepath.Join(dir, "backups", "one.tar.gz")
	env := map[string]string{"HTTP_ADDR": strings.TrimPrefix(c.p.URL, "http://"),
		"FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword}
	out := orgdCommand(t, env, "snapshot", "save", file)
	assert.Contains(t, out, "saved "+file)
	assert.Contains(t, orgdCommand(t, nil, "snapshot", "verify", file), "whole snapshot")
	out, err := orgdCommandErr(t, env, "snapshot", "save", file)
	require.Error(t, err, "an existing file is not replaced without --force")
	assert.Contains(t, out, "exists")
	orgdCommand(t, env, "snapshot", "save", file, "--force")

	bad := map[string]string{"HTTP_ADDR": env["HTTP_ADDR"], "FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": "wrong-password-long"}
	out, err = orgdCommandErr(t, bad, "snapshot", "save", filepath.Join(dir, "refused.tar.gz"))
	require.Error(t, err)
	assert.Contains(t, out, "401 Unauthorized: Invalid email or password")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 1, "a refused save leaves no file behind")

	// Restore refuses the running orgd's directory, and a non-empty one.
	out, err = orgdCommandErr(t, map[string]string{"DATA_DIR": c.p.DataDir}, "snapshot", "restore", file)
	require.Error(t, err)
	assert.Contains(t, out, "in use by another orgd process")
	target := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(target, "keep.txt"), []byte("x"), 0o600))
	out, err = orgdCommandErr(t, map[string]string{"DATA_DIR": target}, "snapshot", "restore", file)
	require.Error(t, err)
	assert.Contains(t, out, "not empty")
	out = orgdCommand(t, map[string]string{"DATA_DIR": target}, "snapshot", "restore", file, "--force")
	assert.Contains(t, out, "moved what")
	moved, err := filepath.Glob(filepath.Join(target, "replaced-*", "keep.txt"))
	require.NoError(t, err)
	assert.Len(t, moved, 1, "--force moves the old contents aside, deleting nothing")

	restored := client{t: t, p: harness.Start(t, harness.Options{DataDir: target, Env: snapshotEnv()})}
	assert.NotEmpty(t, restored.login("admin@acme.test", "Password123"), "the restored store serves")
}
