// Package httpapi is orgd's HTTP edge: the Echo server, its routes and
// handlers, request decoding, the error table and the middleware (request
// IDs, access logs, rate limiting, security headers).
package httpapi

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"

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
}

// NewServer returns the Echo instance serving the API with all of its
// middleware, exactly as production runs it.
func NewServer(svc *usecase.Service, o Options) *echo.Echo {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.RateLimitPerMinute <= 0 {
		o.RateLimitPerMinute = 100
	}
	if o.LimiterStore == nil {
		o.LimiterStore = memory.NewStore()
	}
	e := echo.NewWithConfig(echo.Config{
		Logger:           o.Logger,
		HTTPErrorHandler: errorHandler(o.Logger),
		// The connection's address: forwarded headers are client-controlled
		// and never pick the rate-limit key.
		IPExtractor: echo.ExtractIPDirect(),
	})
	rate := limiter.Rate{Period: 60e9, Limit: o.RateLimitPerMinute}
	e.Pre(requestIDMiddleware(), accessLog(o.Logger), recoverMiddleware(), securityHeaders(),
		rateLimit(limiter.New(o.LimiterStore, rate)))

	h := &handlers{svc: svc, ready: o.Ready}
	e.POST("/org/create", h.createOrg)
	e.GET("/org/get", h.getOrg)
	e.PUT("/org/update", h.updateOrg)
	e.DELETE("/org/delete", h.deleteOrg)
	e.POST("/admin/login", h.login)
	e.GET("/healthz", h.healthz)
	e.GET("/readyz", h.readyz)
	return e
}

type handlers struct {
	svc   *usecase.Service
	ready func(*echo.Context) error
}

func (h *handlers) createOrg(c *echo.Context) error {
	var req createOrgRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var in usecase.CreateOrgInput
	var err error
	if in.Name, err = required(req.OrganizationName, "organization_name"); err != nil {
		return err
	}
	if in.Email, err = required(req.Email, "email"); err != nil {
		return err
	}
	if in.Password, err = required(req.Password, "password"); err != nil {
		return err
	}
	org, err := h.svc.CreateOrg(c.Request().Context(), in)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newOrgResponse(org))
}

func (h *handlers) getOrg(c *echo.Context) error {
	q := c.Request().URL.Query()
	if _, ok := q["organization_name"]; !ok {
		return invalid("organization_name query parameter is required")
	}
	org, err := h.svc.GetOrg(c.Request().Context(), q.Get("organization_name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(org))
}

func (h *handlers) login(c *echo.Context) error {
	var req loginRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	var in usecase.LoginInput
	var err error
	if in.Email, err = required(req.Email, "email"); err != nil {
		return err
	}
	if in.Password, err = required(req.Password, "password"); err != nil {
		return err
	}
	res, err := h.svc.Login(c.Request().Context(), in)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, loginResponse{
		AccessToken:      res.Token,
		TokenType:        "bearer",
		AdminEmail:       string(res.Admin.Email),
		OrganizationName: res.Org.Name,
		OrganizationID:   string(res.Org.ID),
	})
}

func (h *handlers) updateOrg(c *echo.Context) error {
	p, err := h.authenticate(c)
	if err != nil {
		return err
	}
	var req updateOrgRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	org, err := h.svc.UpdateOrg(c.Request().Context(), p, usecase.UpdateOrgInput{
		Name: req.OrganizationName, Email: req.Email, Password: req.Password,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, newOrgResponse(org))
}

func (h *handlers) deleteOrg(c *echo.Context) error {
	p, err := h.authenticate(c)
	if err != nil {
		return err
	}
	var req deleteOrgRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	name, err := required(req.OrganizationName, "organization_name")
	if err != nil {
		return err
	}
	deleted, err := h.svc.DeleteOrg(c.Request().Context(), p, name)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, messageResponse{Message: fmt.Sprintf("Organization '%s' deleted successfully", deleted)})
}

// authenticate reads the bearer token and checks it.
func (h *handlers) authenticate(c *echo.Context) (domain.Principal, error) {
	auth := c.Request().Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		c.Response().Header().Set("WWW-Authenticate", "Bearer")
		return domain.Principal{}, domain.Errorf(domain.CodeUnauthorized, "Not authenticated: send Authorization: Bearer <token>")
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
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
