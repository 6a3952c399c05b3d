package crash

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/embedded"
	"orgd/adapters/mongodb"
	"orgd/adapters/password"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/harness"
)

// orgdCmd is the binary run as a command on dir's stopped store.
func orgdCmd(t *testing.T, dir string, args ...string) (*exec.Cmd, *harness.SyncBuffer, *harness.SyncBuffer) {
	cmd := exec.Command(harness.Binary(t), args...) //nolint:gosec // the test's own binary
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MONGODB_URI=", "DATA_DIR="+dir, "MONGODB_DATABASE="+harness.Database,
		"SECRET_KEY="+secret, "LOG_FORMAT=json")
	var out, errs harness.SyncBuffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	return cmd, &out, &errs
}

// runOrgd runs the binary on dir's stopped store to its end.
func runOrgd(t *testing.T, dir string, args ...string) (stdout, stderr string, code int) {
	cmd, out, errs := orgdCmd(t, dir, args...)
	err := cmd.Run()
	if err != nil {
		var exit *exec.ExitError
		require.ErrorAs(t, err, &exit, errs.String())
		code = exit.ExitCode()
	}
	return out.String(), errs.String(), code
}

func migrateStatus(t *testing.T, dir string) mongodb.MigrationStatus {
	out, errs, code := runOrgd(t, dir, "migrate", "status", "--json")
	require.Equal(t, 0, code, errs)
	var st mongodb.MigrationStatus
	require.NoError(t, json.Unmarshal([]byte(out), &st), out)
	return st
}

// withStore opens dir's stopped embedded store for a test to write it
// directly.
func withStore(t *testing.T, dir string, anySchema bool, do func(ctx context.Context, st *mongodb.Store, emb *embedded.Server)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	emb, err := embedded.Start(ctx, embedded.Options{Dir: dir})
	require.NoError(t, err)
	defer emb.Close()
	st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: harness.Database, Embedded: emb, AnySchema: anySchema, SkipMigrations: anySchema})
	require.NoError(t, err)
	defer st.Close(ctx)
	do(ctx, st, emb)
}

// fixedHasher gives every password one precomputed hash (of
// "password1"), so that seeding many organizations costs no hashing.
type fixedHasher struct {
	*password.Hasher
	hash string
}

func (f fixedHasher) Hash(context.Context, domain.Password) (string, error) { return f.hash, nil }

// seedOrgs creates n organizations of one owner each (org<i>,
// owner<i>@x.test, password "password1") in dir's store.
func seedOrgs(t *testing.T, dir string, n int) {
	withStore(t, dir, false, func(ctx context.Context, st *mongodb.Store, _ *embedded.Server) {
		h := password.New(password.OWASP, 1)
		hash, err := h.Hash(ctx, "password1")
		require.NoError(t, err)
		tok, err := token.New("HS256", []byte(secret))
		require.NoError(t, err)
		svc, err := usecase.New(ctx, usecase.Deps{
			Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
			Rosters: st.Rosters(), Invitations: st.Invitations(), Events: st.Events(), Hasher: fixedHasher{h, hash}, Tokens: tok,
			Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		for i := range n {
			_, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: fmt.Sprintf("org%d", i), Email: fmt.Sprintf("owner%d@x.test", i), Password: "password1"})
			require.NoError(t, err)
		}
	})
}

