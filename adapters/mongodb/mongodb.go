// Package mongodb implements orgd's storage ports over MongoDB with
// mongo-driver v2, on MongoDB or any server speaking its protocol,
// including the embedded store (package embedded) orgd runs when no
// MongoDB is configured. One code path serves both:
// it uses only single-document atomic writes, unique indexes without
// collation, and renameCollection within one database; every read and
// write on the request path filters on _id alone, the one filter the
// embedded store pushes down to SQLite (where orgd gives it an index).
//
// Layout: the master database (MONGODB_DATABASE) holds organizations,
// name_claims, email_claims, admins, pending_ops and schema_migrations.
// Each organization's collection org_<name> lives in one of
// TenantDatabases tenant databases, <master>_t00 … <master>_t31, chosen by
// the organization's immutable ID (its document's tenant_db field names
// it), so a rename stays within one database and no tenant DDL touches the
// master database's file on the embedded store.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"orgd/core/domain"
)

// Master collection names. None starts with domain.CollectionPrefix, so no
// tenant collection can collide with them.
const (
	collOrgs    = "organizations"
	collNames   = "name_claims"
	collEmails  = "email_claims"
	collAdmins  = "admins"
	collPending = "pending_ops"
	collRosters = "rosters"
	collInvites = "invitations"
	collEvents  = "event_log"
	collHooks   = "webhooks"
	collExtIDs  = "external_id_claims"
	collIdem    = "idempotency_keys"
)

// TenantDatabases is how many tenant databases share the tenant
// collections. It bounds how much of the store one collection's creation
// or drop disturbs (on the embedded store each database is one SQLite file,
// whose schema every connection re-reads after any DDL), and is fixed for
// the life of a deployment: an organization's database derives from its ID.
const TenantDatabases = 32

// Options configure Open.
type Options struct {
	URI      string
	Database string
	// ServerSelectionTimeout bounds how long an operation waits for a
	// reachable server before failing with domain.ErrUnavailable.
	ServerSelectionTimeout time.Duration
	// SkipMigrations opens the store without applying pending migrations.
	SkipMigrations bool
	// AnySchema opens a store whose schema is newer than this orgd knows
	// (to report it); otherwise Open refuses it (SchemaNewerError).
	AnySchema bool
	// Monitor, if set, observes every command (for latency metrics).
	Monitor *event.CommandMonitor
	// MaxPoolSize caps the connections to the server; 0 keeps the driver's
	// default (100).
	MaxPoolSize uint64
	// Logger receives a line as each migration starts and ends; nil
	// discards them.
	Logger *slog.Logger
	// Embedded is the in-process store behind URI, if that is what it is
	// (nil for any other server): the adapter then has it index each
	// collection it creates.
	Embedded Embedded
}

// Embedded is what the adapter needs of a store that runs in this process
// on files of its own (orgd's embedded store, package embedded): to give
// what the driver creates the index the store's queries need, to clear a
// half-made table a crash left in a collection's way, and to say whether
// its files are damaged.
type Embedded interface {
	// IndexDatabase indexes every collection of database db.
	IndexDatabase(ctx context.Context, db string) error
	// IndexCollection indexes collection coll of database db.
	IndexCollection(ctx context.Context, db, coll string) error
	// DropOrphanTable drops the table a create of coll left without its
	// catalogue entry, if any, and reports whether it did.
	DropOrphanTable(ctx context.Context, db, coll string) (bool, error)
	// Damaged returns the damage found in the store's files, if any.
	Damaged() error
}

