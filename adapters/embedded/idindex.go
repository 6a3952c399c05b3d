package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// The embedded store (FerretDB v1 on SQLite) pushes a filter down to SQLite
// only when it is exactly {_id: <string or ObjectID>}, and writes it as
// ferretIDExpr = ?; every write by _id uses the same expression. Its own
// unique _id index, <table>__id_, is on a differently spelled expression
// (_ferretdb_sjson->"_id"), which SQLite does not match (it matches index
// expressions by their text), so without help every lookup scans and
// decodes the whole table. orgd rewrites that index, under the same name
// and still UNIQUE, on exactly ferretIDExpr (both spellings yield the same
// value, so uniqueness is unchanged): at startup for every table (before
// the store runs), after migrations for the master database, and for each
// tenant collection as it is created. The rewrite is one SQLite
// transaction; the store's catalogue, which knows the index by name, is
// untouched. SQLite drops the index with its table; a rename keeps both.
// (Versions before this kept the store's index and added a second one,
// orgd_id_<table>; the rewrite drops it, a schema object fewer per table,
// which every connection to the file holds in memory.)
const (
	ferretIDExpr        = `_ferretdb_sjson->'$._id'`
	legacyIDIndexPrefix = "orgd_id_"
)

// idIndexName is the SQLite name of the store's _id index on table.
func idIndexName(table string) string { return table + "__id_" }

// rewriteIDIndex makes table's _id index a unique index on ferretIDExpr,
// given the SQL of the file's indexes by name; it reports whether it
// changed anything.
func rewriteIDIndex(ctx context.Context, db *sql.DB, table string, indexes map[string]string) (bool, error) {
	name := idIndexName(table)
	_, legacy := indexes[legacyIDIndexPrefix+table]
	if strings.Contains(indexes[name], ferretIDExpr) && !legacy {
		return false, nil
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op once committed
	for _, stmt := range []string{
		fmt.Sprintf(`DROP INDEX IF EXISTS %q`, legacyIDIndexPrefix+table),
		fmt.Sprintf(`DROP INDEX IF EXISTS %q`, name),
		fmt.Sprintf(`CREATE UNIQUE INDEX %q ON %q (%s)`, name, table, ferretIDExpr),
	} {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return false, fmt.Errorf("rewrite _id index of %s: %w", table, err)
		}
	}
	return true, tx.Commit()
}

// fileIndexes returns the SQL of every index in db, by name.
func fileIndexes(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, sql string
		if err := rows.Scan(&name, &sql); err != nil {
			return nil, err
		}
		out[name] = sql
	}
	return out, rows.Err()
}

// openSQLite opens one of the embedded store's files for orgd's own
// statements, waiting (as the store does) while another connection writes.
// Transactions take the write lock as they begin (BEGIN IMMEDIATE): a
// transaction that began reading could not take it later while the store
// writes the file (SQLite answers that at once, without waiting).
func openSQLite(path string) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(10000)&_txlock=immediate"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// sqliteFiles holds orgd's own connections to the running store's files,
// one per database, opened on first use.
type sqliteFiles struct {
	dir string
	mu  sync.Mutex
	dbs map[string]*sql.DB
}

func (f *sqliteFiles) get(dbName string) (*sql.DB, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if db, ok := f.dbs[dbName]; ok {
		return db, nil
	}
	db, err := openSQLite(filepath.Join(f.dir, dbName+".sqlite"))
	if err != nil {
		return nil, err
	}
	if f.dbs == nil {
		f.dbs = map[string]*sql.DB{}
	}
	f.dbs[dbName] = db
	return db, nil
}

func (f *sqliteFiles) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, db := range f.dbs {
		_ = db.Close()
	}
	f.dbs = nil
}

// IndexCollection rewrites the _id index of collection coll of database
// dbName, which must exist.
func (e *Server) IndexCollection(ctx context.Context, dbName, coll string) error {
	db, err := e.files.get(dbName)
	if err != nil {
		return err
	}
	var table string
	q := fmt.Sprintf(`SELECT table_name FROM %q WHERE name = ?`, ferretMetadataTable)
	if err := db.QueryRowContext(ctx, q, coll).Scan(&table); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("collection %s.%s is not in the store's catalogue", dbName, coll)
		}
		return err
	}
	var def string
	if err := db.QueryRowContext(ctx, `SELECT coalesce(sql, '') FROM sqlite_master WHERE type = 'index' AND name = ?`, idIndexName(table)).Scan(&def); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = rewriteIDIndex(ctx, db, table, map[string]string{idIndexName(table): def})
	return err
}

// DropOrphanTable drops the table that a create of collection coll left
// behind if it failed between creating the table and listing it in the
// store's catalogue, and reports whether there was one. The store names
// that table lower(coll)_<FNV-32a of coll> (the startup repair removes any
// such table; this does it for one collection while the store runs). The
// caller must hold the claim on coll's name, so that no other create of
// coll can be under way.
func (e *Server) DropOrphanTable(ctx context.Context, dbName, coll string) (bool, error) {
	db, err := e.files.get(dbName)
	if err != nil {
		return false, err
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(coll))
	table := fmt.Sprintf("%s_%08x", strings.ToLower(coll), h.Sum32())
	var listed, exists int
	q := fmt.Sprintf(`SELECT (SELECT count(*) FROM %q WHERE table_name = ?), (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?)`, ferretMetadataTable)
	if err := db.QueryRowContext(ctx, q, table, table).Scan(&listed, &exists); err != nil {
		return false, err
	}
	if listed > 0 || exists == 0 {
		return false, nil
	}
	_, err = db.ExecContext(ctx, fmt.Sprintf(`DROP TABLE %q`, table))
	return err == nil, err
}

// IndexDatabase rewrites the _id index of every collection of database
// dbName that needs it; a database that does not exist yet has nothing to
// index.
func (e *Server) IndexDatabase(ctx context.Context, dbName string) error {
	tables, err := e.collectionTables(ctx, dbName)
	if err != nil || len(tables) == 0 {
		return err
	}
	db, err := e.files.get(dbName)
	if err != nil {
		return err
	}
	_, err = indexTables(ctx, db, tables)
	return err
}

// collectionTables lists the tables behind dbName's collections, read from
// the store's catalogue.
func (e *Server) collectionTables(ctx context.Context, dbName string) (map[string]map[string]bool, error) {
	if _, err := os.Stat(filepath.Join(e.files.dir, dbName+".sqlite")); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := e.files.get(dbName)
	if err != nil {
		return nil, err
	}
	return catalogue(ctx, db)
}

// indexTables rewrites the _id index of each table that needs it and
// returns how many it rewrote.
func indexTables(ctx context.Context, db *sql.DB, tables map[string]map[string]bool) (int, error) {
	indexes, err := fileIndexes(ctx, db)
	if err != nil {
		return 0, err
	}
	n := 0
	for table := range tables {
		changed, err := rewriteIDIndex(ctx, db, table, indexes)
		if err != nil {
			return n, err
		}
		if changed {
			n++
		}
	}
	return n, nil
}
