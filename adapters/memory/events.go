package memory

import (
	"context"
	"slices"

	"orgd/core/domain"
	"orgd/ports"
)

// EventLog implements ports.EventLog.
type EventLog Store

var _ ports.EventLog = (*EventLog)(nil)

// Events returns the Store's event log.
func (s *Store) Events() *EventLog { return (*EventLog)(s) }

// place addresses one place of one stream.
type place struct {
	stream string
	pos    int64
}

// Head implements ports.EventLog.
func (l *EventLog) Head(context.Context) (domain.LogHead, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := l.head
	if h.Last != nil {
		e := cloneEvent(*h.Last)
		h.Last = &e
	}
	return h, nil
}

// PutHead implements ports.EventLog.
func (l *EventLog) PutHead(_ context.Context, head domain.LogHead, expected int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.head.Version != expected {
		return domain.ErrStale
	}
	if head.Last != nil {
		e := cloneEvent(*head.Last)
		head.Last = &e
	}
	head.Version = expected + 1
	l.head = head
	return nil
}

// Put implements ports.EventLog.
func (l *EventLog) Put(_ context.Context, stream string, pos int64, e domain.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return insert(l.events, place{stream, pos}, cloneEvent(e), func(domain.Event) bool { return false }, domain.ErrStale)
}

// Get implements ports.EventLog.
func (l *EventLog) Get(_ context.Context, stream string, pos int64) (domain.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, err := get(l.events, place{stream, pos}, domain.ErrEventNotFound)
	return cloneEvent(e), err
}

// Drop implements ports.EventLog.
func (l *EventLog) Drop(_ context.Context, stream string, pos int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.events, place{stream, pos})
	return nil
}

// PutChunk implements ports.EventLog.
func (l *EventLog) PutChunk(_ context.Context, stream string, k int64, events []domain.Event) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return insert(l.chunks, place{stream, k}, cloneEvents(events), func([]domain.Event) bool { return false }, domain.ErrStale)
}

// Chunk implements ports.EventLog.
func (l *EventLog) Chunk(_ context.Context, stream string, k int64) ([]domain.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, err := get(l.chunks, place{stream, k}, domain.ErrEventNotFound)
	return cloneEvents(c), err
}

// DropChunk implements ports.EventLog.
func (l *EventLog) DropChunk(_ context.Context, stream string, k int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.chunks, place{stream, k})
	return nil
}

// First implements ports.EventLog.
func (l *EventLog) First(_ context.Context, stream string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.firsts[stream], nil
}

// SetFirst implements ports.EventLog.
func (l *EventLog) SetFirst(_ context.Context, stream string, first int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.firsts[stream] = max(l.firsts[stream], first)
	return nil
}

func cloneEvent(e domain.Event) domain.Event {
	e.Data = slices.Clone(e.Data)
	return e
}

func cloneEvents(events []domain.Event) []domain.Event {
	if events == nil {
		return nil
	}
	out := slices.Clone(events)
	for i := range out {
		out[i] = cloneEvent(out[i])
	}
	return out
}