// Store is a connection to one master database and its tenant collections.
type Store struct {
	client   *mongo.Client
	db       *mongo.Database
	embedded Embedded
	log      *slog.Logger
	// corrupt holds the first error that said a store file is damaged;
	// full, the latest that said the disk is full, until a write succeeds.
	// monitor, which the driver reports every command to, sets them.
	corrupt atomic.Pointer[error]
	full    atomic.Pointer[error]
	monitor *event.CommandMonitor
	// singleWriter is set when the server's conditional writes are not
	// atomic (ConditionalWritesAtomic: the embedded store, FerretDB 1.x,
	// whose only indexed filter is also {_id}): compare-and-set is then a
	// per-document lock in this process plus a read and a write by _id
	// (sound only because this process is the store's one writer). On
	// MongoDB and FerretDB 2.x it is a {_id, version} filter.
	singleWriter bool
	orgs         *Orgs
	names        *Claims
	emails       *Claims
	extIDs       *Claims
	idem         *IdempotencyKeys
	events       *EventLog
	hooks        *Webhooks
}

// Open connects to the server and applies pending migrations (Migrations)
// to the master database.
func Open(ctx context.Context, o Options) (*Store, error) {
	if o.Database == "" {
		return nil, errors.New("mongodb: database name is required")
	}
	if o.ServerSelectionTimeout <= 0 {
		o.ServerSelectionTimeout = 5 * time.Second
	}
	opts := options.Client().ApplyURI(o.URI).
		SetServerSelectionTimeout(o.ServerSelectionTimeout).
		SetConnectTimeout(o.ServerSelectionTimeout).
		SetAppName("orgd")
	if o.MaxPoolSize > 0 {
		opts.SetMaxPoolSize(o.MaxPoolSize)
	}
	s := &Store{embedded: o.Embedded, log: o.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.monitor = s.watchCorruption(o.Monitor)
	opts.SetMonitor(s.monitor)
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongodb: connect: %w", err)
	}
	db := client.Database(o.Database)
	single, err := singleWriterServer(ctx, client)
	if err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	s.client, s.db, s.singleWriter = client, db, single
	s.orgs = &Orgs{c: db.Collection(collOrgs), pending: db.Collection(collPending), cas: s.newCAS()}
	if s.orgs.cas.single {
		s.orgs.index = &orgIndex{orgs: db.Collection(collOrgs)}
	}
	s.names = &Claims{c: db.Collection(collNames), cas: s.newCAS(), kind: domain.KindName}
	s.emails = &Claims{c: db.Collection(collEmails), cas: s.newCAS(), kind: domain.KindEmail}
	s.extIDs = &Claims{c: db.Collection(collExtIDs), cas: s.newCAS(), kind: domain.KindExternalID}
	s.idem = &IdempotencyKeys{c: db.Collection(collIdem), cas: s.newCAS()}
	s.events = &EventLog{c: db.Collection(collEvents), cas: s.newCAS()}
	s.hooks = &Webhooks{c: db.Collection(collHooks), cas: s.newCAS()}
	if !o.AnySchema && o.SkipMigrations { // Migrate checks it otherwise
		if err := s.CheckSchema(ctx); err != nil {
			_ = client.Disconnect(context.WithoutCancel(ctx))
			return nil, err
		}
	}
	if o.SkipMigrations {
		return s, nil
	}
	if _, err := s.Migrate(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	if s.embedded != nil {
		// Collections the migrations created get their _id index now;
		// existing ones got it before the store started.
		if err := s.embedded.IndexDatabase(ctx, s.db.Name()); err != nil {
			_ = client.Disconnect(context.WithoutCancel(ctx))
			return nil, fmt.Errorf("mongodb: index %s: %w", s.db.Name(), err)
		}
	}
	return s, nil
}

// singleWriterServer reports whether the server applies a conditional
// write as two steps, so that only one process may write it
// (ConditionalWritesAtomic). It asks buildInfo.
func singleWriterServer(ctx context.Context, client *mongo.Client) (bool, error) {
	var info bson.M
	err := client.Database("admin").RunCommand(ctx, bson.D{{Key: "buildInfo", Value: 1}}).Decode(&info)
	if err != nil {
		return false, fmt.Errorf("mongodb: buildInfo: %w", translate(err))
	}
	return !ConditionalWritesAtomic(info), nil
}

// ConditionalWritesAtomic reports whether a server whose buildInfo is info
// applies an update's or a delete's filter and its write atomically, as
// compare-and-set needs across processes. The rule is a fact about the
// server's code, not its name: FerretDB 1.x runs every filtered update and
// delete, on every one of its backends (SQLite, PostgreSQL, MySQL), as a
// query followed by a write by _id in its shared command handler, so two
// processes' compare-and-sets can both apply. It always reports
// ferretdbVersion (v1.*, or "unknown" when built into another program, as
// the embedded store is). MongoDB applies filter and write under one
// document lock and reports no ferretdbVersion; FerretDB 2.x hands each
// write to PostgreSQL with DocumentDB as one transaction, and reports a
// ferretdb document instead (a 2.x that reported ferretdbVersion v2.*
// would count as atomic too).
func ConditionalWritesAtomic(info bson.M) bool {
	v, ok := info["ferretdbVersion"].(string)
	if !ok {
		return true
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2
}

// Close disconnects from the server.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// Preload loads what the store keeps in memory for keyset listing (on a
// single-writer store, the index of organization ids: one scan of the
// organizations), so that the first listing after a start does not wait
// for it. Without it, that listing loads it.
func (s *Store) Preload(ctx context.Context) error {
	if s.orgs.index == nil {
		return nil
	}
	return s.orgs.index.load(ctx)
}

// Ping checks that the server answers, and that no command has found a
// store file damaged since it opened.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.corrupt.Load(); err != nil {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, *err)
	}
	if s.embedded != nil {
		if err := s.embedded.Damaged(); err != nil {
			return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
		}
	}
	if err := s.full.Load(); err != nil {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, *err)
	}
	return translate(s.client.Ping(ctx, nil))
}

