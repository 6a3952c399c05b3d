// Package mongodb implements orgd's storage ports over MongoDB with
// mongo-driver v2, and runs the embedded MongoDB-wire store (FerretDB on
// SQLite) used when no MongoDB is configured. One code path serves both:
// it uses only single-document atomic writes, unique indexes without
// collation, and renameCollection within one database.
package mongodb

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/event"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"orgd/core/domain"
)

// Master collection names. None starts with domain.CollectionPrefix, so no
// tenant collection can collide with them.
const (
	collOrgs   = "organizations"
	collNames  = "name_claims"
	collAdmins = "admins"
)

// Options configure Open.
type Options struct {
	URI      string
	Database string
	// ServerSelectionTimeout bounds how long an operation waits for a
	// reachable server before failing with domain.ErrUnavailable.
	ServerSelectionTimeout time.Duration
	// SkipMigrations opens the store without applying pending migrations.
	SkipMigrations bool
	// Monitor, if set, observes every command (for latency metrics).
	Monitor *event.CommandMonitor
	// MaxPoolSize caps the connections to the server; 0 keeps the driver's
	// default (100).
	MaxPoolSize uint64
}

// Store is a connection to one master database and its tenant collections.
type Store struct {
	client *mongo.Client
	db     *mongo.Database
	orgs   *Orgs
	names  *Names
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
	if o.Monitor != nil {
		opts.SetMonitor(o.Monitor)
	}
	client, err := mongo.Connect(opts)
	if err != nil {
		return nil, fmt.Errorf("mongodb: connect: %w", err)
	}
	db := client.Database(o.Database)
	s := &Store{
		client: client, db: db,
		orgs:  &Orgs{c: db.Collection(collOrgs), locks: newKeyLocks()},
		names: &Names{c: db.Collection(collNames), locks: newKeyLocks()},
	}
	if o.SkipMigrations {
		return s, nil
	}
	if _, err := s.Migrate(ctx); err != nil {
		_ = client.Disconnect(context.WithoutCancel(ctx))
		return nil, err
	}
	return s, nil
}

// Close disconnects from the server.
func (s *Store) Close(ctx context.Context) error { return s.client.Disconnect(ctx) }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return translate(s.client.Ping(ctx, nil)) }

// Database returns the master database handle (for tools and tests).
func (s *Store) Database() *mongo.Database { return s.db }

// Drop removes the whole database: the master collections and every
// tenant collection. Tests use it to clean up.
func (s *Store) Drop(ctx context.Context) error { return translate(s.db.Drop(ctx)) }

// Orgs returns the organization repository.
func (s *Store) Orgs() *Orgs { return s.orgs }

// Names returns the name registry.
func (s *Store) Names() *Names { return s.names }

// Admins returns the admin repository.
func (s *Store) Admins() *Admins { return &Admins{c: s.db.Collection(collAdmins)} }

// Tenants returns the tenant collections.
func (s *Store) Tenants() *Tenants { return &Tenants{client: s.client, db: s.db} }

// Server error codes orgd reacts to.
const (
	codeNamespaceNotFound = 26
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
	return err
}
