// Command orgd runs the Organization Management Service.
//
//	orgd            serve the API (default)
//	orgd serve      the same
//	orgd migrate    apply pending schema migrations, then exit
//	orgd recover    finish interrupted operations, then exit
//	orgd check      audit the store's integrity (--repair fixes what is safe)
//	orgd healthcheck  probe a running orgd's /healthz (for container health checks)
//	orgd snapshot   save, restore or verify a snapshot of the embedded store
//	orgd version    print the version
//	orgd --help     list the subcommands and every configuration key
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/labstack/echo/v5"

	"orgd/adapters/httpapi"
	"orgd/adapters/metrics"
	"orgd/adapters/mongodb"
	"orgd/adapters/password"
	"orgd/adapters/ratelimit"
	"orgd/adapters/token"
	"orgd/config"
	"orgd/core/domain"
	"orgd/core/usecase"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if config.FatalFormat(os.Getenv) == "json" {
			slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("orgd cannot go on", "error", err.Error())
		} else {
			fmt.Fprintln(os.Stderr, "orgd:", err)
		}
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest := "serve", []string(nil)
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "-h", "--help", "help":
		usage(stdout)
		return nil
	case "snapshot": // has its own arguments and help
		return snapshotCmd(ctx, rest, getenv, stdout, stderr)
	case "check":
		return checkCmd(ctx, rest, getenv, stdout, stderr)
	}
	if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" }) {
		usage(stdout) // every subcommand answers --help, and does nothing else
		return nil
	}
	if len(rest) > 0 {
		usage(stderr)
		return fmt.Errorf("%s takes no arguments (configuration comes from the environment)", cmd)
	}
	switch cmd {
	case "version", "--version":
		v, rev := buildVersion()
		if rev != "" {
			v += " (revision " + rev + ")"
		}
		fmt.Fprintln(stdout, "orgd", v)
		return nil
	case "healthcheck":
		cfg, err := config.Load(getenv, ".")
		if err != nil {
			return err
		}
		return healthcheck(ctx, cfg.HTTPAddr)
	case "serve", "recover", "migrate":
		return start(ctx, cmd, getenv, stdout, stderr)
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", cmd)
}

// start opens the store and runs cmd (serve, recover or migrate) on it.
func start(ctx context.Context, cmd string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(getenv, ".")
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	served := false
	defer func() { // runs last, after the store is closed
		if served {
			log.Info("shutdown completed")
		}
	}()
	m := metrics.New()
	m.BuildInfo(buildVersion())
	st, err := openStore(ctx, cfg, log, cmd == "migrate", m)
	if err != nil {
		return err
	}
	defer st.close()
	ctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	if err := holdWriterLease(ctx, st, cfg, log, lost); err != nil {
		return err
	}
	if cmd == "migrate" {
		return migrate(ctx, st, stdout)
	}
	svc, counters, err := newService(ctx, cfg, log, st, m)
	if err != nil {
		return err
	}
	defer counters.Close() //nolint:errcheck // closing at exit
	// Finish the operations a previous process left half done, before the
	// super admin is ensured and requests are served. The embedded store's
	// data directory is locked to this process, so nothing else can be
	// running an operation and every pending one is taken over at once.
	if cmd == "recover" {
		rep, err := svc.Recover(ctx, cfg.Embedded())
		log.Info("recovery", "resumed", rep.Resumed, "claims_released", rep.ClaimsReleased)
		return err
	}
	if err := serveAPI(ctx, cfg, log, st, svc, counters, m); err != nil {
		return err
	}
	served = true
	if cause := context.Cause(ctx); errors.Is(cause, errLeaseLost) {
		return cause
	}
	return nil
}

// newService wires the use cases to the store and the other adapters.
func newService(ctx context.Context, cfg config.Config, log *slog.Logger, st *store, m *metrics.Metrics) (*usecase.Service, ratelimit.Stores, error) {
	secret := []byte(cfg.SecretKey)
	if len(secret) == 0 {
		var created bool
		var err error
		if secret, created, err = config.DevSecret(cfg.DataDir); err != nil {
			return nil, ratelimit.Stores{}, fmt.Errorf("development secret: %w", err)
		}
		log.Warn("SECRET_KEY is not set: using a generated development key; set SECRET_KEY in production",
			"file", config.DevSecretFile(cfg.DataDir), "created", created)
	}
	tokens, err := token.New(cfg.Algorithm, secret)
	if err != nil {
		return nil, ratelimit.Stores{}, err
	}
	counters, err := ratelimit.Open(ctx, cfg.RedisURL, log)
	if err != nil {
		return nil, ratelimit.Stores{}, err
	}
	if counters.Shared {
		log.Info("rate limits and login back-off shared through redis")
	}
	hasher := password.New(password.OWASP, 0)
	m.HashPool(hasher.Stats)
	deps := usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
		Hasher: hasher, Tokens: tokens,
		Attempts: counters.Logins,
		Creation: domain.OrgCreation(cfg.OrgCreation),
		Logger:   log, TokenTTL: cfg.TokenTTL(), Lease: cfg.OperationLease,
	}
	if st.embedded != nil {
		deps.Snapshots = st.embedded
	}
	svc, err := usecase.New(ctx, deps)
	if err != nil {
		_ = counters.Close()
		return nil, ratelimit.Stores{}, err
	}
	return svc, counters, nil
}

