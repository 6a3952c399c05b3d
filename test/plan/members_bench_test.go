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

// BenchmarkMembers measures, on the store the tests run on, what a
// member's requests cost in an organization of 1, 100 (a full roster
// page) and 10,000 members:
// a login, an authenticated request (the token checked, the caller and
// its organization read: PUT /org/update that changes nothing) and one
// page of the member list (its last page, the farthest in). Hashing is a
// fake, so the figures are the store's. Compare within one run:
//
//	go test -run '^$' -bench BenchmarkMembers ./test/plan
func BenchmarkMembers(b *testing.B) {
	for _, size := range []int{1, 100, 10_000} {
		b.Run(fmt.Sprintf("members=%d", size), func(b *testing.B) {
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
			email := "owner@acme.test"
			if size > 1 {
				require.NoError(b, mongodb.SeedMembers(ctx, st.Database(), org.ID, size-1, "plain$password1"))
				email = fmt.Sprintf("m%d@%s.seed", size-2, org.ID)
			}
			res, err := svc.Login(ctx, usecase.LoginInput{Email: email, Password: "password1"})
			require.NoError(b, err)
			lastPage := (size + 19) / 20
			b.Run("login", func(b *testing.B) {
				for b.Loop() {
					if _, err := svc.Login(ctx, usecase.LoginInput{Email: email, Password: "password1"}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("authenticated-request", func(b *testing.B) {
				for b.Loop() {
					p, err := svc.Authenticate(ctx, res.Token)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Email: &email}); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("member-list-page", func(b *testing.B) {
				p, err := svc.Authenticate(ctx, res.Token)
				require.NoError(b, err)
				for b.Loop() {
					page, err := svc.ListMembers(ctx, p, "", lastPage, 20)
					if err != nil || page.Total != int64(size) || len(page.Items) == 0 {
						b.Fatal(err, page.Total)
					}
				}
			})
		})
	}
}
