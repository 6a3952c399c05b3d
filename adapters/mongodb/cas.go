package mongodb

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"reflect"
	"sync"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// cas makes a write to one document conditional on the document's current
// fields, as one compare-and-set.
//
// MongoDB applies an update's or delete's filter and its write atomically,
// so there the condition simply joins _id in the filter. The embedded store
// (FerretDB v1) does not: it queries with the filter, then writes by _id,
// so two concurrent conditional writes can both match and both apply; and
// it pushes down to SQLite (and so indexes) only a filter that is exactly
// {_id}. On it, the write is instead serialized per document in this
// process, the condition is checked on a read by _id, and the write
// filters on _id alone. That is sound because only this process writes the
// embedded store (its data directory is locked to it).
type cas struct {
	single bool
	seed   maphash.Seed
	// stripes serialize conditional writes per document (single only).
	stripes [64]sync.Mutex
}

func (s *Store) newCAS() *cas { return &cas{single: s.singleWriter, seed: maphash.MakeSeed()} }

// lock serializes, within this process, the conditional writes to the
// document with _id id, and returns the unlock; on a shared store it does
// nothing (the server applies each filter atomically).
func (c *cas) lock(id any) func() {
	if !c.single {
		return func() {}
	}
	m := &c.stripes[maphash.String(c.seed, fmt.Sprint(id))%uint64(len(c.stripes))]
	m.Lock()
	return m.Unlock
}

// replaceAt replaces the document with _id id by d if its version is
// expected, and reports whether it did. The caller holds lock(id).
func (c *cas) replaceAt(ctx context.Context, coll *mongo.Collection, id any, expected int64, d any) (bool, error) {
	return c.write(ctx, coll, id, bson.D{{Key: "version", Value: expected}}, func(filter bson.D) (int64, error) {
		res, err := coll.ReplaceOne(ctx, filter, d)
		if err != nil {
			return 0, err
		}
		return res.MatchedCount, nil
	})
}

// write calls do with a filter that matches the document with _id id only
// while every field in cond has the given value (a nil value: the field is
// absent). It reports whether do's write matched; do returns the number of
// documents it matched. The caller holds lock(id).
func (c *cas) write(ctx context.Context, coll *mongo.Collection, id any, cond bson.D, do func(filter bson.D) (int64, error)) (bool, error) {
	byID := bson.D{{Key: "_id", Value: id}}
	if !c.single {
		n, err := do(append(byID, cond...))
		return n > 0, err
	}
	proj := bson.D{}
	for _, e := range cond {
		proj = append(proj, bson.E{Key: e.Key, Value: 1})
	}
	var cur bson.M
	err := coll.FindOne(ctx, byID, options.FindOne().SetProjection(proj)).Decode(&cur)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, e := range cond {
		if !reflect.DeepEqual(cur[e.Key], e.Value) {
			return false, nil
		}
	}
	n, err := do(byID)
	return n > 0, err
}
