package usecase

import (
	"context"

	"orgd/core/domain"
)

// EnableWebhook resumes delivery to the caller's endpoint id, disabled
// after its receiver answered 410 or every retry failed: from the event
// it stopped at, with its failures forgotten. An endpoint not disabled
// is answered as it is.
func (s *Service) EnableWebhook(ctx context.Context, p domain.Principal, id string) (domain.Webhook, error) {
	w, _, err := s.endpointOf(ctx, p, id)
	if err != nil {
		return domain.Webhook{}, err
	}
	if p.Super {
		w, err = s.changeGlobal(ctx, w, domain.ActorOf(p), func(w domain.Webhook) (domain.Webhook, domain.Event, error) {
			if !w.Disabled() {
				return w, domain.Event{}, nil
			}
			return w.Enable(), happened(EventWebhookEnabled, webhookData(w, "")), nil
		})
		w.Outbox = nil
		s.webhookRescan()
		return w, err
	}
	op := &webhookEnableOp{Webhook: withoutSecrets(w)}
	unchanged := func(w domain.Webhook) bool { return !w.Disabled() }
	_, _, _, err = s.perform(ctx, p.OrgID, change{begun: FPWebhookEnablePending, plan: s.webhookPlan(ctx, p, w, opWebhookEnable, op, unchanged)})
	if err != nil {
		return domain.Webhook{}, err
	}
	s.webhookRescan()
	return s.hooks.webhooks.ByID(ctx, w.ID)
}

// FPWebhookEnablePending is the failpoint after an enabling's intent.
const FPWebhookEnablePending = "webhook_enable.pending" //nolint:gosec // G101: a failpoint's name

// opWebhookEnable re-enables an organization's endpoint.
const opWebhookEnable domain.Op = "webhook_enable"

// webhookEnableOp is an enabling's intent: the endpoint.
type webhookEnableOp struct {
	Webhook domain.Webhook `json:"webhook"`
}

func (op *webhookEnableOp) webhook() domain.ID { return op.Webhook.ID }

// claims: enabling takes none.
func (op *webhookEnableOp) claims(domain.Organization) []domain.Claim { return nil }

// account: enabling changes no account.
func (op *webhookEnableOp) account() domain.ID { return "" }

// finish enables the endpoint (if it is disabled still), then commits.
func (op *webhookEnableOp) finish(ctx context.Context, s *Service, org domain.Organization) (domain.Organization, error) {
	return s.alterListed(ctx, op, org, func(w domain.Webhook) (domain.Webhook, bool) {
		return w.Enable(), w.Disabled()
	})
}

// lose: enabling holds no claims to lose.
func (op *webhookEnableOp) lose(_ context.Context, _ *Service, org domain.Organization, _ []domain.Claim) (domain.Organization, error) {
	return org, nil
}

// events: the endpoint was enabled.
func (op *webhookEnableOp) events(domain.Organization, domain.Organization) []domain.Event {
	return []domain.Event{happened(EventWebhookEnabled, webhookData(op.Webhook, ""))}
}
