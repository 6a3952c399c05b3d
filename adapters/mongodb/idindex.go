package mongodb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
)

// The embedded store (FerretDB v1 on SQLite) pushes a filter down to SQLite
// only when it is exactly {_id: <string or ObjectID>}, and writes it as
// ferretIDExpr = ?; every write by _id uses the same expression. Its own
// unique _id index is on a differently spelled expression, which SQLite
// does not match (it matches index expressions by their text), so without
// help every lookup scans and decodes the whole table. orgd adds, to every
// table, an index on exactly that expression, named idIndexPrefix + table:
// at startup for every table (before the store runs), after migrations for
// the master database, and for each tenant collection as it is created.
// SQLite drops it with its table; a rename keeps the table, and so it.
const (
	ferretIDExpr  = `_ferretdb_sjson->'$._id'`
	idIndexPrefix = "orgd_id_"
)

func idIndexSQL(table string) string {
	return fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s)`, idIndexPrefix+table, table, ferretIDExpr)
}

// openSQLite opens one of the embedded store's files for orgd's own
// statements, waiting (as the store does) while another connection writes.
func openSQLite(path string) (*sql.DB, error) {
	u := url.URL{Scheme: "file", Path: path, RawQuery: "_pragma=busy_timeout(10000)"}
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

// IndexCollection adds the _id index to collection coll of database
// dbName, which must exist.
func (e *Embedded) IndexCollection(ctx context.Context, dbName, coll string) error {
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
	_, err = db.ExecContext(ctx, idIndexSQL(table))
	return err
}

// IndexDatabase adds the _id index to every collection of database dbName
// that lacks it; a database that does not exist yet has nothing to index.
func (e *Embedded) IndexDatabase(ctx context.Context, dbName string) error {
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
func (e *Embedded) collectionTables(ctx context.Context, dbName string) (map[string]map[string]bool, error) {
	if _, err := os.Stat(filepath.Join(e.files.dir, dbName+".sqlite")); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := e.files.get(dbName)
	if err != nil {
		return nil, err
	}
	return catalogue(ctx, db)
}

// indexTables adds the _id index to each table that lacks it and returns
// how many it added.
func indexTables(ctx context.Context, db *sql.DB, tables map[string]map[string]bool) (int, error) {
	have := map[string]bool{}
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index'`)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return 0, err
		}
		have[name] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for table := range tables {
		if have[idIndexPrefix+table] {
			continue
		}
		if _, err := db.ExecContext(ctx, idIndexSQL(table)); err != nil {
			return n, fmt.Errorf("index %s: %w", table, err)
		}
		n++
	}
	return n, nil
}
