package usecase_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
	"orgd/test/fakes"
)

func TestUpdateOrg(t *testing.T) {
	tests := []struct {
		name      string
		in        usecase.UpdateOrgInput
		wantErr   error
		wantCode  domain.Code
		wantName  string
		wantEmail domain.Email
		wantColl  string
	}{
		{name: "update-200-rename", in: usecase.UpdateOrgInput{Name: ptr("Acme_Two")}, wantName: "Acme_Two", wantEmail: "a@x.com", wantColl: "org_acme_two"},
		{name: "update-200-case-only", in: usecase.UpdateOrgInput{Name: ptr("ACME")}, wantName: "ACME", wantEmail: "a@x.com", wantColl: "org_acme"},
		{name: "update-200-same-name", in: usecase.UpdateOrgInput{Name: ptr("acme")}, wantName: "acme", wantEmail: "a@x.com", wantColl: "org_acme"},
		{name: "update-200-email", in: usecase.UpdateOrgInput{Email: ptr("New@X.com")}, wantName: "acme", wantEmail: "new@x.com", wantColl: "org_acme"},
		{name: "update-200-all", in: usecase.UpdateOrgInput{Name: ptr("two"), Email: ptr("n@x.com"), Password: ptr("another-pass")}, wantName: "two", wantEmail: "n@x.com", wantColl: "org_two"},
		{name: "update-400-name-taken", in: usecase.UpdateOrgInput{Name: ptr("OTHER")}, wantErr: domain.ErrOrgExists},
		{name: "update-400-email-taken", in: usecase.UpdateOrgInput{Name: ptr("fresh"), Email: ptr("o@x.com"), Password: ptr("another-pass")}, wantErr: domain.ErrEmailExists},
		{name: "update-422-nothing", in: usecase.UpdateOrgInput{}, wantErr: domain.ErrNothingToUpdate},
		{name: "update-422-bad-name", in: usecase.UpdateOrgInput{Name: ptr("a.b")}, wantCode: domain.CodeInvalid},
		{name: "update-422-bad-email", in: usecase.UpdateOrgInput{Email: ptr("x")}, wantCode: domain.CodeInvalid},
		{name: "update-422-short-password", in: usecase.UpdateOrgInput{Password: ptr("short")}, wantCode: domain.CodeInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			h := newHarness(t)
			before := h.create(t, "acme", "a@x.com", "12345678")
			h.create(t, "other", "o@x.com", "12345678")
			require.NoError(t, h.store.Tenants().Seed(ctx, before.ID, "org_acme", 42))
			p, _ := h.login(t, "a@x.com", "12345678")

			got, err := h.svc.UpdateOrg(ctx, p, tc.in)
			if tc.wantErr != nil || tc.wantCode != "" {
				if tc.wantErr != nil {
					require.ErrorIs(t, err, tc.wantErr)
				} else {
					assert.Equal(t, tc.wantCode, domain.ErrorCode(err))
				}
				after, err := h.svc.GetOrg(ctx, "acme")
				require.NoError(t, err)
				assert.Equal(t, before.Name, after.Name, "a refused update changes nothing")
				assert.Equal(t, before.AdminEmail(), after.AdminEmail())
				h.login(t, "a@x.com", "12345678")
				claims, _ := h.store.Names().All(ctx)
				assert.Len(t, claims, 2, "no name claim is left behind")
				claims, _ = h.store.Emails().All(ctx)
				assert.Len(t, claims, 2, "no email claim is left behind")
				n, err := h.store.Tenants().Count(ctx, before.ID, "org_acme")
				require.NoError(t, err)
				assert.Equal(t, int64(42), n)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.wantName, got.Name.String())
			assert.Equal(t, tc.wantEmail, got.AdminEmail())
			assert.Equal(t, tc.wantColl, got.Name.Collection())
			assert.Equal(t, before.CreatedAt, got.CreatedAt)
			n, err := h.store.Tenants().Count(ctx, before.ID, tc.wantColl)
			require.NoError(t, err)
			assert.Equal(t, int64(42), n, "every document moves with the organization")
			colls, _ := h.store.Tenants().List(ctx)
			assert.ElementsMatch(t, []string{tc.wantColl, "org_other"}, colls)
			if tc.wantColl != "org_acme" {
				_, err := h.svc.GetOrg(ctx, "acme")
				require.ErrorIs(t, err, domain.ErrOrgNotFound)
				_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "z@x.com", Password: "12345678"})
				require.NoError(t, err, "the old name is free")
			}
		})
	}
}