// watchCorruption wraps next (which may be nil) so that a command failing
// because a store file is damaged (SQLite's "database disk image is
// malformed") is logged once, loudly, and fails Ping from then on: the
// store cannot be trusted until it is restored.
func (s *Store) watchCorruption(next *event.CommandMonitor) *event.CommandMonitor {
	m := &event.CommandMonitor{Failed: func(ctx context.Context, e *event.CommandFailedEvent) {
		if e.Failure != nil && (isFull(e.Failure) || isIOError(e.Failure)) {
			err := fmt.Errorf("the store cannot write: %w", e.Failure)
			if s.full.Swap(&err) == nil {
				s.log.ErrorContext(ctx, "store cannot write (disk full or failing): writes answer 507 or 503 and /readyz 503 until one succeeds",
					"command", e.CommandName, "error", e.Failure)
			}
		}
		if e.Failure != nil && isCorruption(e.Failure) {
			err := fmt.Errorf("store file damaged: %w", e.Failure)
			if s.corrupt.CompareAndSwap(nil, &err) {
				s.log.ErrorContext(ctx, "EMBEDDED STORE FILE DAMAGED: readiness fails from now on; stop orgd and restore DATA_DIR from a backup",
					"command", e.CommandName, "error", e.Failure)
			}
		}
		if next != nil && next.Failed != nil {
			next.Failed(ctx, e)
		}
	}}
	m.Succeeded = func(ctx context.Context, e *event.CommandSucceededEvent) {
		if writeCommands[e.CommandName] && s.full.Swap(nil) != nil {
			s.log.InfoContext(ctx, "store writes again", "command", e.CommandName)
		}
		if next != nil && next.Succeeded != nil {
			next.Succeeded(ctx, e)
		}
	}
	if next != nil {
		m.Started = next.Started
	}
	return m
}

// writeCommands are the commands whose success shows the store can write.
var writeCommands = map[string]bool{"insert": true, "update": true, "delete": true, "create": true, "findAndModify": true}

// isCorruption reports an error SQLite gives for a damaged file.
func isCorruption(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "database disk image is malformed") || strings.Contains(msg, "file is not a database")
}

// Database returns the master database handle (for tools and tests).
func (s *Store) Database() *mongo.Database { return s.db }

