package mongodb

import (
	"context"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
)

// ReportFailure hands a failed command to the store's monitor, as the
// driver does when the server answers with an error.
func (s *Store) ReportFailure(ctx context.Context, command string, failure error) {
	s.monitor.Failed(ctx, &event.CommandFailedEvent{CommandFinishedEvent: event.CommandFinishedEvent{CommandName: command}, Failure: failure})
}

// Freeze takes the snapshot's instant and lets it go at once, and returns
// how long the store's writers waited.
func (e *Embedded) Freeze(ctx context.Context) (files int, pause time.Duration, err error) {
	views, _, err := e.freeze(ctx)
	closeAll(views)
	return len(views), time.Duration(e.lastPause.Load()), err
}