// TestMigrateStatusDownAndUp: status reports the schema; a down refuses,
// changing nothing, what it cannot undo (an organization of two members;
// an irreversible migration); it undoes what it can, twice is a no-op;
// migrate applies it again and the store serves.
func TestMigrateStatusDownAndUp(t *testing.T) {
	dir := t.TempDir()
	n := &node{t: t, dir: dir}
	n.start()
	for _, name := range []string{"acme", "bravo"} {
		st, body := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": "a@" + name + ".test", "password": "password1"}, "")
		require.Equal(t, http.StatusCreated, st, fmt.Sprint(body))
	}
	tok := n.mustLogin("a@acme.test", "password1")
	st, body := n.call(http.MethodPost, "/org/invitations", map[string]string{"email": "m@acme.test", "role": "member"}, tok)
	require.Equal(t, http.StatusCreated, st, fmt.Sprint(body))
	st, body = n.call(http.MethodPost, "/org/invitations/accept", map[string]string{"token": body["token"].(string), "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st, fmt.Sprint(body))
	require.NoError(t, n.p.Stop())

	known := mongodb.KnownVersion()
	status := migrateStatus(t, dir)
	assert.Equal(t, known, status.SchemaVersion)
	assert.Equal(t, known, status.KnownVersion)
	require.Len(t, status.Applied, known)
	assert.Empty(t, status.Pending)
	for i, m := range status.Applied {
		assert.Equal(t, i+1, m.Version)
		assert.Equal(t, mongodb.Migrations[i].Name, m.Name)
		assert.True(t, m.Known)
		assert.WithinDuration(t, time.Now(), m.AppliedAt, 10*time.Minute)
	}

	_, errs, code := runOrgd(t, dir, "migrate", "down", "--to", "5")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, `organization \"acme\" has 2 members`)
	assert.Equal(t, known, migrateStatus(t, dir).SchemaVersion, "a refused down changes nothing")

	n.start()
	st, body = n.call(http.MethodDelete, "/org/members", map[string]string{"email": "m@acme.test"}, n.mustLogin("a@acme.test", "password1"))
	require.Equal(t, http.StatusOK, st, fmt.Sprint(body))
	require.NoError(t, n.p.Stop())

	out, errs, code := runOrgd(t, dir, "migrate", "down", "--to", "5")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "undone 6: ")
	status = migrateStatus(t, dir)
	assert.Equal(t, 5, status.SchemaVersion)
	var pending []mongodb.PendingMigration
	for _, m := range mongodb.Migrations[5:] {
		pending = append(pending, mongodb.PendingMigration{Version: m.Version, Name: m.Name})
	}
	assert.Equal(t, pending, status.Pending)
	out, errs, code = runOrgd(t, dir, "migrate", "down", "--to", "5")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "schema version 5 (0 undone now)", "twice is a no-op")

	_, errs, code = runOrgd(t, dir, "migrate", "down", "--to", "3")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "migration 5 (tenant collections move to their tenant databases) cannot be undone")
	assert.Contains(t, errs, "restore a snapshot taken before it")
	assert.Equal(t, 5, migrateStatus(t, dir).SchemaVersion)

	out, errs, code = runOrgd(t, dir, "migrate")
	require.Equal(t, 0, code, errs)
	assert.Contains(t, out, "applied 6: ")
	n.start()
	n.mustLogin("a@acme.test", "password1")
	n.mustLogin("a@bravo.test", "password1")
	require.NoError(t, n.p.Stop())
	rep, code := check(t, dir)
	assert.Equal(t, 0, code, rep)
}

// TestNewerSchemaRefused: a store that has had a migration this orgd does
// not know is refused by every command that writes, with one line naming
// both versions; status still reads it.
func TestNewerSchemaRefused(t *testing.T) {
	dir := t.TempDir()
	newer := mongodb.KnownVersion() + 1
	withStore(t, dir, false, func(ctx context.Context, st *mongodb.Store, _ *embedded.Server) {
		_, err := st.Database().Collection("schema_migrations").InsertOne(ctx, bson.D{
			{Key: "_id", Value: newer}, {Key: "name", Value: "from a newer orgd"}, {Key: "applied_at", Value: time.Now()}})
		require.NoError(t, err)
	})
	want := fmt.Sprintf("the store's schema is version %d, newer than this orgd knows (%d)", newer, newer-1)
	for _, args := range [][]string{{}, {"serve"}, {"migrate"}, {"recover"}, {"check"}, {"migrate", "down", "--to", "5"}} {
		_, errs, code := runOrgd(t, dir, args...)
		assert.NotEqual(t, 0, code, "orgd %v", args)
		var refusal []string
		for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
			if strings.Contains(line, want) {
				refusal = append(refusal, line)
			}
		}
		assert.Len(t, refusal, 1, "orgd %v: one line names both versions:\n%s", args, errs)
	}
	status := migrateStatus(t, dir)
	assert.Equal(t, newer, status.SchemaVersion)
	require.Len(t, status.Applied, newer)
	assert.False(t, status.Applied[newer-1].Known)
	assert.Equal(t, "from a newer orgd", status.Applied[newer-1].Name)
}

