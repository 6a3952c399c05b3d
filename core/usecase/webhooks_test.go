package usecase_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/webhook"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
	"orgd/test/fakes"
)

// hookHarness is a harness in real time whose Service delivers webhooks
// to recv, while the test runs.
type hookHarness struct {
	*harness
	recv   *fakes.Receiver
	sealer *webhook.Sealer
}

func newHookHarness(t *testing.T, recv *fakes.Receiver, schedule ...time.Duration) *hookHarness {
	t.Helper()
	sealer, err := webhook.NewSealer([]byte("unit-test-key-unit-test-key-unit"))
	require.NoError(t, err)
	h := newHarnessWith(t, usecase.Deps{Clock: realClock{}, WebhookSender: recv, Sealer: sealer, RetrySchedule: schedule, Lease: 3 * time.Second})
	hh := &hookHarness{harness: h, recv: recv, sealer: sealer}
	hh.deliver(t, h.svc)
	return hh
}

// deliver runs svc's delivery until the test ends.
func (h *hookHarness) deliver(t *testing.T, svc *usecase.Service) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.DeliverWebhooks(ctx, usecase.DeliveryOptions{Poll: 20 * time.Millisecond}) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
}

// delivery is one attempt as its receiver read it.
type delivery struct {
	ID      string
	Type    string
	Data    usecase.EventView
	Secrets [][]byte
}

func decodeAttempt(t *testing.T, req ports.WebhookRequest) delivery {
	t.Helper()
	var body struct {
		Type      string            `json:"type"`
		Timestamp string            `json:"timestamp"`
		Data      usecase.EventView `json:"data"`
	}
	require.NoError(t, json.Unmarshal(req.Body, &body))
	require.Equal(t, body.Data.ID, req.ID, "webhook-id is the event's id")
	require.Equal(t, body.Data.Type, body.Type)
	_, err := time.Parse(time.RFC3339Nano, body.Timestamp)
	require.NoError(t, err)
	return delivery{ID: req.ID, Type: body.Type, Data: body.Data, Secrets: req.Secrets}
}

// acknowledged are the attempts recv answered 2xx, in order.
func (h *hookHarness) acknowledged(t *testing.T, answered map[string]bool) []delivery {
	t.Helper()
	var out []delivery
	for _, a := range h.recv.Attempts() {
		if answered == nil || answered[a.ID] {
			out = append(out, decodeAttempt(t, a))
		}
	}
	return out
}

// streamIDs are the ids of p's organization's events, from the oldest.
func streamIDs(t *testing.T, svc *usecase.Service, p domain.Principal) []string {
	t.Helper()
	var ids []string
	q := usecase.EventQuery{Limit: usecase.MaxEventLimit}
	for {
		page, err := svc.Events(context.Background(), p, q)
		require.NoError(t, err)
		for _, e := range page.Items {
			ids = append(ids, e.ID)
		}
		if len(page.Items) == 0 {
			return ids
		}
		q.After = page.Next
	}
}

func ids(ds []delivery) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	return out
}

func eventually(t *testing.T, cond func() bool, what string) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 5*time.Millisecond, what)
}

func TestWebhookDeliversEveryEventInOrder(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	before := streamIDs(t, h.svc, p) // organization.created: before the endpoint

	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(w.Secret, "whsec_"))
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(w.Secret, "whsec_"))
	require.NoError(t, err)
	require.Len(t, raw, 32)

	for i, name := range []string{"acme-two", "acme-three", "acme"} {
		_, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr(name)})
		require.NoError(t, err, "rename %d", i)
	}
	_, err = h.svc.Invite(ctx, p, "new@acme.test", "member")
	require.NoError(t, err)

	want := streamIDs(t, h.svc, p)[len(before):]
	require.Len(t, want, 5, "webhook.created, three renames, an invitation")
	eventually(t, func() bool { return len(h.recv.Attempts()) >= len(want) }, "every event delivered")
	got := h.acknowledged(t, nil)
	assert.Equal(t, want, ids(got), "each event once, in the organization's order, from the endpoint's own creation")
	assert.Equal(t, usecase.EventWebhookCreated, got[0].Type)
	for _, d := range got {
		require.Len(t, d.Secrets, 1)
		assert.Equal(t, raw, d.Secrets[0], "signed with the secret its creator was shown")
	}
	time.Sleep(50 * time.Millisecond)
	assert.Len(t, h.recv.Attempts(), len(want), "nothing sent twice once acknowledged")

	list, err := h.svc.Webhooks(ctx, p)
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Nil(t, list[0].Secrets, "a listing shows no secret")
	assert.False(t, list[0].Delivery.LastSuccessAt.IsZero())
	assert.Zero(t, list[0].Delivery.Failures)
}

