package ratelimit

import (
	"context"
	"sync"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// maxAttemptKeys bounds the memory one process spends on attempt records.
const maxAttemptKeys = 100_000

// LocalLoginAttempts implements ports.LoginAttempts in this process's
// memory: on one node, and while a shared Redis does not answer.
type LocalLoginAttempts struct {
	mu   sync.Mutex
	recs map[string]attemptRecord
}

type attemptRecord struct {
	domain.AttemptRecord
	expires time.Time
}

var _ ports.LoginAttempts = (*LocalLoginAttempts)(nil)

// NewLocalLoginAttempts returns an empty LocalLoginAttempts.
func NewLocalLoginAttempts() *LocalLoginAttempts {
	return &LocalLoginAttempts{recs: map[string]attemptRecord{}}
}

// Begin implements ports.LoginAttempts.
func (l *LocalLoginAttempts) Begin(_ context.Context, keys []string, now time.Time, keep time.Duration, decide func([]domain.AttemptRecord) domain.Admission) (domain.Admission, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	recs := l.read(keys, now)
	adm := decide(recs)
	if !adm.Admitted() {
		return adm, nil
	}
	for i, k := range keys {
		r := recs[i]
		if !now.Before(r.InFlightUntil) {
			r.InFlight = 0
		}
		r.InFlight++
		r.InFlightUntil = now.Add(domain.InFlightFor)
		l.write(k, r, now, keep)
	}
	return adm, nil
}

// End implements ports.LoginAttempts.
func (l *LocalLoginAttempts) End(_ context.Context, ends []ports.AttemptEnd, now time.Time, keep time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range ends {
		r := l.read([]string{e.Key}, now)[0]
		r.InFlight = max(r.InFlight-1, 0)
		switch {
		case e.Failed:
			r.Failures, r.Last = r.Failures+1, now
		case e.Forget:
			r.Failures = 0
		}
		l.write(e.Key, r, now, keep)
	}
	return nil
}

// read returns the records of keys as they stand at now.
func (l *LocalLoginAttempts) read(keys []string, now time.Time) []domain.AttemptRecord {
	recs := make([]domain.AttemptRecord, len(keys))
	for i, k := range keys {
		if r, ok := l.recs[k]; ok && now.Before(r.expires) {
			recs[i] = r.AttemptRecord
		}
	}
	return recs
}

func (l *LocalLoginAttempts) write(key string, r domain.AttemptRecord, now time.Time, keep time.Duration) {
	if _, ok := l.recs[key]; !ok && len(l.recs) >= maxAttemptKeys {
		l.evict(now)
	}
	l.recs[key] = attemptRecord{r, now.Add(keep)}
}

// evict drops expired records, or, if none are, the whole table: losing
// failure counts is better than growing without bound under a flood.
func (l *LocalLoginAttempts) evict(now time.Time) {
	for k, r := range l.recs {
		if !now.Before(r.expires) {
			delete(l.recs, k)
		}
	}
	if len(l.recs) >= maxAttemptKeys {
		clear(l.recs)
	}
}
