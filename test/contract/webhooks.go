package contract

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// Webhooks holds a ports.Webhooks to its contract: every field kept as
// written, compare-and-set writes, idempotent deletes.
func Webhooks(t *testing.T, newStores NewStores) {
	t1 := t0.Add(time.Hour)
	full := func(org domain.ID) domain.Webhook {
		id := domain.NewID(t0)
		return domain.Webhook{
			ID: id, OrgID: org, URL: "https://hooks.example/a?b=c", Types: []string{"organization.renamed", "member.joined"},
			Secrets: []domain.WebhookSecret{
				{Sealed: []byte{1, 2, 3}, CreatedAt: t1},
				{Sealed: []byte{4, 5}, CreatedAt: t0, ExpiresAt: t1.Add(24 * time.Hour)},
			},
			CreatedAt: t0, Cursor: 42,
			Delivery: domain.WebhookDelivery{
				LastSuccessAt: t0, LastFailureAt: t1, LastFailure: "receiver answered 500", Failures: 3, FailingSince: t0.Add(time.Minute),
				NextAttemptAt: t1.Add(time.Minute), DisabledAt: t1, DisabledReason: "gone",
			},
			Lease: domain.WebhookLease{Holder: "orgd-1", Until: t1},
			Outbox: []domain.Event{{
				ID: "op.0", Type: "webhook.created", OccurredAt: t0, Stream: domain.WebhookStream(id),
				Actor: domain.Actor{ID: domain.NewID(t0), Email: "root@x.test", Kind: domain.ActorSuperAdmin},
				Data:  []byte(`{"webhook_id":"x"}`), OrgSeq: 0,
			}},
			EventSeq: 1, Version: 1,
		}
	}
	t.Run("round-trip", func(t *testing.T) {
		r := newStores(t).Webhooks
		for _, w := range []domain.Webhook{full(""), full(domain.NewID(t0)), {ID: domain.NewID(t0), URL: "http://x.test", CreatedAt: t0, Version: 1}} {
			require.NoError(t, r.Insert(ctx(t), w))
			got, err := r.ByID(ctx(t), w.ID)
			require.NoError(t, err)
			assert.Equal(t, w, got)
			assert.ErrorIs(t, r.Insert(ctx(t), w), domain.ErrWebhookExists)
		}
		all, err := r.All(ctx(t))
		require.NoError(t, err)
		assert.Len(t, all, 3)
		_, err = r.ByID(ctx(t), domain.NewID(t0))
		assert.ErrorIs(t, err, domain.ErrWebhookNotFound)
		_, err = r.ByID(ctx(t), "not-an-id")
		assert.ErrorIs(t, err, domain.ErrWebhookNotFound)
	})
	t.Run("compare-and-set", func(t *testing.T) {
		r := newStores(t).Webhooks
		w := full("")
		require.NoError(t, r.Insert(ctx(t), w))
		next := w
		next.Cursor, next.Version, next.Outbox = 43, 2, nil
		require.NoError(t, r.Replace(ctx(t), next, 1))
		stale := w
		stale.Cursor, stale.Version = 99, 2
		assert.ErrorIs(t, r.Replace(ctx(t), stale, 1), domain.ErrStale, "written meanwhile")
		got, err := r.ByID(ctx(t), w.ID)
		require.NoError(t, err)
		assert.Equal(t, next, got)
		require.NoError(t, r.Delete(ctx(t), w.ID))
		require.NoError(t, r.Delete(ctx(t), w.ID), "deleting twice")
		assert.ErrorIs(t, r.Replace(ctx(t), next, 2), domain.ErrStale, "gone")
	})
}

