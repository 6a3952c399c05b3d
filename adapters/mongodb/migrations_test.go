package mongodb_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
	"orgd/adapters/mongodb/mongotest"
	"orgd/core/domain"
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
	a, err := st.Admins().ByEmail(ctx, "old@x.test")
	require.NoError(t, err)
	assert.Equal(t, domain.RoleOrgAdmin, a.Role)
}
