// Package archive reads and writes the snapshot archive of orgd's embedded
// store: the format alone, in the standard library only, so that checking
// an archive (orgd snapshot verify) needs neither the store nor the
// driver.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// A snapshot of the embedded store is a gzip-compressed tar archive:
//
//	orgd-snapshot.json   what it is, when it was taken, which files follow
//	<db>.sqlite ...      each database file as of that instant
//	SHA256SUMS           the files' checksums, in sha256sum's format
//
// The checksums come last, so an archive cut short anywhere is refused.
const (
	HeaderName = "orgd-snapshot.json"
	SumsName   = "SHA256SUMS"
	Format     = "orgd embedded store snapshot"
	Version    = 1
)

// Info describes a snapshot.
type Info struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	TakenAt time.Time `json:"taken_at"`
	Files   []string  `json:"files"`
	// Bytes is the files' total size (filled in by reading the archive).
	Bytes int64 `json:"-"`
}

// ErrBad is returned for an archive that is not a whole, intact
// snapshot.
var ErrBad = errors.New("not a whole orgd snapshot")

// Writer writes one snapshot archive: the header (NewWriter), each file
// (Add), then the checksums (Close).
type Writer struct {
	gz   *gzip.Writer
	tw   *tar.Writer
	at   time.Time
	sums strings.Builder
}

// NewWriter starts an archive on w for the files info lists, taken at
// info.TakenAt.
func NewWriter(w io.Writer, info Info) (*Writer, error) {
	info.Format, info.Version = Format, Version
	gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level never fails
	a := &Writer{gz: gz, tw: tar.NewWriter(gz), at: info.TakenAt}
	header, _ := json.MarshalIndent(info, "", "  ") // plain data always marshals
	if err := writeEntry(a.tw, HeaderName, a.at, int64(len(header)), strings.NewReader(string(header)), nil); err != nil {
		return nil, err
	}
	return a, nil
}

// Add writes the file name, size bytes read from r, and records its
// checksum.
func (a *Writer) Add(name string, size int64, r io.Reader) error {
	h := sha256.New()
	if err := writeEntry(a.tw, name, a.at, size, r, h); err != nil {
		return err
	}
	fmt.Fprintf(&a.sums, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), name)
	return nil
}

// Close writes the checksums and ends the archive.
func (a *Writer) Close() error {
	if err := writeEntry(a.tw, SumsName, a.at, int64(a.sums.Len()), strings.NewReader(a.sums.String()), nil); err != nil {
		return err
	}
	return errors.Join(a.tw.Close(), a.gz.Close())
}

func writeEntry(tw *tar.Writer, name string, at time.Time, size int64, r io.Reader, h hash.Hash) error {
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

// Read reads a whole snapshot from r, calling file for each
// database file in it (with the path it should be written to under dir),
// and checks it end to end: the header first, every file it lists, each
// file's checksum, nothing else. Any fault is wrapped in ErrBad.
func Read(r io.Reader, file func(name string, body io.Reader) error) (Info, error) {
	var info Info
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
			return info, bad("%s is followed by %s", SumsName, hdr.Name)
		case hdr.Name == SumsName:
			b, err := io.ReadAll(io.LimitReader(tr, 1<<20))
			if err != nil || len(b) == 0 {
				return info, bad("cannot read %s", SumsName)
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
		return info, bad("archive ends before its checksums (%s): it was cut short", SumsName)
	}
	return info, checkSums(info, got, sums)
}

// bad is an ErrBad saying what is wrong.
func bad(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrBad, fmt.Sprintf(format, a...))
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

func readHeader(tr *tar.Reader, hdr *tar.Header, info *Info) error {
	if hdr.Name != HeaderName {
		return fmt.Errorf("first entry is %q, not %s", hdr.Name, HeaderName)
	}
	if err := json.NewDecoder(io.LimitReader(tr, 1<<20)).Decode(info); err != nil {
		return fmt.Errorf("%s: %w", HeaderName, err)
	}
	if info.Format != Format || info.Version != Version {
		return fmt.Errorf("format %q version %d; this orgd reads %q version %d", info.Format, info.Version, Format, Version)
	}
	for _, f := range info.Files {
		if f != filepath.Base(f) || !strings.HasSuffix(f, ".sqlite") || strings.HasPrefix(f, ".") {
			return fmt.Errorf("%s lists an unsafe file name %q", HeaderName, f)
		}
	}
	return nil
}

func checkSums(info Info, got map[string]string, sums string) error {
	want := map[string]string{}
	for line := range strings.Lines(sums) {
		sum, name, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "  ")
		if !ok {
			return fmt.Errorf("%w: malformed %s line %q", ErrBad, SumsName, line)
		}
		want[name] = sum
	}
	for _, f := range info.Files {
		switch {
		case got[f] == "":
			return fmt.Errorf("%w: %s is missing", ErrBad, f)
		case got[f] != want[f]:
			return fmt.Errorf("%w: %s does not match its checksum", ErrBad, f)
		}
	}
	if len(want) != len(info.Files) {
		return fmt.Errorf("%w: %s lists %d files, the header %d", ErrBad, SumsName, len(want), len(info.Files))
	}
	return nil
}
