package mongodb

import (
	"context"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// webhooksUndoable says why the webhook endpoints cannot be taken away:
// an operation on one is in flight, which the orgd before them cannot
// finish.
func webhooksUndoable(ctx context.Context, s *Store) error {
	orgs, err := findAll(ctx, s.db.Collection(collOrgs), bson.D{{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}}, decoded[orgDoc])
	if err != nil {
		return err
	}
	for _, o := range orgs {
		if o.Pending != nil && strings.HasPrefix(o.Pending.Op, "webhook_") {
			return fmt.Errorf("organization %q has a webhook operation in flight (%s): run orgd recover first", o.Name, o.Pending.Op)
		}
	}
	return nil
}

// dropWebhooks removes every endpoint and the organizations' lists of
// them. Their events stay in the event log, as events of any type the
// orgd before does not know.
func dropWebhooks(ctx context.Context, s *Store) error {
	if _, err := s.db.Collection(collOrgs).UpdateMany(ctx, bson.D{{Key: "webhooks", Value: bson.D{{Key: "$exists", Value: true}}}},
		bson.D{{Key: "$unset", Value: bson.D{{Key: "webhooks", Value: ""}}}}); err != nil {
		return fmt.Errorf("organizations: %w", translate(err))
	}
	if err := s.db.Collection(collHooks).Drop(ctx); err != nil && !hasCode(err, codeNamespaceNotFound) {
		return fmt.Errorf("drop %s: %w", collHooks, translate(err))
	}
	return nil
}
