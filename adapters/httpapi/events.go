package httpapi

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// This file is the event log over HTTP: an organization's own events, and
// the whole log for the super admin.

// defaultEventLimit is how many events an answer holds without limit=.
const defaultEventLimit = 50

// eventListResponse is an answer of GET /org/events and GET /events.
type eventListResponse struct {
	Items []usecase.EventView `json:"items"`
	Next  string              `json:"next"`
}

// orgEvents serves GET /org/events: the caller's organization's events
// (admins and owners).
func (h *handlers) orgEvents(c *echo.Context, p domain.Principal) error {
	if p.Super {
		return domain.ErrNoOrganization
	}
	q, err := eventQuery(c)
	if err != nil {
		return err
	}
	return h.events(c, p, q)
}

// allEvents serves GET /events: every organization's events, or one's
// (organization_id=), for the super admin.
func (h *handlers) allEvents(c *echo.Context, p domain.Principal) error {
	if !p.Super {
		return domain.ErrSuperAdminOnly
	}
	q, err := eventQuery(c)
	if err != nil {
		return err
	}
	org, err := queryParam(c, "organization_id")
	if err != nil {
		return err
	}
	if org != nil {
		q.OrgID = domain.ID(*org)
	}
	return h.events(c, p, q)
}

func (h *handlers) events(c *echo.Context, p domain.Principal, q usecase.EventQuery) error {
	res, err := h.svc.Events(c.Request().Context(), p, q)
	if err != nil {
		return err
	}
	out := eventListResponse{Items: make([]usecase.EventView, len(res.Items)), Next: res.Next}
	for i, e := range res.Items {
		out.Items[i] = usecase.ViewOf(e)
	}
	return c.JSON(http.StatusOK, out)
}

// eventQuery reads after=, limit= and type=.
func eventQuery(c *echo.Context) (usecase.EventQuery, error) {
	q := usecase.EventQuery{}
	var err error
	if q.Limit, err = intParam(c, "limit", defaultEventLimit); err != nil {
		return q, err
	}
	for _, f := range []struct {
		name string
		into *string
	}{{"after", &q.After}, {"type", &q.Type}} {
		v, err := queryParam(c, f.name)
		if err != nil {
			return q, err
		}
		if v != nil {
			*f.into = *v
		}
	}
	return q, nil
}
