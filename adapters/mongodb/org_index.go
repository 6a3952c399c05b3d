package mongodb

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// orgIndex is the ids of every organization, in order, kept in memory by
// the one process that writes an embedded store: there a range over _id
// is a scan of the whole collection (the store runs only an _id equality
// through SQLite's index), so keyset paging walks this instead and reads
// each organization by _id. It is loaded by one scan of the
// organizations' ids, once per start, in the background from the
// server's start (Store.Preload) so that the first keyset page seldom
// waits for it (8.7 s at 100,000 organizations on two cores: the store
// decodes every document it scans), and kept by this process's own
// inserts and deletes, the only writes the store gets. A store shared by
// replicas has none: its _id index serves the range itself.
type orgIndex struct {
	orgs *mongo.Collection

	mu      sync.Mutex
	ids     []bson.ObjectID // sorted, once loaded
	loaded  bool
	loading chan struct{} // closed when a load in progress ends
	// journal is what this process inserted and deleted while a load
	// scanned (the scan may or may not have seen each), applied after it.
	journal []indexChange
}

// indexChange is one insert (add) or delete recorded during a load.
type indexChange struct {
	id  bson.ObjectID
	add bool
}

func compareOID(a, b bson.ObjectID) int { return bytes.Compare(a[:], b[:]) }

// load reads every organization's id, once; a load already under way is
// waited for. Inserts and deletes are not held up by it: they are
// journaled, and applied once the scan is in.
func (x *orgIndex) load(ctx context.Context) error {
	x.mu.Lock()
	for x.loading != nil {
		done := x.loading
		x.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return ctx.Err()
		}
		x.mu.Lock()
	}
	if x.loaded {
		x.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	x.loading, x.journal = done, nil
	x.mu.Unlock()

	type idDoc struct {
		ID bson.ObjectID `bson:"_id"`
	}
	docs, err := findAll(ctx, x.orgs, bson.D{}, decoded[idDoc], options.Find().SetProjection(bson.D{{Key: "_id", Value: 1}}))

	x.mu.Lock()
	defer x.mu.Unlock()
	defer close(done)
	x.loading = nil
	if err != nil {
		return fmt.Errorf("organization index: %w", err)
	}
	ids := make([]bson.ObjectID, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	slices.SortFunc(ids, compareOID)
	x.ids, x.loaded = slices.Compact(ids), true
	for _, c := range x.journal {
		x.apply(c)
	}
	x.journal = nil
	return nil
}

// apply records an insert or a delete in the loaded index.
func (x *orgIndex) apply(c indexChange) {
	i, found := slices.BinarySearchFunc(x.ids, c.id, compareOID)
	switch {
	case c.add && !found:
		x.ids = slices.Insert(x.ids, i, c.id)
	case !c.add && found:
		x.ids = slices.Delete(x.ids, i, i+1)
	}
}

// after returns up to n ids after id, in order.
func (x *orgIndex) after(ctx context.Context, id bson.ObjectID, n int) ([]bson.ObjectID, error) {
	if err := x.load(ctx); err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	i, found := slices.BinarySearchFunc(x.ids, id, compareOID)
	if found {
		i++
	}
	return slices.Clone(x.ids[i:min(i+n, len(x.ids))]), nil
}

// changed records an organization inserted (add) or deleted by this
// process: in the index once loaded, in the journal while loading; before
// a load, the load reads the store as it is.
func (x *orgIndex) changed(id bson.ObjectID, add bool) {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch {
	case x.loaded:
		x.apply(indexChange{id, add})
	case x.loading != nil:
		x.journal = append(x.journal, indexChange{id, add})
	}
}
