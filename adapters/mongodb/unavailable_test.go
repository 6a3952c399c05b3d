package mongodb_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"orgd/adapters/embedded"
	"orgd/adapters/mongodb/mongotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb"
	"orgd/core/domain"
)

// TestStoreDownIsUnavailable stops the store under an open connection: the
// adapter must answer domain.ErrUnavailable within the selection timeout,
// never hang or look like a missing organization, and work again once the
// store is back.
func TestStoreDownIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir, addr := t.TempDir(), freeAddr(t)
	emb, err := embedded.Start(ctx, embedded.Options{Dir: dir, Addr: addr})
	require.NoError(t, err)
	st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "down", ServerSelectionTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	defer st.Close(ctx)
	require.NoError(t, st.Ping(ctx))
	emb.Close()

	_, err = st.Names().Claim(ctx, "acme")
	require.ErrorIs(t, err, domain.ErrUnavailable)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	_, err = st.Admins().ByID(ctx, domain.NewID(time.Now()))
	require.ErrorIs(t, err, domain.ErrUnavailable)
	require.ErrorIs(t, st.Ping(ctx), domain.ErrUnavailable)

	// The store comes back: the same connection pool recovers by itself.
	emb, err = embedded.Start(ctx, embedded.Options{Dir: dir, Addr: addr})
	require.NoError(t, err)
	defer emb.Close()
	require.Eventually(t, func() bool { return st.Ping(ctx) == nil }, 30*time.Second, 100*time.Millisecond)
	_, err = st.Names().Claim(ctx, "acme")
	require.ErrorIs(t, err, domain.ErrNoClaim)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

// TestDamageSeenAtRuntimeFailsReadiness checks that a command failing
// because a file is damaged makes the store unready from then on.
func TestDamageSeenAtRuntimeFailsReadiness(t *testing.T) {
	ctx := context.Background()
	st := mongotest.NewStore(t)
	require.NoError(t, st.Ping(ctx))
	st.ReportFailure(ctx, "find", errors.New("(InternalError) database disk image is malformed (11)"))
	err := st.Ping(ctx)
	require.ErrorIs(t, err, domain.ErrUnavailable)
	st.ReportFailure(ctx, "find", errors.New("(DuplicateKey) E11000"))
	require.Error(t, st.Ping(ctx), "and stays unready")
}