func TestWebhookRetriesOnItsScheduleThenDisables(t *testing.T) {
	recv := &fakes.Receiver{Answer: func(int, ports.WebhookRequest) ports.WebhookResponse { return ports.WebhookResponse{Status: 500} }}
	h := newHookHarness(t, recv, 10*time.Millisecond, 20*time.Millisecond)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)

	disabled := func() bool {
		// Disabled, and its event committed (the endpoint is written
		// first, then its organization with the event).
		list, err := h.svc.Webhooks(ctx, p)
		page, perr := h.svc.Events(ctx, p, usecase.EventQuery{Limit: 100, Type: usecase.EventWebhookDisabled})
		return err == nil && perr == nil && len(list) == 1 && list[0].Disabled() && len(page.Items) == 1
	}
	eventually(t, disabled, "disabled once the schedule is spent")
	attempts := recv.Attempts()
	require.Len(t, attempts, 3, "the first attempt and one per delay of the schedule")
	for _, a := range attempts {
		assert.Equal(t, attempts[0].ID, a.ID, "every retry carries the same webhook-id")
	}
	list, err := h.svc.Webhooks(ctx, p)
	require.NoError(t, err)
	reason := list[0].Delivery.DisabledReason
	assert.Regexp(t, `^3 attempts failed over \d+s; the last: receiver answered 500$`, reason)
	assert.Equal(t, "receiver answered 500", list[0].Delivery.LastFailure)

	page, err := h.svc.Events(ctx, p, usecase.EventQuery{Limit: 100, Type: usecase.EventWebhookDisabled})
	require.NoError(t, err)
	require.Len(t, page.Items, 1, "one webhook.disabled event")
	e := page.Items[0]
	assert.Equal(t, domain.ActorSystem, e.Actor.Kind)
	assert.JSONEq(t, `{"webhook_id":"`+string(w.ID)+`","origin":"https://hooks.example","types":[],"reason":"`+reason+`"}`, string(e.Data),
		"the URL's origin only: a path or query may carry the receiver's token")

	// The receiver is fixed; enabling resumes at the event given up on.
	recv.SetAnswer(nil)
	_, err = h.svc.EnableWebhook(ctx, p, string(w.ID))
	require.NoError(t, err)
	want := streamIDs(t, h.svc, p)[1:] // webhook.created, webhook.disabled, webhook.enabled
	require.Len(t, want, 3)
	eventually(t, func() bool { return len(recv.Attempts()) >= 3+len(want) }, "delivered after enabling")
	assert.Equal(t, want, ids(h.acknowledged(t, nil)[3:]))
	list, err = h.svc.Webhooks(ctx, p)
	require.NoError(t, err)
	assert.False(t, list[0].Disabled())
	assert.Zero(t, list[0].Delivery.Failures)
}

