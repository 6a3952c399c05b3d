package usecase

import (
	"context"
	"time"

	"orgd/core/domain"
)

// disableWebhook stops delivery to endpoint w, for reason, and records
// webhook.disabled, by orgd itself: its receiver answered 410, or every
// retry failed. An endpoint disabled already is left as it is.
func (s *Service) disableWebhook(ctx context.Context, w domain.Webhook, reason string) error {
	system := domain.Actor{Kind: domain.ActorSystem}
	now := s.now()
	if w.OrgID == "" {
		_, err := s.changeGlobal(ctx, w, system, func(w domain.Webhook) (domain.Webhook, domain.Event, error) {
			if w.Disabled() {
				return w, domain.Event{}, nil
			}
			return w.Disable(reason, now), happened(EventWebhookDisabled, webhookData(w, reason)), nil
		})
		return err
	}
	op := &webhookDisableOp{Webhook: withoutSecrets(w), Reason: reason, At: now}
	unchanged := func(w domain.Webhook) bool { return w.Disabled() }
	_, _, _, err := s.perform(ctx, w.OrgID, change{begun: FPWebhookDisablePending, plan: s.webhookPlan(ctx, domain.Principal{}, w, opWebhookDisable, op, unchanged)})
	return err
}

// FPWebhookDisablePending is the failpoint after a disabling's intent.
const FPWebhookDisablePending = "webhook_disable.pending" //nolint:gosec // G101: a failpoint's name

// opWebhookDisable disables an organization's endpoint.
const opWebhookDisable domain.Op = "webhook_disable"

// webhookDisableOp is a disabling's intent: the endpoint, why, and when.
type webhookDisableOp struct {
	Webhook domain.Webhook `json:"webhook"`
	Reason  string         `json:"reason"`
	At      time.Time      `json:"at"`
}

func (op *webhookDisableOp) webhook() domain.ID { return op.Webhook.ID }

// claims: disabling takes none.
func (op *webhookDisableOp) claims(domain.Organization) []domain.Claim { return nil }

// account: disabling changes no account.
func (op *webhookDisableOp) account() domain.ID { return "" }

// finish disables the endpoint (if it is not yet), then commits.
func (op *webhookDisableOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	return s.alterListed(ctx, op, org, func(w domain.Webhook) (domain.Webhook, bool) {
		return w.Disable(op.Reason, op.At), !w.Disabled()
	})
}

// lose: disabling holds no claims to lose.
func (op *webhookDisableOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: orgd stopped delivering to the endpoint, and why.
func (op *webhookDisableOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventWebhookDisabled, webhookData(op.Webhook, op.Reason))}
}
