package usecase

import (
	"bytes"
	"context"
	"time"

	"orgd/core/domain"
)

// RotateWebhook gives the caller's endpoint id a new signing secret,
// returned once, here. For domain.WebhookRotationOverlap the old secret
// signs too (webhook-signature carries both), so a receiver can switch
// without refusing a delivery.
func (s *Service) RotateWebhook(ctx context.Context, p domain.Principal, id string) (WebhookWithSecret, error) {
	if err := s.deliveryOn(); err != nil {
		return WebhookWithSecret{}, err
	}
	w, _, err := s.endpointOf(ctx, p, id)
	if err != nil {
		return WebhookWithSecret{}, err
	}
	shown, sealed, err := s.newSecret()
	if err != nil {
		return WebhookWithSecret{}, err
	}
	now := s.now()
	if p.Super {
		w, err = s.changeGlobal(ctx, w, domain.ActorOf(p), func(w domain.Webhook) (domain.Webhook, domain.Event, error) {
			return w.Rotated(sealed, now), happened(EventWebhookRotated, webhookData(w, "")), nil
		})
		if err != nil {
			return WebhookWithSecret{}, err
		}
		w.Outbox = nil
		s.webhookRescan()
		return WebhookWithSecret{Webhook: w, Secret: shown}, nil
	}
	op := &webhookRotateOp{Webhook: withoutSecrets(w), Sealed: sealed, At: now}
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPWebhookRotatePending, plan: s.webhookPlan(ctx, p, w, opWebhookRotate, op, nil)})
	if err != nil {
		return WebhookWithSecret{}, err
	}
	if w, err = s.hooks.webhooks.ByID(ctx, w.ID); err != nil {
		return WebhookWithSecret{}, err
	}
	s.webhookRescan()
	return WebhookWithSecret{Webhook: w, Secret: shown}, nil
}

// FPWebhookRotatePending is the failpoint after a rotation's intent.
const FPWebhookRotatePending = "webhook_rotate.pending" //nolint:gosec // G101: a failpoint's name

// opWebhookRotate rotates an organization's endpoint's secret.
const opWebhookRotate domain.Op = "webhook_rotate"

// webhookRotateOp is a rotation's intent: the endpoint, and its new
// secret (sealed) from when.
type webhookRotateOp struct {
	Webhook domain.Webhook `json:"webhook"`
	Sealed  []byte         `json:"sealed"`
	At      time.Time      `json:"at"`
}

// claims: a rotation takes none.
func (op *webhookRotateOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a rotation changes no account.
func (op *webhookRotateOp) account() domain.ID { return "" }

// finish puts the new secret first on the endpoint (once), then commits.
func (op *webhookRotateOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	return s.alterListed(ctx, op, org, func(w domain.Webhook) (domain.Webhook, bool) {
		if len(w.Secrets) > 0 && bytes.Equal(w.Secrets[0].Sealed, op.Sealed) {
			return w, false
		}
		return w.Rotated(op.Sealed, op.At), true
	})
}

// lose: a rotation holds no claims to lose.
func (op *webhookRotateOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the endpoint's secret was rotated (never the secret).
func (op *webhookRotateOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventWebhookRotated, webhookData(op.Webhook, ""))}
}

func (op *webhookRotateOp) webhook() domain.ID { return op.Webhook.ID }
