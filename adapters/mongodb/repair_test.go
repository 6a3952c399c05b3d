package mongodb_test

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
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
	open := func() (*mongodb.Embedded, *mongodb.Store) {
		emb, err := mongodb.StartEmbedded(ctx, mongodb.EmbeddedOptions{Dir: dir})
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
	open := func() (*mongodb.Embedded, *mongodb.Store) {
		emb, err := mongodb.StartEmbedded(ctx, mongodb.EmbeddedOptions{Dir: dir})
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

	// Drop every orgd index, as in a data directory from before them.
	for _, file := range []string{"idx.sqlite", mongodb.TenantDatabase("idx", org) + ".sqlite"} {
		db := openSQLite(t, filepath.Join(dir, file))
		rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'orgd_id_%'`)
		require.NoError(t, err)
		var names []string
		for rows.Next() {
			var n string
			require.NoError(t, rows.Scan(&n))
			names = append(names, n)
		}
		require.NoError(t, rows.Close())
		require.NotEmpty(t, names, "%s has orgd's indexes", file)
		for _, n := range names {
			_, err := db.Exec(`DROP INDEX "` + n + `"`)
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
	assertIndexed(t, st, mongodb.TenantDatabase("idx", org), "org_acme", filter)
	filter, err = bson.Marshal(bson.D{{Key: "_id", Value: "acme"}})
	require.NoError(t, err)
	assertIndexed(t, st, "idx", "name_claims", filter)
}
