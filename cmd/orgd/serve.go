package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v5"

	"orgd/adapters/httpapi"
	"orgd/adapters/ratelimit"
	"orgd/core/usecase"
)

// serveCmd runs "orgd serve": recover, then serve the API until a signal,
// then shut down gracefully.
func serveCmd(ctx context.Context, e env) error {
	a, err := openApp(ctx, e, openOptions{migrate: true, lease: true})
	if err != nil {
		return err
	}
	err = a.serve()
	a.close()
	if err != nil {
		return err
	}
	a.log.Info("shutdown completed") // last, after the store is closed
	if cause := context.Cause(a.ctx); errors.Is(cause, errLeaseLost) {
		return cause
	}
	return nil
}

// serve finishes what an earlier process left half done, ensures the
// super admin, starts the background work and serves the API until the
// app's context ends.
func (a *app) serve() error {
	svc, counters, err := a.service()
	if err != nil {
		return err
	}
	// The embedded store's data directory is locked to this process, so
	// nothing else can be running an operation: every pending one is taken
	// over at once.
	rep, err := svc.RecoverAtStart(a.ctx, a.server != nil)
	if err != nil {
		a.log.Error("recovery incomplete", "error", err)
	}
	a.log.Info("recovery", "resumed", rep.Resumed)
	if a.cfg.SuperAdminEmail != "" {
		created, err := svc.EnsureSuperAdmin(a.ctx, a.cfg.SuperAdminEmail, a.cfg.SuperAdminPassword)
		if err != nil {
			return err
		}
		a.log.Info("super admin", "email", a.cfg.SuperAdminEmail, "created", created)
	}
	a.background(svc)
	var draining atomic.Bool
	srv, err := httpapi.NewServer(svc, httpapi.Options{
		Status:             a.redisStatus(counters),
		LimiterStore:       counters.Requests,
		Logger:             a.log,
		RateLimitPerMinute: a.cfg.RateLimitPerMinute,
		TrustedProxies:     a.cfg.TrustedNets,
		Metrics:            a.metrics,
		Ready: func(c *echo.Context) error {
			if draining.Load() {
				return errShuttingDown
			}
			return a.st.Ping(c.Request().Context())
		},
	})
	if err != nil {
		return err
	}
	if a.cfg.PprofAddr != "" {
		go servePprof(a.ctx, a.cfg.PprofAddr, a.log)
	}
	err = a.serveHTTP(srv, func() { draining.Store(true) })
	a.awaitDeliveries()
	return err
}

// awaitDeliveries waits, up to SHUTDOWN_TIMEOUT, for webhook attempts in
// flight to end and be recorded, and for their leases to be given back,
// before the store closes.
func (a *app) awaitDeliveries() {
	if a.delivering == nil {
		return
	}
	select {
	case <-a.delivering:
	case <-time.After(a.cfg.ShutdownTimeout):
		a.log.Warn("webhooks: attempts still in flight at shutdown; they are made again")
	}
}

var errShuttingDown = errors.New("shutting down")