// TestKillDuringMigrateDown SIGKILLs orgd migrate down at random moments
// while it takes 300 organizations back to one admin each. A migrate in
// between applies the half-undone migration again; a down run again
// finishes; either way every organization is whole, and once migrated up
// again the store serves and orgd check finds nothing.
func TestKillDuringMigrateDown(t *testing.T) {
	dir := t.TempDir()
	const orgs = 300
	seedOrgs(t, dir, orgs)
	midway := 0
	// Each down runs until it has begun, then a while more, and is killed;
	// a down that finished first ends the round.
	killDowns := func() {
		for range iterations(t) / 2 {
			cmd, _, errs := orgdCmd(t, dir, "migrate", "down", "--to", "5")
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			// Migration 6's down is the one with a write per organization.
			began := func() bool { return strings.Contains(errs.String(), `"msg":"migration down started","migration":6`) }
			for !began() && len(exited) == 0 {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rand.Int64N(int64(120 * time.Millisecond))))
			_ = cmd.Process.Kill()
			if err := <-exited; err == nil {
				return // it finished before the kill
			}
			require.True(t, began(), "down failed before it began: %s", errs)
			if !strings.Contains(errs.String(), `"msg":"migration undone","migration":6`) {
				midway++
			}
		}
	}
	killDowns()
	out, errs, code := runOrgd(t, dir, "migrate") // a migrate in between: applies 6 (and what follows) again
	require.Equal(t, 0, code, errs)
	assert.Equal(t, mongodb.KnownVersion(), migrateStatus(t, dir).SchemaVersion, out)
	rep, code := check(t, dir)
	require.Equal(t, 0, code, "after a half-undone migration applied again: %s", rep)

	killDowns()
	_, errs, code = runOrgd(t, dir, "migrate", "down", "--to", "5")
	require.Equal(t, 0, code, errs)
	withStore(t, dir, true, func(ctx context.Context, st *mongodb.Store, _ *embedded.Server) {
		db := st.Database()
		n, err := db.Collection("organizations").CountDocuments(ctx, bson.D{{Key: "admin_id", Value: bson.D{{Key: "$exists", Value: true}}}, {Key: "owners", Value: bson.D{{Key: "$exists", Value: false}}}})
		require.NoError(t, err)
		assert.Equal(t, int64(orgs), n, "every organization names its one admin again")
		n, err = db.Collection("admins").CountDocuments(ctx, bson.D{{Key: "org_role", Value: bson.D{{Key: "$exists", Value: true}}}})
		require.NoError(t, err)
		assert.Zero(t, n, "no account keeps a role")
		names, err := db.ListCollectionNames(ctx, bson.D{})
		require.NoError(t, err)
		assert.NotContains(t, names, "rosters")
	})
	t.Logf("migrate down: %d kills landed midway through a down", midway)
	assert.Positive(t, midway, "some kills must land midway")

	_, errs, code = runOrgd(t, dir, "migrate")
	require.Equal(t, 0, code, errs)
	node := &node{t: t, dir: dir}
	node.start()
	for _, i := range []int{0, orgs / 2, orgs - 1} {
		tok := node.mustLogin(fmt.Sprintf("owner%d@x.test", i), "password1")
		st, body := node.call(http.MethodGet, "/org/members", nil, tok)
		require.Equal(t, http.StatusOK, st, fmt.Sprint(body))
		assert.EqualValues(t, 1, body["total"])
	}
	require.NoError(t, node.p.Stop())
	rep, code = check(t, dir)
	assert.Equal(t, 0, code, rep)
}
