package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.IdempotencyKeys = (*IdempotencyKeys)(nil)

// IdempotencyKeys implements ports.IdempotencyKeys on the
// idempotency_keys collection: one document per key (_id the key's
// digest), read and written by _id.
type IdempotencyKeys struct {
	c   *mongo.Collection
	cas *cas
}

type idempotencyDoc struct {
	ID          string            `bson:"_id"`
	Fingerprint string            `bson:"fingerprint"`
	Done        bool              `bson:"done"`
	LeaseUntil  *time.Time        `bson:"lease_until,omitempty"`
	OrgID       bson.ObjectID     `bson:"org_id"`
	OpID        bson.ObjectID     `bson:"op_id"`
	AdminID     bson.ObjectID     `bson:"admin_id"`
	Status      int               `bson:"status,omitempty"`
	Body        []byte            `bson:"body,omitempty"`
	Header      map[string]string `bson:"header,omitempty"`
	Sealed      bool              `bson:"sealed,omitempty"`
	CreatedAt   time.Time         `bson:"created_at"`
	ExpiresAt   time.Time         `bson:"expires_at"`
	Version     int64             `bson:"version"`
}

func toIdempotencyDoc(r domain.IdempotencyRecord) (idempotencyDoc, error) {
	var c ids
	d := idempotencyDoc{
		ID: r.Key, Fingerprint: r.Fingerprint, Done: r.Done, LeaseUntil: optTime(r.LeaseUntil),
		OrgID: c.oid(r.OrgID), OpID: c.oid(r.OpID), AdminID: c.oid(r.AdminID),
		Status: r.Status, Body: r.Body, Header: r.Header, Sealed: r.Sealed, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, Version: r.Version,
	}
	if c.err != nil {
		return d, fmt.Errorf("idempotency record: %w", c.err)
	}
	return d, nil
}

func (d idempotencyDoc) toDomain() domain.IdempotencyRecord {
	return domain.IdempotencyRecord{
		Key: d.ID, Fingerprint: d.Fingerprint, Done: d.Done, LeaseUntil: fromOptTime(d.LeaseUntil),
		OrgID: domain.ID(d.OrgID.Hex()), OpID: domain.ID(d.OpID.Hex()), AdminID: domain.ID(d.AdminID.Hex()),
		Status: d.Status, Body: d.Body, Header: d.Header, Sealed: d.Sealed, CreatedAt: d.CreatedAt.UTC(), ExpiresAt: d.ExpiresAt.UTC(), Version: d.Version,
	}
}

// Insert implements ports.IdempotencyKeys.
func (r *IdempotencyKeys) Insert(ctx context.Context, rec domain.IdempotencyRecord) error {
	d, err := toIdempotencyDoc(rec)
	if err != nil {
		return err
	}
	if _, err := r.c.InsertOne(ctx, d); isDuplicate(err) {
		return domain.ErrIdempotencyRecordExists
	} else if err != nil {
		return fmt.Errorf("insert idempotency record: %w", translate(err))
	}
	return nil
}

// Get implements ports.IdempotencyKeys.
func (r *IdempotencyKeys) Get(ctx context.Context, key string) (domain.IdempotencyRecord, error) {
	return findByID(ctx, r.c, key, domain.ErrIdempotencyRecordNotFound, idempotencyDoc.toDomain)
}

// Replace implements ports.IdempotencyKeys: compare-and-set on the
// version.
func (r *IdempotencyKeys) Replace(ctx context.Context, rec domain.IdempotencyRecord, expected int64) error {
	d, err := toIdempotencyDoc(rec)
	if err != nil {
		return err
	}
	defer r.cas.lock(d.ID)()
	ok, err := r.cas.replaceAt(ctx, r.c, d.ID, expected, d)
	if err != nil {
		return fmt.Errorf("replace idempotency record: %w", translate(err))
	}
	if !ok {
		return domain.ErrStale
	}
	return nil
}

// Purge implements ports.IdempotencyKeys: the records expired are found
// by their expiry (indexed on MongoDB; the embedded store scans its few),
// then removed by _id, each only if it is still expired.
func (r *IdempotencyKeys) Purge(ctx context.Context, before time.Time, limit int) (int, error) {
	expired := bson.D{{Key: "expires_at", Value: bson.D{{Key: "$lt", Value: before}}}}
	docs, err := findAll(ctx, r.c, expired, decoded[idempotencyDoc], options.Find().SetLimit(int64(limit)).SetProjection(bson.D{{Key: "_id", Value: 1}, {Key: "expires_at", Value: 1}, {Key: "version", Value: 1}}))
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range docs {
		unlock := r.cas.lock(d.ID)
		ok, err := r.cas.write(ctx, r.c, d.ID, bson.D{{Key: "version", Value: d.Version}}, func(filter bson.D) (int64, error) {
			res, err := r.c.DeleteOne(ctx, filter)
			if err != nil {
				return 0, err
			}
			return res.DeletedCount, nil
		})
		unlock()
		if err != nil {
			return n, fmt.Errorf("purge idempotency record: %w", translate(err))
		}
		if ok {
			n++
		}
	}
	return n, nil
}
