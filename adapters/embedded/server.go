// Package embedded runs the store orgd starts in its own process when no
// MONGODB_URI is set: FerretDB with its SQLite backend, keeping its files
// in DATA_DIR, which it locks so that only one process ever uses them. It
// also gives those files what the store does not: an _id index its
// queries can use, repair of what a crash leaves, integrity checks, and
// point-in-time snapshots (whose archive format is package archive). The
// mongodb adapter reaches the store through the driver like any server,
// and asks this package, through the small interface it declares
// (mongodb.Embedded), to index what it creates.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

// Server is an in-process MongoDB-wire server (FerretDB with its SQLite
// backend) keeping its files in one directory, which it locks so that only
// one process ever uses them.
type Server struct {
	uri    string
	cancel context.CancelFunc
	done   chan struct{}
	unlock func()
	files  *sqliteFiles
	dir    string
	damage *damageReport
	// snapshotting keeps snapshots one at a time.
	snapshotting sync.Mutex
	// lastPause is how long the last snapshot held the writers (ns).
	lastPause atomic.Int64
}

// DefaultCheckBudget is how long a start waits for the integrity check of
// the store's files before serving while the rest is checked.
const DefaultCheckBudget = time.Second

// damageReport holds damage the background integrity check found.
type damageReport struct {
	log *slog.Logger
	err atomic.Pointer[error]
}

func (d *damageReport) set(err error) {
	if d.err.CompareAndSwap(nil, &err) {
		d.log.Error("EMBEDDED STORE FILE DAMAGED: readiness fails from now on", "error", err)
	}
}

// Damaged returns the damage the integrity check found in the store's
// files after the start, if any.
func (e *Server) Damaged() error {
	if err := e.damage.err.Load(); err != nil {
		return *err
	}
	return nil
}

// Options configure Start.
type Options struct {
	// Dir holds the SQLite files; it is created if missing.
	Dir string
	// Addr is the TCP address to listen on; empty means a free loopback port.
	Addr string
	// Logger receives the store's own errors; nil discards them.
	Logger *slog.Logger
	// CheckBudget bounds how long the start waits for the integrity check
	// of the files (0: DefaultCheckBudget; negative: not at all).
	CheckBudget time.Duration
}

// ErrDataDirLocked is returned by Start when another process holds
// the data directory.
var ErrDataDirLocked = errors.New("data directory is in use by another orgd process")

// Start starts the store and returns once it accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	logger := o.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	damage, err := prepareDir(ctx, dir, o.CheckBudget, logger)
	if err != nil {
		unlock()
		return nil, err
	}
	addr := o.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	// The store logs every error answer it sends (duplicate keys included)
	// as a warning; only its own failures matter here.
	storeLogger := slog.New(levelFloor{logger.Handler(), slog.LevelError})
	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: addr},
		Handler:   "sqlite",
		SQLiteURL: "file:" + filepath.ToSlash(dir) + "/",
		Logger:    storeLogger,
	})
	if err != nil {
		unlock()
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e := &Server{cancel: cancel, done: make(chan struct{}), unlock: unlock, files: &sqliteFiles{dir: dir}, dir: dir, damage: damage}
	go func() {
		defer close(e.done)
		_ = f.Run(runCtx)
	}()
	e.uri = f.MongoDBURI()
	if err := waitListening(ctx, e.uri); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// prepareDir readies a locked data directory for the store: it removes a
// killed snapshot's or restore's staging, checks every file's integrity
// (up to budget, then in the background, reporting to the damage report
// it returns), and, unless the store last shut down cleanly, repairs what a
// crash left.
func prepareDir(ctx context.Context, dir string, budget time.Duration, logger *slog.Logger) (*damageReport, error) {
	removeStaleStaging(dir)
	if budget == 0 {
		budget = DefaultCheckBudget
	}
	damage := &damageReport{log: logger}
	if err := checkEmbedded(ctx, dir, budget, damage.set); err != nil {
		return nil, err
	}
	clean, err := takeCleanShutdown(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if clean {
		return damage, nil
	}
	rep, err := repairEmbedded(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if len(rep.Tables)+len(rep.Indexes) > 0 {
		logger.Warn("embedded store: removed leftovers of an interrupted collection change",
			"tables", rep.Tables, "indexes", rep.Indexes)
	}
	if rep.IDIndexes > 0 {
		logger.Info("embedded store: rewrote _id indexes to the expression queries use (once per table)", "indexes", rep.IDIndexes)
	}
	if len(rep.Empty) > 0 {
		logger.Warn("embedded store: set aside files with no tables (a crash right after the store created them; they held nothing)",
			"set_aside_as", rep.Empty)
	}
	return damage, nil
}

// Dir is the store's data directory, absolute.
func (e *Server) Dir() string { return e.dir }

// URI is the connection string of the running store.
func (e *Server) URI() string { return e.uri }

// Close stops the store, marks the data directory cleanly shut down and
// releases it.
func (e *Server) Close() {
	e.files.close()
	e.cancel()
	<-e.done
	_ = markCleanShutdown(e.dir)
	e.unlock()
}

func waitListening(ctx context.Context, uri string) error {
	host := uri[len("mongodb://"):]
	host = host[:len(host)-1] // trailing "/"
	deadline := time.Now().Add(10 * time.Second)
	for {
		d := net.Dialer{Timeout: time.Second}
		c, err := d.DialContext(ctx, "tcp", host)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("embedded store did not start: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// levelFloor passes on only records at or above min.
type levelFloor struct {
	slog.Handler
	min slog.Level
}

func (h levelFloor) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelFloor) WithAttrs(a []slog.Attr) slog.Handler {
	return levelFloor{h.Handler.WithAttrs(a), h.min}
}

func (h levelFloor) WithGroup(g string) slog.Handler {
	return levelFloor{h.Handler.WithGroup(g), h.min}
}
