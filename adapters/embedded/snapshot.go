package embedded

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	sqlite "modernc.org/sqlite"

	"orgd/adapters/embedded/archive"
	"orgd/core/domain"
)

// ErrSnapshotInProgress is returned by Snapshot while another is taken.
var ErrSnapshotInProgress = &domain.Error{Code: domain.CodeBusy,
	Message: "A snapshot is already being taken; retry when it is done", RetryAfter: 10 * time.Second}

// Snapshot writes a point-in-time snapshot of every database of the
// running store to w, while the store keeps serving.
//
// The instant is one at which no write is in flight in any file: orgd
// takes every file's write lock, opens a read transaction on each, and
// lets the writes go again, within milliseconds. The store's writers wait on a held lock (its
// connections have a busy timeout) rather than fail. Each file is then
// copied from its read transaction with SQLite's backup API, which sees
// that instant whatever is written since. A multi-step lifecycle operation
// caught midway is in the snapshot as it would be after a crash at that
// instant, with its intent recorded, and recovery finishes it when the
// restored store starts.
func (e *Server) Snapshot(ctx context.Context, w io.Writer) error {
	if !e.snapshotting.TryLock() {
		return ErrSnapshotInProgress
	}
	defer e.snapshotting.Unlock()
	tmp, err := os.MkdirTemp(e.dir, snapshotTempPrefix)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer os.RemoveAll(tmp) //nolint:errcheck // best effort; the next start removes leftovers
	views, takenAt, err := e.freeze(ctx)
	defer closeAll(views)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	info := archive.Info{TakenAt: takenAt}
	for _, v := range views {
		info.Files = append(info.Files, v.name)
	}
	aw, err := archive.NewWriter(w, info)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	for _, v := range views {
		if err := v.copyTo(ctx, aw, filepath.Join(tmp, v.name)); err != nil {
			return fmt.Errorf("snapshot %s: %w", v.name, err)
		}
		v.close() // lets the store checkpoint this file again
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// fileView is one database file as of the snapshot's instant: a read
// transaction held open on its own connection. While the instant is taken
// it also holds the file's write lock, on a second connection.
type fileView struct {
	name       string
	db, lockDB *sql.DB
	conn, lock *sql.Conn
	// tables is how many tables the file held at the instant: none, and it
	// is a file the store had only just created, left out of the snapshot.
	tables int
}

// openView opens the two connections to path and has each read the
// schema, so that taking the instant costs only a BEGIN on each.
func openView(ctx context.Context, path string) (*fileView, error) {
	v := &fileView{name: filepath.Base(path)}
	var err error
	if v.db, v.conn, err = openWarm(ctx, path); err == nil {
		v.lockDB, v.lock, err = openWarm(ctx, path)
	}
	if err != nil {
		v.close()
		return nil, err
	}
	return v, nil
}

func openWarm(ctx context.Context, path string) (*sql.DB, *sql.Conn, error) {
	db, err := openSQLite(path)
	if err != nil {
		return nil, nil, err
	}
	conn, err := db.Conn(ctx)
	if err == nil {
		var n int
		err = conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n)
	}
	if err != nil {
		closeConn(db, conn)
		return nil, nil, err
	}
	return db, conn, nil
}

// hold takes the file's write lock (BEGIN IMMEDIATE, waiting as the store's
// writers do), then begins the read transaction, whose first read fixes
// what it sees.
func (v *fileView) hold(ctx context.Context) error {
	if _, err := v.lock.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return fmt.Errorf("lock %s: %w", v.name, err)
	}
	_, err := v.conn.ExecContext(ctx, "BEGIN")
	if err == nil { // any read fixes the snapshot; this one counts the tables
		err = v.conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table'").Scan(&v.tables)
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", v.name, err)
	}
	return nil
}

// unlock lets the file's writers go again.
func (v *fileView) unlock() {
	if v.lock != nil {
		_, _ = v.lock.ExecContext(context.Background(), "ROLLBACK")
	}
}

// release closes the locking connection (unlocking first if need be).
func (v *fileView) release() {
	closeConn(v.lockDB, v.lock)
	v.lockDB, v.lock = nil, nil
}

func (v *fileView) close() {
	v.release()
	closeConn(v.db, v.conn)
	v.db, v.conn = nil, nil
}

// closeConn rolls back what conn began, if anything, and closes conn and
// db; either may be nil.
func closeConn(db *sql.DB, conn *sql.Conn) {
	if conn != nil {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		_ = conn.Close()
	}
	if db != nil {
		_ = db.Close()
	}
}

func closeAll(views []*fileView) {
	for _, v := range views {
		v.close()
	}
}

// freeze opens a read transaction on every database file at one instant
// at which no file is being written; see Snapshot. The connections are
// opened first; the writers wait only while each file is locked and its
// read transaction begun. It holds on until no file appears that is not
// held yet: a file the store makes once all are held holds nothing a held
// file refers to.
func (e *Server) freeze(ctx context.Context) ([]*fileView, time.Time, error) {
	var views []*fileView
	var paused time.Time
	defer func() {
		for _, v := range views {
			v.unlock()
		}
		if !paused.IsZero() {
			e.lastPause.Store(int64(time.Since(paused)))
		}
		for _, v := range views { // closing frees each connection's schema: after the pause
			v.release()
		}
	}()
	seen := map[string]bool{}
	for {
		files, err := filepath.Glob(filepath.Join(e.dir, "*.sqlite"))
		if err != nil {
			return views, time.Time{}, err
		}
		var fresh []*fileView
		for _, path := range files {
			if name := filepath.Base(path); !seen[name] {
				seen[name] = true
				v, err := openView(ctx, path)
				if err != nil {
					return views, time.Time{}, fmt.Errorf("open %s: %w", name, err)
				}
				fresh = append(fresh, v)
				views = append(views, v)
			}
		}
		if len(fresh) == 0 {
			break
		}
		if paused.IsZero() {
			paused = time.Now()
		}
		for _, v := range fresh {
			if err := v.hold(ctx); err != nil {
				return views, time.Time{}, err
			}
		}
	}
	at := time.Now().UTC()
	sort.Slice(views, func(i, j int) bool { return views[i].name < views[j].name })
	held := views[:0]
	for _, v := range views {
		if v.tables == 0 {
			v.unlock()
			v.close()
			continue
		}
		held = append(held, v)
	}
	views = held
	return views, at, nil
}

// backuper is the modernc.org/sqlite connection's online backup.
type backuper interface {
	NewBackup(dstURI string) (*sqlite.Backup, error)
}

// copyTo adds the view's file to the archive, through a copy at staging
// made with SQLite's backup API (which reads within the view's
// transaction).
func (v *fileView) copyTo(ctx context.Context, aw *archive.Writer, staging string) error {
	err := v.conn.Raw(func(dc any) error {
		b, ok := dc.(backuper)
		if !ok {
			return errors.New("the SQLite driver has no backup API")
		}
		bk, err := b.NewBackup("file:" + filepath.ToSlash(staging))
		if err != nil {
			return err
		}
		for more := true; more && err == nil; {
			if err = ctx.Err(); err == nil {
				more, err = bk.Step(1024)
			}
		}
		return errors.Join(err, bk.Finish())
	})
	if err != nil {
		return err
	}
	f, err := os.Open(staging) //nolint:gosec // staging is inside the data directory
	if err != nil {
		return err
	}
	defer os.Remove(staging) //nolint:errcheck // the staging directory goes too
	defer f.Close()          //nolint:errcheck // read only
	st, err := f.Stat()
	if err != nil {
		return err
	}
	return aw.Add(v.name, st.Size(), f)
}
