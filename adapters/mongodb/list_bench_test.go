package mongodb_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
)

// BenchmarkListOrgs measures GET /org/list's store work (a count of the
// active organizations, then one page sorted by name key) on the first
// page and on the last, with 10 and with 10,000 organizations. It is the
// one request whose cost grows with the organizations: the count and the
// skip read through the state_name_key index, every entry before the page.
//
//	go test -run '^$' -bench ListOrgs ./adapters/mongodb/
func BenchmarkListOrgs(b *testing.B) {
	for _, n := range []int{10, 10_000} {
		st := mongotest.NewStore(b)
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := range n {
			name, err := domain.NewOrgName(fmt.Sprintf("org%05d", i))
			require.NoError(b, err)
			require.NoError(b, st.Orgs().Insert(ctx, domain.Organization{
				ID: domain.NewID(now), Name: name, CreatedAt: now, State: domain.StateActive, Version: 1,
				Owners:  []domain.Owner{{AdminID: domain.NewID(now), Email: domain.Email(fmt.Sprintf("a%d@x.test", i)), Since: now}},
				Members: 1, Roster: []int{1},
			}))
		}
		for _, page := range []struct {
			name   string
			offset int
		}{{"first", 0}, {"last", n - min(n, 20)}} {
			b.Run(fmt.Sprintf("orgs=%d/page=%s", n, page.name), func(b *testing.B) {
				for b.Loop() {
					items, total, err := st.Orgs().List(ctx, page.offset, 20)
					if err != nil || total != int64(n) || len(items) == 0 {
						b.Fatalf("list: %d items of %d: %v", len(items), total, err)
					}
				}
			})
		}
	}
}
