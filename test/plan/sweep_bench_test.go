package plan_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb/mongotest"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// BenchmarkSweep measures one run of the periodic sweep as a replica on
// a shared store makes it (claims included, invitation retention on), at
// each count of ORGD_BENCH_ORGS organizations (default 10,10000). The
// organizations and their claims are seeded through the ports, for
// speed: a name and an email claim each, as a create leaves them. Beside
// it, the full pass (ReleaseAbandoned) each sweep made before, and a
// start still makes once.
//
//	ORGD_TEST_MONGODB_URI=… go test -run '^$' -bench Sweep ./test/plan
func BenchmarkSweep(b *testing.B) {
	for _, n := range mongotest.OrgCounts(b, 10, 10_000) {
		ctx := context.Background()
		st := mongotest.NewStore(b)
		tok, err := token.New("HS256", []byte("bench-key-bench-key-bench-key-ben"))
		require.NoError(b, err)
		svc, err := usecase.New(ctx, usecase.Deps{
			Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
			Rosters: st.Rosters(), Invitations: st.Invitations(), Events: st.Events(),
			Hasher: fakes.Hasher{}, Tokens: tok, Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(b, err)
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := range n {
			op := domain.NewID(now)
			org := mongotest.SeedOrg(i, now)
			org.NameOp = op
			require.NoError(b, st.Names().Reserve(ctx, domain.Claim{Kind: domain.KindName, Key: org.Name.Key(), OrgID: org.ID, Op: op, At: now}))
			require.NoError(b, st.Emails().Reserve(ctx, domain.Claim{Kind: domain.KindEmail, Key: string(org.Owners[0].Email), OrgID: org.ID, AdminID: org.Owners[0].AdminID, Op: op, At: now}))
			require.NoError(b, st.Orgs().Insert(ctx, org))
		}
		w := usecase.Sweep{Claims: true, InvitationRetention: 168 * time.Hour}
		b.Run(fmt.Sprintf("orgs=%d/sweep", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.SweepOnce(ctx, w); err != nil {
					b.Fatal(err)
				}
			}
		})
		// What each sweep did before it read a bounded slice, and what a
		// start still does once.
		b.Run(fmt.Sprintf("orgs=%d/full-pass", n), func(b *testing.B) {
			for b.Loop() {
				if _, err := svc.ReleaseAbandoned(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
