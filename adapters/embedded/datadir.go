package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// This file is the data directory's conventions: what orgd keeps in
// DATA_DIR beside the store's *.sqlite files, and how it names what it
// moves aside. Nothing else in the package makes up a name in it.
//
//	orgd.lock            held (flock) by the one process using the directory
//	clean_shutdown       the store stopped cleanly; its next start skips repair
//	.snapshot-*          a snapshot's staging; removed at every start
//	.restore-*           a restore's staging; removed at every start
//	replaced-<time>/     what a restore --force moved out of the way
//	<db>.sqlite.empty-<time>  a file with no tables a crash left, set aside

// lockFileName is the file lockDir locks in a data directory.
const lockFileName = "orgd.lock"

// snapshotTempPrefix names the directory a snapshot stages its copies in,
// inside the data directory (the same file system); StartEmbedded removes
// any a killed process left.
const snapshotTempPrefix = ".snapshot-"

// restoreTempPrefix names the directory a restore stages the archive's
// files in, inside the data directory; StartEmbedded removes leftovers.
const restoreTempPrefix = ".restore-"

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

// replacedPrefix starts the directory a restore moves a data directory's
// previous contents into.
const replacedPrefix = "replaced-"

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

// cleanShutdownFile marks a data directory whose store stopped cleanly: no
// collection change was cut short, and every table got its _id index when
// it was made, so the next start skips the repair pass (which opens every
// SQLite file). It is removed as the store starts, so a store that dies is
// repaired at its next start.
const cleanShutdownFile = "clean_shutdown"

// cleanShutdownMark is the mark's content: the layout of the files (their
// _id indexes) a clean shutdown vouches for. A mark from another layout
// does not skip the repair pass, which brings the files to this one.
const cleanShutdownMark = "orgd embedded store layout 2\n"

// takeCleanShutdown reports whether dir was shut down cleanly by a
// version of orgd with today's layout, and removes the mark durably before
// the store can change anything.
func takeCleanShutdown(dir string) (bool, error) {
	path := filepath.Join(dir, cleanShutdownFile)
	mark, err := os.ReadFile(path) //nolint:gosec // dir is the operator's DATA_DIR
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := os.Remove(path); err != nil {
		return false, err
	}
	return string(mark) == cleanShutdownMark, syncDir(dir)
}

func markCleanShutdown(dir string) error {
	f, err := os.OpenFile(filepath.Join(dir, cleanShutdownFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600) //nolint:gosec // dir is the operator's DATA_DIR
	if err != nil {
		return err
	}
	_, err = f.WriteString(cleanShutdownMark)
	if err := errors.Join(err, f.Sync(), f.Close()); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir) //nolint:gosec // dir is the operator's DATA_DIR
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// setAside renames a store file with no tables (and its journal files) out
// of the store's way, to <name>.empty-<time>, and returns the new name.
func setAside(path string) (string, error) {
	aside := fmt.Sprintf("%s%s%s", path, emptySuffix, time.Now().UTC().Format("20060102T150405.000"))
	for _, suffix := range []string{"-wal", "-shm"} {
		if err := os.Rename(path+suffix, aside+suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
	}
	if err := os.Rename(path, aside); err != nil {
		return "", err
	}
	return filepath.Base(aside), nil
}

// emptySuffix follows a set-aside file's name, before the time.
const emptySuffix = ".empty-"