// serveAPI recovers, ensures the super admin and serves the API until ctx
// ends.
func serveAPI(ctx context.Context, cfg config.Config, log *slog.Logger, st *store, svc *usecase.Service, counters ratelimit.Stores, m *metrics.Metrics) error {
	rep, err := svc.RecoverPending(ctx, cfg.Embedded())
	if err != nil {
		log.Error("recovery incomplete", "error", err)
	}
	log.Info("recovery", "resumed", rep.Resumed)
	if cfg.SuperAdminEmail != "" {
		created, err := svc.EnsureSuperAdmin(ctx, cfg.SuperAdminEmail, cfg.SuperAdminPassword)
		if err != nil {
			return err
		}
		log.Info("super admin", "email", cfg.SuperAdminEmail, "created", created)
	}
	m.Lifecycle(svc.Stuck)
	publish := m.Integrity(findingKinds())
	go recoverInBackground(ctx, svc, log, cfg.OperationLease, !cfg.Embedded(), func() {
		if cfg.IntegrityCheckInterval > 0 {
			go auditEvery(ctx, svc, log, cfg.IntegrityCheckInterval, publish)
		}
	})

	var draining atomic.Bool
	var status func(context.Context) map[string]string
	if h := counters.Redis; h != nil {
		m.Redis(h.Up, h.Fallbacks)
		status = func(ctx context.Context) map[string]string {
			if h.Check(ctx) {
				return map[string]string{"redis": "up"}
			}
			return map[string]string{"redis": "down: rate limits and login back-off are this replica's own"}
		}
	}
	srv, err := httpapi.NewServer(svc, httpapi.Options{
		Status:             status,
		LimiterStore:       counters.Requests,
		Logger:             log,
		RateLimitPerMinute: cfg.RateLimitPerMinute,
		TrustedProxies:     cfg.TrustedNets,
		Metrics:            m,
		Ready: func(c *echo.Context) error {
			if draining.Load() {
				return errShuttingDown
			}
			return st.Ping(c.Request().Context())
		},
	})
	if err != nil {
		return err
	}
	if cfg.PprofAddr != "" {
		go servePprof(ctx, cfg.PprofAddr, log)
	}
	return serve(ctx, cfg, log, srv, func() { draining.Store(true) })
}

// recoverInBackground frees the claims that operations of earlier processes
// abandoned (it reads every organization and claim once, so it runs while
// requests are served), calls released, then keeps finishing operations
// whose lease runs out even if nobody touches their organization; when
// replicas share the store it also frees the claims of one that died.
func recoverInBackground(ctx context.Context, svc *usecase.Service, log *slog.Logger, every time.Duration, shared bool, released func()) {
	n, err := svc.ReleaseAbandoned(ctx)
	if err != nil && ctx.Err() == nil {
		log.Warn("lifecycle: abandoned claims not all released", "error", err)
	}
	log.Info("recovery: abandoned claims released", "claims_released", n)
	released()
	svc.RecoverEvery(ctx, every, shared)
}

