package mongodb_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
	"orgd/test/fakes"
)

func TestMigrations(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := mongotest.NewStore(t) // Open applied them all
	v, err := st.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, mongodb.Migrations[len(mongodb.Migrations)-1].Version, v)
	again, err := st.Migrate(ctx)
	require.NoError(t, err)
	assert.Empty(t, again, "applied migrations are not run twice")

	for i, m := range mongodb.Migrations {
		assert.Equal(t, i+1, m.Version, "versions are 1, 2, 3, … in order")
	}
}

// TestSchemaIsRestoredAtEveryStart: a collection or index a migration made,
// removed after it ran (as mongorestore --drop does), is back after the
// next start, and a start with nothing missing changes nothing.
func TestSchemaIsRestoredAtEveryStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := mongotest.NewStore(t)
	db := st.Database()
	require.NoError(t, db.Collection("admins").Drop(ctx))
	require.NoError(t, db.Collection("organizations").Indexes().DropOne(ctx, "pending_op"))

	done, err := st.Migrate(ctx) // what every start runs
	require.NoError(t, err)
	assert.Empty(t, done, "no migration runs again")
	names, err := db.ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.Contains(t, names, "admins")
	for coll, index := range map[string]string{"admins": "email_unique", "organizations": "pending_op"} {
		specs, err := db.Collection(coll).Indexes().ListSpecifications(ctx)
		require.NoError(t, err)
		var have []string
		for _, s := range specs {
			have = append(have, s.Name)
		}
		assert.Contains(t, have, index)
	}
	_, err = db.Collection("admins").InsertOne(ctx, bson.D{{Key: "email", Value: "a@x.test"}})
	require.NoError(t, err)
	_, err = db.Collection("admins").InsertOne(ctx, bson.D{{Key: "email", Value: "a@x.test"}})
	require.Error(t, err, "the restored email index is unique")
}

func TestMigrationBackfillsAdminRoles(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := mongotest.NewStore(t)
	db := st.Database()
	// An admin as stored before roles existed, and the record of migration 3 undone.
	id := bson.NewObjectID()
	_, err := db.Collection("admins").InsertOne(ctx, bson.D{{Key: "_id", Value: id}, {Key: "email", Value: "old@x.test"}, {Key: "password_hash", Value: "h"}, {Key: "org_id", Value: bson.NewObjectID()}})
	require.NoError(t, err)
	_, err = db.Collection("schema_migrations").DeleteOne(ctx, bson.D{{Key: "_id", Value: 3}})
	require.NoError(t, err)

	done, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, done, 1)
	assert.Equal(t, 3, done[0].Version)
	var doc bson.M
	require.NoError(t, db.Collection("admins").FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&doc))
	assert.Equal(t, "org_admin", doc["role"])
	a, err := st.Admins().ByID(ctx, domain.ID(id.Hex()))
	require.NoError(t, err)
	assert.Equal(t, domain.RoleOrgAdmin, a.Role)
}