func TestWebhookAnswers(t *testing.T) {
	cases := []struct {
		name     string
		status   int
		after    time.Duration
		disabled bool
		failure  string
	}{
		{name: "410 disables at once", status: 410, disabled: true, failure: "receiver answered 410 Gone"},
		{name: "a redirect is a failure, not followed", status: 302, failure: "receiver answered 302 (redirects are not followed)"},
		{name: "429 waits as Retry-After says", status: 429, after: 300 * time.Millisecond, failure: "receiver answered 429"},
		{name: "503 waits as Retry-After says", status: 503, after: 300 * time.Millisecond, failure: "receiver answered 503"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recv := &fakes.Receiver{Answer: func(n int, _ ports.WebhookRequest) ports.WebhookResponse {
				if n == 0 {
					return ports.WebhookResponse{Status: c.status, RetryAfter: c.after}
				}
				return ports.WebhookResponse{Status: 200}
			}}
			// The schedule's first delay is an hour: only Retry-After
			// makes the second attempt come soon.
			h := newHookHarness(t, recv, time.Hour)
			ctx := context.Background()
			h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
			p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
			w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
			require.NoError(t, err)
			state := func() domain.Webhook {
				list, err := h.svc.Webhooks(ctx, p)
				require.NoError(t, err)
				return list[0]
			}
			eventually(t, func() bool {
				st := state()
				return st.Delivery.LastFailure != "" && st.Disabled() == c.disabled
			}, "the first attempt failed")
			got := state()
			assert.Equal(t, c.failure, got.Delivery.LastFailure)
			assert.Equal(t, c.disabled, got.Disabled())
			if c.disabled {
				time.Sleep(100 * time.Millisecond)
				assert.Len(t, recv.Attempts(), 1, "nothing more is sent to a disabled endpoint")
				return
			}
			if c.after > 0 {
				eventually(t, func() bool { return !state().Delivery.LastSuccessAt.IsZero() }, "retried after Retry-After")
				a := recv.Attempts()
				require.Len(t, a, 2)
				assert.Equal(t, a[0].ID, a[1].ID)
				return
			}
			wait := got.Delivery.NextAttemptAt.Sub(got.Delivery.LastFailureAt)
			assert.InDelta(t, time.Hour.Seconds(), wait.Seconds(), 0.1*time.Hour.Seconds(), "the schedule's delay, give or take its jitter")
			assert.Len(t, recv.Attempts(), 1)
			_ = w
		})
	}
}

func TestWebhookTypes(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	_, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", []string{usecase.EventOrgRenamed})
	require.NoError(t, err)
	for i := range 12 { // more than a chunk of events it does not want
		_, err := h.svc.Invite(ctx, p, "x"+string(rune('a'+i))+"@acme.test", "member")
		require.NoError(t, err)
	}
	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr("acme-two")})
	require.NoError(t, err)
	eventually(t, func() bool { return len(h.recv.Attempts()) == 1 }, "the rename delivered")
	got := h.acknowledged(t, nil)
	assert.Equal(t, usecase.EventOrgRenamed, got[0].Type)

	for _, bad := range [][]string{{"organization.exploded"}, {usecase.EventOrgRenamed, usecase.EventOrgRenamed}} {
		_, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", bad)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%v", bad)
	}
}

func TestWebhookRegistrationRefusals(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	for _, u := range []string{"", "ftp://hooks.example/x", "https://user:pw@hooks.example/x", "https://hooks.example/x#frag", "/relative", "https://hooks.example/refused"} {
		_, err := h.svc.CreateWebhook(ctx, p, u, nil)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "url %q", u)
	}
	member := p
	member.OrgRole = domain.RoleMember
	_, err := h.svc.CreateWebhook(ctx, member, "https://hooks.example/x", nil)
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err))

	for i := range domain.MaxWebhooks {
		_, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/"+string(rune('a'+i)), nil)
		require.NoError(t, err)
	}
	_, err = h.svc.CreateWebhook(ctx, p, "https://hooks.example/one-too-many", nil)
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	list, err := h.svc.Webhooks(ctx, p)
	require.NoError(t, err)
	assert.Len(t, list, domain.MaxWebhooks, "refusals changed nothing")

	_, err = h.svc.RotateWebhook(ctx, p, "not-an-id")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
	_, err = h.svc.RotateWebhook(ctx, p, string(domain.NewID(time.Now())))
	assert.ErrorIs(t, err, domain.ErrWebhookNotFound)
}