// webhookCrash crashes each operation on an organization's endpoint at
// each of its steps and checks that however recovery comes, the change is
// made once, with exactly one event, and nothing is left pending.
func webhookCrash(t *testing.T, newStores NewStores) {
	type step struct {
		point, event string
		setup        func(t *testing.T, r *rig, s *usecase.Service, p domain.Principal) domain.ID
		act          func(s *usecase.Service, p domain.Principal, id domain.ID) error
		check        func(t *testing.T, r *rig, id domain.ID)
	}
	register := func(t *testing.T, r *rig, s *usecase.Service, p domain.Principal) domain.ID {
		w, err := s.CreateWebhook(ctx(t), p, "https://hooks.example/acme", nil)
		require.NoError(t, err)
		return w.ID
	}
	listed := func(t *testing.T, r *rig, org domain.ID) []domain.ID {
		o, err := r.st.Orgs.ByID(ctx(t), org)
		require.NoError(t, err)
		return o.Webhooks
	}
	steps := []step{}
	for _, point := range []string{usecase.FPWebhookCreatePending, usecase.FPWebhookCreateStored} {
		steps = append(steps, step{point: point, event: usecase.EventWebhookCreated,
			act: func(s *usecase.Service, p domain.Principal, _ domain.ID) error {
				_, err := s.CreateWebhook(context.Background(), p, "https://hooks.example/acme", nil)
				return err
			},
			check: func(t *testing.T, r *rig, _ domain.ID) {
				all, err := r.st.Webhooks.All(ctx(t))
				require.NoError(t, err)
				require.Len(t, all, 1, "stored once")
				assert.Equal(t, []domain.ID{all[0].ID}, listed(t, r, all[0].OrgID), "listed once")
			}})
	}
	steps = append(steps,
		step{point: usecase.FPWebhookRotatePending, event: usecase.EventWebhookRotated, setup: register,
			act: func(s *usecase.Service, p domain.Principal, id domain.ID) error {
				_, err := s.RotateWebhook(context.Background(), p, string(id))
				return err
			},
			check: func(t *testing.T, r *rig, id domain.ID) {
				w, err := r.st.Webhooks.ByID(ctx(t), id)
				require.NoError(t, err)
				assert.Len(t, w.Secrets, 2, "rotated once: the new secret and the old")
			}},
		step{point: usecase.FPWebhookEnablePending, event: usecase.EventWebhookEnabled,
			setup: func(t *testing.T, r *rig, s *usecase.Service, p domain.Principal) domain.ID {
				id := register(t, r, s, p)
				w, err := r.st.Webhooks.ByID(ctx(t), id)
				require.NoError(t, err)
				next := w.Disable("receiver answered 410 Gone", t0)
				next.Version++
				require.NoError(t, r.st.Webhooks.Replace(ctx(t), next, w.Version))
				return id
			},
			act: func(s *usecase.Service, p domain.Principal, id domain.ID) error {
				_, err := s.EnableWebhook(context.Background(), p, string(id))
				return err
			},
			check: func(t *testing.T, r *rig, id domain.ID) {
				w, err := r.st.Webhooks.ByID(ctx(t), id)
				require.NoError(t, err)
				assert.False(t, w.Disabled())
			}},
		step{point: usecase.FPWebhookDeletePending, event: usecase.EventWebhookDeleted, setup: register,
			act: func(s *usecase.Service, p domain.Principal, id domain.ID) error {
				return s.DeleteWebhook(context.Background(), p, string(id))
			},
			check: func(t *testing.T, r *rig, id domain.ID) {
				_, err := r.st.Webhooks.ByID(ctx(t), id)
				assert.ErrorIs(t, err, domain.ErrWebhookNotFound)
				all, err := r.st.Webhooks.All(ctx(t))
				require.NoError(t, err)
				assert.Empty(t, all)
			}},
	)
	for _, st := range steps {
		for _, rec := range recoveries {
			t.Run(st.point+"/"+rec.name, func(t *testing.T) {
				r := newRig(t, newStores)
				s := r.service(t, nil, r.clock)
				p := r.create(t, s, "acme", 3)
				var id domain.ID
				if st.setup != nil {
					id = st.setup(t, r, s, p)
				}
				err := st.act(r.service(t, fakes.CrashAt(st.point), r.clock), p, id)
				require.ErrorIs(t, err, fakes.ErrCrash)
				rec.run(t, r, s, "acme")
				st.check(t, r, id)
				page, err := s.Events(ctx(t), p, usecase.EventQuery{Limit: usecase.MaxEventLimit, Type: st.event})
				require.NoError(t, err)
				if assert.Len(t, page.Items, 1, "one %s", st.event) {
					assert.Equal(t, p.AdminID, page.Items[0].Actor.ID, "with the actor who asked")
				}
				r.checkInvariants(t, s, []whole{{name: "acme", email: "admin@acme.test", password: "password-acme", docs: 3}})
			})
		}
	}
}
