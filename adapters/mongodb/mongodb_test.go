package mongodb_test

import (
	"context"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
	"orgd/ports"
	"orgd/test/contract"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

func newStores(t *testing.T) contract.Stores {
	s := mongotest.NewStore(t)
	return contract.Stores{Orgs: s.Orgs(), Names: s.Names(), Emails: s.Emails(), ExternalIDs: s.ExternalIDs(), Admins: s.Admins(), Rosters: s.Rosters(), Invitations: s.Invitations(), Events: s.Events(), Webhooks: s.Webhooks(), Idempotency: s.IdempotencyKeys(), Tenants: s.Tenants()}
}

func TestOrgRepository(t *testing.T) { contract.OrgRepository(t, newStores) }
func TestNameClaims(t *testing.T) {
	contract.ClaimRegistry(t, newStores, func(s contract.Stores) ports.ClaimRegistry { return s.Names }, domain.KindName)
}
func TestEmailClaims(t *testing.T) {
	contract.ClaimRegistry(t, newStores, func(s contract.Stores) ports.ClaimRegistry { return s.Emails }, domain.KindEmail)
}
func TestExternalIDClaims(t *testing.T) {
	contract.ClaimRegistry(t, newStores, func(s contract.Stores) ports.ClaimRegistry { return s.ExternalIDs }, domain.KindExternalID)
}
func TestAdminRepository(t *testing.T) { contract.AdminRepository(t, newStores) }
func TestTenantStore(t *testing.T)     { contract.TenantStore(t, newStores) }
func TestLifecycle(t *testing.T)       { contract.Lifecycle(t, newStores) }
func TestIntegrity(t *testing.T)       { contract.Integrity(t, newStores) }
func TestRosters(t *testing.T)         { contract.Rosters(t, newStores) }
func TestInvitations(t *testing.T)     { contract.Invitations(t, newStores) }
func TestTenantInventory(t *testing.T) { contract.TenantInventory(t, newStores) }
func TestMarkers(t *testing.T)         { contract.Markers(t, newStores) }
func TestEventLog(t *testing.T)        { contract.EventLog(t, newStores) }
func TestWebhooks(t *testing.T)        { contract.Webhooks(t, newStores) }
func TestIdempotencyKeys(t *testing.T) { contract.IdempotencyKeys(t, newStores) }

// TestConditionalWritesAtomic: the single-writer path is chosen from what
// the server's code does, told by its buildInfo, whatever it calls itself.
func TestConditionalWritesAtomic(t *testing.T) {
	for _, tc := range []struct {
		name   string
		info   bson.M
		atomic bool
	}{
		{"mongodb-8", bson.M{"version": "8.0.4", "ok": 1.0}, true},
		{"ferretdb-1-sqlite", bson.M{"version": "7.0.42", "ferretdbVersion": "v1.24.0", "ferretdbFeatures": bson.M{}}, false},
		{"ferretdb-1-as-a-library", bson.M{"version": "7.0.42", "ferretdbVersion": "unknown"}, false},
		{"ferretdb-1-postgresql", bson.M{"version": "7.0.42", "ferretdbVersion": "v1.10.1"}, false},
		{"ferretdb-0", bson.M{"ferretdbVersion": "v0.9.4"}, false},
		{"ferretdb-2", bson.M{"version": "7.0.77", "ferretdb": bson.M{"version": "v2.5.0"}}, true},
		{"ferretdb-2-reporting-its-version", bson.M{"ferretdbVersion": "v2.5.0"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.atomic, mongodb.ConditionalWritesAtomic(tc.info))
		})
	}
}

// TestEmbeddedStoreIsSingleWriter asks the server the tests run on: the
// embedded store must take the single-writer path; a server named by
// ORGD_TEST_MONGODB_URI says for itself.
func TestEmbeddedStoreIsSingleWriter(t *testing.T) {
	st := mongotest.NewStore(t)
	var info bson.M
	require.NoError(t, st.Database().Client().Database("admin").RunCommand(context.Background(), bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info))
	assert.Equal(t, !mongodb.ConditionalWritesAtomic(info), st.SingleWriter())
	if mongotest.Embedded() {
		assert.True(t, st.SingleWriter(), "buildInfo %v", info)
	}
}
