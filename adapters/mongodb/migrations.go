package mongodb

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/core/domain"
)

// collMigrations records which migrations the master database has had.
const collMigrations = "schema_migrations"

// Migration is one versioned change to the store. Up must be idempotent:
// two replicas starting at once may both run it, and a process killed
// midway runs it again from the start. Down undoes it, idempotent too; a
// migration that cannot be undone has no Down and says why in
// Irreversible (the way back is a snapshot taken before it). CanUndo, if
// set, says why the store as it is cannot be taken back, before any down
// changes anything.
type Migration struct {
	Version      int
	Name         string
	Up           func(ctx context.Context, s *Store) error
	Down         func(ctx context.Context, s *Store) error
	CanUndo      func(ctx context.Context, s *Store) error
	Irreversible string
}

// Migrations are applied in order; append, never edit or reorder.
var Migrations = []Migration{
	{Version: 1, Name: "master collections",
		Up: func(ctx context.Context, s *Store) error {
			return createCollections(ctx, s.db, collOrgs, collNames, collAdmins)
		},
		Irreversible: "it creates the master collections: undoing it would drop every organization"},
	{Version: 2, Name: "unique organization name keys and admin emails; pending-operation index",
		Up: func(ctx context.Context, s *Store) error {
			return s.createIndexes(ctx, idxNameKey, idxPendingOp, idxEmail)
		},
		Down: func(ctx context.Context, s *Store) error {
			return s.dropIndexes(ctx, idxNameKey, idxPendingOp, idxEmail)
		}},
	{Version: 3, Name: "admin roles: backfill org_admin; index organizations by state and name",
		Up: func(ctx context.Context, s *Store) error {
			_, err := s.db.Collection(collAdmins).UpdateMany(ctx,
				bson.D{{Key: "role", Value: bson.D{{Key: "$exists", Value: false}}}},
				bson.D{{Key: "$set", Value: bson.D{{Key: "role", Value: string(domain.RoleOrgAdmin)}}}})
			if err != nil {
				return fmt.Errorf("backfill roles: %w", translate(err))
			}
			return s.createIndexes(ctx, idxStateName)
		},
		// The backfilled role stays: the orgd before it ignores the field.
		Down: func(ctx context.Context, s *Store) error { return s.dropIndexes(ctx, idxStateName) }},
	{Version: 4, Name: "email claims for every admin; pending-operation markers", Up: backfillClaimsAndMarkers,
		Irreversible: "operations in flight and email ownership are recorded in a layout the orgd before it does not read"},
	{Version: 5, Name: "tenant collections move to their tenant databases", Up: moveTenantCollections,
		Irreversible: "moving every tenant collection back would copy every document of every organization"},
	{Version: 6, Name: "members and roles: every admin becomes its organization's first owner; rosters and invitations",
		Up: addMembers, Down: removeMembers, CanUndo: membersUndoable},
	{Version: 7, Name: "intents keep their operation's own data as the core encodes it",
		Up: encodeIntents, Down: decodeIntents},
	{Version: 8, Name: "the event log",
		Up:   func(ctx context.Context, s *Store) error { return createCollections(ctx, s.db, collEvents) },
		Down: dropEventLog},
	{Version: 9, Name: "webhook endpoints",
		Up:      func(ctx context.Context, s *Store) error { return createCollections(ctx, s.db, collHooks) },
		Down:    dropWebhooks,
		CanUndo: webhooksUndoable},
	{Version: 10, Name: "organizations' metadata, external ids and deactivation",
		Up:      func(ctx context.Context, s *Store) error { return createCollections(ctx, s.db, collExtIDs) },
		Down:    dropExternalIDs,
		CanUndo: metadataUndoable},
	{Version: 11, Name: "Idempotency-Key records",
		Up: func(ctx context.Context, s *Store) error {
			if err := createCollections(ctx, s.db, collIdem); err != nil {
				return err
			}
			return s.createIndexes(ctx, idxIdemExpiry)
		},
		Down: func(ctx context.Context, s *Store) error {
			if err := s.db.Collection(collIdem).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
				return fmt.Errorf("drop %s: %w", collIdem, translate(err))
			}
			return nil
		}},
	{Version: 12, Name: "invitation expiry index",
		Up:   func(ctx context.Context, s *Store) error { return s.createIndexes(ctx, idxInviteExpiry) },
		Down: func(ctx context.Context, s *Store) error { return s.dropIndexes(ctx, idxInviteExpiry) }},
}

