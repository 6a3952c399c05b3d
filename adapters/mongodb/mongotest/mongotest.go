// Package mongotest gives tests a fresh MongoDB database: on the server
// named by ORGD_TEST_MONGODB_URI when it is set (a MongoDB, or any server
// speaking its protocol), otherwise on one embedded store started per test
// binary. Each database is dropped when its test ends.
package mongotest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"orgd/adapters/embedded"
	"orgd/adapters/mongodb"
)

var (
	once     sync.Once
	uri      string
	startErr error
	server   *embedded.Server
	tmpDir   string
)

// URI returns the connection string tests use, starting the embedded store
// on first use.
func URI(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		if u := os.Getenv(EnvURI); u != "" {
			uri = u
			return
		}
		tmpDir, startErr = os.MkdirTemp("", "orgd-mongotest-")
		if startErr != nil {
			return
		}
		server, startErr = embedded.Start(context.Background(), embedded.Options{Dir: tmpDir})
		if startErr == nil {
			uri = server.URI()
		}
	})
	if startErr != nil {
		t.Fatalf("start embedded store: %v", startErr)
	}
	return uri
}

// EnvURI names the variable that points the tests at a server of one's
// own instead of the embedded store.
const EnvURI = "ORGD_TEST_MONGODB_URI"

// Embedded reports whether the tests run on the embedded store (the
// variable EnvURI is unset).
func Embedded() bool { return os.Getenv(EnvURI) == "" }

// Main runs the tests and then stops the embedded store, if one started.
// Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if server != nil {
		server.Close()
		_ = os.RemoveAll(tmpDir)
	}
	return code
}

// DatabaseName returns a fresh, unique database name.
func DatabaseName() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "orgd_test_" + hex.EncodeToString(b[:])
}

// NewStore opens a Store on a fresh database, dropped and closed when the
// test ends.
func NewStore(t testing.TB) *mongodb.Store { return Open(t, mongodb.Options{}) }

// Open opens a Store with o on a fresh database (o's URI, Database and
// Embedded are filled in), dropped and closed when the test ends.
func Open(t testing.TB, o mongodb.Options) *mongodb.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	o.URI, o.Database = URI(t), DatabaseName()
	if server != nil {
		o.Embedded = server
	}
	st, err := mongodb.Open(ctx, o)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := st.Drop(ctx); err != nil {
			t.Errorf("drop test database: %v", err)
		}
		_ = st.Close(ctx)
	})
	return st
}
