// Package httpapi is orgd's HTTP edge: the Echo server, its routes and
// handlers, request decoding, the error table and the middleware (request
// IDs, access logs, rate limiting, security headers).
package httpapi

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/ulule/limiter/v3"
	"github.com/ulule/limiter/v3/drivers/store/memory"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// Options configure NewServer.
type Options struct {
	Logger *slog.Logger
	// RateLimitPerMinute is the number of requests one client IP may make
	// per minute across all endpoints; 0 means 100.
	RateLimitPerMinute int64
	// LimiterStore holds the rate-limit counters; nil means in memory (one
	// node). A Redis store shares them between replicas.
	LimiterStore limiter.Store
	// Ready reports whether the store answers, for /readyz; nil means ready.
	Ready func(*echo.Context) error
	// Status, if set, adds what it says of the service's other dependencies
	// (Redis) to /readyz's answer. They degrade the service, not stop it,
	// so they do not fail readiness.
	Status func(context.Context) map[string]string
	// TrustedProxies are the networks whose X-Forwarded-For entries are
	// believed. Empty: the client is the connection's address, and
	// forwarding headers are ignored.
	TrustedProxies []*net.IPNet
	// Metrics, if set, observes requests and is served at /metrics.
	Metrics Metrics
}

// Metrics is what the HTTP edge reports.
type Metrics interface {
	// ObserveRequest records one request by its registered route.
	ObserveRequest(route, method string, status int, d time.Duration)
	// RateLimited records one request refused by the rate limit.
	RateLimited()
	// Handler serves the metrics.
	Handler() http.Handler
}

type noMetrics struct{}

func (noMetrics) ObserveRequest(string, string, int, time.Duration) {}
func (noMetrics) RateLimited()                                      {}
func (noMetrics) Handler() http.Handler                             { return http.NotFoundHandler() }

// ipExtractor picks the client address rate limits and audit lines use.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	// Read from the right, skipping trusted hops: the first untrusted
	// address is the client.
	return echo.ExtractIPFromXFFHeader(opts...)
}

// NewServer returns the Echo instance serving the API with all of its
// middleware, exactly as production runs it.
func NewServer(svc *usecase.Service, o Options) (*echo.Echo, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RateLimitPerMinute <= 0 {
		o.RateLimitPerMinute = 100
	}
	if o.LimiterStore == nil {
		o.LimiterStore = memory.NewStore()
	}
	if o.Metrics == nil {
		o.Metrics = noMetrics{}
	}
	e := echo.NewWithConfig(echo.Config{
		Logger:           o.Logger,
		HTTPErrorHandler: errorHandler(o.Logger),
		IPExtractor:      ipExtractor(o.TrustedProxies),
	})
	rate := limiter.Rate{Period: 60e9, Limit: o.RateLimitPerMinute}
	e.Use(requestIDMiddleware(), accessLog(o.Logger, o.Metrics), recoverMiddleware(), securityHeaders(), bodyLimit(),
		rateLimit(limiter.New(o.LimiterStore, rate), o.Metrics))

	h := &handlers{svc: svc, ready: o.Ready, status: o.Status, audit: o.Logger.With("audit", true)}
	e.POST("/org/create", h.createOrg)
	e.GET("/org/get", h.getOrg)
	e.PUT("/org/update", h.authed(h.updateOrg))
	e.DELETE("/org/delete", h.authed(h.deleteOrg))
	e.GET("/org/list", h.authed(h.listOrgs))
	e.GET("/org/members", h.authed(h.listMembers))
	e.PUT("/org/members", h.authed(h.setRole))
	e.DELETE("/org/members", h.authed(h.removeMember))
	e.POST("/org/invitations", h.authed(h.invite))
	e.GET("/org/invitations", h.authed(h.listInvitations))
	e.DELETE("/org/invitations", h.authed(h.revoke))
	e.POST("/org/invitations/accept", h.accept)
	e.GET("/org/events", h.authed(h.orgEvents))
	e.GET("/events", h.authed(h.allEvents))
	e.POST("/org/deactivate", h.authed(h.deactivate))
	e.POST("/org/activate", h.authed(h.activate))
	h.webhookRoutes(e, "/org/webhooks", false)
	h.webhookRoutes(e, "/webhooks", true)
	e.POST("/admin/login", h.login)
	e.GET("/admin/snapshot", h.authed(h.snapshot))
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	e.GET("/metrics", echo.WrapHandler(o.Metrics.Handler()))
	if err := docsRoutes(e); err != nil {
		return nil, err
	}
	return e, nil
}

