package mongodb_test

import (
	"os"
	"testing"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb/mongotest"
	"orgd/test/contract"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

func newStores(t *testing.T) contract.Stores {
	s := mongotest.NewStore(t)
	return contract.Stores{Orgs: s.Orgs(), Names: s.Names(), Admins: s.Admins(), Tenants: s.Tenants()}
}

func TestOrgRepository(t *testing.T)   { contract.OrgRepository(t, newStores) }
func TestNameRegistry(t *testing.T)    { contract.NameRegistry(t, newStores) }
func TestAdminRepository(t *testing.T) { contract.AdminRepository(t, newStores) }
func TestTenantStore(t *testing.T)     { contract.TenantStore(t, newStores) }
func TestLifecycle(t *testing.T)       { contract.Lifecycle(t, newStores) }

func mongoIndex(name string) mongo.IndexModel {
	return mongo.IndexModel{Keys: bson.D{{Key: "x", Value: 1}}, Options: options.Index().SetName(name)}
}
