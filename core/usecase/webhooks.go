package usecase

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"orgd/core/domain"
	"orgd/ports"
)

// This file is what webhook endpoints share: their registration (the
// use cases are one file each), their events, and how an endpoint of
// every organization's events changes. Delivering is deliver.go's.
//
// An organization's endpoint is listed on its organization, and each of
// its changes is an operation on the organization (as an invitation's
// are), so that the change and its event commit together, in the
// organization's stream. An endpoint of every organization's events (the
// super admin's) belongs to no organization: its changes are
// compare-and-set writes on itself, recording their events in its own
// outbox, placed in the whole log and its own stream (domain.WebhookStream).

// DefaultRetrySchedule is how long delivery waits after each failed
// attempt before the next: the first attempt is made at once, the last
// about three days later; when it fails too, the endpoint is disabled.
var DefaultRetrySchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour,
	10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

// ErrNoWebhooks says this Service was built without webhooks.
var ErrNoWebhooks = domain.Errorf(domain.CodeUnsupported, "Webhooks are not configured on this deployment")

// webhookSecretBytes is the size of a signing secret: 256 random bits.
const webhookSecretBytes = 32

// secretPrefix starts every signing secret as Standard Webhooks writes
// them; the rest is the secret's standard base64.
const secretPrefix = "whsec_"

// WebhookWithSecret is an endpoint as its creator sees it once, at its
// creation or a rotation: with its new signing secret.
type WebhookWithSecret struct {
	domain.Webhook
	Secret string
}

// webhookEvent is what an endpoint's events say of it: its URL's origin
// only (a path or query may carry the receiver's token, and events reach
// other endpoints and the super admin).
type webhookEvent struct {
	WebhookID domain.ID `json:"webhook_id"`
	Origin    string    `json:"origin"`
	Types     []string  `json:"types"`
	Reason    string    `json:"reason,omitempty"`
}

func webhookData(w domain.Webhook, reason string) webhookEvent {
	types := w.Types
	if types == nil {
		types = []string{}
	}
	return webhookEvent{WebhookID: w.ID, Origin: domain.Origin(w.URL), Types: types, Reason: reason}
}

// webhooksOn reports whether this Service has webhooks.
func (s *Service) webhooksOn() error {
	if s.hooks == nil {
		return ErrNoWebhooks
	}
	return nil
}

// deliveryOn reports whether this Service can also sign and send.
func (s *Service) deliveryOn() error {
	if s.hooks == nil || s.hooks.sender == nil {
		return ErrNoWebhooks
	}
	return nil
}

// newSecret makes a signing secret: the plain one to show, and sealed.
func (s *Service) newSecret() (shown string, sealed []byte, err error) {
	raw := make([]byte, webhookSecretBytes)
	_, _ = rand.Read(raw)
	sealed, err = s.hooks.sealer.Seal(raw)
	if err != nil {
		return "", nil, fmt.Errorf("seal webhook secret: %w", err)
	}
	return secretPrefix + base64.StdEncoding.EncodeToString(raw), sealed, nil
}

// checkTypes checks an endpoint's event types: known, each once.
func checkTypes(types []string) ([]string, error) {
	if len(types) == 0 {
		return nil, nil
	}
	for i, t := range types {
		if !slices.Contains(EventTypes, t) {
			return nil, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("types: %q is not an event type", t))
		}
		if slices.Contains(types[:i], t) {
			return nil, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("types: %q is given twice", t))
		}
	}
	return slices.Clone(types), nil
}

// endpointOf returns the caller's endpoint id: one its organization
// lists, or for the super admin one of every organization's events.
// org is the organization it belongs to (zero for the super admin's).
func (s *Service) endpointOf(ctx context.Context, p domain.Principal, id string) (domain.Webhook, domain.Organization, error) {
	if err := s.webhooksOn(); err != nil {
		return domain.Webhook{}, domain.Organization{}, err
	}
	wid := domain.ID(id)
	if !wid.Valid() {
		return domain.Webhook{}, domain.Organization{}, domain.Errorf(domain.CodeInvalid, "id must be a webhook endpoint's id (24 lower-case hex digits)")
	}
	var org domain.Organization
	if !p.Super {
		var err error
		if org, err = s.memberOrg(ctx, p, "", domain.ActManageWebhooks); err != nil {
			return domain.Webhook{}, org, err
		}
		if !containsID(org.Webhooks, wid) {
			return domain.Webhook{}, org, domain.ErrWebhookNotFound
		}
	}
	w, err := s.hooks.webhooks.ByID(ctx, wid)
	if err == nil && (w.OrgID != org.ID || w.Deleting) {
		err = domain.ErrWebhookNotFound
	}
	return w, org, err
}

// webhookPlan is the plan of an operation on an organization's endpoint
// w asked by p: it reads p again, checks that the organization still
// lists w, and begins op (kind kind), or returns errUnchanged if
// unchanged says there is nothing to do.
func (s *Service) webhookPlan(ctx context.Context, p domain.Principal, w domain.Webhook, kind domain.Op, op operation, unchanged func(domain.Webhook) bool) func(domain.Organization) (domain.Organization, error) {
	return func(org domain.Organization) (domain.Organization, error) {
		actor := domain.Actor{Kind: domain.ActorSystem}
		if p.AdminID != "" {
			me, err := s.caller(ctx, org, p)
			if err != nil {
				return org, err
			}
			if !domain.Allowed(me.OrgRole, domain.ActManageWebhooks) {
				return org, domain.ErrNotAllowed(me.OrgRole, domain.ActManageWebhooks)
			}
			actor = callerActor(me)
		}
		if !org.Visible() {
			return org, domain.ErrOrgNotFound
		}
		if !containsID(org.Webhooks, w.ID) {
			return org, domain.ErrWebhookNotFound
		}
		if unchanged != nil {
			cur, err := s.hooks.webhooks.ByID(ctx, w.ID)
			if err != nil {
				return org, err
			}
			if unchanged(cur) {
				return org, errUnchanged
			}
		}
		pending, err := s.intent(ctx, actor, kind, s.opID(), op)
		if err != nil {
			return org, err
		}
		return org.Begin(pending), nil
	}
}

