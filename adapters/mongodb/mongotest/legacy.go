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
// at LegacyLayoutVersion: its document (one admin named on it, without
// tenant_db), its name claim, its admin (with no email claim, role in it
// or roster) and its collection org_<key> in the master database holding
// docs documents. Its admin is admin@<key>.test with password hash hash;
// the organization returned names it as its one owner, as migrations
// make it. Call ForgetMigrations after seeding to make the store look
// that old.
func SeedLegacy(ctx context.Context, st *mongodb.Store, name string, docs int, hash string) (domain.Organization, error) {
	n, err := domain.NewOrgName(name)
	if err != nil {
		return domain.Organization{}, err
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	admin := domain.Admin{ID: domain.NewID(now), Email: domain.Email("admin@" + n.Key() + ".test"), PasswordHash: hash, Role: domain.RoleOrgAdmin, CreatedAt: now}
	org := domain.Organization{
		ID: domain.NewID(now), Name: n, CreatedAt: now, State: domain.StateActive, Version: 1,
		Owners: []domain.Owner{{AdminID: admin.ID, Email: admin.Email, Since: now}},
	}
	admin.OrgID = org.ID
	orgID, _ := bson.ObjectIDFromHex(string(org.ID))
	adminID, _ := bson.ObjectIDFromHex(string(admin.ID))
	db := st.Database()
	if _, err := db.Collection("organizations").InsertOne(ctx, bson.D{
		{Key: "_id", Value: orgID}, {Key: "name", Value: n.String()}, {Key: "name_key", Value: n.Key()},
		{Key: "collection", Value: n.Collection()}, {Key: "admin_id", Value: adminID}, {Key: "admin_email", Value: string(admin.Email)},
		{Key: "created_at", Value: now}, {Key: "state", Value: string(domain.StateActive)}, {Key: "version", Value: int64(1)},
	}); err != nil {
		return org, err
	}
	if err := st.Names().Reserve(ctx, domain.Claim{Key: org.Name.Key(), OrgID: org.ID, At: now}); err != nil {
		return org, err
	}
	if _, err := db.Collection("admins").InsertOne(ctx, bson.D{
		{Key: "_id", Value: adminID}, {Key: "email", Value: string(admin.Email)}, {Key: "password_hash", Value: hash},
		{Key: "role", Value: string(domain.RoleOrgAdmin)}, {Key: "org_id", Value: orgID}, {Key: "created_at", Value: now},
		{Key: "credentials_version", Value: int64(0)},
	}); err != nil {
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
	for _, c := range []string{"email_claims", "pending_ops", "rosters", "invitations"} {
		if err := db.Collection(c).Drop(ctx); err != nil {
			return fmt.Errorf("drop %s: %w", c, err)
		}
	}
	return nil
}