// TestMigrationMovesLegacyLayout migrates a store in the layout before
// email claims and tenant databases, with one copy already cut short, and
// checks that every organization is whole in the new layout: its documents
// all in its tenant database, none left in the master one, its admin found
// by email.
func TestMigrationMovesLegacyLayout(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st := mongotest.NewStore(t)
	sizes := map[string]int{"alpha": 1500, "beta": 0, "gamma": 40}
	orgs := map[string]domain.Organization{}
	for name, n := range sizes {
		org, err := mongotest.SeedLegacy(ctx, st, name, n, "plain$password1")
		require.NoError(t, err)
		orgs[name] = org
	}
	require.NoError(t, mongotest.ForgetMigrations(ctx, st))
	// A copy interrupted halfway: the target holds some documents already.
	alpha := orgs["alpha"]
	require.NoError(t, st.Tenants().Create(ctx, alpha.ID, alpha.Name.Collection()))
	cur, err := st.Database().Collection(alpha.Name.Collection()).Find(ctx, bson.D{}, options.Find().SetLimit(700))
	require.NoError(t, err)
	var half []bson.Raw
	require.NoError(t, cur.All(ctx, &half))
	_, err = st.Tenants().Collection(alpha.ID, alpha.Name.Collection()).InsertMany(ctx, half)
	require.NoError(t, err)

	done, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, done, len(mongodb.Migrations)-mongotest.LegacyLayoutVersion)

	master, err := st.Database().ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	for _, c := range master {
		assert.False(t, strings.HasPrefix(c, "org_"), "no tenant collection is left in the master database: %s", c)
	}
	for name, org := range orgs {
		n, err := st.Tenants().Count(ctx, org.ID, org.Name.Collection())
		require.NoError(t, err, name)
		assert.Equal(t, int64(sizes[name]), n, "%s keeps every document", name)
		claim, err := st.Emails().Claim(ctx, string(org.AdminEmail()))
		require.NoError(t, err, name)
		owner := org.Owners[0].AdminID
		assert.Equal(t, owner, claim.AdminID, "%s's admin holds its email", name)
		// Migration 6: the one admin is the first owner, and nothing else changed.
		admin, err := st.Admins().ByID(ctx, owner)
		require.NoError(t, err, name)
		assert.Equal(t, domain.RoleOwner, admin.OrgRole, "%s's admin is its owner", name)
		assert.True(t, claim.Same(admin.Member().EmailClaim(org.ID)), "%s's admin holds its email claim as a member", name)
		assert.Equal(t, "plain$password1", admin.PasswordHash, "%s's admin keeps its password", name)
		migrated, err := st.Orgs().ByID(ctx, org.ID)
		require.NoError(t, err, name)
		assert.Equal(t, 1, migrated.Members, name)
		assert.Equal(t, []int{1}, migrated.Roster, name)
		assert.Equal(t, org.AdminEmail(), migrated.AdminEmail(), name)
		assert.Equal(t, int64(1), migrated.Version, "%s's version is untouched", name)
		roster, err := st.Rosters().Page(ctx, org.ID, 0)
		require.NoError(t, err, name)
		if assert.Len(t, roster, 1, name) {
			assert.True(t, roster[0].Equal(admin.Member()), "%s's roster lists its admin", name)
		}
		var doc bson.M
		require.NoError(t, st.Database().Collection("organizations").FindOne(ctx, bson.D{{Key: "name_key", Value: org.Name.Key()}}).Decode(&doc))
		assert.Equal(t, mongodb.TenantDatabase("", org.ID), doc["tenant_db"], "%s records its tenant database", name)
	}
	again, err := st.Migrate(ctx)
	require.NoError(t, err)
	assert.Empty(t, again)
}

// TestMigrateDownStatusAndBack: down undoes what it can, newest first, and
// refuses an irreversible migration before changing anything; status
// follows; migrate applies the undone again; a record newer than this orgd
// makes the store refused.
func TestMigrateDownStatusAndBack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := mongotest.NewStore(t)
	known := mongodb.KnownVersion()

	const to = 5 // the newest migration that cannot be undone
	done, err := st.MigrateDown(ctx, to)
	require.NoError(t, err)
	require.Len(t, done, known-to)
	var pending []mongodb.PendingMigration
	for i, m := range mongodb.Migrations[to:] {
		assert.Equal(t, known-i, done[i].Version, "newest first")
		pending = append(pending, mongodb.PendingMigration{Version: m.Version, Name: m.Name})
	}
	status, err := st.Status(ctx)
	require.NoError(t, err)
	assert.Equal(t, to, status.SchemaVersion)
	assert.Equal(t, pending, status.Pending)
	names, err := st.Database().ListCollectionNames(ctx, bson.D{})
	require.NoError(t, err)
	assert.NotContains(t, names, "rosters", "migration 6's collections went with it")

	done, err = st.MigrateDown(ctx, to)
	require.NoError(t, err)
	assert.Empty(t, done, "twice changes nothing")
	_, err = st.MigrateDown(ctx, 1)
	var irreversible *mongodb.IrreversibleError
	require.ErrorAs(t, err, &irreversible)
	assert.Equal(t, 5, irreversible.Migration.Version)
	v, err := st.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, to, v, "a refused down changes nothing")

	again, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Len(t, again, known-to)
	v, err = st.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, known, v)

	_, err = st.Database().Collection("schema_migrations").InsertOne(ctx, bson.D{{Key: "_id", Value: known + 1}, {Key: "name", Value: "newer"}})
	require.NoError(t, err)
	var newer *mongodb.SchemaNewerError
	require.ErrorAs(t, st.CheckSchema(ctx), &newer)
	assert.Equal(t, mongodb.SchemaNewerError{Store: known + 1, Known: known}, *newer)
	_, err = st.Migrate(ctx)
	require.ErrorAs(t, err, &newer, "migrate refuses it too")
	status, err = st.Status(ctx)
	require.NoError(t, err, "status reads it")
	assert.False(t, status.Applied[len(status.Applied)-1].Known)
}

