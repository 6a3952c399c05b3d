package mongodb

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"orgd/core/domain"
	"orgd/ports"
)

var _ ports.Webhooks = (*Webhooks)(nil)

// Webhooks implements ports.Webhooks on the webhooks collection: one
// document per endpoint, read and written by _id (a listing reads them
// all: there are few).
type Webhooks struct {
	c   *mongo.Collection
	cas *cas
}

type webhookDoc struct {
	ID        bson.ObjectID   `bson:"_id"`
	OrgID     *bson.ObjectID  `bson:"org_id,omitempty"`
	URL       string          `bson:"url"`
	Types     []string        `bson:"types,omitempty"`
	Secrets   []secretDoc     `bson:"secrets"`
	CreatedAt time.Time       `bson:"created_at"`
	Cursor    int64           `bson:"cursor"`
	Delivery  deliveryDoc     `bson:"delivery"`
	Lease     webhookLeaseDoc `bson:"lease"`
	Deleting  bool            `bson:"deleting,omitempty"`
	Outbox    []eventDoc      `bson:"outbox,omitempty"`
	EventSeq  int64           `bson:"event_seq,omitempty"`
	Version   int64           `bson:"version"`
}

// secretDoc is a signing secret, sealed by the core's Sealer.
type secretDoc struct {
	Sealed    []byte     `bson:"sealed"`
	CreatedAt time.Time  `bson:"created_at"`
	ExpiresAt *time.Time `bson:"expires_at,omitempty"`
}

type deliveryDoc struct {
	LastSuccessAt  *time.Time `bson:"last_success_at,omitempty"`
	LastFailureAt  *time.Time `bson:"last_failure_at,omitempty"`
	LastFailure    string     `bson:"last_failure,omitempty"`
	Failures       int        `bson:"failures"`
	FailingSince   *time.Time `bson:"failing_since,omitempty"`
	NextAttemptAt  *time.Time `bson:"next_attempt_at,omitempty"`
	DisabledAt     *time.Time `bson:"disabled_at,omitempty"`
	DisabledReason string     `bson:"disabled_reason,omitempty"`
}

type webhookLeaseDoc struct {
	Holder string     `bson:"holder,omitempty"`
	Until  *time.Time `bson:"until,omitempty"`
}

// optTime is t, or nil if it is zero.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// fromOptTime converts back: nil is zero.
func fromOptTime(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

func toWebhookDoc(w domain.Webhook) (webhookDoc, error) {
	var c ids
	d := webhookDoc{
		ID: c.oid(w.ID), OrgID: c.opt(w.OrgID), URL: w.URL, Types: w.Types, CreatedAt: w.CreatedAt, Cursor: w.Cursor,
		Delivery: deliveryDoc{
			LastSuccessAt: optTime(w.Delivery.LastSuccessAt), LastFailureAt: optTime(w.Delivery.LastFailureAt),
			LastFailure: w.Delivery.LastFailure, Failures: w.Delivery.Failures, FailingSince: optTime(w.Delivery.FailingSince),
			NextAttemptAt: optTime(w.Delivery.NextAttemptAt),
			DisabledAt:    optTime(w.Delivery.DisabledAt), DisabledReason: w.Delivery.DisabledReason,
		},
		Lease:    webhookLeaseDoc{Holder: w.Lease.Holder, Until: optTime(w.Lease.Until)},
		Deleting: w.Deleting, Outbox: c.events(w.Outbox), EventSeq: w.EventSeq, Version: w.Version,
	}
	for _, s := range w.Secrets {
		d.Secrets = append(d.Secrets, secretDoc{Sealed: s.Sealed, CreatedAt: s.CreatedAt, ExpiresAt: optTime(s.ExpiresAt)})
	}
	if c.err != nil {
		return webhookDoc{}, fmt.Errorf("webhook %q: %w", w.ID, c.err)
	}
	return d, nil
}

func (d webhookDoc) toDomain() domain.Webhook {
	w := domain.Webhook{
		ID: domain.ID(d.ID.Hex()), OrgID: fromOptOID(d.OrgID), URL: d.URL, Types: d.Types, CreatedAt: d.CreatedAt.UTC(), Cursor: d.Cursor,
		Delivery: domain.WebhookDelivery{
			LastSuccessAt: fromOptTime(d.Delivery.LastSuccessAt), LastFailureAt: fromOptTime(d.Delivery.LastFailureAt),
			LastFailure: d.Delivery.LastFailure, Failures: d.Delivery.Failures, FailingSince: fromOptTime(d.Delivery.FailingSince),
			NextAttemptAt: fromOptTime(d.Delivery.NextAttemptAt),
			DisabledAt:    fromOptTime(d.Delivery.DisabledAt), DisabledReason: d.Delivery.DisabledReason,
		},
		Lease:    domain.WebhookLease{Holder: d.Lease.Holder, Until: fromOptTime(d.Lease.Until)},
		Deleting: d.Deleting, Outbox: eventsToDomain(d.Outbox), EventSeq: d.EventSeq, Version: d.Version,
	}
	for _, s := range d.Secrets {
		w.Secrets = append(w.Secrets, domain.WebhookSecret{Sealed: s.Sealed, CreatedAt: s.CreatedAt.UTC(), ExpiresAt: fromOptTime(s.ExpiresAt)})
	}
	return w
}

// Insert implements ports.Webhooks.
func (r *Webhooks) Insert(ctx context.Context, w domain.Webhook) error {
	d, err := toWebhookDoc(w)
	if err != nil {
		return err
	}
	if _, err := r.c.InsertOne(ctx, d); isDuplicate(err) {
		return fmt.Errorf("insert webhook %s: %w", w.ID, domain.ErrWebhookExists)
	} else if err != nil {
		return fmt.Errorf("insert webhook: %w", translate(err))
	}
	return nil
}

// ByID implements ports.Webhooks.
func (r *Webhooks) ByID(ctx context.Context, id domain.ID) (domain.Webhook, error) {
	return findByOID(ctx, r.c, id, domain.ErrWebhookNotFound, webhookDoc.toDomain)
}

// Replace implements ports.Webhooks: compare-and-set on the version.
func (r *Webhooks) Replace(ctx context.Context, w domain.Webhook, expected int64) error {
	d, err := toWebhookDoc(w)
	if err != nil {
		return err
	}
	defer r.cas.lock(d.ID)()
	ok, err := r.cas.replaceAt(ctx, r.c, d.ID, expected, d)
	if err != nil {
		return fmt.Errorf("replace webhook %s: %w", w.ID, translate(err))
	}
	if !ok {
		return domain.ErrStale
	}
	return nil
}

// Delete implements ports.Webhooks.
func (r *Webhooks) Delete(ctx context.Context, id domain.ID) error {
	o, ok := oid(id)
	if !ok {
		return nil
	}
	defer r.cas.lock(o)()
	if _, err := r.c.DeleteOne(ctx, bson.D{{Key: "_id", Value: o}}); err != nil && !errors.Is(err, mongo.ErrNoDocuments) {
		return fmt.Errorf("delete webhook: %w", translate(err))
	}
	return nil
}

// All implements ports.Webhooks.
func (r *Webhooks) All(ctx context.Context) ([]domain.Webhook, error) {
	return findAll(ctx, r.c, bson.D{}, webhookDoc.toDomain)
}
