package usecase

import (
	"context"
	"errors"
	"slices"
	"strings"

	"orgd/core/domain"
)

// Webhooks lists the caller's endpoints, oldest first, with how delivery
// to each has gone: its organization's (its admins and owners), or for
// the super admin those of every organization's events. Secrets are not
// shown.
func (s *Service) Webhooks(ctx context.Context, p domain.Principal) ([]domain.Webhook, error) {
	if err := s.webhooksOn(); err != nil {
		return nil, err
	}
	var out []domain.Webhook
	if p.Super {
		all, err := s.hooks.webhooks.All(ctx)
		if err != nil {
			return nil, err
		}
		for _, w := range all {
			if w.OrgID == "" && !w.Deleting {
				out = append(out, w)
			}
		}
	} else {
		org, err := s.memberOrg(ctx, p, "", domain.ActManageWebhooks)
		if err != nil {
			return nil, err
		}
		for _, id := range org.Webhooks {
			w, err := s.hooks.webhooks.ByID(ctx, id)
			if errors.Is(err, domain.ErrWebhookNotFound) {
				continue // its registration is being finished
			}
			if err != nil {
				return nil, err
			}
			out = append(out, w)
		}
	}
	// Oldest first: ids order by the second only.
	slices.SortFunc(out, func(a, b domain.Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(string(a.ID), string(b.ID))
	})
	for i := range out {
		out[i].Secrets, out[i].Outbox = nil, nil
	}
	return out, nil
}
