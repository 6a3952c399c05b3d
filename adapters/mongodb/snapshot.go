package mongodb

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	sqlite "modernc.org/sqlite"

	"orgd/core/domain"
)

// A snapshot of the embedded store is a gzip-compressed tar archive:
//
//	orgd-snapshot.json   what it is, when it was taken, which files follow
//	<db>.sqlite ...      each database file as of that instant
//	SHA256SUMS           the files' checksums, in sha256sum's format
//
// The checksums come last, so an archive cut short anywhere is refused.
const (
	snapshotHeaderName = "orgd-snapshot.json"
	snapshotSumsName   = "SHA256SUMS"
	snapshotFormat     = "orgd embedded store snapshot"
	snapshotVersion    = 1
)

// SnapshotInfo describes a snapshot.
type SnapshotInfo struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	TakenAt time.Time `json:"taken_at"`
	Files   []string  `json:"files"`
	// Bytes is the files' total size (filled in by reading the archive).
	Bytes int64 `json:"-"`
}

// ErrSnapshotInProgress is returned by Snapshot while another is taken.
var ErrSnapshotInProgress = &domain.Error{Code: domain.CodeBusy,
	Message: "A snapshot is already being taken; retry when it is done", RetryAfter: 10 * time.Second}

// ErrBadSnapshot is returned for an archive that is not a whole, intact
// snapshot.
var ErrBadSnapshot = errors.New("not a whole orgd snapshot")

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
func (e *Embedded) Snapshot(ctx context.Context, w io.Writer) error {
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
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level never fails
	tw := tar.NewWriter(gz)
	info := SnapshotInfo{Format: snapshotFormat, Version: snapshotVersion, TakenAt: takenAt}
	for _, v := range views {
		info.Files = append(info.Files, v.name)
	}
	header, _ := json.MarshalIndent(info, "", "  ") // plain data always marshals
	if err := writeEntry(tw, snapshotHeaderName, takenAt, int64(len(header)), strings.NewReader(string(header)), nil); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	var sums strings.Builder
	for _, v := range views {
		sum, err := v.copyTo(ctx, tw, filepath.Join(tmp, v.name), takenAt)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", v.name, err)
		}
		v.close() // lets the store checkpoint this file again
		fmt.Fprintf(&sums, "%s  %s\n", sum, v.name)
	}
	if err := writeEntry(tw, snapshotSumsName, takenAt, int64(sums.Len()), strings.NewReader(sums.String()), nil); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if err := errors.Join(tw.Close(), gz.Close()); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	return nil
}

// snapshotTempPrefix names the directory a snapshot stages its copies in,
// inside the data directory (the same file system); StartEmbedded removes
// any a killed process left.
const snapshotTempPrefix = ".snapshot-"

// restoreTempPrefix names the directory a restore stages the archive's
// files in, inside the data directory; StartEmbedded removes leftovers.
const restoreTempPrefix = ".restore-"

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
func (e *Embedded) freeze(ctx context.Context) ([]*fileView, time.Time, error) {
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

// copyTo copies the view's file into tw as one entry, through a copy at
// staging made with SQLite's backup API (which reads within the view's
// transaction), and returns its SHA-256.
func (v *fileView) copyTo(ctx context.Context, tw *tar.Writer, staging string, at time.Time) (string, error) {
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
		return "", err
	}
	f, err := os.Open(staging) //nolint:gosec // staging is inside the data directory
	if err != nil {
		return "", err
	}
	defer os.Remove(staging) //nolint:errcheck // the staging directory goes too
	defer f.Close()          //nolint:errcheck // read only
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if err := writeEntry(tw, v.name, at, st.Size(), f, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeEntry(tw *tar.Writer, name string, at time.Time, size int64, r io.Reader, h io.Writer) error {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: size, ModTime: at, Typeflag: tar.TypeReg, Format: tar.FormatPAX}); err != nil {
		return err
	}
	if h != nil {
		r = io.TeeReader(r, h)
	}
	n, err := io.Copy(tw, r)
	if err == nil && n != size {
		err = fmt.Errorf("%s: copied %d of %d bytes", name, n, size)
	}
	return err
}

