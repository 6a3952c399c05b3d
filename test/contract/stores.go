// Package contract holds one test suite per storage port, plus the
// lifecycle suite that drives the use cases through every failpoint. Each
// adapter's tests run every suite, so the memory and mongodb adapters are
// held to exactly the same behaviour.
package contract

import (
	"context"
	"testing"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// TenantFixture is a TenantStore that tests can also fill and inspect.
type TenantFixture interface {
	ports.TenantStore
	// Seed inserts n documents into org's existing collection name.
	Seed(ctx context.Context, org domain.ID, name string, n int) error
	// Count returns the collection's document count, or
	// domain.ErrCollectionNotFound.
	Count(ctx context.Context, org domain.ID, name string) (int64, error)
	// List returns every tenant collection name, sorted.
	List(ctx context.Context) ([]string, error)
}

// AdminFixture is an AdminRepository that tests can also list.
type AdminFixture interface {
	ports.AdminRepository
	// All returns every admin.
	All(ctx context.Context) ([]domain.Admin, error)
}

// Stores is one empty master database seen through every port.
type Stores struct {
	Orgs        ports.OrgRepository
	Names       ports.ClaimRegistry
	Emails      ports.ClaimRegistry
	ExternalIDs ports.ClaimRegistry
	Admins      AdminFixture
	Rosters     ports.Rosters
	Invitations ports.Invitations
	Events      ports.EventLog
	Webhooks    ports.Webhooks
	Idempotency ports.IdempotencyKeys
	Tenants     TenantFixture
}

// NewStores returns empty Stores for one test; the adapter cleans them up.
type NewStores func(t *testing.T) Stores

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sampleOrg(name string) domain.Organization {
	n, err := domain.NewOrgName(name)
	if err != nil {
		panic(err)
	}
	return domain.Organization{
		ID: domain.NewID(t0), Name: n,
		CreatedAt: t0, State: domain.StateActive, Version: 1,
		Owners:  []domain.Owner{{AdminID: domain.NewID(t0), Email: domain.Email("admin@" + n.Key() + ".test"), Since: t0}},
		Members: 1, Roster: []int{1},
	}
}