// Drop removes the master database and every tenant database. Tests use
// it to clean up.
func (s *Store) Drop(ctx context.Context) error {
	errs := []error{translate(s.db.Drop(ctx))}
	for i := range TenantDatabases {
		errs = append(errs, translate(s.client.Database(TenantDatabaseName(s.db.Name(), i)).Drop(ctx)))
	}
	return errors.Join(errs...)
}

// SingleWriter reports whether only one process may write the server
// (its conditional writes are not atomic: the embedded store, or any
// FerretDB 1.x; see ConditionalWritesAtomic).
func (s *Store) SingleWriter() bool { return s.singleWriter }

// Orgs returns the organization repository.
func (s *Store) Orgs() *Orgs { return s.orgs }

// Names returns the claims on organization name keys.
func (s *Store) Names() *Claims { return s.names }

// Emails returns the claims on admin emails.
func (s *Store) Emails() *Claims { return s.emails }

// IdempotencyKeys returns the records of requests sent with an
// Idempotency-Key.
func (s *Store) IdempotencyKeys() *IdempotencyKeys { return s.idem }

// ExternalIDs returns the claims on organizations' external ids.
func (s *Store) ExternalIDs() *Claims { return s.extIDs }

// Webhooks returns the webhook endpoints.
func (s *Store) Webhooks() *Webhooks { return s.hooks }

// Events returns the event log.
func (s *Store) Events() *EventLog { return s.events }

// Admins returns the admin repository.
func (s *Store) Admins() *Admins { return &Admins{c: s.db.Collection(collAdmins)} }

// Rosters returns the roster pages.
func (s *Store) Rosters() *Rosters { return &Rosters{c: s.db.Collection(collRosters)} }

// Invitations returns the invitations.
func (s *Store) Invitations() *Invitations { return &Invitations{c: s.db.Collection(collInvites)} }

// Tenants returns the tenant collections.
func (s *Store) Tenants() *Tenants {
	return &Tenants{client: s.client, master: s.db.Name(), embedded: s.embedded}
}

// Server error codes orgd reacts to.
const (
	codeNamespaceNotFound = 26
	codeIndexNotFound     = 27
	codeNamespaceExists   = 48
)

func createCollection(ctx context.Context, db *mongo.Database, name string) error {
	err := db.CreateCollection(ctx, name)
	if hasCode(err, codeNamespaceExists) {
		return nil
	}
	return translate(err)
}

// isDuplicate reports a unique index violation. MongoDB says so with code
// 11000; the embedded store's SQLite backend answers an update that
// violates one with an internal error naming the constraint.
func isDuplicate(err error) bool {
	if mongo.IsDuplicateKeyError(err) {
		return true
	}
	var se mongo.ServerError
	return errors.As(err, &se) && strings.Contains(se.Error(), "UNIQUE constraint failed")
}

func hasCode(err error, code int) bool {
	var se mongo.ServerError
	return errors.As(err, &se) && se.HasErrorCode(code)
}

// translate maps driver failures that mean "the store is not reachable"
// to domain.ErrUnavailable, keeping the original in the chain for logs.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if mongo.IsTimeout(err) || mongo.IsNetworkError(err) || errors.Is(err, mongo.ErrClientDisconnected) ||
		errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	var sse topology.ServerSelectionError
	if errors.As(err, &sse) {
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	switch {
	case isFull(err):
		return fmt.Errorf("%w: %w", domain.ErrStorageFull, err)
	case isIOError(err):
		return fmt.Errorf("%w: %w", domain.ErrUnavailable, err)
	}
	return err
}

// isFull reports SQLite's answer to a write that found no room on disk
// (SQLITE_FULL), which the embedded store passes on.
func isFull(err error) bool { return strings.Contains(err.Error(), "database or disk is full") }

// isIOError reports SQLite's answer to a failed read or write of a file
// (SQLITE_IOERR and its kinds; a full disk gives some of them too, e.g.
// when a new file's shared memory cannot be sized), or to a file it cannot
// open (SQLITE_CANTOPEN: out of file descriptors, say).
func isIOError(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "disk I/O error") || strings.Contains(msg, "unable to open database file")
}