// TestMigrationKeepsIntentsWhole: intents written before migration 7 (the
// operation's fields side by side) and after it (its data) are the same
// intent: an operation cut off in either layout is finished by recovery
// after the migration, and migration 7's down gives back the old layout.
func TestMigrationKeepsIntentsWhole(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st := mongotest.NewStore(t)
	svc := func(fp ports.Failpoints) *usecase.Service {
		tok, err := token.New("HS256", []byte("migration-test-key-migration-test"))
		require.NoError(t, err)
		s, err := usecase.New(ctx, usecase.Deps{
			Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Rosters: st.Rosters(),
			Invitations: st.Invitations(), Events: st.Events(), Tenants: st.Tenants(), Hasher: fakes.Hasher{}, Tokens: tok, Failpoints: fp,
			Lease: time.Second, Logger: slog.New(slog.DiscardHandler),
		})
		require.NoError(t, err)
		return s
	}
	s := svc(nil)
	_, err := s.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "a@acme.test", Password: "password1"})
	require.NoError(t, err)
	res, err := s.Login(ctx, usecase.LoginInput{Email: "a@acme.test", Password: "password1"})
	require.NoError(t, err)
	owner, err := s.Authenticate(ctx, res.Token)
	require.NoError(t, err)
	inv, err := s.Invite(ctx, owner, "m@acme.test", "admin")
	require.NoError(t, err)
	// A join cut off once its intent is written: an intent naming a
	// member, its page, its password hash and its invitation.
	_, _, err = svc(fakes.CrashAt(usecase.FPJoinPending)).Accept(ctx, usecase.AcceptInput{Token: inv.Token, Password: "password1", Client: "c"})
	require.ErrorIs(t, err, fakes.ErrCrash)

	_, err = st.MigrateDown(ctx, 6)
	require.NoError(t, err)
	var doc struct {
		Pending struct {
			Data         *string `bson:"data"`
			PasswordHash string  `bson:"password_hash"`
			Invitation   bson.ObjectID
			Member       struct {
				Email string `bson:"email"`
			} `bson:"member"`
		} `bson:"pending"`
	}
	require.NoError(t, st.Database().Collection("organizations").FindOne(ctx, bson.D{{Key: "name_key", Value: "acme"}}).Decode(&doc))
	assert.Nil(t, doc.Pending.Data, "down gives back the fields")
	assert.Equal(t, "plain$password1", doc.Pending.PasswordHash)
	assert.Equal(t, inv.ID, domain.ID(doc.Pending.Invitation.Hex()))
	assert.Equal(t, "m@acme.test", doc.Pending.Member.Email)

	_, err = st.Migrate(ctx)
	require.NoError(t, err)
	time.Sleep(1100 * time.Millisecond) // the join's lease runs out
	rep, err := svc(nil).Recover(ctx, false)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Resumed)
	res, err = s.Login(ctx, usecase.LoginInput{Email: "m@acme.test", Password: "password1"})
	require.NoError(t, err, "the join finished from the migrated intent")
	assert.Equal(t, domain.RoleAdmin, res.Admin.OrgRole)
	check, err := s.CheckIntegrity(ctx, false)
	require.NoError(t, err)
	assert.Empty(t, check.Findings)
}
