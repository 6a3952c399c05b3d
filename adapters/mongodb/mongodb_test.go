package mongodb_test

import (
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
	"orgd/ports"
	"orgd/test/contract"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

func newStores(t *testing.T) contract.Stores {
	s := mongotest.NewStore(t)
	return contract.Stores{Orgs: s.Orgs(), Names: s.Names(), Emails: s.Emails(), Admins: s.Admins(), Tenants: s.Tenants()}
}

func TestOrgRepository(t *testing.T) { contract.OrgRepository(t, newStores) }
func TestNameClaims(t *testing.T) {
	contract.ClaimRegistry(t, newStores, func(s contract.Stores) ports.ClaimRegistry { return s.Names }, domain.KindName)
}
func TestEmailClaims(t *testing.T) {
	contract.ClaimRegistry(t, newStores, func(s contract.Stores) ports.ClaimRegistry { return s.Emails }, domain.KindEmail)
}
func TestAdminRepository(t *testing.T) { contract.AdminRepository(t, newStores) }
func TestTenantStore(t *testing.T)     { contract.TenantStore(t, newStores) }
func TestLifecycle(t *testing.T)       { contract.Lifecycle(t, newStores) }
func TestAudit(t *testing.T)           { contract.Audit(t, newStores) }

func mongoIndex(name string) mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "x", Value: 1}}, Options: options.Index().SetName(name)}
}
