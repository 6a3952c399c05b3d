package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// collLease holds the single-writer lease of a store that only one process
// may write (see Store.SingleWriter).
const collLease = "writer_lease"

// WriterLeaseTTL is how long a single-writer lease outlives its last
// heartbeat; holders renew it every third of that.
const WriterLeaseTTL = 15 * time.Second

// ErrStoreInUse is returned by AcquireWriterLease when another orgd holds
// the store's single-writer lease.
var ErrStoreInUse = errors.New("store is in use by another orgd")

type leaseDoc struct {
	ID        string    `bson:"_id"`
	Holder    string    `bson:"holder"`
	Heartbeat time.Time `bson:"heartbeat"`
}

// WriterLease is this process's hold on a single-writer store.
type WriterLease struct {
	s      *Store
	holder string
}

// AcquireWriterLease takes the single-writer lease of a store that only
// one process may write (the embedded store, whose conditional writes are
// not atomic across connections): the one it started itself (owner), or
// another orgd's, reached through MONGODB_URI. An owner always takes it:
// it holds the store's files, so no other process can have written since
// the store started. Anyone else takes it only if it is free, expired, or
// already its own (the same holder restarted after a crash), and gets
// ErrStoreInUse otherwise. On a store that many may write, it returns a
// nil lease and no error.
func (s *Store) AcquireWriterLease(ctx context.Context, holder string, owner bool) (*WriterLease, error) {
	if !s.singleWriter {
		return nil, nil
	}
	c := s.db.Collection(collLease)
	if !owner {
		var cur leaseDoc
		err := c.FindOne(ctx, bson.D{{Key: "_id", Value: "writer"}}).Decode(&cur)
		if err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
			return nil, fmt.Errorf("read writer lease: %w", translate(err))
		}
		if err == nil && cur.Holder != holder && time.Since(cur.Heartbeat) < WriterLeaseTTL {
			return nil, fmt.Errorf("%w (%s, alive %s ago); only one orgd may write a store that is not MongoDB",
				ErrStoreInUse, cur.Holder, time.Since(cur.Heartbeat).Round(time.Second))
		}
	}
	l := &WriterLease{s: s, holder: holder}
	return l, l.write(ctx)
}

func (l *WriterLease) write(ctx context.Context) error {
	doc := leaseDoc{ID: "writer", Holder: l.holder, Heartbeat: time.Now().UTC()}
	_, err := l.s.db.Collection(collLease).ReplaceOne(ctx, bson.D{{Key: "_id", Value: doc.ID}}, doc, options.Replace().SetUpsert(true))
	if err != nil && !isDuplicate(err) {
		return fmt.Errorf("write writer lease: %w", translate(err))
	}
	return nil
}

// Hold renews the lease every third of WriterLeaseTTL until ctx ends. If
// another process took it, it calls lost and returns: two writers must
// never go on side by side.
func (l *WriterLease) Hold(ctx context.Context, lost func(holder string)) {
	t := time.NewTicker(WriterLeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var cur leaseDoc
		err := l.s.db.Collection(collLease).FindOne(ctx, bson.D{{Key: "_id", Value: "writer"}}).Decode(&cur)
		if err == nil && cur.Holder != l.holder {
			lost(cur.Holder)
			return
		}
		_ = l.write(ctx) // a store that is down will say so elsewhere
	}
}
