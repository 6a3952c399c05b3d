package domain

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Webhook is an endpoint that is told of events: an organization's (its
// admins registered it for their organization's events) or, with OrgID
// empty, the super admin's, for every organization's. It follows a stream
// of the event log (Follows) from Cursor on, in order: the event at
// Cursor is delivered (acknowledged, or given up on with the endpoint
// disabled) before the next is sent.
type Webhook struct {
	ID    ID
	OrgID ID // empty: every organization's events
	URL   string
	// Types are the event types it is sent; empty: every type.
	Types []string
	// Secrets sign what it is sent: the newest first; one rotated out
	// still signs until its ExpiresAt.
	Secrets   []WebhookSecret
	CreatedAt time.Time
	// Cursor is the place, in the stream it follows, of the next event to
	// deliver.
	Cursor   int64
	Delivery WebhookDelivery
	// Lease is which orgd delivers it, until when: one at a time.
	Lease WebhookLease
	// Deleting says its deletion is committed (an endpoint of every
	// organization's events only): it is removed once the events in its
	// outbox are placed.
	Deleting bool
	// Outbox and EventSeq are as an organization's, for the events an
	// endpoint of every organization's events records of itself (its
	// stream is WebhookStream); an organization's endpoint's events are
	// its organization's.
	Outbox   []Event
	EventSeq int64
	// Version increases with every write; writes are compare-and-set on
	// it.
	Version int64
}

// WebhookSecret is a signing secret, sealed at rest.
type WebhookSecret struct {
	Sealed    []byte
	CreatedAt time.Time
	// ExpiresAt is when a secret rotated out stops signing (zero: the
	// current one).
	ExpiresAt time.Time
}

// WebhookDelivery is how delivering to an endpoint has gone.
type WebhookDelivery struct {
	LastSuccessAt time.Time
	LastFailureAt time.Time
	// LastFailure says why the last attempt failed: a status, a timeout,
	// a refused connection; never what the receiver answered.
	LastFailure string
	// Failures counts the attempts that failed in a row (on the event at
	// Cursor), since FailingSince; NextAttemptAt is when the next may be
	// made.
	Failures      int
	FailingSince  time.Time
	NextAttemptAt time.Time
	// DisabledAt is set when delivery stopped (the receiver answered 410,
	// or every retry failed), with why.
	DisabledAt     time.Time
	DisabledReason string
}

// WebhookLease is which orgd delivers an endpoint, until when.
type WebhookLease struct {
	Holder string
	Until  time.Time
}

// MaxWebhooks bounds the endpoints of one organization, and the super
// admin's.
const MaxWebhooks = 10

// WebhookRotationOverlap is how long a secret rotated out still signs,
// beside the new one, so receivers can switch without missing one.
const WebhookRotationOverlap = 24 * time.Hour

// maxWebhookURL bounds an endpoint's URL.
const maxWebhookURL = 2048

// NewWebhookURL checks that raw is an absolute http or https URL with a
// host, no credentials and no fragment. Where it may point (https only,
// no private address) is the sender's to say, which resolves it.
func NewWebhookURL(raw string) (string, error) {
	bad := func(why string) (string, error) { return "", Errorf(CodeInvalid, "url "+why) }
	if raw == "" || len(raw) > maxWebhookURL {
		return bad("must be 1 to 2048 characters")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return bad("must not contain white space")
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return bad("is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return bad("must be an http or https URL")
	case u.Hostname() == "":
		return bad("must name a host")
	case u.User != nil:
		return bad("must not carry credentials")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return bad("must not have a fragment")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return bad("port must be 1 to 65535")
		}
	}
	return raw, nil
}

// Disabled reports whether delivery to w stopped.
func (w Webhook) Disabled() bool { return !w.Delivery.DisabledAt.IsZero() }

// Wants reports whether w is sent events of type typ.
func (w Webhook) Wants(typ string) bool { return len(w.Types) == 0 || slices.Contains(w.Types, typ) }

// Follows is the stream of the event log w follows: its organization's,
// or the whole log's ("").
func (w Webhook) Follows() string { return string(w.OrgID) }

// Signing are the secrets that sign what w is sent at now: the current
// one and those rotated out less than WebhookRotationOverlap ago.
func (w Webhook) Signing(now time.Time) []WebhookSecret {
	var out []WebhookSecret
	for _, s := range w.Secrets {
		if s.ExpiresAt.IsZero() || now.Before(s.ExpiresAt) {
			out = append(out, s)
		}
	}
	return out
}

// Rotated is w signing with secret from now on, and with its current
// secret for WebhookRotationOverlap more. Only that one is kept beside the
// new one: a secret rotated out before it stops signing at once (so
// webhook-signature carries two signatures at most). A rotation also
// makes the next attempt due at once (it is how a delivery failing for
// want of a secret that opens is resumed).
func (w Webhook) Rotated(secret []byte, now time.Time) Webhook {
	next := []WebhookSecret{{Sealed: secret, CreatedAt: now}}
	for _, s := range w.Signing(now) {
		if s.ExpiresAt.IsZero() {
			s.ExpiresAt = now.Add(WebhookRotationOverlap)
			next = append(next, s)
			break
		}
	}
	w.Secrets = next
	w.Delivery.NextAttemptAt = time.Time{}
	return w
}

// Disable is w with delivery stopped at now, for reason.
func (w Webhook) Disable(reason string, now time.Time) Webhook {
	w.Delivery.DisabledAt, w.Delivery.DisabledReason = now, reason
	w.Delivery.NextAttemptAt = time.Time{}
	return w
}

// Enable is w delivering again, from the event it stopped at, with its
// failures forgotten.
func (w Webhook) Enable() Webhook {
	w.Delivery.DisabledAt, w.Delivery.DisabledReason = time.Time{}, ""
	return w.Retry()
}

// Retry is w with its failures forgotten and its next attempt due at
// once (a replay, an enabling).
func (w Webhook) Retry() Webhook {
	w.Delivery.Failures, w.Delivery.FailingSince, w.Delivery.NextAttemptAt = 0, time.Time{}, time.Time{}
	return w
}

// Origin is an endpoint URL without its path, query or fragment: what
// events say of it (a path or query may carry the receiver's token).
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// Record commits events to w's outbox, each at its place in w's own
// stream (an endpoint of every organization's events only).
func (w Webhook) Record(events ...Event) Webhook {
	if len(events) == 0 {
		return w
	}
	w.Outbox = append(append([]Event(nil), w.Outbox...), events...)
	for i := len(w.Outbox) - len(events); i < len(w.Outbox); i++ {
		w.Outbox[i].Stream, w.Outbox[i].OrgSeq = WebhookStream(w.ID), w.EventSeq
		w.EventSeq++
	}
	return w
}

// WebhookStream is the stream of the events an endpoint of every
// organization's events records of itself.
func WebhookStream(id ID) string { return "webhook:" + string(id) }

// ErrWebhookNotFound answers a request naming no endpoint of the caller.
var ErrWebhookNotFound = Errorf(CodeNotFound, "No such webhook endpoint")

// ErrWebhookExists says an endpoint of that id is stored already.
var ErrWebhookExists = Errorf(CodeConflict, "A webhook endpoint of that id exists")
