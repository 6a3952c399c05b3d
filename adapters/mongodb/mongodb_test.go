package mongodb_test

import (
	"os"
	"testing"

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
