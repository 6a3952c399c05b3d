package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the SQLite driver the embedded store itself uses
)

// Names inside the embedded store's SQLite files (FerretDB v1 layout).
const (
	ferretMetadataTable = "_ferretdb_collections"
	sqliteInternal      = "sqlite_"
)

// RepairReport says what repairEmbedded removed, and how many _id indexes
// it rewrote.
type RepairReport struct {
	Tables    []string // "db.table"
	Indexes   []string // "db.index"
	IDIndexes int
	// Empty names the files with no tables at all (a crash right after the
	// store created one), as they were set aside.
	Empty []string
}

// repairEmbedded removes what a crash of the embedded store leaves between
// its SQLite tables and its own catalogue, and gives every table orgd's _id
// index (see idindex.go). FerretDB v1 creates a collection as CREATE TABLE
// followed by a catalogue insert, and drops one as a catalogue delete
// followed by DROP TABLE, with no transaction around either; indexes
// likewise. A process killed between the two statements leaves a table (or
// index) the catalogue does not know, and every later create of that
// collection fails with "table already exists". Such a table only ever
// holds a collection that was being created (empty) or dropped, so removing
// it is always right. Runs before the store starts, under the data
// directory lock.
func repairEmbedded(ctx context.Context, dir string) (RepairReport, error) {
	var rep RepairReport
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return rep, err
	}
	reps := make([]RepairReport, len(files))
	err = eachFile(files, func(i int) error {
		if err := repairFile(ctx, files[i], &reps[i]); err != nil {
			return fmt.Errorf("repair %s: %w", filepath.Base(files[i]), err)
		}
		return nil
	})
	for _, r := range reps {
		rep.Tables = append(rep.Tables, r.Tables...)
		rep.Indexes = append(rep.Indexes, r.Indexes...)
		rep.Empty = append(rep.Empty, r.Empty...)
		rep.IDIndexes += r.IDIndexes
	}
	return rep, err
}

// eachFile calls fn for each index of files, side by side on every core
// (the files are independent), and joins the errors.
func eachFile(files []string, fn func(i int) error) error {
	errs := make([]error, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.NumCPU(), len(files)) {
		wg.Go(func() {
			for i := range next {
				errs[i] = fn(i)
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}

// ErrCorrupt is returned by Start when a store file fails its
// integrity check.
var ErrCorrupt = errors.New("embedded store file is corrupt")

// checkEmbedded runs SQLite's quick_check on every store file, side by
// side: it reads every page once (about 2.8 s per GiB on two cores here),
// so damage at rest is found now, not when a tenant's documents are next
// read. It waits up to budget: damage found by then is returned (and stops
// the start); checks still running go on, and report to damaged.
func checkEmbedded(ctx context.Context, dir string, budget time.Duration, damaged func(error)) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.sqlite"))
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		done <- eachFile(files, func(i int) error { return checkFile(context.WithoutCancel(ctx), files[i]) })
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(max(budget, 0)):
		go func() {
			if err := <-done; err != nil {
				damaged(err)
			}
		}()
		return nil
	}
}

func checkFile(ctx context.Context, path string) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check(1)").Scan(&res); err != nil || res != "ok" {
		if err != nil {
			res = err.Error()
		}
		return fmt.Errorf("%w: %s (%s); stop orgd and restore DATA_DIR from a backup, or move this file aside to lose what it holds", ErrCorrupt, path, res)
	}
	return nil
}

// countTables says how many tables db holds.
func countTables(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&n)
	return n, err
}

// catalogue returns what the store's catalogue in db knows: each
// collection's table, with the SQLite names of the table's indexes.
func catalogue(ctx context.Context, db *sql.DB) (map[string]map[string]bool, error) {
	known := map[string]map[string]bool{}
	rows, err := db.QueryContext(ctx, fmt.Sprintf("SELECT table_name, settings FROM %q", ferretMetadataTable))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var table, settings string
		if err := rows.Scan(&table, &settings); err != nil {
			return nil, err
		}
		var s struct {
			Indexes []struct{ Name string } `json:"indexes"`
		}
		if err := json.Unmarshal([]byte(settings), &s); err != nil {
			return nil, fmt.Errorf("catalogue entry %s: %w", table, err)
		}
		idx := map[string]bool{legacyIDIndexPrefix + table: true}
		for _, i := range s.Indexes {
			idx[table+"_"+i.Name] = true
		}
		known[table] = idx
	}
	return known, rows.Err()
}

func repairFile(ctx context.Context, path string, rep *RepairReport) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close()
	dbName := strings.TrimSuffix(filepath.Base(path), ".sqlite")
	tables, err := countTables(ctx, db)
	if err != nil {
		return err
	}
	if tables == 0 {
		// No tables yet: the store died right after creating the file,
		// and would refuse to start on it (it has no catalogue). It holds
		// nothing; set it aside, and the store makes it anew when it
		// next uses the database.
		_ = db.Close()
		aside, err := setAside(path)
		if err == nil {
			rep.Empty = append(rep.Empty, aside)
		}
		return err
	}
	known, err := catalogue(ctx, db)
	if err != nil {
		return err
	}

	objs, err := sqliteObjects(ctx, db)
	if err != nil {
		return err
	}

	for _, o := range objs {
		if strings.HasPrefix(o.name, sqliteInternal) || o.table == ferretMetadataTable {
			continue
		}
		idx, tableKnown := known[o.table]
		switch {
		case o.kind == "table" && !tableKnown:
			if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP TABLE %q", o.name)); err != nil {
				return err
			}
			rep.Tables = append(rep.Tables, dbName+"."+o.name)
		case o.kind == "index" && tableKnown && !idx[o.name]:
			if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP INDEX %q", o.name)); err != nil {
				return err
			}
			rep.Indexes = append(rep.Indexes, dbName+"."+o.name)
		}
	}
	n, err := indexTables(ctx, db, known)
	rep.IDIndexes += n
	return err
}

// sqliteObject is a table or an index, as SQLite's schema lists it.
type sqliteObject struct{ kind, name, table string }

// sqliteObjects lists the tables and indexes db holds.
func sqliteObjects(ctx context.Context, db *sql.DB) ([]sqliteObject, error) {
	rows, err := db.QueryContext(ctx, "SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('table', 'index')")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objs []sqliteObject
	for rows.Next() {
		var o sqliteObject
		if err := rows.Scan(&o.kind, &o.name, &o.table); err != nil {
			return nil, err
		}
		objs = append(objs, o)
	}
	return objs, rows.Err()
}