func TestWebhookRotation(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	eventually(t, func() bool { return len(h.recv.Attempts()) == 1 }, "webhook.created delivered")
	r, err := h.svc.RotateWebhook(ctx, p, string(w.ID))
	require.NoError(t, err)
	require.NotEqual(t, w.Secret, r.Secret)
	eventually(t, func() bool { return len(h.recv.Attempts()) == 2 }, "webhook.secret_rotated delivered")
	d := h.acknowledged(t, nil)[1]
	assert.Equal(t, usecase.EventWebhookRotated, d.Type)
	decode := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		require.NoError(t, err)
		return b
	}
	assert.Equal(t, [][]byte{decode(r.Secret), decode(w.Secret)}, d.Secrets, "signed with the new secret and, for the overlap, the old")
}

func TestWebhookSecretsAreShownOnce(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	r, err := h.svc.RotateWebhook(ctx, p, string(w.ID))
	require.NoError(t, err)
	en, err := h.svc.EnableWebhook(ctx, p, string(w.ID))
	require.NoError(t, err)
	rp, err := h.svc.ReplayWebhook(ctx, p, string(w.ID), "")
	require.NoError(t, err)
	list, err := h.svc.Webhooks(ctx, p)
	require.NoError(t, err)
	shown, err := json.Marshal([]any{en, rp, list})
	require.NoError(t, err)
	events, err := h.svc.Events(ctx, p, usecase.EventQuery{Limit: 100})
	require.NoError(t, err)
	logged, err := json.Marshal(events)
	require.NoError(t, err)
	for _, secret := range []string{w.Secret, r.Secret} {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
		require.NoError(t, err)
		for _, out := range [][]byte{shown, logged} {
			assert.NotContains(t, string(out), "whsec_")
			assert.False(t, bytes.Contains(out, []byte(base64.StdEncoding.EncodeToString(raw))))
			assert.False(t, bytes.Contains(out, []byte(base64.RawURLEncoding.EncodeToString(raw))))
		}
	}
	stored, err := h.store.Webhooks().ByID(ctx, w.ID)
	require.NoError(t, err)
	require.Len(t, stored.Secrets, 2)
	for _, s := range stored.Secrets {
		for _, secret := range []string{w.Secret, r.Secret} {
			raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
			require.NoError(t, err)
			assert.False(t, bytes.Contains(s.Sealed, raw), "stored sealed, not in clear")
		}
	}
}

func TestWebhookReplay(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	for _, name := range []string{"acme-two", "acme-three"} {
		_, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr(name)})
		require.NoError(t, err)
	}
	eventually(t, func() bool { return len(h.recv.Attempts()) == 3 }, "delivered")
	first, err := h.svc.Events(ctx, p, usecase.EventQuery{Limit: 2}) // organization.created, webhook.created
	require.NoError(t, err)
	_, err = h.svc.ReplayWebhook(ctx, p, string(w.ID), first.Next)
	require.NoError(t, err)
	eventually(t, func() bool { return len(h.recv.Attempts()) == 5 }, "the renames sent again")
	got := ids(h.acknowledged(t, nil))
	assert.Equal(t, got[1:3], got[3:5], "the same events, with the same webhook-ids, in order")

	_, err = h.svc.ReplayWebhook(ctx, p, string(w.ID), "bogus")
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
}

func TestWebhookOneDelivererAtATime(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	other := h.with(t, usecase.Deps{WebhookSender: h.recv, Sealer: h.sealer, Lease: 3 * time.Second})
	h.deliver(t, other)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	_, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	for i := range 20 {
		svc := h.svc
		if i%2 == 1 {
			svc = other
		}
		_, err := svc.Invite(ctx, p, "m"+string(rune('a'+i))+"@acme.test", "member")
		require.NoError(t, err)
	}
	want := streamIDs(t, h.svc, p)[1:]
	eventually(t, func() bool { return len(h.recv.Attempts()) >= len(want) }, "delivered")
	time.Sleep(100 * time.Millisecond)
	assert.Equal(t, want, ids(h.acknowledged(t, nil)), "two deliverers: each event once, in order")
}

