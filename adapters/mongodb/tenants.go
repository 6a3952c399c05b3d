package mongodb

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.TenantStore = (*Tenants)(nil)

// Tenants implements ports.TenantStore: one collection per organization in
// the master database.
type Tenants struct {
	client *mongo.Client
	db     *mongo.Database
}

// Create implements ports.TenantStore.
func (t *Tenants) Create(ctx context.Context, name string) error {
	if err := createCollection(ctx, t.db, name); err != nil {
		return fmt.Errorf("create collection %s: %w", name, err)
	}
	return nil
}

// Rename implements ports.TenantStore with the server's renameCollection:
// one atomic namespace change, however many documents the collection has.
func (t *Tenants) Rename(ctx context.Context, from, to string) error {
	db := t.db.Name()
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
func (t *Tenants) Drop(ctx context.Context, name string) error {
	if err := t.db.Collection(name).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("drop collection %s: %w", name, translate(err))
	}
	return nil
}

// Exists implements ports.TenantStore.
func (t *Tenants) Exists(ctx context.Context, name string) (bool, error) {
	names, err := t.db.ListCollectionNames(ctx, bson.D{{Key: "name", Value: name}})
	if err != nil {
		return false, fmt.Errorf("list collections: %w", translate(err))
	}
	return len(names) > 0, nil
}

// Seed inserts n documents into a collection (for tests and benchmarks).
func (t *Tenants) Seed(ctx context.Context, name string, n int) error {
	const batch = 1000
	docs := make([]any, 0, batch)
	for i := range n {
		docs = append(docs, bson.D{{Key: "seq", Value: i}, {Key: "payload", Value: "document"}})
		if len(docs) == batch || i == n-1 {
			if _, err := t.db.Collection(name).InsertMany(ctx, docs); err != nil {
				return translate(err)
			}
			docs = docs[:0]
		}
	}
	return nil
}

// Count returns the number of documents in a collection.
func (t *Tenants) Count(ctx context.Context, name string) (int64, error) {
	ok, err := t.Exists(ctx, name)
	if err != nil {
		return 0, err
	}
	if !ok {
		return 0, domain.ErrCollectionNotFound
	}
	n, err := t.db.Collection(name).CountDocuments(ctx, bson.D{})
	return n, translate(err)
}

// List returns the names of all tenant collections, sorted.
func (t *Tenants) List(ctx context.Context) ([]string, error) {
	names, err := t.db.ListCollectionNames(ctx, bson.D{})
	if err != nil {
		return nil, translate(err)
	}
	out := names[:0]
	for _, n := range names {
		if strings.HasPrefix(n, domain.CollectionPrefix) {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out, nil
}
