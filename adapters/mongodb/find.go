package mongodb

import (
	"context"
	"errors"
	"fmt"

	"orgd/core/domain"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// findAll reads every document of c that matches filter, as D, and returns
// each converted by conv: the one cursor loop of the adapter's listings.
func findAll[D, T any](ctx context.Context, c *mongo.Collection, filter bson.D, conv func(D) T, opts ...options.Lister[options.FindOptions]) ([]T, error) {
	cur, err := c.Find(ctx, filter, opts...)
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", c.Name(), translate(err))
	}
	var docs []D
	if err := cur.All(ctx, &docs); err != nil {
		return nil, fmt.Errorf("find %s: %w", c.Name(), translate(err))
	}
	out := make([]T, len(docs))
	for i, d := range docs {
		out[i] = conv(d)
	}
	return out, nil
}

// findByID reads the document with _id id, as D, and returns it converted
// by conv; notFound if there is none (nil: the zero T and no error).
func findByID[D, T any](ctx context.Context, c *mongo.Collection, id any, notFound error, conv func(D) T) (T, error) {
	var d D
	err := c.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		var zero T
		return zero, notFound
	}
	if err != nil {
		var zero T
		return zero, fmt.Errorf("find %s %v: %w", c.Name(), id, translate(err))
	}
	return conv(d), nil
}

// findByOID is findByID for a document keyed by a domain ID; an ID that is
// not an ObjectID's is notFound too.
func findByOID[D, T any](ctx context.Context, c *mongo.Collection, id domain.ID, notFound error, conv func(D) T) (T, error) {
	o, ok := oid(id)
	if !ok {
		var zero T
		return zero, notFound
	}
	return findByID(ctx, c, o, notFound, conv)
}

// decoded is findAll's conversion for documents wanted as decoded.
func decoded[D any](d D) D { return d }
