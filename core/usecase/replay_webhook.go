package usecase

import (
	"context"
	"fmt"

	"orgd/core/domain"
)

// ReplayWebhook sends the caller's endpoint id again the events after
// cursor after (a Next of GET /org/events for an organization's endpoint,
// of GET /events for one of every organization's; empty: from the oldest
// kept), in order, and then on as usual. Delivery state, not a change of
// the organization: it records no event. A disabled endpoint stays
// disabled until it is enabled.
func (s *Service) ReplayWebhook(ctx context.Context, p domain.Principal, id, after string) (domain.Webhook, error) {
	w, org, err := s.endpointOf(ctx, p, id)
	if err != nil {
		return domain.Webhook{}, err
	}
	pos, err := decodeCursor(after)
	if err != nil {
		return domain.Webhook{}, err
	}
	end := org.EventSeq
	if p.Super {
		head, err := s.eventLog.Head(ctx)
		if err != nil {
			return domain.Webhook{}, err
		}
		end = head.Next
	}
	if pos > end {
		return domain.Webhook{}, domain.Errorf(domain.CodeInvalid, fmt.Sprintf("after is past the end of the endpoint's stream (%d events)", end))
	}
	w, err = s.alterWebhook(ctx, w.ID, func(w domain.Webhook) (domain.Webhook, bool) {
		if w.Deleting {
			return w, false
		}
		w.Cursor = pos
		return w.Retry(), true
	})
	if err != nil {
		return domain.Webhook{}, err
	}
	if w.Deleting {
		return domain.Webhook{}, domain.ErrWebhookNotFound
	}
	s.log.InfoContext(ctx, "webhooks: replay", "webhook_id", w.ID, "from", pos, "actor_id", string(p.AdminID))
	s.webhookRescan()
	w.Secrets, w.Outbox = nil, nil
	return w, nil
}