func TestWebhookOfEveryOrganization(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	w, err := h.svc.CreateWebhook(ctx, root, "https://hooks.example/all", nil)
	require.NoError(t, err)
	assert.Empty(t, w.OrgID)
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	h.create(t, "beta", "owner@beta.test", "pw-beta-12345")
	all := streamIDs(t, h.svc, root)
	require.Len(t, all, 3, "webhook.created, two organizations")
	eventually(t, func() bool { return len(h.recv.Attempts()) == 3 }, "delivered")
	got := h.acknowledged(t, nil)
	assert.Equal(t, all, ids(got), "the whole log's order")
	assert.Nil(t, got[0].Data.OrganizationID, "an endpoint of every organization's events belongs to none")
	assert.Equal(t, usecase.EventWebhookCreated, got[0].Type)

	require.NoError(t, h.svc.DeleteWebhook(ctx, root, string(w.ID)))
	_, err = h.store.Webhooks().ByID(ctx, w.ID)
	assert.ErrorIs(t, err, domain.ErrWebhookNotFound, "removed once its webhook.deleted is placed")
	page, err := h.svc.Events(ctx, root, usecase.EventQuery{Limit: 100, Type: usecase.EventWebhookDeleted})
	require.NoError(t, err)
	require.Len(t, page.Items, 1)
	assert.Empty(t, page.Items[0].OrgID)
	assert.Equal(t, domain.ActorSuperAdmin, page.Items[0].Actor.Kind)
	err = h.svc.DeleteWebhook(ctx, root, string(w.ID))
	assert.ErrorIs(t, err, domain.ErrWebhookNotFound, "deleting twice")
}

func TestDeletedOrganizationsEndpointsGo(t *testing.T) {
	h := newHookHarness(t, &fakes.Receiver{})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	eventually(t, func() bool { return len(h.recv.Attempts()) == 1 }, "webhook.created delivered")
	time.Sleep(50 * time.Millisecond) // idle: its organization was looked at, and is there
	_, err = h.svc.DeleteOrg(ctx, p, "acme", nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		_, err := h.store.Webhooks().ByID(ctx, w.ID)
		return err != nil
	}, 5*time.Second, 5*time.Millisecond, "the endpoint goes once it has nothing more to deliver, without waiting a minute")
	got := h.acknowledged(t, nil)
	require.Len(t, got, 2)
	assert.Equal(t, usecase.EventOrgDeleted, got[1].Type, "it was told of the deletion first")
}

func TestWebhookRegistrationSurvivesACrash(t *testing.T) {
	for _, point := range []string{usecase.FPWebhookCreatePending, usecase.FPWebhookCreateStored} {
		t.Run(point, func(t *testing.T) {
			recv := &fakes.Receiver{}
			sealer, err := webhook.NewSealer([]byte("unit-test-key-unit-test-key-unit"))
			require.NoError(t, err)
			h := newHarnessWith(t, usecase.Deps{})
			h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
			p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
			dying := h.with(t, usecase.Deps{WebhookSender: recv, Sealer: sealer, Failpoints: fakes.CrashAt(point)})
			_, err = dying.CreateWebhook(context.Background(), p, "https://hooks.example/acme", nil)
			require.Error(t, err)

			after := h.with(t, usecase.Deps{WebhookSender: recv, Sealer: sealer})
			_, err = after.RecoverPending(context.Background(), true)
			require.NoError(t, err)
			list, err := after.Webhooks(context.Background(), p)
			require.NoError(t, err)
			require.Len(t, list, 1, "registered once")
			page, err := after.Events(context.Background(), p, usecase.EventQuery{Limit: 100, Type: usecase.EventWebhookCreated})
			require.NoError(t, err)
			assert.Len(t, page.Items, 1, "one webhook.created, with its actor")
			assert.Equal(t, p.AdminID, page.Items[0].Actor.ID)
		})
	}
}