type handlers struct {
	svc    *usecase.Service
	ready  func(*echo.Context) error
	status func(context.Context) map[string]string
	audit  *slog.Logger
}

// event writes one audit line: who did what to which organization, when
// (the log time) and from where. Never a password, hash or token.
func (h *handlers) event(c *echo.Context, action string, p *domain.Principal, attrs ...any) {
	base := []any{"action", action, "client_ip", c.RealIP(), "request_id", requestID(c)}
	if p != nil {
		base = append(base, "actor_admin_id", string(p.AdminID), "actor_super", p.Super)
	}
	h.audit.InfoContext(c.Request().Context(), "audit", append(base, attrs...)...)
}

func (h *handlers) createOrg(c *echo.Context) error {
	var in usecase.CreateOrgInput
	scope := "create"
	if c.Request().Header.Get("Authorization") != "" {
		p, err := h.authenticate(c)
		if err != nil {
			return err
		}
		in.By, scope = &p, "create:"+string(p.AdminID)
	}
	return h.keyed(c, scope, false, func(ids *usecase.IdempotentIDs) (int, any, error) {
		var req createOrgRequest
		if err := decodeJSON(c, &req); err != nil {
			return 0, nil, err
		}
		var err error
		if in.Name, err = required(req.OrganizationName, "organization_name"); err != nil {
			return 0, nil, err
		}
		if in.Email, err = required(req.Email, "email"); err != nil {
			return 0, nil, err
		}
		if in.Password, err = required(req.Password, "password"); err != nil {
			return 0, nil, err
		}
		in.Metadata, in.IDs = req.metadata(), ids
		org, err := h.svc.CreateOrg(c.Request().Context(), in)
		if err != nil {
			return 0, nil, err
		}
		setETag(c, org)
		// Its creator sees what it set.
		return http.StatusCreated, orgResponseFor(org, &domain.Principal{OrgID: org.ID}), nil
	})
}

// getOrg serves GET /org/get, by organization_name for anyone, or by
// external_id for the super admin and the organization's members. A
// caller who sends a token sees what its rights show (private metadata,
// the external id, to members and the super admin).
func (h *handlers) getOrg(c *echo.Context) error {
	name, err := queryParam(c, "organization_name")
	if err != nil {
		return err
	}
	ext, err := queryParam(c, "external_id")
	if err != nil {
		return err
	}
	if (name == nil) == (ext == nil) {
		return invalid("exactly one of the organization_name and external_id query parameters is required")
	}
	var who *domain.Principal
	if c.Request().Header.Get("Authorization") != "" {
		p, err := h.authenticate(c)
		if err != nil {
			return err
		}
		who = &p
	}
	var org domain.Organization
	if ext != nil {
		if who == nil {
			c.Response().Header().Set("WWW-Authenticate", "Bearer")
			return domain.ErrNotAuthenticated
		}
		org, err = h.svc.GetOrgByExternalID(c.Request().Context(), *who, *ext)
	} else {
		org, err = h.svc.GetOrg(c.Request().Context(), *name)
	}
	if err != nil {
		return err
	}
	setETag(c, org)
	c.Response().Header().Set("Vary", "Authorization")
	if notModified(c, org) {
		return c.NoContent(http.StatusNotModified)
	}
	return c.JSON(http.StatusOK, orgResponseFor(org, who))
}

// queryParam returns the query parameter name, nil if absent, and a 422 if
// it is given more than once (which one would count is a guess).
func queryParam(c *echo.Context, name string) (*string, error) {
	v, ok := c.Request().URL.Query()[name]
	switch {
	case !ok:
		return nil, nil
	case len(v) > 1:
		return nil, invalid(name + " query parameter is given more than once")
	}
	return &v[0], nil
}

