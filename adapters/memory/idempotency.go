package memory

import (
	"context"
	"slices"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// IdempotencyKeys implements ports.IdempotencyKeys.
type IdempotencyKeys Store

var _ ports.IdempotencyKeys = (*IdempotencyKeys)(nil)

// IdempotencyKeys returns the Store's Idempotency-Key records.
func (s *Store) IdempotencyKeys() *IdempotencyKeys { return (*IdempotencyKeys)(s) }

func cloneRecord(r domain.IdempotencyRecord) domain.IdempotencyRecord {
	r.Body = slices.Clone(r.Body)
	return r
}

// Insert implements ports.IdempotencyKeys.
func (r *IdempotencyKeys) Insert(_ context.Context, rec domain.IdempotencyRecord) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return insert(r.idem, rec.Key, cloneRecord(rec), func(domain.IdempotencyRecord) bool { return false }, domain.ErrIdempotencyRecordExists)
}

// Get implements ports.IdempotencyKeys.
func (r *IdempotencyKeys) Get(_ context.Context, key string) (domain.IdempotencyRecord, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	rec, err := get(r.idem, key, domain.ErrIdempotencyRecordNotFound)
	return cloneRecord(rec), err
}

// Replace implements ports.IdempotencyKeys.
func (r *IdempotencyKeys) Replace(_ context.Context, rec domain.IdempotencyRecord, expected int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.idem[rec.Key]
	if !ok || cur.Version != expected {
		return domain.ErrStale
	}
	r.idem[rec.Key] = cloneRecord(rec)
	return nil
}

// Purge implements ports.IdempotencyKeys.
func (r *IdempotencyKeys) Purge(_ context.Context, before time.Time, limit int) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for k, rec := range r.idem {
		if n == limit {
			break
		}
		if rec.ExpiresAt.Before(before) {
			delete(r.idem, k)
			n++
		}
	}
	return n, nil
}
