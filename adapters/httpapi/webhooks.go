package httpapi

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// This file is webhook endpoints over HTTP: the super admin's, for every
// organization's events (/webhooks), and an organization's, for its own
// (/org/webhooks, its admins and owners). The same handlers serve both:
// the caller says which.

// webhookRequest is POST /webhooks' and POST /org/webhooks' body.
type webhookRequest struct {
	URL   *string   `json:"url"`
	Types *[]string `json:"types"`
}

// replayRequest is POST …/replay's body.
type replayRequest struct {
	After *string `json:"after"`
}

// webhookResponse describes an endpoint; Secret only in the answers of
// its creation and of a rotation.
type webhookResponse struct {
	ID             string           `json:"id"`
	URL            string           `json:"url"`
	Types          []string         `json:"types"`
	OrganizationID *string          `json:"organization_id"`
	CreatedAt      string           `json:"created_at"`
	Secret         string           `json:"secret,omitempty"`
	Delivery       deliveryResponse `json:"delivery"`
}

// deliveryResponse is how delivering to an endpoint has gone.
type deliveryResponse struct {
	Disabled            bool    `json:"disabled"`
	DisabledAt          *string `json:"disabled_at"`
	DisabledReason      *string `json:"disabled_reason"`
	LastSuccessAt       *string `json:"last_success_at"`
	LastFailureAt       *string `json:"last_failure_at"`
	LastFailure         *string `json:"last_failure"`
	ConsecutiveFailures int     `json:"consecutive_failures"`
	NextAttemptAt       *string `json:"next_attempt_at"`
}

type webhookListResponse struct {
	Items []webhookResponse `json:"items"`
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(TimeFormat)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newWebhookResponse(w domain.Webhook) webhookResponse {
	types := w.Types
	if types == nil {
		types = []string{}
	}
	d := w.Delivery
	return webhookResponse{
		ID: string(w.ID), URL: w.URL, Types: types, OrganizationID: optString(string(w.OrgID)), CreatedAt: w.CreatedAt.UTC().Format(TimeFormat),
		Delivery: deliveryResponse{
			Disabled: w.Disabled(), DisabledAt: optTime(d.DisabledAt), DisabledReason: optString(d.DisabledReason),
			LastSuccessAt: optTime(d.LastSuccessAt), LastFailureAt: optTime(d.LastFailureAt), LastFailure: optString(d.LastFailure),
			ConsecutiveFailures: d.Failures, NextAttemptAt: optTime(d.NextAttemptAt),
		},
	}
}

// withSecret answers an endpoint with its new secret, which no cache
// may keep.
func withSecret(c *echo.Context, status int, w usecase.WebhookWithSecret) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(status, secretResponse(w))
}

// secretResponse is an endpoint with its new secret.
func secretResponse(w usecase.WebhookWithSecret) webhookResponse {
	out := newWebhookResponse(w.Webhook)
	out.Secret = w.Secret
	return out
}

// scoped adapts a webhook handler to its path: /webhooks is the super
// admin's, /org/webhooks an organization member's.
func scoped(super bool, fn func(*echo.Context, domain.Principal) error) func(*echo.Context, domain.Principal) error {
	return func(c *echo.Context, p domain.Principal) error {
		switch {
		case super && !p.Super:
			return domain.ErrSuperAdminOnly
		case !super && p.Super:
			return domain.ErrNoOrganization
		}
		return fn(c, p)
	}
}

func (h *handlers) createWebhook(c *echo.Context, p domain.Principal) error {
	return h.keyed(c, "webhook:"+string(p.AdminID), true, func(ids *usecase.IdempotentIDs) (int, any, error) {
		var req webhookRequest
		if err := decodeJSON(c, &req); err != nil {
			return 0, nil, err
		}
		url, err := required(req.URL, "url")
		if err != nil {
			return 0, nil, err
		}
		var types []string
		if req.Types != nil {
			types = *req.Types
		}
		var w usecase.WebhookWithSecret
		if ids != nil {
			w, err = h.svc.CreateWebhookUnder(c.Request().Context(), p, *ids, url, types)
		} else {
			w, err = h.svc.CreateWebhook(c.Request().Context(), p, url, types)
		}
		if err != nil {
			return 0, nil, err
		}
		return http.StatusCreated, secretResponse(w), nil
	})
}

func (h *handlers) listWebhooks(c *echo.Context, p domain.Principal) error {
	ws, err := h.svc.Webhooks(c.Request().Context(), p)
	if err != nil {
		return err
	}
	out := webhookListResponse{Items: make([]webhookResponse, len(ws))}
	for i, w := range ws {
		out.Items[i] = newWebhookResponse(w)
	}
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) deleteWebhook(c *echo.Context, p domain.Principal) error {
	id, err := bodyOrQuery(c, "id", func(r *idRequest) **string { return &r.ID })
	if err != nil {
		return err
	}
	if err := h.svc.DeleteWebhook(c.Request().Context(), p, id); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, messageResponse{Message: "Webhook endpoint " + id + " deleted"})
}

// webhookID reads the id= of POST …/rotate, …/enable and …/replay.
func webhookID(c *echo.Context) (string, error) {
	id, err := queryParam(c, "id")
	if err != nil {
		return "", err
	}
	return required(id, "id")
}

func (h *handlers) rotateWebhook(c *echo.Context, p domain.Principal) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	w, err := h.svc.RotateWebhook(c.Request().Context(), p, id)
	if err != nil {
		return err
	}
	return withSecret(c, http.StatusOK, w)
}

func (h *handlers) enableWebhook(c *echo.Context, p domain.Principal) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	w, err := h.svc.EnableWebhook(c.Request().Context(), p, id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWebhookResponse(w))
}

func (h *handlers) replayWebhook(c *echo.Context, p domain.Principal) error {
	id, err := webhookID(c)
	if err != nil {
		return err
	}
	var req replayRequest
	if hasBody(c.Request()) {
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
	}
	after := ""
	if req.After != nil {
		after = *req.After
	}
	w, err := h.svc.ReplayWebhook(c.Request().Context(), p, id, after)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newWebhookResponse(w))
}

// webhookRoutes registers the endpoints' routes under prefix, for the
// super admin (super) or an organization's members.
func (h *handlers) webhookRoutes(e *echo.Echo, prefix string, super bool) {
	e.POST(prefix, h.authed(scoped(super, h.createWebhook)))
	e.GET(prefix, h.authed(scoped(super, h.listWebhooks)))
	e.DELETE(prefix, h.authed(scoped(super, h.deleteWebhook)))
	e.POST(prefix+"/rotate", h.authed(scoped(super, h.rotateWebhook)))
	e.POST(prefix+"/enable", h.authed(scoped(super, h.enableWebhook)))
	e.POST(prefix+"/replay", h.authed(scoped(super, h.replayWebhook)))
}