// index is one index of a master collection.
type index struct {
	coll, name     string
	keys           bson.D
	unique, sparse bool
}

func (i index) model() mongo.IndexModel {
	o := options.Index().SetName(i.name)
	if i.unique {
		o.SetUnique(true)
	}
	if i.sparse {
		o.SetSparse(true)
	}
	return mongo.IndexModel{Keys: i.keys, Options: o}
}

// The master collections' indexes, as the migrations made them and
// ensureSchema keeps them.
var (
	idxNameKey   = index{coll: collOrgs, name: "name_key_unique", keys: bson.D{{Key: "name_key", Value: 1}}, unique: true}
	idxPendingOp = index{coll: collOrgs, name: "pending_op", keys: bson.D{{Key: "pending.op", Value: 1}}, sparse: true}
	idxEmail     = index{coll: collAdmins, name: "email_unique", keys: bson.D{{Key: "email", Value: 1}}, unique: true}
	idxStateName = index{coll: collOrgs, name: "state_name_key", keys: bson.D{{Key: "state", Value: 1}, {Key: "name_key", Value: 1}}}
	// idxIdemExpiry finds the Idempotency-Key records to purge.
	idxIdemExpiry = index{coll: collIdem, name: "expires_at", keys: bson.D{{Key: "expires_at", Value: 1}}}
	// idxInviteExpiry finds the expired invitations to remove.
	idxInviteExpiry = index{coll: collInvites, name: "expires_at", keys: bson.D{{Key: "expires_at", Value: 1}}}
)

// The master database's schema: what the migrations set up, re-checked at
// every start by ensureSchema, since a restore by other tools (mongorestore
// --drop) or a hand can remove it after its migration ran.
var (
	masterCollections = []string{collOrgs, collNames, collAdmins, collEmails, collPending, collRosters, collInvites, collEvents, collHooks, collExtIDs, collIdem}
	masterIndexes     = []index{idxNameKey, idxPendingOp, idxEmail, idxStateName, idxIdemExpiry, idxInviteExpiry}
)

// dropIndexes drops idx, those already gone too.
func (s *Store) dropIndexes(ctx context.Context, idx ...index) error {
	for _, i := range idx {
		err := s.db.Collection(i.coll).Indexes().DropOne(ctx, i.name)
		if err != nil && !hasCode(err, codeIndexNotFound) && !hasCode(err, codeNamespaceNotFound) {
			return fmt.Errorf("drop index %s.%s: %w", i.coll, i.name, translate(err))
		}
	}
	return nil
}

func (s *Store) createIndexes(ctx context.Context, idx ...index) error {
	for _, i := range idx {
		if _, err := s.db.Collection(i.coll).Indexes().CreateOne(ctx, i.model()); err != nil {
			return fmt.Errorf("index on %s: %w", i.coll, translate(err))
		}
	}
	return nil
}

// ensureSchema creates whatever of the master schema is missing, and
// returns what that was. Each check is one command per collection, so it
// runs at every start.
func (s *Store) ensureSchema(ctx context.Context) ([]string, error) {
	have, err := s.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, fmt.Errorf("mongodb: list collections: %w", translate(err))
	}
	var restored []string
	for _, c := range masterCollections {
		if !slices.Contains(have, c) {
			if err := createCollection(ctx, s.db, c); err != nil {
				return restored, fmt.Errorf("mongodb: create %s: %w", c, err)
			}
			restored = append(restored, "collection "+c)
		}
	}
	indexes := map[string][]string{}
	for _, i := range masterIndexes {
		names, ok := indexes[i.coll]
		if !ok {
			specs, err := s.db.Collection(i.coll).Indexes().ListSpecifications(ctx)
			if err != nil {
				return restored, fmt.Errorf("mongodb: list indexes of %s: %w", i.coll, translate(err))
			}
			for _, sp := range specs {
				names = append(names, sp.Name)
			}
			indexes[i.coll] = names
		}
		if !slices.Contains(names, i.name) {
			if err := s.createIndexes(ctx, i); err != nil {
				return restored, fmt.Errorf("mongodb: %w", err)
			}
			restored = append(restored, "index "+i.coll+"."+i.name)
		}
	}
	return restored, nil
}

