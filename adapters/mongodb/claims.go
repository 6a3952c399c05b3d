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

var _ ports.ClaimRegistry = (*Claims)(nil)

// Claims implements ports.ClaimRegistry on one collection (name_claims or
// email_claims), one document per claimed key, keyed by it.
type Claims struct {
	c    *mongo.Collection
	cas  *cas
	kind domain.ClaimKind
}

type claimDoc struct {
	Key     string         `bson:"_id"`
	OrgID   *bson.ObjectID `bson:"org_id,omitempty"`
	AdminID *bson.ObjectID `bson:"admin_id,omitempty"`
	// Op is the operation that took the claim, its owner (absent on claims
	// from before operation ids, and on the super admin's).
	Op *bson.ObjectID `bson:"op,omitempty"`
	At time.Time      `bson:"at"`
}

func toClaimDoc(c domain.Claim) (claimDoc, error) {
	org, err := optOID(c.OrgID)
	if err != nil {
		return claimDoc{}, fmt.Errorf("claim %q: %w", c.Key, err)
	}
	admin, err := optOID(c.AdminID)
	if err != nil {
		return claimDoc{}, fmt.Errorf("claim %q: %w", c.Key, err)
	}
	op, err := optOID(c.Op)
	if err != nil {
		return claimDoc{}, fmt.Errorf("claim %q: %w", c.Key, err)
	}
	return claimDoc{Key: c.Key, OrgID: org, AdminID: admin, Op: op, At: c.At}, nil
}

func (d claimDoc) toDomain(kind domain.ClaimKind) domain.Claim {
	return domain.Claim{
		Kind: kind, Key: d.Key, At: d.At.UTC(),
		OrgID: fromOptOID(d.OrgID), AdminID: fromOptOID(d.AdminID), Op: fromOptOID(d.Op),
	}
}

// Reserve implements ports.ClaimRegistry.
func (r *Claims) Reserve(ctx context.Context, c domain.Claim) error {
	d, err := toClaimDoc(c)
	if err != nil {
		return err
	}
	_, err = r.c.InsertOne(ctx, d)
	if isDuplicate(err) {
		return fmt.Errorf("claim %q: %w", c.Key, domain.ErrClaimTaken)
	}
	return translate(err)
}

// Claim implements ports.ClaimRegistry.
func (r *Claims) Claim(ctx context.Context, key string) (domain.Claim, error) {
	return findByID(ctx, r.c, key, domain.ErrNoClaim, func(d claimDoc) domain.Claim { return d.toDomain(r.kind) })
}

// Release implements ports.ClaimRegistry.
func (r *Claims) Release(ctx context.Context, c domain.Claim) error {
	d, err := toClaimDoc(c)
	if err != nil {
		return nil // no such holder can hold anything
	}
	// The owner: holder and operation, each absent when empty.
	owner := bson.D{{Key: "org_id", Value: nil}, {Key: "admin_id", Value: nil}, {Key: "op", Value: nil}}
	for i, v := range []*bson.ObjectID{d.OrgID, d.AdminID, d.Op} {
		if v != nil {
			owner[i].Value = *v
		}
	}
	defer r.cas.lock(c.Key)()
	_, err = r.cas.write(ctx, r.c, c.Key, owner, func(filter bson.D) (int64, error) {
		res, err := r.c.DeleteOne(ctx, filter)
		if err != nil {
			return 0, err
		}
		return res.DeletedCount, nil
	})
	return translate(err)
}

// All implements ports.ClaimRegistry.
func (r *Claims) All(ctx context.Context) ([]domain.Claim, error) {
	return findAll(ctx, r.c, bson.D{}, func(d claimDoc) domain.Claim { return d.toDomain(r.kind) })
}

// Page implements ports.ClaimRegistry: a range over the _id index on
// MongoDB (the embedded store, whose one writer sweeps only at its start,
// filters its documents itself).
func (r *Claims) Page(ctx context.Context, after string, limit int) ([]domain.Claim, error) {
	filter := bson.D{{Key: "_id", Value: bson.D{{Key: "$gt", Value: after}}}}
	return findAll(ctx, r.c, filter, func(d claimDoc) domain.Claim { return d.toDomain(r.kind) },
		options.Find().SetSort(bson.D{{Key: "_id", Value: 1}}).SetLimit(int64(limit)))
}
