package mongodb

import (
	"context"
	"fmt"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
)

// This file is the schema's state and the way back: what a store has had
// (MigrationStatus), the refusal of a store newer than this orgd
// (CheckSchema), and undoing migrations (MigrateDown).

// KnownVersion is the newest schema this orgd knows.
func KnownVersion() int { return Migrations[len(Migrations)-1].Version }

// SchemaNewerError refuses a store whose schema is newer than this orgd
// knows: an older orgd must not write a newer layout.
type SchemaNewerError struct{ Store, Known int }

func (e *SchemaNewerError) Error() string {
	return fmt.Sprintf("the store's schema is version %d, newer than this orgd knows (%d): run a newer orgd, or roll the store back with the newer orgd's \"orgd migrate down --to %d\"",
		e.Store, e.Known, e.Known)
}

// CheckSchema returns a *SchemaNewerError if the store has had a migration
// this orgd does not know.
func (s *Store) CheckSchema(ctx context.Context) error {
	_, err := s.knownRecords(ctx)
	return err
}

// knownRecords returns the records of schema_migrations, by version, or a
// *SchemaNewerError if one is newer than this orgd.
func (s *Store) knownRecords(ctx context.Context) ([]migrationDoc, error) {
	docs, err := s.migrationRecords(ctx)
	if err != nil {
		return nil, err
	}
	if n := len(docs); n > 0 && docs[n-1].Version > KnownVersion() {
		return nil, &SchemaNewerError{Store: docs[n-1].Version, Known: KnownVersion()}
	}
	return docs, nil
}

// AppliedMigration is a migration the store has had. Known is false for
// one newer than this orgd; Undoing is true for one whose down began and
// did not finish.
type AppliedMigration struct {
	Version   int       `json:"version"`
	Name      string    `json:"name"`
	AppliedAt time.Time `json:"applied_at"`
	Known     bool      `json:"known"`
	Undoing   bool      `json:"undoing,omitempty"`
}

// PendingMigration is a migration this orgd knows that the store has not
// had.
type PendingMigration struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
}

// MigrationStatus is the store's schema as orgd migrate status reports it.
type MigrationStatus struct {
	SchemaVersion int                `json:"schema_version"`
	KnownVersion  int                `json:"known_version"`
	Applied       []AppliedMigration `json:"applied"`
	Pending       []PendingMigration `json:"pending"`
}

// Status reads the store's schema: what it has had, and what it lacks.
// It changes nothing, and works on a store newer than this orgd.
func (s *Store) Status(ctx context.Context) (MigrationStatus, error) {
	docs, err := s.migrationRecords(ctx)
	if err != nil {
		return MigrationStatus{}, err
	}
	st := MigrationStatus{KnownVersion: KnownVersion(), Applied: []AppliedMigration{}, Pending: []PendingMigration{}}
	had := map[int]bool{}
	for _, d := range docs {
		st.Applied = append(st.Applied, AppliedMigration{
			Version: d.Version, Name: d.Name, AppliedAt: d.AppliedAt.UTC(), Known: d.Version <= KnownVersion(), Undoing: d.Undoing,
		})
		if !d.Undoing {
			had[d.Version] = true
			st.SchemaVersion = max(st.SchemaVersion, d.Version)
		}
	}
	for _, m := range Migrations {
		if !had[m.Version] {
			st.Pending = append(st.Pending, PendingMigration{Version: m.Version, Name: m.Name})
		}
	}
	return st, nil
}

// IrreversibleError refuses a down through a migration that has no Down.
type IrreversibleError struct{ Migration Migration }

func (e *IrreversibleError) Error() string {
	return fmt.Sprintf("migration %d (%s) cannot be undone: %s; to go back before it, restore a snapshot taken before it (embedded store: orgd snapshot restore FILE; MongoDB: mongorestore --drop)",
		e.Migration.Version, e.Migration.Name, e.Migration.Irreversible)
}

// MigrateDown undoes the applied migrations above version to, newest
// first, and returns them. It checks first that each can be undone (now:
// CanUndo) and changes nothing if one cannot. Each is marked undoing, undone (its Down
// is idempotent) and its record removed, in that order: a run cut short
// is finished by running it again, and a migrate in between applies the
// half-undone migration again instead. Running it twice is a no-op the
// second time.
func (s *Store) MigrateDown(ctx context.Context, to int) ([]Migration, error) {
	if to < 0 || to > KnownVersion() {
		return nil, fmt.Errorf("migrate down: --to must be 0 to %d, not %d", KnownVersion(), to)
	}
	docs, err := s.knownRecords(ctx)
	if err != nil {
		return nil, err
	}
	var undo []Migration
	for i := len(docs) - 1; i >= 0; i-- {
		if docs[i].Version <= to {
			break
		}
		v := docs[i].Version
		if v < 1 || Migrations[v-1].Version != v {
			return nil, fmt.Errorf("migrate down: schema_migrations holds a record %d this orgd cannot place", v)
		}
		m := Migrations[v-1]
		if m.Down == nil {
			return nil, &IrreversibleError{Migration: m}
		}
		if m.CanUndo != nil {
			if err := m.CanUndo(ctx, s); err != nil {
				return nil, fmt.Errorf("migration %d (%s) cannot be undone now: %w", m.Version, m.Name, err)
			}
		}
		undo = append(undo, m)
	}
	var done []Migration
	for _, m := range undo {
		if err := s.undo(ctx, m); err != nil {
			return done, err
		}
		done = append(done, m)
	}
	return done, nil
}

func (s *Store) undo(ctx context.Context, m Migration) error {
	id := bson.D{{Key: "_id", Value: m.Version}}
	if _, err := s.db.Collection(collMigrations).UpdateOne(ctx, id, bson.D{{Key: "$set", Value: bson.D{{Key: "undoing", Value: true}}}}); err != nil {
		return fmt.Errorf("mongodb: mark migration %d undoing: %w", m.Version, translate(err))
	}
	s.log.InfoContext(ctx, "migration down started", "migration", m.Version, "name", m.Name)
	started := time.Now()
	if err := m.Down(ctx, s); err != nil {
		return fmt.Errorf("mongodb: undo migration %d (%s): %w", m.Version, m.Name, err)
	}
	if _, err := s.db.Collection(collMigrations).DeleteOne(ctx, id); err != nil {
		return fmt.Errorf("mongodb: forget migration %d: %w", m.Version, translate(err))
	}
	s.log.InfoContext(ctx, "migration undone", "migration", m.Version, "took", time.Since(started).Round(time.Millisecond).String())
	return nil
}
