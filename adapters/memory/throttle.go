package memory

import (
	"context"
	"sync"
	"time"

	"orgd/ports"
)

// ThrottlePolicy shapes LoginThrottle's back-off: the first Free failures
// cost nothing; after that each failure doubles the wait, from Base up to
// Max. Failures older than Forget are forgotten.
type ThrottlePolicy struct {
	Free   int
	Base   time.Duration
	Max    time.Duration
	Forget time.Duration
}

// DefaultThrottlePolicy allows 5 free failures, then 1 s, 2 s, 4 s … capped at
// 60 s; forgotten after 15 minutes without a failure. An attacker holding an
// account at the cap gets about one guess a minute, and its admin waits at
// most a minute for a try.
var DefaultThrottlePolicy = ThrottlePolicy{Free: 5, Base: time.Second, Max: time.Minute, Forget: 15 * time.Minute}

// maxThrottleKeys bounds the memory one process spends on failure records.
const maxThrottleKeys = 100_000

// LoginThrottle implements ports.LoginThrottle in one process's memory.
type LoginThrottle struct {
	mu     sync.Mutex
	policy ThrottlePolicy
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
func NewLoginThrottle(p ThrottlePolicy, now func() time.Time) *LoginThrottle {
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
	if extra := f.count - l.policy.Free; extra > 0 {
		wait := l.policy.Max
		if extra <= 30 {
			wait = min(l.policy.Base<<(extra-1), l.policy.Max)
		}
		f.until = now.Add(wait)
	}
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
