package mongodb

import (
	"context"
	"fmt"

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

// decoded is findAll's conversion for documents wanted as decoded.
func decoded[D any](d D) D { return d }