// lostAnswer is an OrgRepository whose Replace applies the write and then
// reports a failure once, as a store whose answer is lost on the way does.
type lostAnswer struct {
	ports.OrgRepository
	armed bool
}

func (l *lostAnswer) Replace(ctx context.Context, org domain.Organization, expected int64) error {
	err := l.OrgRepository.Replace(ctx, org, expected)
	if l.armed && err == nil {
		l.armed = false
		return errors.New("connection reset by peer")
	}
	return err
}

// TestUpdateWhoseWriteMayHaveLandedKeepsItsClaims: when the write of a
// rename's intent fails without saying whether it landed, the new name's
// claim is kept, so nobody else can take the name the intent may hold,
// and recovery finishes the rename.
func TestUpdateWhoseWriteMayHaveLandedKeepsItsClaims(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{BusyWait: 50 * time.Millisecond})
	h.create(t, "acme", "a@x.com", "12345678")
	p, _ := h.login(t, "a@x.com", "12345678")
	orgs := &lostAnswer{OrgRepository: h.store.Orgs(), armed: true}
	tok, err := token.New("HS256", []byte("unit-test-key-unit-test-key-unit"), token.WithClock(h.clock))
	require.NoError(t, err)
	svc, err := usecase.New(ctx, usecase.Deps{
		Orgs: orgs, Names: h.store.Names(), Emails: h.store.Emails(), Admins: h.store.Admins(), Tenants: h.store.Tenants(),
		Rosters: h.store.Rosters(), Invitations: h.store.Invitations(), Events: h.store.Events(),
		Hasher: fakes.Hasher{}, Tokens: tok, Clock: h.clock, Logger: slog.New(slog.DiscardHandler), BusyWait: 50 * time.Millisecond,
	})
	require.NoError(t, err)

	_, err = svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr("beta")})
	require.Error(t, err)
	claim, err := h.store.Names().Claim(ctx, "beta")
	require.NoError(t, err, "the new name stays claimed")
	assert.Equal(t, p.OrgID, claim.OrgID)
	_, err = svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "Beta", Email: "b@x.com", Password: "12345678"})
	require.ErrorIs(t, err, domain.ErrOrgBusy, "nobody else takes the name the intent holds, nor is told it is taken while the rename is undecided")

	h.clock.Advance(usecase.DefaultLease)
	_, err = svc.RecoverPending(ctx, false)
	require.NoError(t, err)
	org, err := svc.GetOrg(ctx, "beta")
	require.NoError(t, err)
	assert.Equal(t, "org_beta", org.Name.Collection(), "recovery finished the rename")
	_, err = svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "Beta", Email: "b@x.com", Password: "12345678"})
	require.ErrorIs(t, err, domain.ErrOrgExists, "now the name is taken")
}

func TestConditionalUpdateAndDelete(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	org := h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	stale := org.Revision()
	renamed, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr("acme-two"), IfMatch: []domain.Revision{stale}})
	require.NoError(t, err)
	assert.NotEqual(t, stale, renamed.Revision(), "a change moves the revision on")

	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr("acme-three"), IfMatch: []domain.Revision{stale}})
	require.ErrorIs(t, err, domain.ErrPrecondition)
	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr("acme-three"), IfMatch: []domain.Revision{}})
	require.ErrorIs(t, err, domain.ErrPrecondition, "an If-Match naming nothing orgd gave matches none")
	_, err = h.svc.DeleteOrg(ctx, p, "acme-two", []domain.Revision{stale})
	require.ErrorIs(t, err, domain.ErrPrecondition)
	got, err := h.svc.GetOrg(ctx, "acme-two")
	require.NoError(t, err, "nothing changed")
	assert.Equal(t, renamed.Revision(), got.Revision())

	_, err = h.svc.DeleteOrg(ctx, p, "acme-two", []domain.Revision{stale, got.Revision()})
	require.NoError(t, err, "one of the revisions named is current")
}