func createCollections(ctx context.Context, db *mongo.Database, names ...string) error {
	for _, name := range names {
		if err := createCollection(ctx, db, name); err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
	}
	return nil
}

// migrationDoc records a migration applied. Undoing marks one whose Down
// has begun: it counts as not applied (the next migrate applies it again,
// which completes a store a down left half way) until the down finishes
// and removes the record.
type migrationDoc struct {
	Version   int       `bson:"_id"`
	Name      string    `bson:"name"`
	AppliedAt time.Time `bson:"applied_at"`
	Undoing   bool      `bson:"undoing,omitempty"`
}

// Migrate applies the migrations the database has not had yet and returns
// them; then, every time, it restores whatever of the schema they set up
// has gone missing since (ensureSchema).
func (s *Store) Migrate(ctx context.Context) ([]Migration, error) {
	done, err := s.migrate(ctx)
	if err != nil {
		return done, err
	}
	restored, err := s.ensureSchema(ctx)
	if len(restored) > 0 {
		s.log.WarnContext(ctx, "schema: restored what had gone missing since its migration", "restored", restored)
	}
	return done, err
}

func (s *Store) migrate(ctx context.Context) ([]Migration, error) {
	docs, err := s.knownRecords(ctx)
	if err != nil {
		return nil, err
	}
	applied := appliedIn(docs)
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
		// Replicas applying it at once both record it; the last one stands.
		rec := migrationDoc{Version: m.Version, Name: m.Name, AppliedAt: time.Now().UTC()}
		_, err := s.db.Collection(collMigrations).ReplaceOne(ctx, bson.D{{Key: "_id", Value: m.Version}}, rec, options.Replace().SetUpsert(true))
		if err != nil && !isDuplicate(err) {
			return done, fmt.Errorf("mongodb: record migration %d: %w", m.Version, translate(err))
		}
		s.log.InfoContext(ctx, "migration applied", "migration", m.Version, "took", time.Since(started).Round(time.Millisecond).String())
		done = append(done, m)
	}
	return done, nil
}

// PendingMigrations returns the migrations the store has not had yet.
func (s *Store) PendingMigrations(ctx context.Context) ([]Migration, error) {
	applied, err := s.appliedVersions(ctx)
	if err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range Migrations {
		if !applied[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

// SchemaVersion returns the highest migration applied, 0 for none.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	applied, err := s.appliedVersions(ctx)
	v := 0
	for k, ok := range applied {
		if ok {
			v = max(v, k)
		}
	}
	return v, err
}

func (s *Store) appliedVersions(ctx context.Context) (map[int]bool, error) {
	docs, err := s.migrationRecords(ctx)
	return appliedIn(docs), err
}

// appliedIn maps each version recorded in docs to whether it counts as
// applied (a migration being undone does not).
func appliedIn(docs []migrationDoc) map[int]bool {
	out := make(map[int]bool, len(docs))
	for _, d := range docs {
		out[d.Version] = !d.Undoing
	}
	return out
}

// migrationRecords returns the records of schema_migrations, by version.
func (s *Store) migrationRecords(ctx context.Context) ([]migrationDoc, error) {
	docs, err := findAll(ctx, s.db.Collection(collMigrations), bson.D{}, decoded[migrationDoc], options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}))
	if err != nil {
		return nil, fmt.Errorf("mongodb: read migrations: %w", err)
	}
	return docs, nil
}
