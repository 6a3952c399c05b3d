package mongodb

import (
	"context"

	"go.mongodb.org/mongo-driver/v2/event"
)

// ReportFailure hands a failed command to the store's monitor, as the
// driver does when the server answers with an error.
func (s *Store) ReportFailure(ctx context.Context, command string, failure error) {
	s.monitor.Failed(ctx, &event.CommandFailedEvent{CommandFinishedEvent: event.CommandFinishedEvent{CommandName: command}, Failure: failure})
}
