package plan_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/adapters/token"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// BenchmarkEventsPage measures, on the store the tests run on, one page
// (100 events) of an organization's events and of the whole log when 100
// and 100,000 events are stored: the page farthest in, and the first.
// Compare within one run:
//
//	go test -run '^$' -bench BenchmarkEventsPage ./test/plan
func BenchmarkEventsPage(b *testing.B) {
	for _, stored := range []int{100, 100_000} {
		b.Run(fmt.Sprintf("events=%d", stored), func(b *testing.B) {
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
			org, err := svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "owner@acme.test", Password: "password1"})
			require.NoError(b, err)
			require.NoError(b, mongodb.SeedEvents(ctx, st.Database(), org.ID, stored-1, usecase.EventInvitationCreated))
			res, err := svc.Login(ctx, usecase.LoginInput{Email: "owner@acme.test", Password: "password1"})
			require.NoError(b, err)
			p, err := svc.Authenticate(ctx, res.Token)
			require.NoError(b, err)
			// The cursor to the last full page, found as a reader would.
			lastPage, after := "", ""
			for {
				page, err := svc.Events(ctx, p, usecase.EventQuery{Limit: 100, After: after})
				require.NoError(b, err)
				if len(page.Items) < 100 {
					break
				}
				lastPage, after = after, page.Next
			}
			for _, row := range []struct {
				name  string
				after string
			}{{"first-page", ""}, {"last-page", lastPage}} {
				b.Run(row.name, func(b *testing.B) {
					for b.Loop() {
						page, err := svc.Events(ctx, p, usecase.EventQuery{Limit: 100, After: row.after})
						if err != nil || len(page.Items) == 0 {
							b.Fatal(err, len(page.Items))
						}
					}
				})
			}
		})
	}
}
