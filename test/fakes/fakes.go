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

// Receiver is a ports.WebhookSender that delivers to itself: it keeps
// every attempt and answers each as Answer says (2xx by default). Check
// refuses any URL containing "refused".
type Receiver struct {
	mu       sync.Mutex
	attempts []ports.WebhookRequest
	// Answer, if set, answers attempt n (from 0) of the request.
	Answer func(n int, req ports.WebhookRequest) ports.WebhookResponse
}

var _ ports.WebhookSender = (*Receiver)(nil)

// Check implements ports.WebhookSender.
func (r *Receiver) Check(_ context.Context, url string) error {
	if strings.Contains(url, "refused") {
		return domain.Errorf(domain.CodeInvalid, "url refused")
	}
	return nil
}

// Send implements ports.WebhookSender.
func (r *Receiver) Send(_ context.Context, req ports.WebhookRequest) ports.WebhookResponse {
	r.mu.Lock()
	n := len(r.attempts)
	r.attempts = append(r.attempts, req)
	answer := r.Answer
	r.mu.Unlock()
	if answer == nil {
		return ports.WebhookResponse{Status: 204}
	}
	return answer(n, req)
}

// Attempts returns every attempt so far, in order.
func (r *Receiver) Attempts() []ports.WebhookRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]ports.WebhookRequest(nil), r.attempts...)
}

// SetAnswer replaces Answer, safely while attempts are made.
func (r *Receiver) SetAnswer(fn func(n int, req ports.WebhookRequest) ports.WebhookResponse) {
	r.mu.Lock()
	r.Answer = fn
	r.mu.Unlock()
}
