package memory

import (
	"context"
	"sync"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// maxThrottleKeys bounds the memory one process spends on failure records.
const maxThrottleKeys = 100_000

// LoginThrottle implements ports.LoginThrottle in one process's memory,
// with the policy of a domain.LoginBackoff.
type LoginThrottle struct {
	mu     sync.Mutex
	policy domain.LoginBackoff
	now    func() time.Time
	keys   map[string]*failures
}

type failures struct {
	count int
	last  time.Time
	until time.Time
}

var _ ports.LoginThrottle = (*LoginThrottle)(nil)

// NewLoginThrottle returns a LoginThrottle; now is time.Now when nil.
func NewLoginThrottle(p domain.LoginBackoff, now func() time.Time) *LoginThrottle {
	if now == nil {
		now = time.Now
	}
	return &LoginThrottle{policy: p, now: now, keys: map[string]*failures{}}
}

// Wait implements ports.LoginThrottle.
func (l *LoginThrottle) Wait(_ context.Context, key string) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.keys[key]
	if !ok {
		return 0, nil
	}
	now := l.now()
	if now.Sub(f.last) > l.policy.Forget {
		delete(l.keys, key)
		return 0, nil
	}
	if now.Before(f.until) {
		return f.until.Sub(now), nil
	}
	return 0, nil
}

// Failed implements ports.LoginThrottle.
func (l *LoginThrottle) Failed(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	f, ok := l.keys[key]
	if !ok || now.Sub(f.last) > l.policy.Forget {
		if len(l.keys) >= maxThrottleKeys {
			l.evict(now)
		}
		f = &failures{}
		l.keys[key] = f
	}
	f.count++
	f.last = now
	f.until = now.Add(l.policy.Delay(f.count))
	return nil
}

// Succeeded implements ports.LoginThrottle.
func (l *LoginThrottle) Succeeded(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.keys, key)
	return nil
}

// evict drops forgotten records, or, if none are, the whole table: losing
// failure counts is better than growing without bound under a flood.
func (l *LoginThrottle) evict(now time.Time) {
	for k, f := range l.keys {
		if now.Sub(f.last) > l.policy.Forget {
			delete(l.keys, k)
		}
	}
	if len(l.keys) >= maxThrottleKeys {
		clear(l.keys)
	}
}
