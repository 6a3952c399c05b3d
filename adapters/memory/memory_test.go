package memory_test

import (
	"testing"

	"orgd/adapters/memory"
	"orgd/test/contract"
)

func newStores(*testing.T) contract.Stores {
	s := memory.New()
	return contract.Stores{Orgs: s.Orgs(), Names: s.Names(), Admins: s.Admins(), Tenants: s.Tenants()}
}

func TestOrgRepository(t *testing.T)   { contract.OrgRepository(t, newStores) }
func TestNameRegistry(t *testing.T)    { contract.NameRegistry(t, newStores) }
func TestAdminRepository(t *testing.T) { contract.AdminRepository(t, newStores) }
func TestTenantStore(t *testing.T)     { contract.TenantStore(t, newStores) }
func TestLifecycle(t *testing.T)       { contract.Lifecycle(t, newStores) }
