package embedded_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"orgd/adapters/embedded"
	"orgd/adapters/embedded/archive"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
)

// TestEmbeddedRepairsInterruptedCollectionChanges simulates the embedded
// store dying between its two statements of a collection drop (catalogue
// entry gone, table left) and of a collection create (table made, catalogue
// entry missing), and checks that the collection can be created again.
func TestEmbeddedRepairsInterruptedCollectionChanges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	open := func() (*embedded.Server, *mongodb.Store) {
		emb, err := embedded.Start(ctx, embedded.Options{Dir: dir})
		require.NoError(t, err)
		st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "repair"})
		require.NoError(t, err)
		return emb, st
	}
	emb, st := open()
	org := domain.NewID(time.Now())
	require.NoError(t, st.Tenants().Create(ctx, org, "org_dropped"))
	require.NoError(t, st.Tenants().Seed(ctx, org, "org_dropped", 5))
	require.NoError(t, st.Close(ctx))
	emb.Close()
	asCrashed(t, dir)

	tenantDB := openSQLite(t, filepath.Join(dir, mongodb.TenantDatabase("repair", org)+".sqlite"))
	_, err := tenantDB.Exec(`DELETE FROM "_ferretdb_collections" WHERE name = 'org_dropped'`)
	require.NoError(t, err)
	_, err = tenantDB.Exec(`CREATE TABLE "org_created_0badf00d" (_ferretdb_sjson TEXT)`)
	require.NoError(t, err)
	require.NoError(t, tenantDB.Close())
	db := openSQLite(t, filepath.Join(dir, "repair.sqlite"))
	_, err = db.Exec(`CREATE INDEX "admins_7e2da425_half_made" ON "admins_7e2da425" (_ferretdb_sjson)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	emb, st = open()
	defer emb.Close()
	defer st.Close(ctx)
	require.NoFileExists(t, filepath.Join(dir, "clean_shutdown"), "a running store's directory is not marked clean")
	require.NoError(t, st.Tenants().Create(ctx, org, "org_dropped"), "a collection whose drop was interrupted can be created again")
	n, err := st.Tenants().Count(ctx, org, "org_dropped")
	require.NoError(t, err)
	assert.Zero(t, n, "and it starts empty")
	require.NoError(t, st.Tenants().Seed(ctx, org, "org_dropped", 3))
	_, err = st.Database().Collection("admins").Indexes().CreateOne(ctx, mongoIndex("half_made"))
	require.NoError(t, err, "an index whose creation was interrupted can be created again")
	names, err := st.Tenants().List(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{"org_dropped"}, names)
}

// asCrashed makes dir look as a store that died leaves it: a clean close
// marks the directory, and the next start then skips the repair pass.
func asCrashed(t *testing.T, dir string) {
	t.Helper()
	require.FileExists(t, filepath.Join(dir, "clean_shutdown"), "a clean close marks the data directory")
	require.NoError(t, os.Remove(filepath.Join(dir, "clean_shutdown")))
}

func openSQLite(t *testing.T, path string) *sql.DB {
	t.Helper()
	u := url.URL{Scheme: "file", Path: path}
	db, err := sql.Open("sqlite", u.String())
	require.NoError(t, err)
	return db
}

// TestIDIndexesSurviveRestartAndAreAddedToOldDataDirs checks that the _id
// indexes orgd adds are kept across restarts and repair, and that a data
// directory made before orgd added them gets them at its next start.
func TestIDIndexesSurviveRestartAndAreAddedToOldDataDirs(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	org := domain.NewID(time.Now())
	open := func() (*embedded.Server, *mongodb.Store) {
		emb, err := embedded.Start(ctx, embedded.Options{Dir: dir})
		require.NoError(t, err)
		st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "idx", Embedded: emb})
		require.NoError(t, err)
		return emb, st
	}
	emb, st := open()
	require.NoError(t, st.Tenants().Create(ctx, org, "org_acme"))
	require.NoError(t, st.Tenants().Seed(ctx, org, "org_acme", 20))
	require.NoError(t, st.Close(ctx))
	emb.Close()
	asCrashed(t, dir) // versions before the indexes never marked a clean shutdown

	// Put every _id index back as the store makes it, as in a data
	// directory from before orgd rewrote them.
	for _, file := range []string{"idx.sqlite", mongodb.TenantDatabase("idx", org) + ".sqlite"} {
		db := openSQLite(t, filepath.Join(dir, file))
		rows, err := db.Query(`SELECT name, tbl_name FROM sqlite_master WHERE type = 'index' AND name LIKE '%\_\_id\_' ESCAPE '\'`)
		require.NoError(t, err)
		var idx [][2]string
		for rows.Next() {
			var n, table string
			require.NoError(t, rows.Scan(&n, &table))
			idx = append(idx, [2]string{n, table})
		}
		require.NoError(t, rows.Close())
		require.NotEmpty(t, idx, "%s has _id indexes", file)
		for _, i := range idx {
			_, err := db.Exec(`DROP INDEX "` + i[0] + `"`)
			require.NoError(t, err)
			_, err = db.Exec(`CREATE UNIQUE INDEX "` + i[0] + `" ON "` + i[1] + `" (_ferretdb_sjson->"_id")`)
			require.NoError(t, err)
		}
		require.NoError(t, db.Close())
	}

	emb, st = open()
	defer emb.Close()
	defer st.Close(ctx)
	var doc struct {
		ID any `bson:"_id"`
	}
	tenant := st.Tenants().Collection(org, "org_acme")
	require.NoError(t, tenant.FindOne(ctx, bson.D{}).Decode(&doc))
	filter, err := bson.Marshal(bson.D{{Key: "_id", Value: doc.ID}})
	require.NoError(t, err)
	mongotest.AssertIndexed(t, st, mongodb.TenantDatabase("idx", org), "org_acme", filter)
	filter, err = bson.Marshal(bson.D{{Key: "_id", Value: "acme"}})
	require.NoError(t, err)
	mongotest.AssertIndexed(t, st, "idx", "name_claims", filter)

	// The rewritten index still keeps _id unique.
	_, err = tenant.InsertOne(ctx, bson.D{{Key: "_id", Value: doc.ID}})
	require.Error(t, err)
	assert.True(t, mongo.IsDuplicateKeyError(err), "a second document with the same _id is a duplicate: %v", err)
}

