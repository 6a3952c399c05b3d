package usecase

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"orgd/core/domain"
)

// CreateWebhook registers endpoint url for the caller's organization's
// events (its admins and owners), or for the super admin every
// organization's, of the given types (none: every type). Its signing
// secret is returned once, here. It is sent the events committed from
// its registration on, its own webhook.created first (for an
// organization's endpoint).
func (s *Service) CreateWebhook(ctx context.Context, p domain.Principal, url string, types []string) (WebhookWithSecret, error) {
	return s.createWebhook(ctx, p, url, types, nil)
}

// CreateWebhookUnder is CreateWebhook under an Idempotency-Key's ids: the
// endpoint is ids.Org, and a retry of a registration that was carried
// out (its answer lost with the process that made it) answers the
// endpoint it made, with the secret stored for it, rather than making
// another.
func (s *Service) CreateWebhookUnder(ctx context.Context, p domain.Principal, ids IdempotentIDs, url string, types []string) (WebhookWithSecret, error) {
	return s.createWebhook(ctx, p, url, types, &ids)
}

func (s *Service) createWebhook(ctx context.Context, p domain.Principal, url string, types []string, ids *IdempotentIDs) (WebhookWithSecret, error) {
	if err := s.deliveryOn(); err != nil {
		return WebhookWithSecret{}, err
	}
	url, err := domain.NewWebhookURL(url)
	if err != nil {
		return WebhookWithSecret{}, err
	}
	if types, err = checkTypes(types); err != nil {
		return WebhookWithSecret{}, err
	}
	if !p.Super && !domain.Allowed(p.OrgRole, domain.ActManageWebhooks) {
		return WebhookWithSecret{}, domain.ErrNotAllowed(p.OrgRole, domain.ActManageWebhooks)
	}
	if err := s.hooks.sender.Check(ctx, url); err != nil {
		return WebhookWithSecret{}, err
	}
	if ids != nil {
		if made, ok, err := s.madeBefore(ctx, p, ids.Org); ok || err != nil {
			return made, err
		}
	}
	shown, sealed, err := s.newSecret()
	if err != nil {
		return WebhookWithSecret{}, err
	}
	now := s.now()
	id, opID := domain.NewID(now), s.opID()
	if ids != nil {
		id, opID = ids.Org, ids.Op
	}
	w := domain.Webhook{
		ID: id, OrgID: p.OrgID, URL: url, Types: types,
		Secrets: []domain.WebhookSecret{{Sealed: sealed, CreatedAt: now}}, CreatedAt: now,
	}
	if p.Super {
		w.OrgID = ""
		w, err = s.createGlobal(ctx, p, w)
	} else {
		w, err = s.createOrgWebhook(ctx, p, w, opID)
	}
	if err != nil {
		return WebhookWithSecret{}, err
	}
	s.webhookRescan()
	return WebhookWithSecret{Webhook: w, Secret: shown}, nil
}

// madeBefore finds endpoint id, made by an earlier attempt of a keyed
// registration, and answers it with its newest secret (ok: newest first), or says it
// was not made.
func (s *Service) madeBefore(ctx context.Context, p domain.Principal, id domain.ID) (WebhookWithSecret, bool, error) {
	w, _, err := s.endpointOf(ctx, p, string(id))
	switch {
	case errors.Is(err, domain.ErrWebhookNotFound):
		return WebhookWithSecret{}, false, nil
	case err != nil:
		return WebhookWithSecret{}, false, err
	case len(w.Secrets) == 0:
		return WebhookWithSecret{}, false, errors.New("webhook endpoint without a secret")
	}
	raw, err := s.hooks.sealer.Open(w.Secrets[0].Sealed)
	if err != nil {
		return WebhookWithSecret{}, false, domain.Errorf(domain.CodeConflict, "This Idempotency-Key's endpoint was made, but its secret can no longer be opened (SECRET_KEY changed); rotate it")
	}
	w.Outbox = nil
	return WebhookWithSecret{Webhook: withoutSecrets(w), Secret: secretPrefix + base64.StdEncoding.EncodeToString(raw)}, true, nil
}