// ReadSnapshot reads a whole snapshot from r, calling file for each
// database file in it (with the path it should be written to under dir),
// and checks it end to end: the header first, every file it lists, each
// file's checksum, nothing else. Any fault is wrapped in ErrBadSnapshot.
func ReadSnapshot(r io.Reader, file func(name string, body io.Reader) error) (SnapshotInfo, error) {
	var info SnapshotInfo
	gz, err := gzip.NewReader(r)
	if err != nil {
		return info, bad("not gzip-compressed (%v)", err)
	}
	tr := tar.NewReader(gz)
	got := map[string]string{}
	var sums string
	for i := 0; ; i++ {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return info, bad("archive ends early or is damaged (%v)", err)
		}
		switch {
		case i == 0:
			if err := readHeader(tr, hdr, &info); err != nil {
				return info, bad("%v", err)
			}
		case sums != "":
			return info, bad("%s is followed by %s", snapshotSumsName, hdr.Name)
		case hdr.Name == snapshotSumsName:
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil || len(b) == 0 {
				return info, bad("cannot read %s", snapshotSumsName)
			}
			sums = string(b)
		default:
			if !slices.Contains(info.Files, hdr.Name) || got[hdr.Name] != "" || hdr.Typeflag != tar.TypeReg {
				return info, bad("unexpected entry %q", hdr.Name)
			}
			sum, err := readFile(tr, hdr.Name, file)
			if err != nil {
				return info, err
			}
			got[hdr.Name] = sum
			info.Bytes += hdr.Size
		}
	}
	// Read to the gzip trailer, whose checksum covers the whole stream;
	// after the tar end only padding may follow.
	if n, err := io.CopyN(io.Discard, gz, 1<<20); !errors.Is(err, io.EOF) {
		if err == nil {
			return info, bad("%d bytes or more follow the archive's end", n)
		}
		return info, bad("compressed stream is damaged (%v)", err)
	}
	if sums == "" {
		return info, bad("archive ends before its checksums (%s): it was cut short", snapshotSumsName)
	}
	return info, checkSums(info, got, sums)
}

// bad is an ErrBadSnapshot saying what is wrong.
func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, a...))
}

// readFile hands one database file's entry to file, reads what file left,
// and returns the entry's SHA-256.
func readFile(tr *tar.Reader, name string, file func(name string, body io.Reader) error) (string, error) {
	h := sha256.New()
	body := &readErr{r: io.TeeReader(tr, h)}
	if err := file(name, body); err != nil {
		if body.err != nil {
			return "", bad("archive ends early or is damaged (%v)", body.err)
		}
		return "", err
	}
	if _, err := io.Copy(io.Discard, body); err != nil {
		return "", bad("archive ends early or is damaged (%v)", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readErr remembers the error its reader gave, to tell a damaged archive
// from a failure to write what was read.
type readErr struct {
	r   io.Reader
	err error
}

func (r *readErr) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		r.err = err
	}
	return n, err
}

func readHeader(tr *tar.Reader, hdr *tar.Header, info *SnapshotInfo) error {
	if hdr.Name != snapshotHeaderName {
		return fmt.Errorf("first entry is %q, not %s", hdr.Name, snapshotHeaderName)
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(info); err != nil {
		return fmt.Errorf("%s: %w", snapshotHeaderName, err)
	}
	if info.Format != snapshotFormat || info.Version != snapshotVersion {
		return fmt.Errorf("format %q version %d; this orgd reads %q version %d", info.Format, info.Version, snapshotFormat, snapshotVersion)
	}
	for _, f := range info.Files {
		if f != filepath.Base(f) || !strings.HasSuffix(f, ".sqlite") || strings.HasPrefix(f, ".") {
			return fmt.Errorf("%s lists an unsafe file name %q", snapshotHeaderName, f)
		}
	}
	return nil
}

func checkSums(info SnapshotInfo, got map[string]string, sums string) error {
	want := map[string]string{}
	for line := range strings.Lines(sums) {
		sum, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "  ")
		if !ok {
			return fmt.Errorf("%w: malformed %s line %q", ErrBadSnapshot, snapshotSumsName, line)
		}
		want[name] = sum
	}
	for _, f := range info.Files {
		switch {
		case got[f] == "":
			return fmt.Errorf("%w: %s is missing", ErrBadSnapshot, f)
		case got[f] != want[f]:
			return fmt.Errorf("%w: %s does not match its checksum", ErrBadSnapshot, f)
		}
	}
	if len(want) != len(info.Files) {
		return fmt.Errorf("%w: %s lists %d files, the header %d", ErrBadSnapshot, snapshotSumsName, len(want), len(info.Files))
	}
	return nil
}

// ErrDataDirNotEmpty is returned by RestoreSnapshot for a data directory
// that holds files, unless told to replace them.
var ErrDataDirNotEmpty = errors.New("data directory is not empty")

// RestoreOptions configure RestoreSnapshot.
type RestoreOptions struct {
	// Dir is the data directory to restore into; it is created if missing.
	Dir string
	// Replace moves what Dir holds into a subdirectory named
	// replaced-<time> (same file system, nothing deleted) instead of
	// refusing a non-empty Dir.
	Replace bool
}

// RestoreReport says what RestoreSnapshot did.
type RestoreReport struct {
	Info SnapshotInfo
	// MovedTo is where Dir's previous contents went, if anywhere.
	MovedTo string
}

// RestoreSnapshot restores the snapshot read from r into an offline data
// directory. The whole archive is read and checked (checksums, and SQLite's
// integrity check of every file) into a staging directory inside Dir
// before anything Dir held is touched; then the files are moved into place.
// A running orgd's data directory is refused (it is locked). The restored
// store has no clean-shutdown mark, so its first start checks and repairs
// it, and recovery finishes any operation the snapshot caught midway.
func RestoreSnapshot(ctx context.Context, r io.Reader, o RestoreOptions) (RestoreReport, error) {
	var rep RestoreReport
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return rep, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return rep, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return rep, err
	}
	defer unlock()
	existing, err := dataDirEntries(dir)
	if err != nil {
		return rep, err
	}
	if len(existing) > 0 && !o.Replace {
		return rep, fmt.Errorf("%w: %s holds %s; restore into an empty directory, or replace its contents with --force", ErrDataDirNotEmpty, dir, strings.Join(existing, ", "))
	}
	staging, err := os.MkdirTemp(dir, restoreTempPrefix)
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(staging) //nolint:errcheck // empty once moved in; a failed restore's leftovers
	if rep.Info, err = stageSnapshot(ctx, r, staging); err != nil {
		return rep, err
	}
	if len(existing) > 0 {
		if rep.MovedTo, err = moveAside(dir, existing); err != nil {
			return rep, err
		}
	}
	for _, f := range rep.Info.Files {
		if err := os.Rename(filepath.Join(staging, f), filepath.Join(dir, f)); err != nil {
			return rep, err
		}
	}
	return rep, syncDir(dir)
}

