package usecase_test

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/memory"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
	"orgd/test/fakes"
)

// A request authenticated just before its account's password changed
// does not act after the change: the operation reads the caller again.
func TestTokenDiesWithinARequestOnPasswordChange(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t)
	h.create(t, "acme", "a@x.test", "password1")
	before, _ := h.login(t, "a@x.test", "password1")
	now, _ := h.login(t, "a@x.test", "password1")
	_, err := h.svc.UpdateOrg(ctx, now, usecase.UpdateOrgInput{Password: ptr("password2")})
	require.NoError(t, err)

	_, err = h.svc.UpdateOrg(ctx, before, usecase.UpdateOrgInput{Name: ptr("bravo")})
	require.ErrorIs(t, err, domain.ErrInvalidToken)
	org, err := h.svc.GetOrg(ctx, "acme")
	require.NoError(t, err, "the rename must not have happened")
	assert.Equal(t, "acme", org.Name.String())
}

// A password change written to the account but not yet recorded by its
// organization (its process died between the two) is finished before a
// token is refused for it, so no one sees the refusal while the
// organization still shows the old credentials.
func TestAuthenticateSettlesAChangeInFlight(t *testing.T) {
	ctx := context.Background()
	clock := fakes.NewClock(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	h := newHarnessWith(t, usecase.Deps{Clock: clock, Failpoints: fakes.CrashAt(usecase.FPUpdateAdmin), BusyWait: time.Second})
	h.create(t, "acme", "a@x.test", "password1")
	p, token := h.login(t, "a@x.test", "password1")
	_, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Email: ptr("b@x.test"), Password: ptr("password2")})
	require.ErrorIs(t, err, fakes.ErrCrash)
	org, err := h.svc.GetOrg(ctx, "acme")
	require.NoError(t, err)
	require.Equal(t, domain.Email("a@x.test"), org.AdminEmail(), "not recorded yet")
	clock.Advance(usecase.DefaultLease + time.Second) // its owner is gone

	_, err = h.svc.Authenticate(ctx, token)
	require.ErrorIs(t, err, domain.ErrInvalidToken)
	// Read from the store itself: a read through the service would finish
	// the change too.
	org, err = h.store.Orgs().ByID(ctx, org.ID)
	require.NoError(t, err)
	assert.Nil(t, org.Pending, "refused only once the change is whole")
	assert.Equal(t, domain.Email("b@x.test"), org.AdminEmail())
}

// hookedAdmins runs a hook once, at the first account read after it is
// armed: a way to slip another request in between the reads of one.
type hookedAdmins struct {
	ports.AdminRepository
	armed atomic.Pointer[func()]
}

func (a *hookedAdmins) ByID(ctx context.Context, id domain.ID) (domain.Admin, error) {
	if hook := a.armed.Swap(nil); hook != nil {
		(*hook)()
	}
	return a.AdminRepository.ByID(ctx, id)
}

// The same email change twice at once: the second, which plans on the
// organization read before the first began but finds the account already
// changed, answers the organization as it is now, not as it was (it plans
// again once it sees the organization has moved on).
func TestUnchangedAnswersTheStateAfter(t *testing.T) {
	ctx := context.Background()
	st := memory.New()
	admins := &hookedAdmins{AdminRepository: st.Admins()}
	tok, err := token.New("HS256", []byte("unit-test-key-unit-test-key-unit"))
	require.NoError(t, err)
	svc, err := usecase.New(ctx, usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: admins, Tenants: st.Tenants(),
		Rosters: st.Rosters(), Invitations: st.Invitations(), Events: st.Events(), Hasher: fakes.Hasher{}, Tokens: tok,
		Logger: slog.New(slog.DiscardHandler),
	})
	require.NoError(t, err)
	_, err = svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "a@x.test", Password: "password1"})
	require.NoError(t, err)
	res, err := svc.Login(ctx, usecase.LoginInput{Email: "a@x.test", Password: "password1"})
	require.NoError(t, err)
	p, err := svc.Authenticate(ctx, res.Token)
	require.NoError(t, err)

	first := func() {
		_, err := svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Email: ptr("b@x.test")})
		require.NoError(t, err)
	}
	admins.armed.Store(&first) // runs when the second plans: after its organization read
	org, err := svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Email: ptr("b@x.test")})
	require.NoError(t, err)
	assert.Equal(t, domain.Email("b@x.test"), org.AdminEmail())
}

func TestAuthenticate(t *testing.T) {
	t.Run("expired", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		_, tok := h.login(t, "a@x.com", "12345678")
		h.clock.Advance(usecase.DefaultTokenTTL + time.Minute)
		_, err := h.svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("survives-rename", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		p, tok := h.login(t, "a@x.com", "12345678")
		_, err := h.svc.UpdateOrg(context.Background(), p, usecase.UpdateOrgInput{Name: ptr("renamed")})
		require.NoError(t, err)
		_, err = h.svc.Authenticate(context.Background(), tok)
		require.NoError(t, err, "the token names ids, not names")
	})
	t.Run("revoked-by-password-change", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		p, tok := h.login(t, "a@x.com", "12345678")
		_, err := h.svc.UpdateOrg(context.Background(), p, usecase.UpdateOrgInput{Password: ptr("new-password")})
		require.NoError(t, err)
		_, err = h.svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
		h.login(t, "a@x.com", "new-password")
	})
	t.Run("revoked-by-delete", func(t *testing.T) {
		h := newHarness(t)
		h.create(t, "acme", "a@x.com", "12345678")
		p, tok := h.login(t, "a@x.com", "12345678")
		_, err := h.svc.DeleteOrg(context.Background(), p, "acme", nil)
		require.NoError(t, err)
		_, err = h.svc.Authenticate(context.Background(), tok)
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
	t.Run("garbage", func(t *testing.T) {
		h := newHarness(t)
		_, err := h.svc.Authenticate(context.Background(), "not.a.token")
		require.ErrorIs(t, err, domain.ErrInvalidToken)
	})
}
