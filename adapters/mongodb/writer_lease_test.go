package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
)

func TestWriterLease(t *testing.T) {
	ctx := context.Background()
	st := mongotest.NewStore(t)
	if !st.SingleWriter() {
		l, err := st.AcquireWriterLease(ctx, "a", false)
		require.NoError(t, err)
		assert.Nil(t, l, "MongoDB is written by any number of replicas")
		return
	}
	_, err := st.AcquireWriterLease(ctx, "a", false)
	require.NoError(t, err)
	_, err = st.AcquireWriterLease(ctx, "b", false)
	require.ErrorIs(t, err, mongodb.ErrStoreInUse, "a live holder keeps it")
	assert.Contains(t, err.Error(), "a", "and is named")
	_, err = st.AcquireWriterLease(ctx, "a", false)
	require.NoError(t, err, "the same holder, restarted, takes it back at once")

	_, err = st.Database().Collection("writer_lease").UpdateOne(ctx, bson.D{{Key: "_id", Value: "writer"}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "heartbeat", Value: time.Now().Add(-2 * mongodb.WriterLeaseTTL)}}}})
	require.NoError(t, err)
	_, err = st.AcquireWriterLease(ctx, "b", false)
	require.NoError(t, err, "a holder that stopped beating has lost it")

	_, err = st.AcquireWriterLease(ctx, "owner", true)
	require.NoError(t, err, "the store's owner always takes it")
	_, err = st.AcquireWriterLease(ctx, "b", false)
	require.ErrorIs(t, err, mongodb.ErrStoreInUse)
}
