package memory

import (
	"context"
	"sync"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// maxAttemptKeys bounds the memory one process spends on attempt records.
const maxAttemptKeys = 100_000

// LoginAttempts implements ports.LoginAttempts in one process's memory.
type LoginAttempts struct {
	mu   sync.Mutex
	recs map[string]attemptRecord
}

type attemptRecord struct {
	domain.AttemptRecord
	expires time.Time
}

var _ ports.LoginAttempts = (*LoginAttempts)(nil)

// NewLoginAttempts returns an empty LoginAttempts.
func NewLoginAttempts() *LoginAttempts { return &LoginAttempts{recs: map[string]attemptRecord{}} }

// Admit implements ports.LoginAttempts.
func (l *LoginAttempts) Admit(_ context.Context, keys []string, now time.Time, keep time.Duration, decide func([]domain.AttemptRecord) time.Duration) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := make([]domain.AttemptRecord, len(keys))
	for i, k := range keys {
		if r, ok := l.recs[k]; ok && now.Before(r.expires) {
			recs[i] = r.AttemptRecord
		}
	}
	wait := decide(recs)
	if wait > 0 {
		return wait, nil
	}
	if len(l.recs)+len(keys) > maxAttemptKeys {
		l.evict(now)
	}
	for i, k := range keys {
		l.recs[k] = attemptRecord{domain.AttemptRecord{Failures: recs[i].Failures + 1, Last: now}, now.Add(keep)}
	}
	return 0, nil
}

// Forget implements ports.LoginAttempts.
func (l *LoginAttempts) Forget(_ context.Context, keys ...string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		delete(l.recs, k)
	}
	return nil
}

// evict drops expired records, or, if none are, the whole table: losing
// failure counts is better than growing without bound under a flood.
func (l *LoginAttempts) evict(now time.Time) {
	for k, r := range l.recs {
		if !now.Before(r.expires) {
			delete(l.recs, k)
		}
	}
	if len(l.recs) >= maxAttemptKeys {
		clear(l.recs)
	}
}
