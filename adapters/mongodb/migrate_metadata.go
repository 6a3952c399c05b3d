package mongodb

import (
	"context"
	"fmt"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// metadataUndoable says why the organizations' metadata and external ids
// cannot be taken away: some organization has some (the orgd before
// them would drop them unseen).
func metadataUndoable(ctx context.Context, s *Store) error {
	n, err := s.db.Collection(collOrgs).CountDocuments(ctx, bson.D{{Key: "$or", Value: bson.A{
		bson.D{{Key: "public_metadata", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "private_metadata", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "external_id", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "suspended", Value: bson.D{{Key: "$exists", Value: true}}}},
	}}})
	if err != nil {
		return fmt.Errorf("organizations: %w", translate(err))
	}
	if n > 0 {
		return fmt.Errorf("%d organizations have metadata or an external id, or are deactivated, which the orgd before this migration does not know: remove them, or activate them, first", n)
	}
	return nil
}

// dropExternalIDs removes the external ids' claims (no organization has
// one: metadataUndoable).
func dropExternalIDs(ctx context.Context, s *Store) error {
	if err := s.db.Collection(collExtIDs).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("drop %s: %w", collExtIDs, translate(err))
	}
	return nil
}