// stageSnapshot writes the snapshot's files into staging and checks them.
func stageSnapshot(ctx context.Context, r io.Reader, staging string) (SnapshotInfo, error) {
	info, err := ReadSnapshot(r, func(name string, body io.Reader) error {
		f, err := os.OpenFile(filepath.Join(staging, name), os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600) //nolint:gosec // name is checked to be a plain file name
		if err != nil {
			return err
		}
		_, err = io.Copy(f, body)
		return errors.Join(err, f.Sync(), f.Close())
	})
	if err != nil {
		return info, err
	}
	files := make([]string, len(info.Files))
	for i, f := range info.Files {
		files[i] = filepath.Join(staging, f)
	}
	err = eachFile(files, func(i int) error { return integrityCheck(ctx, files[i]) })
	if err != nil {
		return info, fmt.Errorf("%w: %w", ErrBadSnapshot, err)
	}
	return info, nil
}

// integrityCheck runs SQLite's full integrity_check on one file and checks
// that it is a store database (it has the store's catalogue).
func integrityCheck(ctx context.Context, path string) error {
	db, err := openSQLite(path)
	if err != nil {
		return err
	}
	defer db.Close() //nolint:errcheck // read only
	var res string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&res); err != nil || res != "ok" {
		return fmt.Errorf("%s fails its integrity check (%s)", filepath.Base(path), firstNonEmpty(res, err))
	}
	var n int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", ferretMetadataTable).Scan(&n)
	if err != nil || n != 1 {
		return fmt.Errorf("%s is not a store database", filepath.Base(path))
	}
	return nil
}

func firstNonEmpty(s string, err error) string {
	if s != "" {
		return s
	}
	if err != nil {
		return err.Error()
	}
	return "no answer"
}

// dataDirEntries lists what a data directory holds, but a restore's and a
// snapshot's staging and the moved-aside directories of earlier restores.
func dataDirEntries(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if n == lockFileName || strings.HasPrefix(n, restoreTempPrefix) || strings.HasPrefix(n, snapshotTempPrefix) || strings.HasPrefix(n, replacedPrefix) {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

const replacedPrefix = "replaced-"

// lockFileName is the file lockDir locks in a data directory.
const lockFileName = "orgd.lock"

// moveAside moves names out of dir's way into a new subdirectory of dir.
func moveAside(dir string, names []string) (string, error) {
	aside := filepath.Join(dir, replacedPrefix+time.Now().UTC().Format("20060102T150405Z"))
	if err := os.Mkdir(aside, 0o750); err != nil {
		return "", err
	}
	for _, n := range names {
		if err := os.Rename(filepath.Join(dir, n), filepath.Join(aside, n)); err != nil {
			return aside, err
		}
	}
	return aside, syncDir(dir)
}

// removeStaleStaging removes the staging directories of snapshots and
// restores a killed process left in dir.
func removeStaleStaging(dir string) {
	for _, p := range []string{snapshotTempPrefix, restoreTempPrefix} {
		leftovers, _ := filepath.Glob(filepath.Join(dir, p+"*"))
		for _, l := range leftovers {
			_ = os.RemoveAll(l)
		}
	}
}
