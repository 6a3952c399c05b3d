package mongotest

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
	"orgd/core/domain"
)

// LegacyLayoutVersion is the last schema version of the layout before
// email claims and tenant databases: tenant collections in the master
// database, admins found by a query on their email.
const LegacyLayoutVersion = 3

// SeedLegacy writes an active organization named name, as orgd stored it
// at LegacyLayoutVersion: its document (without tenant_db), its name
// claim, its admin (with no email claim) and its collection org_<key> in
// the master database holding docs documents. Its admin is
// admin@<key>.test with password hash hash. Call ForgetMigrations after
// seeding to make the store look that old.
func SeedLegacy(ctx context.Context, st *mongodb.Store, name string, docs int, hash string) (domain.Organization, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return domain.Organization{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	org := domain.Organization{
		ID: domain.NewID(now), Name: n,
		AdminID: domain.NewID(now), AdminEmail: domain.Email("admin@" + n.Key() + ".test"),
		CreatedAt: now, State: domain.StateActive, Version: 1,
	}
	db := st.Database()
	if err := st.Orgs().Insert(ctx, org); err != nil {
		return org, err
	}
	if _, err := db.Collection("organizations").UpdateOne(ctx, bson.D{{Key: "name_key", Value: org.Name.Key()}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "tenant_db", Value: ""}}}}); err != nil {
		return org, err
	}
	if err := st.Names().Reserve(ctx, domain.Claim{Key: org.Name.Key(), OrgID: org.ID, At: now}); err != nil {
		return org, err
	}
	admin := domain.Admin{ID: org.AdminID, Email: org.AdminEmail, PasswordHash: hash, Role: domain.RoleOrgAdmin, OrgID: org.ID, CreatedAt: now}
	if err := st.Admins().Insert(ctx, admin); err != nil {
		return org, err
	}
	if err := db.CreateCollection(ctx, org.Name.Collection()); err != nil {
		return org, err
	}
	return org, mongodb.SeedCollection(ctx, db.Collection(org.Name.Collection()), docs)
}

// ForgetMigrations makes the store look as it did at LegacyLayoutVersion:
// later migrations are unrecorded and the email claims they made removed.
func ForgetMigrations(ctx context.Context, st *mongodb.Store) error {
	db := st.Database()
	if _, err := db.Collection("schema_migrations").DeleteMany(ctx, bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: LegacyLayoutVersion}}}}); err != nil {
		return fmt.Errorf("forget migrations: %w", err)
	}
	for _, c := range []string{"email_claims", "pending_ops"} {
		if err := db.Collection(c).Drop(ctx); err != nil {
			return fmt.Errorf("drop %s: %w", c, err)
		}
	}
	return nil
}
