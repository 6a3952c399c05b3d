package mongodb_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
)

// BenchmarkListOrgs measures GET /org/list's store work on its first page
// and its last, at each organization count of ORGD_BENCH_ORGS (default
// 10,10000; 100000 takes some minutes to seed):
//
//   - page: a count of the active organizations, then one page sorted by
//     name key, skipping those before it. Its cost grows with the
//     organizations (on the embedded store every page reads and sorts
//     them all; on MongoDB the count and the skip walk the index);
//
//   - after: keyset paging, one page after a cursor. On the embedded
//     store through the in-memory index of ids and a read by _id per
//     organization; on a shared store a range over the _id index. Its
//     cost is the page's. (index-load is the embedded store's one scan
//     at the first keyset page after a start.)
//
//     go test -run '^$' -bench ListOrgs ./adapters/mongodb/
func BenchmarkListOrgs(b *testing.B) {
	for _, n := range mongotest.OrgCounts(b, 10, 10_000) {
		st := mongotest.NewStore(b)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		ids := make([]domain.ID, n)
		for i := range n {
			org := mongotest.SeedOrg(i, now)
			ids[i] = org.ID
			require.NoError(b, st.Orgs().Insert(ctx, org))
		}
		slices.Sort(ids)
		start := time.Now()
		_, err := st.Orgs().ListAfter(ctx, "", 1)
		require.NoError(b, err)
		b.Logf("orgs=%d: first keyset page after the start (index load on the embedded store): %s", n, time.Since(start))
		for _, page := range []struct {
			name   string
			offset int
		}{{"first", 0}, {"last", n - min(n, 10)}} {
			b.Run(fmt.Sprintf("orgs=%d/page/%s", n, page.name), func(b *testing.B) {
				for b.Loop() {
					items, total, err := st.Orgs().List(ctx, page.offset, 10)
					if err != nil || total != int64(n) || len(items) == 0 {
						b.Fatalf("list: %d items of %d: %v", len(items), total, err)
					}
				}
			})
			var after domain.ID
			if page.offset > 0 {
				after = ids[page.offset-1]
			}
			b.Run(fmt.Sprintf("orgs=%d/after/%s", n, page.name), func(b *testing.B) {
				for b.Loop() {
					items, err := st.Orgs().ListAfter(ctx, after, 10)
					if err != nil || len(items) != min(n, 10) {
						b.Fatalf("list after: %d items: %v", len(items), err)
					}
				}
			})
		}
	}
}
