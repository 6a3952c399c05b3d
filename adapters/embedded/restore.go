package embedded

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"orgd/adapters/embedded/archive"
)

// ErrDataDirNotEmpty is returned by Restore for a data directory
// that holds files, unless told to replace them.
var ErrDataDirNotEmpty = errors.New("data directory is not empty")

// RestoreOptions configure Restore.
type RestoreOptions struct {
	// Dir is the data directory to restore into; it is created if missing.
	Dir string
	// Replace moves what Dir holds into a subdirectory named
	// replaced-<time> (same file system, nothing deleted) instead of
	// refusing a non-empty Dir.
	Replace bool
}

// RestoreReport says what Restore did.
type RestoreReport struct {
	Info archive.Info
	// MovedTo is where Dir's previous contents went, if anywhere.
	MovedTo string
}

// Restore restores the snapshot read from r into an offline data
// directory. The whole archive is read and checked (checksums, and SQLite's
// integrity check of every file) into a staging directory inside Dir
// before anything Dir held is touched; then the files are moved into place.
// A running orgd's data directory is refused (it is locked). The restored
// store has no clean-shutdown mark, so its first start checks and repairs
// it, and recovery finishes any operation the snapshot caught midway.
func Restore(ctx context.Context, r io.Reader, o RestoreOptions) (RestoreReport, error) {
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
func stageSnapshot(ctx context.Context, r io.Reader, staging string) (archive.Info, error) {
	info, err := archive.Read(r, func(name string, body io.Reader) error {
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
		return info, fmt.Errorf("%w: %w", archive.ErrBad, err)
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
