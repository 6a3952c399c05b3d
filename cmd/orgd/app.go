package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"orgd/adapters/embedded"
	"orgd/adapters/metrics"
	"orgd/adapters/mongodb"
	"orgd/adapters/password"
	"orgd/adapters/ratelimit"
	"orgd/adapters/token"
	"orgd/adapters/webhook"
	"orgd/config"
	"orgd/core/domain"
	"orgd/core/usecase"
)

// app is one orgd process's configuration and store, opened once by
// openApp and closed once by close; each subcommand does its work on it.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	metrics *metrics.Metrics
	st      *mongodb.Store
	server  *embedded.Server // the embedded store, if that is the store
	// ctx ends when the process must stop; with the writer lease held, also
	// when another orgd takes it (its cause is then errLeaseLost).
	ctx  context.Context
	stop context.CancelCauseFunc
	// delivering is closed once webhook delivery has stopped.
	delivering chan struct{}
	closers    []func()
}

// openOptions say what a subcommand needs of its app.
type openOptions struct {
	migrate bool // apply pending migrations as the store opens
	lease   bool // hold the single-writer lease of a store only one may write
	// anySchema opens a store whose schema is newer than this orgd knows
	// (to report on it); otherwise such a store is refused.
	anySchema bool
}

// openApp loads the configuration, starts the embedded store if that is
// the store, and connects to it.
func openApp(ctx context.Context, e env, o openOptions) (*app, error) {
	cfg, err := config.Load(e.getenv, ".")
	if err != nil {
		return nil, err
	}
	log, err := newLogger(cfg, e.stderr)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, log: log, metrics: metrics.New()}
	a.metrics.BuildInfo(buildVersion())
	a.ctx, a.stop = context.WithCancelCause(ctx)
	a.closers = append(a.closers, func() { a.stop(nil) })
	if err := a.openStore(o); err != nil {
		a.close()
		return nil, err
	}
	if o.lease {
		if err := a.holdWriterLease(); err != nil {
			a.close()
			return nil, err
		}
	}
	return a, nil
}

// close releases what openApp opened, last opened first.
func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

func (a *app) openStore(oo openOptions) error {
	uri := a.cfg.MongoURI
	o := mongodb.Options{
		Database: a.cfg.MongoDatabase, ServerSelectionTimeout: a.cfg.StoreTimeout, SkipMigrations: !oo.migrate, AnySchema: oo.anySchema,
		Monitor: a.metrics.CommandMonitor(), Logger: a.log,
	}
	if a.cfg.Embedded() {
		srv, err := embedded.Start(a.ctx, embedded.Options{Dir: a.cfg.DataDir, Addr: a.cfg.EmbeddedAddr, Logger: a.log})
		if err != nil {
			return err
		}
		a.server, uri, o.Embedded, o.MaxPoolSize = srv, srv.URI(), srv, embeddedPoolSize
		a.closers = append(a.closers, srv.Close)
		a.log.Info("embedded store started", "data_dir", a.cfg.DataDir, "uri", uri)
		if a.cfg.Environment == "production" {
			a.log.Warn("production without MONGODB_URI: the embedded store keeps every organization in DATA_DIR; make it a persistent volume and back it up",
				"data_dir", srv.Dir())
		}
	}
	o.URI = uri
	st, err := mongodb.Open(a.ctx, o)
	if errors.Is(err, domain.ErrUnavailable) && !a.cfg.Embedded() {
		return fmt.Errorf("MONGODB_URI: the store does not answer within STORE_TIMEOUT (%s): %w", a.cfg.StoreTimeout, err)
	}
	if err != nil {
		return err
	}
	a.st = st
	a.closers = append(a.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.Close(ctx)
	})
	return nil
}

// embeddedPoolSize bounds the connections to the embedded store: it runs
// in this process on SQLite, which has one writer, and every connection
// carries its own SQLite caches, so more connections add memory and lock
// contention, not throughput. A real MongoDB keeps the driver's default.
const embeddedPoolSize = 16

