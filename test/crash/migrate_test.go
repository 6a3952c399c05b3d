package crash

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"orgd/adapters/embedded"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/adapters/password"
	"orgd/core/domain"
	"orgd/test/harness"
)

// legacyDataDir writes, into dir, an embedded store in the layout before
// email claims and tenant databases, holding the organizations in sizes
// (name: documents), each with admin admin@<name>.test and password
// "password1".
func legacyDataDir(t *testing.T, dir string, sizes map[string]int) {
	t.Helper()
	withStore(t, dir, false, func(ctx context.Context, st *mongodb.Store, _ *embedded.Server) {
		hash, err := password.New(password.OWASP, 1).Hash(ctx, domain.Password("password1"))
		require.NoError(t, err)
		for name, n := range sizes {
			_, err := mongotest.SeedLegacy(ctx, st, name, n, hash)
			require.NoError(t, err)
		}
		require.NoError(t, mongotest.ForgetMigrations(ctx, st))
	})
}

// TestKillDuringLegacyMigration SIGKILLs orgd at random moments while it
// migrates a data directory from the legacy layout (copying every tenant
// collection into its tenant database), restarts it each time, and checks
// that the finished store holds every organization whole, with every
// document, under the new layout.
func TestKillDuringLegacyMigration(t *testing.T) {
	dir := t.TempDir()
	sizes := map[string]int{"north": 6000, "south": 6000, "east": 3000, "west": 10}
	legacyDataDir(t, dir, sizes)

	// Each run is killed at a random moment after the tenant collections
	// started moving; until one run finishes the move, every kill lands
	// in the middle of it.
	env := map[string]string{"SECRET_KEY": secret}
	midMove := 0
	for range iterations(t) / 2 {
		p, err := harness.Launch(harness.Binary(t), harness.Options{DataDir: dir, Env: env, NoWait: true})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			return strings.Contains(p.Logs(), `"msg":"migration started","migration":5`) ||
				!strings.Contains(p.Logs(), `"msg":"migration started"`) && strings.Contains(p.Logs(), `"msg":"listening"`)
		}, time.Minute, time.Millisecond, "orgd starts moving the tenant collections")
		time.Sleep(time.Duration(rand.Int64N(int64(400 * time.Millisecond))))
		p.Kill()
		if logs := p.Logs(); strings.Contains(logs, `"migration":5`) && !strings.Contains(logs, `"msg":"migration applied","migration":5`) {
			midMove++
		}
	}
	t.Logf("legacy migration: %d of %d kills landed while tenant collections were moving", midMove, iterations(t)/2)

	n := &node{t: t, dir: dir}
	n.start()
	want := map[string]int64{}
	for name, docs := range sizes {
		want[name] = int64(docs)
		st, body := n.call(http.MethodGet, "/org/get?organization_name="+name, nil, "")
		require.Equal(t, http.StatusOK, st, "%s: %v", name, body)
		n.mustLogin("admin@"+name+".test", "password1")
	}
	n.checkStore(want)
	master, err := n.db.ListCollectionNames(context.Background(), bson.D{})
	require.NoError(t, err)
	for _, c := range master {
		assert.False(t, strings.HasPrefix(c, "org_"), "no tenant collection is left in the master database: %s", c)
	}
	// The migrated store serves the whole lifecycle.
	tok := n.mustLogin("admin@north.test", "password1")
	st, body := n.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "north_renamed"}, tok)
	require.Equal(t, http.StatusOK, st, fmt.Sprint(body))
	assert.Equal(t, int64(6000), n.count("north_renamed"))
}
