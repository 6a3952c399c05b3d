package mongodb_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
)

// TestKeysetIndexKeepsWritesDuringItsLoad: organizations inserted and
// deleted while the keyset index loads (its scan may or may not see each)
// are listed, or not, as the store holds them afterwards.
func TestKeysetIndexKeepsWritesDuringItsLoad(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	newOrg := func(i int) domain.Organization { return mongotest.SeedOrg(i, now) }
	for round := range 5 {
		st := mongotest.NewStore(t)
		var want []domain.ID
		for i := range 300 {
			o := newOrg(i)
			require.NoError(t, st.Orgs().Insert(ctx, o))
			want = append(want, o.ID)
		}
		var wg sync.WaitGroup
		wg.Go(func() { assert.NoError(t, st.Preload(ctx)) })
		var added []domain.ID
		wg.Go(func() {
			for i := range 30 {
				o := newOrg(1000 + i)
				assert.NoError(t, st.Orgs().Insert(ctx, o))
				added = append(added, o.ID)
				assert.NoError(t, st.Orgs().Delete(ctx, want[i*7], 1))
			}
		})
		wg.Wait()
		for i := range 30 {
			want[i*7] = ""
		}
		want = append(slices.DeleteFunc(want, func(id domain.ID) bool { return id == "" }), added...)
		slices.Sort(want)
		got, err := st.Orgs().ListAfter(ctx, "", 100)
		require.NoError(t, err)
		var ids []domain.ID
		for len(got) > 0 {
			for _, o := range got {
				ids = append(ids, o.ID)
			}
			got, err = st.Orgs().ListAfter(ctx, ids[len(ids)-1], 100)
			require.NoError(t, err)
		}
		require.Equal(t, want, ids, "round %d", round)
	}
}