func TestIntegrityFindsWebhooksAstray(t *testing.T) {
	sealer, err := webhook.NewSealer([]byte("unit-test-key-unit-test-key-unit"))
	require.NoError(t, err)
	h := newHarnessWith(t, usecase.Deps{WebhookSender: &fakes.Receiver{}, Sealer: sealer})
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	stray, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/a", nil)
	require.NoError(t, err)
	missing, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/b", nil)
	require.NoError(t, err)
	rep, err := h.svc.CheckIntegrity(ctx, true)
	require.NoError(t, err)
	require.Empty(t, rep.Findings)

	// Behind orgd's back: one endpoint unlisted, another's document lost.
	org, err := h.store.Orgs().ByID(ctx, p.OrgID)
	require.NoError(t, err)
	next := org.RemoveWebhook(stray.ID)
	next.Version++
	require.NoError(t, h.store.Orgs().Replace(ctx, next, org.Version))
	require.NoError(t, h.store.Webhooks().Delete(ctx, missing.ID))

	rep, err = h.svc.CheckIntegrity(ctx, true)
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Count(usecase.FindingStrayWebhook))
	assert.Equal(t, 1, rep.Count(usecase.FindingMissingWebhook))
	fixed, err := h.svc.Repair(ctx, true)
	require.NoError(t, err)
	assert.Zero(t, fixed.Left.Count(usecase.FindingStrayWebhook), "a stray endpoint is deleted")
	assert.Equal(t, 1, fixed.Left.Count(usecase.FindingMissingWebhook), "an operator decides about a lost one")
	_, err = h.store.Webhooks().ByID(ctx, stray.ID)
	assert.ErrorIs(t, err, domain.ErrWebhookNotFound)
}

func TestWebhookGivesUpOnADeletedOrganization(t *testing.T) {
	// The receiver answers 410 to the deletion's event: the endpoint
	// cannot be disabled (its organization is gone), so it is removed,
	// and nothing is sent again.
	recv := &fakes.Receiver{Answer: func(_ int, req ports.WebhookRequest) ports.WebhookResponse {
		if bytes.Contains(req.Body, []byte(usecase.EventOrgDeleted)) {
			return ports.WebhookResponse{Status: 410}
		}
		return ports.WebhookResponse{Status: 204}
	}}
	h := newHookHarness(t, recv)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	_, err = h.svc.DeleteOrg(ctx, p, "acme", nil)
	require.NoError(t, err)
	eventually(t, func() bool {
		_, err := h.store.Webhooks().ByID(ctx, w.ID)
		return err != nil
	}, "removed")
	time.Sleep(100 * time.Millisecond)
	assert.Len(t, recv.Attempts(), 2, "webhook.created, then organization.deleted once")
}

func TestRetryAfterIsNotCountedAgainstTheSchedule(t *testing.T) {
	// A receiver asking, 20 times, to be retried in 10ms is waited for as
	// it asks, and not given up on after the schedule's count of
	// attempts: only the schedule's time (two hours here) ends it.
	recv := &fakes.Receiver{Answer: func(n int, _ ports.WebhookRequest) ports.WebhookResponse {
		if n < 20 {
			return ports.WebhookResponse{Status: 503, RetryAfter: 10 * time.Millisecond}
		}
		return ports.WebhookResponse{Status: 204}
	}}
	h := newHookHarness(t, recv, time.Hour, time.Hour)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	_, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", nil)
	require.NoError(t, err)
	eventually(t, func() bool {
		list, err := h.svc.Webhooks(ctx, p)
		return err == nil && !list[0].Delivery.LastSuccessAt.IsZero()
	}, "delivered once the receiver is back")
	list, err := h.svc.Webhooks(ctx, p)
	require.NoError(t, err)
	assert.False(t, list[0].Disabled())
	assert.Len(t, recv.Attempts(), 21)
}

