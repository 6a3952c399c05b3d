package usecase_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orgd/adapters/memory"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// harness is a Service on the memory adapter with fast fakes.
type harness struct {
	svc   *usecase.Service
	store *memory.Store
	clock *fakes.Clock
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	st := memory.New()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	tok, err := token.New("HS256", []byte("unit-test-key-unit-test-key-unit"))
	require.NoError(t, err)
	svc, err := usecase.New(context.Background(), usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Admins: st.Admins(), Tenants: st.Tenants(),
		Hasher: fakes.Hasher{}, Tokens: clockedTokens{tok, clock}, Clock: clock,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	return &harness{svc: svc, store: st, clock: clock}
}

// clockedTokens verifies tokens against the fake clock.
type clockedTokens struct {
	*token.JWT
	clock *fakes.Clock
}

func (c clockedTokens) Verify(s string) (domain.Claims, error) {
	return c.VerifyAt(s, c.clock.Now())
}

func (h *harness) create(t *testing.T, name, email, pw string) domain.Organization {
	t.Helper()
	org, err := h.svc.CreateOrg(context.Background(), usecase.CreateOrgInput{Name: name, Email: email, Password: pw})
	require.NoError(t, err)
	return org
}

func (h *harness) login(t *testing.T, email, pw string) (domain.Principal, string) {
	t.Helper()
	res, err := h.svc.Login(context.Background(), usecase.LoginInput{Email: email, Password: pw})
	require.NoError(t, err)
	p, err := h.svc.Authenticate(context.Background(), res.Token)
	require.NoError(t, err)
	return p, res.Token
}

func ptr(s string) *string { return &s }