func (h *handlers) login(c *echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	in := usecase.LoginInput{Client: c.RealIP()}
	var err error
	if in.Email, err = required(req.Email, "email"); err != nil {
		return err
	}
	if in.Password, err = required(req.Password, "password"); err != nil {
		return err
	}
	res, err := h.svc.Login(c.Request().Context(), in)
	if err != nil {
		if code := domain.ErrorCode(err); code == domain.CodeUnauthorized || code == domain.CodeRateLimited {
			h.event(c, "login.failed", nil, "email", loggedEmail(in.Email), "reason", string(code))
		}
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	out := loginResponse{AccessToken: res.Token, TokenType: "bearer", AdminEmail: string(res.Admin.Email)}
	if !res.Claims.Super {
		name, id, role := res.Org.Name.String(), string(res.Org.ID), string(res.Admin.OrgRole)
		out.OrganizationName, out.OrganizationID, out.Role = &name, &id, &role
	}
	h.event(c, "login", &domain.Principal{AdminID: res.Admin.ID, OrgID: res.Org.ID, Super: res.Claims.Super})
	return c.JSON(http.StatusOK, out)
}

func (h *handlers) updateOrg(c *echo.Context, p domain.Principal) error {
	var req updateOrgRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	match, err := ifMatch(c)
	if err != nil {
		return err
	}
	target, err := queryParam(c, "organization_name")
	if err != nil {
		return err
	}
	in := usecase.UpdateOrgInput{
		Name: req.OrganizationName, Email: req.Email, Password: req.Password, IfMatch: match, Metadata: req.metadata(),
	}
	if target != nil {
		in.Org = *target
	}
	org, err := h.svc.UpdateOrg(c.Request().Context(), p, in)
	if err != nil {
		return err
	}
	setETag(c, org)
	return c.JSON(http.StatusOK, orgResponseFor(org, &p))
}

func (h *handlers) deleteOrg(c *echo.Context, p domain.Principal) error {
	name, err := bodyOrQuery(c, "organization_name", func(r *deleteOrgRequest) **string { return &r.OrganizationName })
	if err != nil {
		return err
	}
	match, err := ifMatch(c)
	if err != nil {
		return err
	}
	deleted, err := h.svc.DeleteOrg(c.Request().Context(), p, name, match)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, messageResponse{Message: fmt.Sprintf("Organization '%s' deleted successfully", deleted)})
}

func (h *handlers) listOrgs(c *echo.Context, p domain.Principal) error {
	page, size, err := pageParams(c)
	if err != nil {
		return err
	}
	after, err := queryParam(c, "after")
	if err != nil {
		return err
	}
	if after != nil {
		if pg, _ := queryParam(c, "page"); pg != nil {
			return invalid("page and after are two ways of paging; give one")
		}
		res, err := h.svc.ListOrgsAfter(c.Request().Context(), p, *after, size)
		if err != nil {
			return err
		}
		out := keysetResponse{Items: make([]orgResponse, len(res.Items)), PageSize: res.PageSize, Next: res.Next}
		for i, o := range res.Items {
			out.Items[i] = orgResponseFor(o, &p)
		}
		return c.JSON(http.StatusOK, out)
	}
	res, err := h.svc.ListOrgs(c.Request().Context(), p, page, size)
	if err != nil {
		return err
	}
	out := listResponse{Items: make([]orgResponse, len(res.Items)), Page: res.Page, PageSize: res.PageSize, Total: res.Total}
	for i, o := range res.Items {
		out.Items[i] = orgResponseFor(o, &p)
	}
	return c.JSON(http.StatusOK, out)
}

// pageParams reads a listing's page (default 1) and page_size (default 20).
func pageParams(c *echo.Context) (page, size int, err error) {
	if page, err = intParam(c, "page", 1); err != nil {
		return 0, 0, err
	}
	size, err = intParam(c, "page_size", 20)
	return page, size, err
}

