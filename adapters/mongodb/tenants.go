package mongodb

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
	"orgd/ports"
)

var (
	_ ports.TenantStore     = (*Tenants)(nil)
	_ ports.TenantInventory = (*Tenants)(nil)
)

// Tenants implements ports.TenantStore: one collection per organization,
// in the tenant database its ID selects.
type Tenants struct {
	client   *mongo.Client
	master   string
	embedded Embedded
}

// TenantDatabaseName is the name of tenant database i (0 to
// TenantDatabases-1) of master database master.
func TenantDatabaseName(master string, i int) string { return fmt.Sprintf("%s_t%02d", master, i) }

// TenantDatabase returns the name of the database holding org's collection
// under master database master; with an empty master, its suffix alone
// (t00 … t31), which the organization's document records as tenant_db.
func TenantDatabase(master string, org domain.ID) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(org))
	name := TenantDatabaseName(master, int(h.Sum32()%TenantDatabases))
	if master == "" {
		return name[1:]
	}
	return name
}

func (t *Tenants) db(org domain.ID) *mongo.Database {
	return t.client.Database(TenantDatabase(t.master, org))
}

// Create implements ports.TenantStore. On the embedded store it also
// indexes the new collection's _id, so lookups by _id in it (from any
// client) are searches, not scans.
func (t *Tenants) Create(ctx context.Context, org domain.ID, name string) error {
	db := t.db(org)
	err := createCollection(ctx, db, name)
	if err != nil && t.embedded != nil && strings.Contains(err.Error(), "already exists") {
		// An earlier create of it died between its two statements (a full
		// disk, say): clear the table it left, and try again.
		if dropped, derr := t.embedded.DropOrphanTable(ctx, db.Name(), name); derr == nil && dropped {
			err = createCollection(ctx, db, name)
		}
	}
	if err != nil {
		return fmt.Errorf("create collection %s: %w", name, err)
	}
	if t.embedded != nil {
		if err := t.embedded.IndexCollection(ctx, db.Name(), name); err != nil {
			return fmt.Errorf("index collection %s: %w", name, err)
		}
	}
	return nil
}

// Rename implements ports.TenantStore with the server's renameCollection
// within the organization's database: one atomic namespace change, however
// many documents the collection has.
func (t *Tenants) Rename(ctx context.Context, org domain.ID, from, to string) error {
	return t.renameIn(ctx, t.db(org).Name(), from, to)
}

func (t *Tenants) renameIn(ctx context.Context, db, from, to string) error {
	err := t.client.Database("admin").RunCommand(ctx, bson.D{
		{Key: "renameCollection", Value: db + "." + from},
		{Key: "to", Value: db + "." + to},
	}).Err()
	if hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("rename collection %s: %w", from, domain.ErrCollectionNotFound)
	}
	if err != nil {
		return fmt.Errorf("rename collection %s to %s: %w", from, to, translate(err))
	}
	return nil
}

// Drop implements ports.TenantStore.
func (t *Tenants) Drop(ctx context.Context, org domain.ID, name string) error {
	if err := t.db(org).Collection(name).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("drop collection %s: %w", name, translate(err))
	}
	return nil
}

// Exists implements ports.TenantStore.
func (t *Tenants) Exists(ctx context.Context, org domain.ID, name string) (bool, error) {
	return collectionExists(ctx, t.db(org), name)
}

// Place implements ports.TenantStore: the tenant database org's
// collection lives in.
func (t *Tenants) Place(org domain.ID) string { return TenantDatabase(t.master, org) }

func collectionExists(ctx context.Context, db *mongo.Database, name string) (bool, error) {
	names, err := db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: name}})
	if err != nil {
		return false, fmt.Errorf("list collections: %w", translate(err))
	}
	return len(names) > 0, nil
}

// Collection returns the handle of org's collection name, in the tenant
// database it lives in (for tests, benchmarks and tools that fill or read a
// tenant's documents).
func (t *Tenants) Collection(org domain.ID, name string) *mongo.Collection {
	return t.db(org).Collection(name)
}

// Collections implements ports.TenantInventory: one listCollections per
// tenant database.
func (t *Tenants) Collections(ctx context.Context) ([]domain.TenantCollection, error) {
	var out []domain.TenantCollection
	for i := range TenantDatabases {
		db := TenantDatabaseName(t.master, i)
		names, err := t.client.Database(db).ListCollectionNames(ctx, bson.D{})
		if err != nil {
			return nil, fmt.Errorf("list collections of %s: %w", db, translate(err))
		}
		for _, n := range names {
			if strings.HasPrefix(n, domain.CollectionPrefix) {
				out = append(out, domain.TenantCollection{Place: db, Name: n})
			}
		}
	}
	return out, nil
}

// inPlace checks that place is one of the tenant databases, so the
// inventory's moves and drops can never reach the master database.
func (t *Tenants) inPlace(place string) (*mongo.Database, error) {
	for i := range TenantDatabases {
		if TenantDatabaseName(t.master, i) == place {
			return t.client.Database(place), nil
		}
	}
	return nil, fmt.Errorf("%q is not a tenant database", place)
}

// CountIn implements ports.TenantInventory.
func (t *Tenants) CountIn(ctx context.Context, place, name string) (int64, error) {
	db, err := t.inPlace(place)
	if err != nil {
		return 0, err
	}
	if ok, err := collectionExists(ctx, db, name); err != nil {
		return 0, err
	} else if !ok {
		return 0, domain.ErrCollectionNotFound
	}
	n, err := db.Collection(name).CountDocuments(ctx, bson.D{})
	return n, translate(err)
}

// MoveIn implements ports.TenantInventory.
func (t *Tenants) MoveIn(ctx context.Context, place, from, to string) error {
	if _, err := t.inPlace(place); err != nil {
		return err
	}
	return t.renameIn(ctx, place, from, to)
}

// DropIn implements ports.TenantInventory.
func (t *Tenants) DropIn(ctx context.Context, place, name string) error {
	db, err := t.inPlace(place)
	if err != nil {
		return err
	}
	if err := db.Collection(name).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("drop collection %s: %w", name, translate(err))
	}
	return nil
}