// alterWebhook applies change to endpoint id, compare-and-set, until it
// holds; change reports false if there is nothing to change (it holds
// already). It returns the endpoint as written or as found.
func (s *Service) alterWebhook(ctx context.Context, id domain.ID, change func(domain.Webhook) (domain.Webhook, bool)) (domain.Webhook, error) {
	for {
		cur, err := s.hooks.webhooks.ByID(ctx, id)
		if err != nil {
			return cur, err
		}
		next, ok := change(cur)
		if !ok {
			return cur, nil
		}
		next.Version = cur.Version + 1
		err = s.hooks.webhooks.Replace(ctx, next, cur.Version)
		if errors.Is(err, domain.ErrStale) {
			continue
		}
		return next, err
	}
}

// alterListed is the finish of op, an operation on org's endpoint that
// changes only the endpoint: it applies change (alterWebhook), then
// commits. An endpoint org lists is removed only by an operation on org,
// so it is there; if it is not (removed behind orgd's back), nothing is
// applied and op is dropped, with no event.
func (s *Service) alterListed(ctx context.Context, op interface {
	operation
	webhook() domain.ID
}, org domain.Organization, change func(domain.Webhook) (domain.Webhook, bool)) (domain.Organization, error) {
	_, err := s.alterWebhook(ctx, op.webhook(), change)
	if errors.Is(err, domain.ErrWebhookNotFound) {
		if _, err := s.drop(ctx, org); err != nil {
			return domain.Organization{}, err
		}
		return domain.Organization{}, domain.ErrWebhookNotFound
	}
	if err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org)
}

// changeGlobal changes endpoint w of every organization's events, asked
// by actor: change returns it changed (Deleting set to delete it) and
// the event that records the change (Type empty: nothing changes). The
// write is compare-and-set, again on a fresh read if it loses; the event
// is then placed, and a deleted endpoint removed.
func (s *Service) changeGlobal(ctx context.Context, w domain.Webhook, actor domain.Actor, change func(domain.Webhook) (domain.Webhook, domain.Event, error)) (domain.Webhook, error) {
	id := s.opID()
	for {
		next, e, err := change(w)
		if err != nil || e.Type == "" {
			return w, err
		}
		unplaced, err := s.unplaced(ctx, w.Outbox)
		if err != nil {
			return w, err
		}
		next.Outbox = unplaced
		now := s.now()
		e.ID, e.OccurredAt, e.Actor, e.RequestID = string(id)+".0", now, actor, requestID(ctx)
		next = next.Record(e)
		next.Version = w.Version + 1
		err = s.hooks.webhooks.Replace(ctx, next, w.Version)
		if errors.Is(err, domain.ErrStale) {
			if w, err = s.hooks.webhooks.ByID(ctx, w.ID); err != nil {
				return w, err
			}
			if w.Deleting {
				return w, domain.ErrWebhookNotFound
			}
			continue
		}
		if err != nil {
			return w, err
		}
		if _, err := s.settleWebhook(ctx, next); err != nil && ctx.Err() == nil {
			s.log.WarnContext(ctx, "webhooks: committed events not placed yet; delivery places them", "webhook_id", w.ID, "error", err)
		}
		return next, nil
	}
}

// settleWebhook places the events in the outbox of endpoint w (of every
// organization's events) and takes them out, or removes w if its
// deletion is committed. It returns how many events it placed itself.
func (s *Service) settleWebhook(ctx context.Context, w domain.Webhook) (int, error) {
	n, err := s.placeAll(ctx, w.Outbox)
	if err != nil {
		return n, err
	}
	if w.Deleting {
		return n, s.hooks.webhooks.Delete(ctx, w.ID)
	}
	if len(w.Outbox) == 0 {
		return n, nil
	}
	next := w
	next.Outbox, next.Version = nil, w.Version+1
	if err := s.hooks.webhooks.Replace(ctx, next, w.Version); err != nil && !errors.Is(err, domain.ErrStale) {
		return n, err
	}
	return n, nil // stale: written meanwhile; that write, or the next pass, takes them out
}

// webhookDeps are a Service's webhook collaborators.
type webhookDeps struct {
	webhooks ports.Webhooks
	sender   ports.WebhookSender
	sealer   ports.Sealer
	schedule []time.Duration
	// wake tells the deliverer that events were placed; rescan, that an
	// endpoint was registered, enabled or replayed.
	wake, rescan chan struct{}
	counters     webhookCounters
	// active is the deliverer running, if any.
	active atomic.Pointer[deliverer]
}

// webhookWake tells the deliverer, if any, that events were placed.
func (s *Service) webhookWake() {
	if s.hooks != nil {
		signal(s.hooks.wake)
	}
}

// webhookRescan tells the deliverer, if any, that an endpoint may have
// work it does not know of.
func (s *Service) webhookRescan() {
	if s.hooks != nil {
		signal(s.hooks.rescan)
		signal(s.hooks.wake)
	}
}

// signal sends on c unless a signal is waiting already.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}
