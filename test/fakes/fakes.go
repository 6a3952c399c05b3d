// Package fakes has small test doubles for the core's ports that carry no
// storage: a hand-moved clock, a cheap password hasher and failpoints.
package fakes

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// Clock is a ports.Clock that only moves when told.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

var _ ports.Clock = (*Clock)(nil)

// NewClock returns a Clock set to t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now implements ports.Clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Hasher is a fast, insecure ports.PasswordHasher for tests of everything
// but hashing.
type Hasher struct{}

var _ ports.PasswordHasher = Hasher{}

// Hash implements ports.PasswordHasher.
func (Hasher) Hash(_ context.Context, pw domain.Password) (string, error) {
	return "plain$" + string(pw), nil
}

// Verify implements ports.PasswordHasher.
func (Hasher) Verify(_ context.Context, encoded string, pw domain.Password) (bool, error) {
	rest, ok := strings.CutPrefix(encoded, "plain$")
	if !ok {
		return false, errors.New("malformed hash")
	}
	return rest == string(pw), nil
}

// ErrCrash is what a fired failpoint returns: the operation stops there
// as if its process had died.
var ErrCrash = errors.New("injected crash")

// Failpoints is a ports.Failpoints that crashes at one point, once, and
// can run an action at any point first.
type Failpoints struct {
	mu      sync.Mutex
	crashAt string
	fired   bool
	actions map[string]func(context.Context)
}

var _ ports.Failpoints = (*Failpoints)(nil)

// CrashAt returns Failpoints that fire once at point.
func CrashAt(point string) *Failpoints { return &Failpoints{crashAt: point} }

// On runs fn when point is reached (before any crash there).
func (f *Failpoints) On(point string, fn func(context.Context)) *Failpoints {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.actions == nil {
		f.actions = map[string]func(context.Context){}
	}
	f.actions[point] = fn
	return f
}

// Check implements ports.Failpoints.
func (f *Failpoints) Check(ctx context.Context, point string) error {
	f.mu.Lock()
	fn := f.actions[point]
	fire := point == f.crashAt && !f.fired
	if fire {
		f.fired = true
	}
	f.mu.Unlock()
	if fn != nil {
		fn(ctx)
	}
	if fire {
		return ErrCrash
	}
	return nil
}