// background starts the work that runs beside the requests: freeing the
// claims earlier processes abandoned, the periodic recovery sweep, and
// the periodic integrity audit once the first of those is done.
func (a *app) background(svc *usecase.Service) {
	a.metrics.Lifecycle(svc.Stuck)
	a.metrics.Webhooks(func() (map[string]int64, map[string]time.Duration) {
		st := svc.WebhookStats()
		lag := make(map[string]time.Duration, len(st.Lag))
		for id, d := range st.Lag {
			lag[string(id)] = d
		}
		return st.Outcomes, lag
	})
	a.delivering = make(chan struct{})
	go func() {
		defer close(a.delivering)
		// The embedded store is this process's alone: an endpoint's lease
		// held by another is one a killed process left.
		err := svc.DeliverWebhooks(a.ctx, usecase.DeliveryOptions{Exclusive: a.server != nil})
		if err != nil {
			a.log.Warn("webhooks: delivery not started", "error", err)
		}
	}()
	publish := a.metrics.Integrity(findingKinds())
	go func() {
		// What the start left: the outboxes of organizations whose events
		// are all placed. Not exclusive: requests run now, and an
		// operation in flight is theirs.
		if _, err := svc.RecoverPending(a.ctx, false); err != nil && a.ctx.Err() == nil {
			a.log.Warn("lifecycle: outboxes not all cleared; the sweep clears them", "error", err)
		}
		rep, err := svc.ReleaseAbandoned(a.ctx)
		if err != nil && a.ctx.Err() == nil {
			a.log.Warn("lifecycle: abandoned claims not all released", "error", err)
		}
		a.log.Info("recovery: abandoned claims released", "claims_released", rep.ClaimsReleased, "invitations_deleted", rep.InvitationsDeleted)
		// After that pass, not beside it: two scans at once slow the
		// first requests.
		if err := a.st.Preload(a.ctx); err != nil && a.ctx.Err() == nil {
			a.log.Warn("store: keyset listing index not loaded; the first listing loads it", "error", err)
		}
		// Those passes read every organization once: give the memory
		// they went through back now rather than over the next minutes.
		debug.FreeOSMemory()
		if a.cfg.IntegrityCheckInterval > 0 {
			go checkEvery(a.ctx, svc, a.log, a.cfg.IntegrityCheckInterval, publish)
		}
		// When replicas share the store, the sweep also frees the claims of
		// one that died; this process's own are freed at its next start.
		svc.RecoverEvery(a.ctx, usecase.Sweep{
			Interval: a.cfg.OperationLease, Claims: a.server == nil,
			EventRetention: a.cfg.EventRetention, InvitationRetention: a.cfg.InvitationRetention,
		})
	}()
}

// redisStatus says what /readyz reports of Redis, and publishes its
// metrics; nil without Redis.
func (a *app) redisStatus(counters ratelimit.Stores) func(context.Context) map[string]string {
	h := counters.Redis
	if h == nil {
		return nil
	}
	a.metrics.Redis(h.Up, h.Fallbacks)
	return func(ctx context.Context) map[string]string {
		if h.Check(ctx) {
			return map[string]string{"redis": "up"}
		}
		return map[string]string{"redis": "down: rate limits and login back-off are this replica's own"}
	}
}

// checkEvery runs the integrity audit (orgd check, online) at once and
// then every interval, publishes its counts, and warns when it finds
// anything.
func checkEvery(ctx context.Context, svc *usecase.Service, log *slog.Logger, interval time.Duration, publish func(map[string]int)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		started := time.Now()
		rep, err := svc.CheckIntegrity(ctx, false)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("integrity audit incomplete", "error", err)
		default:
			counts := map[string]int{}
			for _, f := range rep.Findings {
				counts[string(f.Kind)]++
			}
			publish(counts)
			if len(rep.Findings) > 0 {
				log.Warn("integrity audit found problems; run orgd check for the list", "findings", len(rep.Findings), "counts", counts)
			}
			log.Debug("integrity audit", "organizations", rep.Organizations, "took", time.Since(started).Round(time.Millisecond).String())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func findingKinds() []string {
	out := make([]string, len(usecase.FindingKinds))
	for i, k := range usecase.FindingKinds {
		out[i] = string(k)
	}
	return out
}

// serveHTTP serves h until the app's context ends, then drains (readiness
// fails at once) and lets in-flight requests finish.
func (a *app) serveHTTP(h http.Handler, drain func()) error {
	ln, err := (&net.ListenConfig{}).Listen(a.ctx, "tcp", a.cfg.HTTPAddr)
	if err != nil {
		return err
	}
	maxConns := connectionCap(a.cfg.MaxConnections, fileLimit())
	capped := newConnCap(ln, maxConns)
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       a.cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    httpapi.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
		ConnState:         capped.track,
	}
	ln = httpapi.JSONErrors(capped)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	v, rev := buildVersion()
	a.log.Info("listening", "addr", ln.Addr().String(), "version", v, "revision", rev, "environment", a.cfg.Environment, "max_connections", maxConns)

	select {
	case err := <-errc:
		return err
	case <-a.ctx.Done():
	}
	drain() // readiness fails from now on, so balancers stop sending work
	a.log.Info("shutting down", "timeout", a.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