// TestDamagedFileRefusesStart overwrites four pages in the middle of a
// tenant database's file, as a failing disk would, and checks that the
// store refuses to start, naming the file and what to do, instead of
// serving until someone reads the damaged documents.
func TestDamagedFileRefusesStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	emb, err := embedded.Start(ctx, embedded.Options{Dir: dir})
	require.NoError(t, err)
	st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "dmg", Embedded: emb})
	require.NoError(t, err)
	org := domain.NewID(time.Now())
	require.NoError(t, st.Tenants().Create(ctx, org, "org_acme"))
	require.NoError(t, st.Tenants().Seed(ctx, org, "org_acme", 2000))
	require.NoError(t, st.Close(ctx))
	emb.Close()

	path := filepath.Join(dir, mongodb.TenantDatabase("dmg", org)+".sqlite")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	info, err := f.Stat()
	require.NoError(t, err)
	garbage := make([]byte, 4*4096)
	_, _ = rand.Read(garbage)
	_, err = f.WriteAt(garbage, info.Size()/2/4096*4096)
	require.NoError(t, err)
	require.NoError(t, f.Close())

	_, err = embedded.Start(ctx, embedded.Options{Dir: dir})
	require.ErrorIs(t, err, embedded.ErrCorrupt)
	assert.Contains(t, err.Error(), path, "the message names the file")
	assert.Contains(t, err.Error(), "restore DATA_DIR from a backup")

	// A store too large to check within the start's budget starts, and the
	// damage found after fails readiness.
	emb, err = embedded.Start(ctx, embedded.Options{Dir: dir, CheckBudget: -1})
	require.NoError(t, err)
	defer emb.Close()
	st, err = mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "dmg", Embedded: emb, SkipMigrations: true})
	require.NoError(t, err)
	defer st.Close(ctx)
	require.Eventually(t, func() bool { return emb.Damaged() != nil }, 10*time.Second, 10*time.Millisecond)
	require.ErrorIs(t, st.Ping(ctx), domain.ErrUnavailable)
}

// TestConcurrentCreatesInOneFile creates many collections at once in one
// tenant database (one SQLite file): orgd's index rewrite runs beside the
// store's own writes to that file and must wait for them, not fail.
func TestConcurrentCreatesInOneFile(t *testing.T) {
	ctx := context.Background()
	st := mongotest.NewStore(t)
	master := st.Database().Name()
	first := domain.NewID(time.Now())
	orgs := []domain.ID{first}
	for len(orgs) < 24 {
		if id := domain.NewID(time.Now()); mongodb.TenantDatabase(master, id) == mongodb.TenantDatabase(master, first) {
			orgs = append(orgs, id)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, len(orgs))
	for i, org := range orgs {
		wg.Go(func() {
			name := fmt.Sprintf("org_c%d", i)
			if errs[i] = st.Tenants().Create(ctx, org, name); errs[i] == nil {
				errs[i] = st.Tenants().Seed(ctx, org, name, 3)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "create %d", i)
	}
}

// TestEmbeddedStartsWithAnEmptyStoreFile: a crash right after the store
// created a database file, before it wrote anything there, leaves a
// *.sqlite with no tables (or no bytes). The store starts anyway, naming
// the file, and a snapshot taken then is whole.
func TestEmbeddedStartsWithAnEmptyStoreFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	emb, err := embedded.Start(ctx, embedded.Options{Dir: dir})
	require.NoError(t, err)
	st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "empty"})
	require.NoError(t, err)
	require.NoError(t, st.Close(ctx))
	emb.Close()
	asCrashed(t, dir)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "empty_zz.sqlite"), nil, 0o600))
	db := openSQLite(t, filepath.Join(dir, "empty_yy.sqlite"))
	_, err = db.Exec("PRAGMA user_version = 1") // a header, and no table
	require.NoError(t, err)
	require.NoError(t, db.Close())

	emb, err = embedded.Start(ctx, embedded.Options{Dir: dir})
	require.NoError(t, err, "a file with no tables never stops a start")
	defer emb.Close()
	st, err = mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "empty", Embedded: emb})
	require.NoError(t, err)
	defer st.Close(ctx)
	org := domain.NewID(time.Now())
	require.NoError(t, st.Tenants().Create(ctx, org, "org_after"))

	var buf bytes.Buffer
	require.NoError(t, emb.Snapshot(ctx, &buf), "nor a snapshot")
	_, err = archive.Read(&buf, func(string, io.Reader) error { return nil })
	require.NoError(t, err)
}

func mongoIndex(name string) mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "x", Value: 1}}, Options: options.Index().SetName(name)}
}
