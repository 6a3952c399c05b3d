package usecase_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
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

func TestCreateOrg(t *testing.T) {
	tests := []struct {
		name     string
		in       usecase.CreateOrgInput
		wantCode domain.Code
		wantErr  string
	}{
		{name: "ok", in: usecase.CreateOrgInput{Name: "Acme_Corp-1", Email: "Admin@Acme.com", Password: "SecurePass123"}},
		{name: "ok-min-lengths", in: usecase.CreateOrgInput{Name: "a1b", Email: "a@b.co", Password: "12345678"}},
		{name: "ok-digit-first", in: usecase.CreateOrgInput{Name: "9lives", Email: "a@b.co", Password: "12345678"}},
		{name: "name-too-short", in: usecase.CreateOrgInput{Name: "ab", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-too-long", in: usecase.CreateOrgInput{Name: strings.Repeat("a", 64), Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-dot", in: usecase.CreateOrgInput{Name: "a.b.c", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-dollar", in: usecase.CreateOrgInput{Name: "$where", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-space", in: usecase.CreateOrgInput{Name: "acme corp", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-underscore-first", in: usecase.CreateOrgInput{Name: "_acme", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-non-ascii", in: usecase.CreateOrgInput{Name: "acmé", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-nul", in: usecase.CreateOrgInput{Name: "acme\x00x", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "name-path", in: usecase.CreateOrgInput{Name: "../etc", Email: "a@b.co", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "organization_name"},
		{name: "email-invalid", in: usecase.CreateOrgInput{Name: "acme", Email: "not-an-email", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "email"},
		{name: "email-display-name", in: usecase.CreateOrgInput{Name: "acme", Email: "Bob <bob@x.com>", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "email"},
		{name: "email-no-domain-dot", in: usecase.CreateOrgInput{Name: "acme", Email: "bob@localhost", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "email"},
		{name: "email-operator", in: usecase.CreateOrgInput{Name: "acme", Email: "$gt@x.com", Password: "12345678"}, wantCode: domain.CodeInvalid, wantErr: "email"},
		{name: "password-short", in: usecase.CreateOrgInput{Name: "acme", Email: "a@b.co", Password: "1234567"}, wantCode: domain.CodeInvalid, wantErr: "password"},
		{name: "password-long", in: usecase.CreateOrgInput{Name: "acme", Email: "a@b.co", Password: strings.Repeat("p", 129)}, wantCode: domain.CodeInvalid, wantErr: "password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			org, err := h.svc.CreateOrg(context.Background(), tc.in)
			if tc.wantCode != "" {
				require.Error(t, err)
				assert.Equal(t, tc.wantCode, domain.ErrorCode(err))
				assert.Contains(t, err.Error(), tc.wantErr)
				names, err := h.store.Tenants().List(context.Background())
				require.NoError(t, err)
				assert.Empty(t, names, "a refused create writes nothing")
				claims, err := h.store.Names().All(context.Background())
				require.NoError(t, err)
				assert.Empty(t, claims)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.in.Name, org.Name.String(), "the name is kept as given")
			assert.Equal(t, "org_"+strings.ToLower(tc.in.Name), org.Name.Collection())
			assert.Equal(t, domain.Email(strings.ToLower(tc.in.Email)), org.AdminEmail())
			assert.Equal(t, h.clock.Now(), org.CreatedAt)
			assert.True(t, org.ID.Valid())
			assert.Nil(t, org.Pending)
			ok, err := h.store.Tenants().Exists(context.Background(), org.ID, org.Name.Collection())
			require.NoError(t, err)
			assert.True(t, ok, "the collection is created with the organization")
			admin, err := h.store.Admins().ByID(context.Background(), org.Owners[0].AdminID)
			require.NoError(t, err)
			want, err := fakes.Hasher{}.Hash(context.Background(), domain.Password(tc.in.Password))
			require.NoError(t, err)
			assert.Equal(t, want, admin.PasswordHash, "what the hasher made of the password is stored")
			assert.NotEqual(t, tc.in.Password, admin.PasswordHash, "never the password itself")
		})
	}
}

func TestCreateOrgConflicts(t *testing.T) {
	tests := []struct {
		name    string
		in      usecase.CreateOrgInput
		wantErr error
	}{
		{"create-400-same-name", usecase.CreateOrgInput{Name: "acme", Email: "b@x.com", Password: "12345678"}, domain.ErrOrgExists},
		{"create-400-name-other-case", usecase.CreateOrgInput{Name: "ACME", Email: "b@x.com", Password: "12345678"}, domain.ErrOrgExists},
		{"create-400-same-email", usecase.CreateOrgInput{Name: "other", Email: "a@x.com", Password: "12345678"}, domain.ErrEmailExists},
		{"create-400-email-other-case", usecase.CreateOrgInput{Name: "other", Email: "A@X.COM", Password: "12345678"}, domain.ErrEmailExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.create(t, "acme", "a@x.com", "12345678")
			_, err := h.svc.CreateOrg(context.Background(), tc.in)
			require.ErrorIs(t, err, tc.wantErr)
			names, _ := h.store.Tenants().List(context.Background())
			assert.Equal(t, []string{"org_acme"}, names)
			claims, _ := h.store.Names().All(context.Background())
			assert.Len(t, claims, 1)
		})
	}
}

// lostInsert is an OrgRepository whose Insert applies and then reports a
// failure, as a store whose answer is lost on the way does.
type lostInsert struct{ ports.OrgRepository }

func (l lostInsert) Insert(ctx context.Context, org domain.Organization) error {
	if err := l.OrgRepository.Insert(ctx, org); err != nil {
		return err
	}
	return errors.New("connection reset by peer")
}

// TestCreateWhoseInsertMayHaveLandedKeepsItsClaims: the organization may
// exist, so its name and email stay claimed, and recovery finishes it.
func TestCreateWhoseInsertMayHaveLandedKeepsItsClaims(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{BusyWait: 50 * time.Millisecond})
	tok, err := token.New("HS256", []byte("unit-test-key-unit-test-key-unit"), token.WithClock(h.clock))
	require.NoError(t, err)
	svc, err := usecase.New(ctx, usecase.Deps{
		Orgs: lostInsert{h.store.Orgs()}, Names: h.store.Names(), Emails: h.store.Emails(), Admins: h.store.Admins(), Tenants: h.store.Tenants(),
		Rosters: h.store.Rosters(), Invitations: h.store.Invitations(), Events: h.store.Events(),
		Hasher: fakes.Hasher{}, Tokens: tok, Clock: h.clock, Logger: slog.New(slog.DiscardHandler), BusyWait: 50 * time.Millisecond,
	})
	require.NoError(t, err)

	_, err = svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "a@x.com", Password: "12345678"})
	require.Error(t, err)
	// Nobody takes what the create holds; while it is in flight nobody is
	// told it is taken either (it may yet fail): they wait, then retry.
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "ACME", Email: "other@x.com", Password: "12345678"})
	require.ErrorIs(t, err, domain.ErrOrgBusy, "the name stays claimed")
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "other", Email: "a@x.com", Password: "12345678"})
	require.ErrorIs(t, err, domain.ErrOrgBusy, "the email stays claimed")

	h.clock.Advance(usecase.DefaultLease)
	_, err = h.svc.RecoverPending(ctx, false)
	require.NoError(t, err)
	org, err := h.svc.GetOrg(ctx, "acme")
	require.NoError(t, err, "recovery finished the create")
	assert.Equal(t, domain.Email("a@x.com"), org.AdminEmail())
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "ACME", Email: "other@x.com", Password: "12345678"})
	require.ErrorIs(t, err, domain.ErrOrgExists, "now the name is taken")
}

func TestCreationPolicy(t *testing.T) {
	ctx := context.Background()
	h := newHarnessWith(t, usecase.Deps{Creation: domain.CreationSuperOnly})
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@platform.test", "root-password-1")
	require.NoError(t, err)
	in := usecase.CreateOrgInput{Name: "acme", Email: "a@x.com", Password: "12345678"}

	_, err = h.svc.CreateOrg(ctx, in)
	require.ErrorIs(t, err, domain.ErrNotAuthenticated)

	root, _ := h.login(t, "root@platform.test", "root-password-1")
	in.By = &root
	_, err = h.svc.CreateOrg(ctx, in)
	require.NoError(t, err)

	orgAdmin, _ := h.login(t, "a@x.com", "12345678")
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "other", Email: "o@x.com", Password: "12345678", By: &orgAdmin})
	require.ErrorIs(t, err, domain.ErrSuperAdminOnly)
}