func intParam(c *echo.Context, name string, def int) (int, error) {
	s, err := queryParam(c, name)
	if err != nil || s == nil || *s == "" {
		return def, err
	}
	n, err := strconv.Atoi(*s)
	if err != nil {
		return 0, invalid(name + " must be an integer")
	}
	return n, nil
}

// snapshot streams a snapshot of the embedded store to the super admin.
// The answer is committed at its first byte; a failure after that cuts
// the connection, so the client sees a truncated archive, never a
// complete-looking one (an archive is whole only with its trailing
// checksums).
func (h *handlers) snapshot(c *echo.Context, p domain.Principal) error {
	started := false
	ctx := c.Request().Context()
	err := h.svc.Snapshot(ctx, p, func() io.Writer {
		started = true
		// A large store takes longer than the server's write timeout.
		_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
		hd := c.Response().Header()
		hd.Set("Content-Type", "application/gzip")
		hd.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="orgd-snapshot-%s.tar.gz"`, time.Now().UTC().Format("20060102T150405Z")))
		c.Response().WriteHeader(http.StatusOK)
		return c.Response()
	})
	if err != nil && started {
		c.Logger().ErrorContext(ctx, "snapshot failed midway; connection cut", "request_id", requestID(c), "error", err)
		panic(http.ErrAbortHandler)
	}
	if err == nil {
		h.event(c, "snapshot", &p)
	}
	return err
}

// loggedEmail is the email a failed login named, normalized as the core
// does, or a mark that it was not an address (a client's string of its own
// choosing is not logged).
func loggedEmail(s string) string {
	e, err := domain.NewEmail(s)
	if err != nil {
		return "(not an email address)"
	}
	return string(e)
}

// authed adapts a handler that acts for an authenticated caller: the
// request's bearer token is checked first, and fn gets its principal.
func (h *handlers) authed(fn func(*echo.Context, domain.Principal) error) echo.HandlerFunc {
	return func(c *echo.Context) error {
		p, err := h.authenticate(c)
		if err != nil {
			return err
		}
		return fn(c, p)
	}
}

// authenticate reads the bearer token and checks it.
func (h *handlers) authenticate(c *echo.Context) (domain.Principal, error) {
	auth := c.Request().Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		c.Response().Header().Set("WWW-Authenticate", "Bearer")
		return domain.Principal{}, domain.ErrNotAuthenticated
	}
	p, err := h.svc.Authenticate(c.Request().Context(), strings.TrimSpace(tok))
	if domain.ErrorCode(err) == domain.CodeUnauthorized {
		c.Response().Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	return p, err
}

func (h *handlers) healthz(c *echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

func (h *handlers) readyz(c *echo.Context) error {
	if h.ready != nil {
		if err := h.ready(c); err != nil {
			return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
	}
	out := map[string]string{"status": "ready"}
	if h.status != nil {
		for k, v := range h.status(c.Request().Context()) {
			out[k] = v
		}
	}
	return c.JSON(http.StatusOK, out)
}

// deactivate serves POST /org/deactivate (the super admin).
func (h *handlers) deactivate(c *echo.Context, p domain.Principal) error {
	return h.suspension(c, p, h.svc.Deactivate)
}

// activate serves POST /org/activate (the super admin).
func (h *handlers) activate(c *echo.Context, p domain.Principal) error {
	return h.suspension(c, p, h.svc.Activate)
}

func (h *handlers) suspension(c *echo.Context, p domain.Principal, do func(context.Context, domain.Principal, string, string) (domain.Organization, error)) error {
	if !p.Super {
		return domain.ErrSuperAdminOnly
	}
	var req suspensionRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := required(req.OrganizationName, "organization_name")
	if err != nil {
		return err
	}
	reason := ""
	if req.Reason != nil {
		reason = *req.Reason
	}
	org, err := do(c.Request().Context(), p, name, reason)
	if err != nil {
		return err
	}
	setETag(c, org)
	return c.JSON(http.StatusOK, orgResponseFor(org, &p))
}
