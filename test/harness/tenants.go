package harness

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/adapters/mongodb"
)

// TenantCollection returns the collection of the organization whose name
// key is key, found the way the README tells an operator to: through the
// tenant_db field of its document in the master database.
func TenantCollection(ctx context.Context, mc *mongo.Client, key string) (*mongo.Collection, error) {
	return TenantCollectionIn(ctx, mc, Database, key)
}

// TenantCollectionIn is TenantCollection under master database master.
func TenantCollectionIn(ctx context.Context, mc *mongo.Client, master, key string) (*mongo.Collection, error) {
	var org struct {
		Collection string `bson:"collection"`
		TenantDB   string `bson:"tenant_db"`
	}
	err := mc.Database(master).Collection("organizations").FindOne(ctx, bson.D{{Key: "name_key", Value: key}}).Decode(&org)
	if err != nil {
		return nil, fmt.Errorf("organization %q: %w", key, err)
	}
	return mc.Database(master + "_" + org.TenantDB).Collection(org.Collection), nil
}

// TenantCollections lists every org_ collection in every tenant database,
// and in the master database (where none may be).
func TenantCollections(ctx context.Context, mc *mongo.Client) ([]string, error) {
	dbs := []string{Database}
	for i := range mongodb.TenantDatabases {
		dbs = append(dbs, mongodb.TenantDatabaseName(Database, i))
	}
	var out []string
	for _, db := range dbs {
		names, err := mc.Database(db).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if strings.HasPrefix(n, "org_") {
				out = append(out, n)
			}
		}
	}
	return out, nil
}
