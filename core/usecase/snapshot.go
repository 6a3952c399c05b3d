package usecase

import (
	"context"
	"io"

	"orgd/core/domain"
)

// Snapshot writes a point-in-time snapshot of the whole store to the
// writer open returns, which it calls only once the super admin is
// authorized and the store can take one.
func (s *Service) Snapshot(ctx context.Context, p domain.Principal, open func() io.Writer) error {
	if !p.Super {
		return domain.ErrSuperAdminOnly
	}
	if s.snaps == nil {
		return domain.ErrNoSnapshots
	}
	return s.snaps.Snapshot(ctx, &lazyWriter{open: open})
}

// lazyWriter opens its destination at the first write, so that a snapshot
// refused before its first byte (one already running) is still an error
// answer.
type lazyWriter struct {
	open func() io.Writer
	w    io.Writer
}

func (l *lazyWriter) Write(b []byte) (int, error) {
	if l.w == nil {
		l.w = l.open()
	}
	return l.w.Write(b)
}
