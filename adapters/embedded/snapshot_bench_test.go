package embedded_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"orgd/adapters/embedded"
	"orgd/adapters/embedded/archive"

	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb"
)

// benchStore is an embedded store laid out as orgd lays it out (a master
// database and 32 tenant databases), holding docs documents of 1 KiB
// spread over the tenant databases, and tenants empty tenant collections.
func benchStore(b *testing.B, docs, tenants int) *embedded.Server {
	b.Helper()
	ctx := context.Background()
	emb, err := embedded.Start(ctx, embedded.Options{Dir: b.TempDir()})
	require.NoError(b, err)
	b.Cleanup(emb.Close)
	mc, err := mongo.Connect(options.Client().ApplyURI(emb.URI()))
	require.NoError(b, err)
	defer mc.Disconnect(ctx) //nolint:errcheck // bench cleanup
	_, err = mc.Database("bench").Collection("organizations").InsertOne(ctx, bson.D{{Key: "_id", Value: 0}})
	require.NoError(b, err)
	for i := range tenants {
		db := mc.Database(mongodb.TenantDatabaseName("bench", i%mongodb.TenantDatabases))
		require.NoError(b, db.CreateCollection(ctx, fmt.Sprintf("org_%05d", i)))
	}
	pad := bytes.Repeat([]byte{'x'}, 1024)
	for i := range mongodb.TenantDatabases {
		var batch []any
		for j := i; j < docs; j += mongodb.TenantDatabases {
			batch = append(batch, bson.D{{Key: "_id", Value: j}, {Key: "pad", Value: pad}})
		}
		c := mc.Database(mongodb.TenantDatabaseName("bench", i)).Collection("org_t")
		if len(batch) == 0 {
			require.NoError(b, mc.Database(c.Database().Name()).CreateCollection(ctx, c.Name()))
			continue
		}
		_, err := c.InsertMany(ctx, batch)
		require.NoError(b, err)
	}
	return emb
}

// BenchmarkSnapshotPause: ns/op is taking a snapshot's instant, opening
// the connections included; µs-paused/op is the part the store's writers
// wait for (every file's write lock and read transaction, then the locks
// let go).
func BenchmarkSnapshotPause(b *testing.B) {
	for _, tenants := range []int{10, 1_000, 10_000} {
		b.Run(fmt.Sprintf("tenants=%d", tenants), func(b *testing.B) {
			emb := benchStore(b, 0, tenants)
			var paused time.Duration
			for b.Loop() {
				n, pause, err := emb.Freeze(context.Background())
				require.NoError(b, err)
				require.Equal(b, mongodb.TenantDatabases+1, n)
				paused += pause
			}
			b.ReportMetric(float64(paused.Microseconds())/float64(b.N), "µs-paused/op")
		})
	}
}

// BenchmarkSnapshot streams whole snapshots (files and checksums, gzip'd)
// of stores of growing size; bytes/s is of the store's files.
func BenchmarkSnapshot(b *testing.B) {
	for _, docs := range []int{1_000, 10_000, 50_000} {
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			emb := benchStore(b, docs, 0)
			var buf bytes.Buffer
			require.NoError(b, emb.Snapshot(context.Background(), &buf))
			info, err := archive.Read(bytes.NewReader(buf.Bytes()), func(string, io.Reader) error { return nil })
			require.NoError(b, err)
			b.SetBytes(info.Bytes)
			b.ResetTimer()
			for b.Loop() {
				require.NoError(b, emb.Snapshot(context.Background(), io.Discard))
			}
		})
	}
}
