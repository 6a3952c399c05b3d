package mongodb_test

import (
	"context"
	"database/sql"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
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
	require.NoError(t, st.Tenants().Create(ctx, "org_dropped"))
	require.NoError(t, st.Tenants().Seed(ctx, "org_dropped", 5))
	require.NoError(t, st.Close(ctx))
	emb.Close()

	u := url.URL{Scheme: "file", Path: filepath.Join(dir, "repair.sqlite")}
	db, err := sql.Open("sqlite", u.String())
	require.NoError(t, err)
	_, err = db.Exec(`DELETE FROM "_ferretdb_collections" WHERE name = 'org_dropped'`)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE "org_created_0badf00d" (_ferretdb_sjson TEXT)`)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE INDEX "admins_7e2da425_half_made" ON "admins_7e2da425" (_ferretdb_sjson)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())

	emb, st = open()
	defer emb.Close()
	defer st.Close(ctx)
	require.NoError(t, st.Tenants().Create(ctx, "org_dropped"), "a collection whose drop was interrupted can be created again")
	n, err := st.Tenants().Count(ctx, "org_dropped")
	require.NoError(t, err)
	assert.Zero(t, n, "and it starts empty")
	require.NoError(t, st.Tenants().Seed(ctx, "org_dropped", 3))
	_, err = st.Database().Collection("admins").Indexes().CreateOne(ctx, mongoIndex("half_made"))
	require.NoError(t, err, "an index whose creation was interrupted can be created again")
	names, err := st.Database().ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.NotContains(t, names, "org_created")
}
