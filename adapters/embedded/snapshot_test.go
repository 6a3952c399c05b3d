package embedded_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"orgd/adapters/embedded"
	"orgd/adapters/embedded/archive"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// snapshotOf starts a store in a new directory, writes docs documents to
// each of two databases, and returns its snapshot.
func snapshotOf(t *testing.T, docs int) []byte {
	t.Helper()
	ctx := context.Background()
	emb, err := embedded.Start(ctx, embedded.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	defer emb.Close()
	mc, err := mongo.Connect(options.Client().ApplyURI(emb.URI()))
	require.NoError(t, err)
	defer mc.Disconnect(ctx) //nolint:errcheck // test cleanup
	for _, db := range []string{"snap", "snap_t00"} {
		for i := range docs {
			_, err := mc.Database(db).Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: i}, {Key: "pad", Value: bytes.Repeat([]byte{byte(i)}, 512)}})
			require.NoError(t, err)
		}
	}
	var buf bytes.Buffer
	require.NoError(t, emb.Snapshot(ctx, &buf))
	return buf.Bytes()
}

func TestSnapshotRefusesAnythingButAWholeArchive(t *testing.T) {
	snap := snapshotOf(t, 50)
	info, err := archive.Read(bytes.NewReader(snap), discard)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"snap.sqlite", "snap_t00.sqlite"}, info.Files)
	assert.Positive(t, info.Bytes)

	// Cut short anywhere: refused.
	for _, n := range []int{0, 10, len(snap) / 4, len(snap) / 2, len(snap) - 40, len(snap) - 1} {
		_, err := archive.Read(bytes.NewReader(snap[:n]), discard)
		assert.ErrorIs(t, err, archive.ErrBad, "cut at %d of %d", n, len(snap))
	}
	// One byte changed anywhere: refused.
	for _, at := range []int{20, len(snap) / 3, len(snap) / 2, len(snap) - 20} {
		bad := bytes.Clone(snap)
		bad[at] ^= 0x55
		_, err := archive.Read(bytes.NewReader(bad), discard)
		assert.Error(t, err, "byte %d changed", at)
	}
}

func discard(string, io.Reader) error { return nil }

func TestRestoreSnapshot(t *testing.T) {
	ctx := context.Background()
	snap := snapshotOf(t, 20)

	dir := filepath.Join(t.TempDir(), "new")
	rep, err := embedded.Restore(ctx, bytes.NewReader(snap), embedded.RestoreOptions{Dir: dir})
	require.NoError(t, err)
	assert.Empty(t, rep.MovedTo)
	emb, err := embedded.Start(ctx, embedded.Options{Dir: dir})
	require.NoError(t, err)
	mc, err := mongo.Connect(options.Client().ApplyURI(emb.URI()))
	require.NoError(t, err)
	n, err := mc.Database("snap_t00").Collection("c").CountDocuments(ctx, bson.D{})
	require.NoError(t, err)
	assert.EqualValues(t, 20, n)
	require.NoError(t, mc.Disconnect(ctx))

	_, err = embedded.Restore(ctx, bytes.NewReader(snap), embedded.RestoreOptions{Dir: dir})
	assert.ErrorIs(t, err, embedded.ErrDataDirLocked, "a running store's directory is refused")
	emb.Close()
	_, err = embedded.Restore(ctx, bytes.NewReader(snap), embedded.RestoreOptions{Dir: dir})
	assert.ErrorIs(t, err, embedded.ErrDataDirNotEmpty)

	// A bad archive changes nothing, even with Replace.
	before, err := os.ReadDir(dir)
	require.NoError(t, err)
	_, err = embedded.Restore(ctx, bytes.NewReader(snap[:len(snap)/2]), embedded.RestoreOptions{Dir: dir, Replace: true})
	assert.ErrorIs(t, err, archive.ErrBad)
	after, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Equal(t, names(before), names(after))

	rep, err = embedded.Restore(ctx, bytes.NewReader(snap), embedded.RestoreOptions{Dir: dir, Replace: true})
	require.NoError(t, err)
	assert.FileExists(t, filepath.Join(rep.MovedTo, "snap.sqlite"), "replaced files are moved aside, not deleted")
	assert.FileExists(t, filepath.Join(dir, "snap.sqlite"))
}

func names(es []os.DirEntry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