// auditEvery runs the integrity audit (orgd check, online) at once (after
// startup recovery, which reads as much) and then every interval, publishes its counts, and warns when it finds
// anything.
func auditEvery(ctx context.Context, svc *usecase.Service, log *slog.Logger, interval time.Duration, publish func(map[string]int)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		started := time.Now()
		rep, err := svc.Audit(ctx, false)
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

var errLeaseLost = errors.New("lost the single-writer lease")

var errShuttingDown = errors.New("shutting down")

// holdWriterLease takes and keeps the lease that makes this process the
// only writer of a store only one may write (the embedded store, possibly
// another orgd's through MONGODB_URI). If another orgd takes it, ctx is
// cancelled with errLeaseLost and the process shuts down.
func holdWriterLease(ctx context.Context, st *store, cfg config.Config, log *slog.Logger, lost context.CancelCauseFunc) error {
	holder := cfg.InstanceID
	if cfg.Embedded() {
		holder = "orgd owning " + st.embedded.Dir()
	}
	lease, err := st.AcquireWriterLease(ctx, holder, cfg.Embedded())
	if err != nil || lease == nil {
		return err
	}
	go lease.Hold(ctx, func(by string) {
		log.Error("another orgd took the single-writer lease; stopping", "holder", by)
		lost(fmt.Errorf("%w to %s", errLeaseLost, by))
	})
	return nil
}

// store is the mongodb adapter plus the embedded server behind it, if any.
type store struct {
	*mongodb.Store
	embedded *mongodb.Embedded
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger, skipMigrations bool, m *metrics.Metrics) (*store, error) {
	uri := cfg.MongoURI
	var emb *mongodb.Embedded
	if cfg.Embedded() {
		var err error
		emb, err = mongodb.StartEmbedded(ctx, mongodb.EmbeddedOptions{Dir: cfg.DataDir, Addr: cfg.EmbeddedAddr, Logger: log})
		if err != nil {
			return nil, err
		}
		uri = emb.URI()
		log.Info("embedded store started", "data_dir", cfg.DataDir, "uri", uri)
		if cfg.Environment == "production" {
			log.Warn("production without MONGODB_URI: the embedded store keeps every organization in DATA_DIR; make it a persistent volume and back it up",
				"data_dir", emb.Dir())
		}
	}
	st, err := mongodb.Open(ctx, mongodb.Options{
		URI: uri, Database: cfg.MongoDatabase, ServerSelectionTimeout: cfg.StoreTimeout, SkipMigrations: skipMigrations,
		Monitor: m.CommandMonitor(), MaxPoolSize: poolSize(cfg), Embedded: emb, Logger: log,
	})
	if err != nil {
		if emb != nil {
			emb.Close()
		}
		if errors.Is(err, domain.ErrUnavailable) && !cfg.Embedded() {
			return nil, fmt.Errorf("MONGODB_URI: the store does not answer within STORE_TIMEOUT (%s): %w", cfg.StoreTimeout, err)
		}
		return nil, err
	}
	return &store{Store: st, embedded: emb}, nil
}

// migrate applies pending migrations and reports them.
func migrate(ctx context.Context, st *store, w io.Writer) error {
	done, err := st.Migrate(ctx)
	for _, m := range done {
		fmt.Fprintf(w, "applied %d: %s\n", m.Version, m.Name)
	}
	if err != nil {
		return err
	}
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "schema version %d (%d applied now)\n", v, len(done))
	return nil
}

// poolSize bounds the connections to the embedded store: it runs in this
// process on SQLite, which has one writer, and every connection carries its
// own SQLite caches, so more connections add memory and lock contention,
// not throughput. A real MongoDB keeps the driver's default.
func poolSize(cfg config.Config) uint64 {
	if cfg.Embedded() {
		return embeddedPoolSize
	}
	return 0
}

const embeddedPoolSize = 16

func (s *store) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.Close(ctx)
	if s.embedded != nil {
		s.embedded.Close()
	}
}

// serve runs srv until ctx ends, then lets in-flight requests finish.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, h http.Handler, drain func()) error {
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.HTTPAddr)
	if err != nil {
		return err
	}
	maxConns := connectionCap(cfg.MaxConnections, fileLimit())
	capped := newConnCap(ln, maxConns)
	hs := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       cfg.HTTPIdleTimeout,
		MaxHeaderBytes:    httpapi.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:         capped.track,
	}
	ln = httpapi.JSONErrors(capped)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	v, rev := buildVersion()
	log.Info("listening", "addr", ln.Addr().String(), "version", v, "revision", rev, "environment", cfg.Environment, "max_connections", maxConns)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	drain() // readiness fails from now on, so balancers stop sending work
	log.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// connectionCap is how many client connections orgd holds at once:
// MAX_CONNECTIONS if set, else a quarter of the file limit is kept for the
// store's connections and files and the rest serves clients. A configured
// cap is lowered to fit the file limit the same way.
func connectionCap(configured, files int) int {
	const fallback = 1024
	if files <= 0 {
		if configured > 0 {
			return configured
		}
		return fallback
	}
	fits := max(files-max(files/4, 64), 16)
	if configured > 0 {
		return min(configured, fits)
	}
	return fits
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

func usage(w io.Writer) {
	fmt.Fprint(w, `orgd: the Organization Management Service

Usage:
  orgd [serve]    serve the API
  orgd migrate    apply pending schema migrations, then exit (serve applies them too)
  orgd recover    finish operations a previous process left half done, then exit
  orgd check [--json] [--repair]  audit the store's integrity; exit 1 on findings (orgd check --help)
  orgd healthcheck  exit 0 if the orgd at HTTP_ADDR answers /healthz (container health checks)
  orgd snapshot save|restore|verify FILE  back up and restore the embedded store (orgd snapshot --help)
  orgd version    print the version
  orgd --help     show this help

Configuration (environment, then .env, then CONFIG_FILE, then defaults):
`)
	for _, k := range config.Keys {
		def := k.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %-28s %-14s %s\n", k.Name, def, k.Meaning)
	}
}

// servePprof serves the runtime profiles on their own address, opted into
// with PPROF_ADDR, so they are never exposed with the API.
func servePprof(ctx context.Context, addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	log.Warn("pprof enabled", "addr", addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("pprof server", "error", err)
	}
}

// healthcheck asks the orgd listening on addr whether it is alive.
func healthcheck(ctx context.Context, addr string) error {
	url, err := localURL(addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %s", resp.Status)
	}
	return nil
}
