package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb"
	"orgd/core/domain"
)

// TestStoreDownIsUnavailable stops the store under an open connection: the
// adapter must answer domain.ErrUnavailable within the selection timeout,
// never hang or look like a missing organization.
func TestStoreDownIsUnavailable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	emb, err := mongodb.StartEmbedded(ctx, mongodb.EmbeddedOptions{Dir: t.TempDir()})
	require.NoError(t, err)
	st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: "down", ServerSelectionTimeout: 500 * time.Millisecond})
	require.NoError(t, err)
	defer st.Close(ctx)
	require.NoError(t, st.Ping(ctx))
	emb.Close()

	_, err = st.Orgs().ByNameKey(ctx, "acme")
	require.ErrorIs(t, err, domain.ErrUnavailable)
	assert.Equal(t, domain.CodeUnavailable, domain.ErrorCode(err))
	_, err = st.Admins().ByEmail(ctx, "a@b.co")
	require.ErrorIs(t, err, domain.ErrUnavailable)
	require.ErrorIs(t, st.Ping(ctx), domain.ErrUnavailable)
}