func TestAnAcknowledgementSurvivesAConcurrentWrite(t *testing.T) {
	// An endpoint that skips events it does not want, rotated while its
	// attempt is in flight: the acknowledgement is recorded all the same,
	// and the event is not sent again.
	var h *hookHarness
	var p domain.Principal
	var id domain.ID
	var once sync.Once
	recv := &fakes.Receiver{}
	recv.Answer = func(_ int, req ports.WebhookRequest) ports.WebhookResponse {
		once.Do(func() {
			_, err := h.svc.RotateWebhook(context.Background(), p, string(id))
			assert.NoError(t, err)
		})
		return ports.WebhookResponse{Status: 204}
	}
	h = newHookHarness(t, recv)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ = h.login(t, "owner@acme.test", "pw-acme-12345")
	_, err := h.svc.Invite(ctx, p, "x@acme.test", "member")
	require.NoError(t, err)
	w, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/acme", []string{usecase.EventOrgRenamed})
	require.NoError(t, err)
	id = w.ID
	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Name: ptr("acme-two")}) // after webhook.created, which it skips
	require.NoError(t, err)
	eventually(t, func() bool { return len(recv.Attempts()) >= 1 }, "the rename sent")
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, recv.Attempts(), 1, "acknowledged once: not sent again")
}

func TestTheLeaseOutlastsEveryAttempt(t *testing.T) {
	// Three times as many endpoints as attempts in flight, a slow receiver, a
	// short lease, two deliverers: an attempt that waited for a slot must
	// not begin with too little lease left, or the other deliverer takes
	// the endpoint over and sends the same event alongside, or again.
	var mu sync.Mutex
	inFlight, sent, overlaps := map[string]int{}, map[string]int{}, 0
	recv := &fakes.Receiver{Answer: func(_ int, req ports.WebhookRequest) ports.WebhookResponse {
		key := req.URL + " " + req.ID
		mu.Lock()
		inFlight[key]++
		sent[key]++
		if inFlight[key] > 1 {
			overlaps++
		}
		mu.Unlock()
		time.Sleep(500 * time.Millisecond)
		mu.Lock()
		inFlight[key]--
		mu.Unlock()
		return ports.WebhookResponse{Status: 204}
	}}
	sealer, err := webhook.NewSealer([]byte("unit-test-key-unit-test-key-unit"))
	require.NoError(t, err)
	const lease = 1500 * time.Millisecond
	h := newHarnessWith(t, usecase.Deps{Clock: realClock{}, WebhookSender: recv, Sealer: sealer, Lease: lease})
	hh := &hookHarness{harness: h, recv: recv, sealer: sealer}
	ctx := context.Background()
	const endpoints = 200 // one per organization: one event each; three slots' worth
	for o := range endpoints {
		name := fmt.Sprintf("acme%d", o)
		h.create(t, name, "owner@"+name+".test", "pw-acme-12345")
		p, _ := h.login(t, "owner@"+name+".test", "pw-acme-12345")
		_, err := h.svc.CreateWebhook(ctx, p, "https://hooks.example/"+name, nil)
		require.NoError(t, err)
	}
	hh.deliver(t, h.svc)
	time.Sleep(100 * time.Millisecond) // the first takes every endpoint
	hh.deliver(t, h.with(t, usecase.Deps{WebhookSender: recv, Sealer: sealer, Lease: lease}))
	eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(sent) == endpoints
	}, "every endpoint's event sent")
	time.Sleep(2 * lease)
	mu.Lock()
	defer mu.Unlock()
	again := 0
	for _, n := range sent {
		again += n - 1
	}
	assert.Zero(t, overlaps, "no event sent twice at once")
	assert.Zero(t, again, "no event sent twice")
}
