package embedded

import (
	"context"
	"time"
)

// Freeze takes the snapshot's instant and lets it go at once, and returns
// how long the store's writers waited.
func (e *Server) Freeze(ctx context.Context) (files int, pause time.Duration, err error) {
	views, _, err := e.freeze(ctx)
	closeAll(views)
	return len(views), time.Duration(e.lastPause.Load()), err
}