var errLeaseLost = errors.New("lost the single-writer lease")

// holdWriterLease takes and keeps the lease that makes this process the
// only writer of a store only one may write (the embedded store, possibly
// another orgd's through MONGODB_URI). If another orgd takes it, the app's
// context ends with errLeaseLost and the process shuts down.
func (a *app) holdWriterLease() error {
	holder := a.cfg.InstanceID
	if a.server != nil {
		holder = "orgd owning " + a.server.Dir()
	}
	lease, err := a.st.AcquireWriterLease(a.ctx, holder, a.server != nil)
	if err != nil || lease == nil {
		return err
	}
	go lease.Hold(a.ctx, func(by string) {
		a.log.Error("another orgd took the single-writer lease; stopping", "holder", by)
		a.stop(fmt.Errorf("%w to %s", errLeaseLost, by))
	})
	return nil
}

// service wires the use cases to the store and the other adapters: the
// token key, the rate-limit counters (closed with the app), the hasher.
func (a *app) service() (*usecase.Service, ratelimit.Stores, error) {
	secret := []byte(a.cfg.SecretKey)
	if len(secret) == 0 {
		var created bool
		var err error
		if secret, created, err = config.DevSecret(a.cfg.DataDir); err != nil {
			return nil, ratelimit.Stores{}, fmt.Errorf("development secret: %w", err)
		}
		a.log.Warn("SECRET_KEY is not set: using a generated development key; set SECRET_KEY in production",
			"file", config.DevSecretFile(a.cfg.DataDir), "created", created)
	}
	tokens, err := token.New(a.cfg.Algorithm, secret)
	if err != nil {
		return nil, ratelimit.Stores{}, err
	}
	counters, err := ratelimit.Open(a.ctx, a.cfg.RedisURL, a.log, nil)
	if err != nil {
		return nil, ratelimit.Stores{}, err
	}
	a.closers = append(a.closers, func() { _ = counters.Close() })
	if counters.Shared {
		a.log.Info("rate limits and login back-off shared through redis")
	}
	hasher := password.New(password.OWASP, 0)
	a.metrics.HashPool(hasher.Stats)
	sealer, err := webhook.NewSealer(secret)
	if err != nil {
		return nil, ratelimit.Stores{}, err
	}
	// Validate checked both.
	schedule, _ := a.cfg.RetrySchedule()
	private, _ := a.cfg.AllowPrivateWebhooks()
	svc, err := a.newService(usecase.Deps{
		Hasher: hasher, Tokens: tokens, Attempts: counters.Logins,
		Creation: domain.OrgCreation(a.cfg.OrgCreation), TokenTTL: a.cfg.TokenTTL(), InvitationTTL: a.cfg.InvitationTTL,
		Sealer: sealer, RetrySchedule: schedule,
		WebhookSender: webhook.NewSender(webhook.Options{AllowPrivate: private, RequireHTTPS: !private}),
	})
	return svc, counters, err
}

// newService is usecase.New on the app's store, with d's other
// dependencies.
func (a *app) newService(d usecase.Deps) (*usecase.Service, error) {
	d.Orgs, d.Names, d.Emails, d.Admins, d.Tenants = a.st.Orgs(), a.st.Names(), a.st.Emails(), a.st.Admins(), a.st.Tenants()
	d.ExternalIDs, d.Idempotency = a.st.ExternalIDs(), a.st.IdempotencyKeys()
	d.Rosters, d.Invitations, d.Events, d.Webhooks = a.st.Rosters(), a.st.Invitations(), a.st.Events(), a.st.Webhooks()
	d.Logger, d.Lease = a.log, a.cfg.OperationLease
	if a.server != nil {
		d.Snapshots = a.server
	}
	return usecase.New(a.ctx, d)
}

func newLogger(cfg config.Config, w io.Writer) (*slog.Logger, error) {
	level, err := config.ParseLevel(cfg.LogLevel)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
