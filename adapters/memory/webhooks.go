package memory

import (
	"context"
	"maps"
	"slices"

	"orgd/core/domain"
	"orgd/ports"
)

// Webhooks implements ports.Webhooks.
type Webhooks Store

var _ ports.Webhooks = (*Webhooks)(nil)

// Webhooks returns the Store's webhook endpoints.
func (s *Store) Webhooks() *Webhooks { return (*Webhooks)(s) }

func cloneWebhook(w domain.Webhook) domain.Webhook {
	w.Types = slices.Clone(w.Types)
	w.Secrets = slices.Clone(w.Secrets)
	for i := range w.Secrets {
		w.Secrets[i].Sealed = slices.Clone(w.Secrets[i].Sealed)
	}
	w.Outbox = cloneEvents(w.Outbox)
	return w
}

// Insert implements ports.Webhooks.
func (r *Webhooks) Insert(_ context.Context, w domain.Webhook) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return insert(r.hooks, w.ID, cloneWebhook(w), func(domain.Webhook) bool { return false }, domain.ErrWebhookExists)
}

// ByID implements ports.Webhooks.
func (r *Webhooks) ByID(_ context.Context, id domain.ID) (domain.Webhook, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w, err := get(r.hooks, id, domain.ErrWebhookNotFound)
	return cloneWebhook(w), err
}

// Replace implements ports.Webhooks.
func (r *Webhooks) Replace(_ context.Context, w domain.Webhook, expected int64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cur, ok := r.hooks[w.ID]
	if !ok || cur.Version != expected {
		return domain.ErrStale
	}
	r.hooks[w.ID] = cloneWebhook(w)
	return nil
}

// Delete implements ports.Webhooks.
func (r *Webhooks) Delete(_ context.Context, id domain.ID) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.hooks, id)
	return nil
}

// All implements ports.Webhooks.
func (r *Webhooks) All(context.Context) ([]domain.Webhook, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Collect(maps.Values(r.hooks))
	for i := range out {
		out[i] = cloneWebhook(out[i])
	}
	return out, nil
}
