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

func newHarness(t *testing.T) *harness { return newHarnessWith(t, usecase.Deps{}) }

// realClock is the system clock, for tests of what runs in real time
// (webhook delivery waits on timers).
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// newHarnessWith fills d's stores, tokens, clock and logger (a fake clock
// in d.Clock is kept) and returns the harness.
func newHarnessWith(t *testing.T, d usecase.Deps) *harness {
	t.Helper()
	st := memory.New()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	d.Orgs, d.Names, d.Emails, d.Admins, d.Tenants = st.Orgs(), st.Names(), st.Emails(), st.Admins(), st.Tenants()
	if d.Rosters == nil {
		d.Rosters = st.Rosters()
	}
	d.Invitations, d.Events, d.Webhooks, d.ExternalIDs = st.Invitations(), st.Events(), st.Webhooks(), st.ExternalIDs()
	d.Idempotency = st.IdempotencyKeys()
	if d.Hasher == nil {
		d.Hasher = fakes.Hasher{}
	}
	if c, ok := d.Clock.(*fakes.Clock); ok {
		clock = c
	}
	var opts []token.Option
	if _, real := d.Clock.(realClock); !real {
		opts = append(opts, token.WithClock(clock))
		d.Clock = clock
	} else {
		clock = nil // the harness's clock is the system's
	}
	tok, err := token.New("HS256", []byte("unit-test-key-unit-test-key-unit"), opts...)
	require.NoError(t, err)
	d.Tokens, d.Logger = tok, slog.New(slog.DiscardHandler)
	svc, err := usecase.New(context.Background(), d)
	require.NoError(t, err)
	return &harness{svc: svc, store: st, clock: clock}
}

// with returns another Service on h's store and clock, with d's other
// dependencies (failpoints, say): a second process sharing the store.
func (h *harness) with(t *testing.T, d usecase.Deps) *usecase.Service {
	t.Helper()
	return h.withDeps(t, d, nil)
}

// withPorts is with, the ports then changed by wrap (to count calls, say).
func (h *harness) withPorts(t *testing.T, wrap func(*usecase.Deps)) *usecase.Service {
	t.Helper()
	return h.withDeps(t, usecase.Deps{}, wrap)
}

func (h *harness) withDeps(t *testing.T, d usecase.Deps, wrap func(*usecase.Deps)) *usecase.Service {
	t.Helper()
	var opts []token.Option
	if h.clock != nil {
		d.Clock = h.clock
		opts = append(opts, token.WithClock(h.clock))
	} else {
		d.Clock = realClock{}
	}
	st := h.store
	d.Orgs, d.Names, d.Emails, d.Admins, d.Tenants = st.Orgs(), st.Names(), st.Emails(), st.Admins(), st.Tenants()
	d.Rosters, d.Invitations, d.Events, d.Webhooks = st.Rosters(), st.Invitations(), st.Events(), st.Webhooks()
	d.ExternalIDs, d.Idempotency = st.ExternalIDs(), st.IdempotencyKeys()
	if d.Hasher == nil {
		d.Hasher = fakes.Hasher{}
	}
	tok, err := token.New("HS256", []byte("unit-test-key-unit-test-key-unit"), opts...)
	require.NoError(t, err)
	d.Tokens, d.Logger = tok, slog.New(slog.DiscardHandler)
	if wrap != nil {
		wrap(&d)
	}
	svc, err := usecase.New(context.Background(), d)
	require.NoError(t, err)
	return svc
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
