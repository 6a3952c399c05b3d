package usecase

import (
	"context"

	"orgd/core/domain"
)

// DeleteWebhook removes the caller's endpoint id: nothing more is sent to
// it (an attempt in flight may still arrive).
func (s *Service) DeleteWebhook(ctx context.Context, p domain.Principal, id string) error {
	w, _, err := s.endpointOf(ctx, p, id)
	if err != nil {
		return err
	}
	if p.Super {
		_, err = s.changeGlobal(ctx, w, domain.ActorOf(p), func(w domain.Webhook) (domain.Webhook, domain.Event, error) {
			w.Deleting = true
			return w, happened(EventWebhookDeleted, webhookData(w, "")), nil
		})
		return err
	}
	_, _, _, err = s.perform(ctx, p.OrgID, change{
		begun: FPWebhookDeletePending,
		plan:  s.webhookPlan(ctx, p, w, opWebhookDelete, &webhookDeleteOp{Webhook: withoutSecrets(w)}, nil),
	})
	return err
}

// withoutSecrets is w as an intent may carry it.
func withoutSecrets(w domain.Webhook) domain.Webhook {
	w.Secrets, w.Outbox = nil, nil
	return w
}

// FPWebhookDeletePending is the failpoint after a removal's intent.
const FPWebhookDeletePending = "webhook_delete.pending" //nolint:gosec // G101: a failpoint's name

// opWebhookDelete removes an organization's endpoint.
const opWebhookDelete domain.Op = "webhook_delete"

// webhookDeleteOp is a removal's intent: the endpoint.
type webhookDeleteOp struct {
	Webhook domain.Webhook `json:"webhook"`
}

// claims: a removal takes none.
func (op *webhookDeleteOp) claims(domain.Organization) []domain.Claim { return nil }

// account: a removal changes no account.
func (op *webhookDeleteOp) account() domain.ID { return "" }

// finish deletes the endpoint, then unlists it: delivery stops at the
// first step.
func (op *webhookDeleteOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	if err := s.hooks.webhooks.Delete(ctx, op.Webhook.ID); err != nil {
		return domain.Organization{}, err
	}
	return s.commit(ctx, op, org, org.RemoveWebhook(op.Webhook.ID))
}

// lose: a removal holds no claims to lose.
func (op *webhookDeleteOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the endpoint was removed.
func (op *webhookDeleteOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventWebhookDeleted, webhookData(op.Webhook, ""))}
}
