package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// collMigrations records which migrations the master database has had.
const collMigrations = "schema_migrations"

// Migration is one versioned change to the store. Up must be idempotent:
// two replicas starting at once may both run it, and a process killed
// midway runs it again from the start.
type Migration struct {
	Version int
	Name    string
	Up      func(ctx context.Context, s *Store) error
}

// Migrations are applied in order; append, never edit or reorder.
var Migrations = []Migration{
	{1, "master collections", func(ctx context.Context, s *Store) error {
		return createCollections(ctx, s.db, collOrgs, collNames, collAdmins)
	}},
	{2, "unique organization name keys and admin emails; pending-operation index", func(ctx context.Context, s *Store) error {
		db := s.db
		idx := []struct {
			coll  string
			model mongo.IndexModel
		}{
			{collOrgs, mongo.IndexModel{Keys: bson.D{{Key: "name_key", Value: 1}}, Options: options.Index().SetName("name_key_unique").SetUnique(true)}},
			{collOrgs, mongo.IndexModel{Keys: bson.D{{Key: "pending.op", Value: 1}}, Options: options.Index().SetName("pending_op").SetSparse(true)}},
			{collAdmins, mongo.IndexModel{Keys: bson.D{{Key: "email", Value: 1}}, Options: options.Index().SetName("email_unique").SetUnique(true)}},
		}
		for _, i := range idx {
			if _, err := db.Collection(i.coll).Indexes().CreateOne(ctx, i.model); err != nil {
				return fmt.Errorf("index on %s: %w", i.coll, translate(err))
			}
		}
		return nil
	}},
	{3, "admin roles: backfill org_admin; index organizations by state and name", func(ctx context.Context, s *Store) error {
		db := s.db
		_, err := db.Collection(collAdmins).UpdateMany(ctx,
			bson.D{{Key: "role", Value: bson.D{{Key: "$exists", Value: false}}}},
			bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: "org_admin"}}}})
		if err != nil {
			return fmt.Errorf("backfill roles: %w", translate(err))
		}
		_, err = db.Collection(collOrgs).Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys: bson.D{{Key: "state", Value: 1}, {Key: "name_key", Value: 1}}, Options: options.Index().SetName("state_name_key"),
		})
		return translate(err)
	}},
	{4, "email claims for every admin; pending-operation markers", backfillClaimsAndMarkers},
	{5, "tenant collections move to their tenant databases", moveTenantCollections},
}

func createCollections(ctx context.Context, db *mongo.Database, names ...string) error {
	for _, name := range names {
		if err := createCollection(ctx, db, name); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
	}
	return nil
}

type migrationDoc struct {
	Version   int       `bson:"_id"`
	Name      string    `bson:"name"`
	AppliedAt time.Time `bson:"applied_at"`
}

// Migrate applies the migrations the database has not had yet and returns
// them.
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range Migrations {
		if applied[m.Version] {
			continue
		}
		s.log.InfoContext(ctx, "migration started", "migration", m.Version, "name", m.Name)
		started := time.Now()
		if err := m.Up(ctx, s); err != nil {
			return done, fmt.Errorf("mongodb: migration %d (%s): %w", m.Version, m.Name, err)
		}
		_, err := s.db.Collection(collMigrations).InsertOne(ctx, migrationDoc{Version: m.Version, Name: m.Name, AppliedAt: time.Now().UTC()})
		if err != nil && !isDuplicate(err) { // a replica recorded it first
			return done, fmt.Errorf("mongodb: record migration %d: %w", m.Version, translate(err))
		}
		s.log.InfoContext(ctx, "migration applied", "migration", m.Version, "took", time.Since(started).Round(time.Millisecond).String())
		done = append(done, m)
	}
	return done, nil
}

// SchemaVersion returns the highest migration applied, 0 for none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	applied, err := s.appliedVersions(ctx)
	v := 0
	for k := range applied {
		v = max(v, k)
	}
	return v, err
}

func (s *Store) appliedVersions(ctx context.Context) (map[int]bool, error) {
	cur, err := s.db.Collection(collMigrations).Find(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("mongodb: read migrations: %w", translate(err))
	}
	var docs []migrationDoc
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("mongodb: read migrations: %w", translate(err))
	}
	out := make(map[int]bool, len(docs))
	for _, d := range docs {
		out[d.Version] = true
	}
	return out, nil
}
