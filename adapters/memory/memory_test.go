package memory_test

import (
	"testing"

	"orgd/adapters/memory"
	"orgd/core/domain"
	"orgd/ports"
	"orgd/test/contract"
)

func newStores(*testing.T) contract.Stores {
	s := memory.New()
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