// createOrgWebhook registers w, an endpoint of p's organization, through
// the organization's lifecycle: stored, then listed with its event.
func (s *Service) createOrgWebhook(ctx context.Context, p domain.Principal, w domain.Webhook, opID domain.ID) (domain.Webhook, error) {
	_, _, _, err := s.perform(ctx, p.OrgID, change{begun: FPWebhookCreatePending, plan: func(org domain.Organization) (domain.Organization, error) {
		me, err := s.caller(ctx, org, p)
		if err != nil {
			return org, err
		}
		if !domain.Allowed(me.OrgRole, domain.ActManageWebhooks) {
			return org, domain.ErrNotAllowed(me.OrgRole, domain.ActManageWebhooks)
		}
		if len(org.Webhooks) >= domain.MaxWebhooks {
			return org, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("an organization has at most %d webhook endpoints; delete one first", domain.MaxWebhooks))
		}
		// It starts at its own webhook.created: the commit places that at
		// the organization's next place.
		w.Cursor = org.EventSeq
		pending, err := s.intent(ctx, callerActor(me), opWebhookCreate, opID, &webhookCreateOp{Webhook: w})
		if err != nil {
			return org, err
		}
		return org.Begin(pending), nil
	}})
	return w, err
}

// createGlobal registers w, an endpoint of every organization's events:
// one insert, with its webhook.created in its outbox. It starts at the
// whole log's next place.
func (s *Service) createGlobal(ctx context.Context, p domain.Principal, w domain.Webhook) (domain.Webhook, error) {
	all, err := s.hooks.webhooks.All(ctx)
	if err != nil {
		return w, err
	}
	n := 0
	for _, x := range all {
		if x.OrgID == "" && !x.Deleting {
			n++
		}
	}
	if n >= domain.MaxWebhooks {
		return w, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("the super admin has at most %d webhook endpoints; delete one first", domain.MaxWebhooks))
	}
	head, err := s.eventLog.Head(ctx)
	if err != nil {
		return w, err
	}
	w.Cursor = head.Next
	e := happened(EventWebhookCreated, webhookData(w, ""))
	e.ID, e.OccurredAt, e.Actor, e.RequestID = string(s.opID())+".0", w.CreatedAt, domain.ActorOf(p), requestID(ctx)
	w = w.Record(e)
	w.Version = 1
	if err := s.hooks.webhooks.Insert(ctx, w); err != nil {
		return w, err
	}
	if _, err := s.settleWebhook(ctx, w); err != nil && ctx.Err() == nil {
		s.log.WarnContext(ctx, "webhooks: committed events not placed yet; delivery places them", "webhook_id", w.ID, "error", err)
	}
	w.Outbox = nil
	return w, nil
}

// Failpoints of an endpoint's registration (names, not credentials).
const (
	FPWebhookCreatePending = "webhook_create.pending" //nolint:gosec // G101: a failpoint's name
	FPWebhookCreateStored  = "webhook_create.stored"  //nolint:gosec // G101: a failpoint's name
)

// opWebhookCreate registers an organization's endpoint.
const opWebhookCreate domain.Op = "webhook_create"

// webhookCreateOp is a registration's intent: the endpoint (its secret
// sealed), stored before its organization lists it.
type webhookCreateOp struct {
	Webhook domain.Webhook `json:"webhook"`
}

// claims: a registration takes none.
func (op *webhookCreateOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a registration changes no account.
func (op *webhookCreateOp) account() domain.ID { return "" }

// finish stores the endpoint (once) and lists it.
func (op *webhookCreateOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	w := op.Webhook
	w.Version = 1
	if err := s.hooks.webhooks.Insert(ctx, w); err != nil && !errors.Is(err, domain.ErrWebhookExists) {
		return domain.Organization{}, err
	}
	if err := s.step(ctx, FPWebhookCreateStored); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.AddWebhook(w.ID))
}

// lose: a registration holds no claims to lose.
func (op *webhookCreateOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the endpoint was registered (never its secret).
func (op *webhookCreateOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventWebhookCreated, webhookData(op.Webhook, ""))}
}
