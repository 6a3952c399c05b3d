package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"orgd/adapters/embedded"
	"orgd/adapters/embedded/archive"

	"orgd/adapters/mongodb"
	"orgd/config"
)

const snapshotUsage = `Usage:
  orgd snapshot save FILE [--url URL] [--force]
      ask the running orgd (GET /admin/snapshot, as the super admin of
      FIRST_SUPERADMIN_EMAIL and FIRST_SUPERADMIN_PASSWORD) for a
      point-in-time snapshot of its embedded store, check it, and write it
      to FILE (kept only once whole; --force replaces an existing FILE)
  orgd snapshot restore FILE [--force]
      check FILE, then restore it into DATA_DIR, which must be empty and
      not in use (--force moves what DATA_DIR holds into
      DATA_DIR/replaced-<time>/ instead); then start orgd on it
  orgd snapshot verify FILE
      check that FILE is a whole snapshot (structure and checksums)

Flags:
  --url URL   the orgd to ask (default: http://HTTP_ADDR, on 127.0.0.1)
  --force     see above
`

// snapshotCmd runs "orgd snapshot ...".
func snapshotCmd(ctx context.Context, e env) error {
	args, getenv, stdout, stderr := e.args, e.getenv, e.stdout, e.stderr
	fs := flag.NewFlagSet("snapshot", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	url := fs.String("url", "", "")
	force := fs.Bool("force", false, "")
	verb, file, err := parseSnapshotArgs(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, snapshotUsage)
		return nil
	}
	if err != nil {
		fmt.Fprint(stderr, snapshotUsage)
		return fmt.Errorf("snapshot: %w", err)
	}
	if verb == "verify" {
		return verifySnapshotFile(file, stdout)
	}
	cfg, err := config.Load(getenv, ".")
	if err != nil {
		return err
	}
	if verb == "save" {
		return saveSnapshot(ctx, cfg, *url, file, *force, stdout)
	}
	return restoreSnapshot(ctx, cfg, file, *force, stdout)
}

// parseSnapshotArgs accepts flags before, between and after the verb and
// FILE.
func parseSnapshotArgs(fs *flag.FlagSet, args []string) (verb, file string, err error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return "", "", err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	switch {
	case len(pos) == 0:
		return "", "", flag.ErrHelp
	case pos[0] != "save" && pos[0] != "restore" && pos[0] != "verify":
		return "", "", fmt.Errorf("unknown subcommand %q", pos[0])
	case len(pos) != 2:
		return "", "", fmt.Errorf("%s takes exactly one FILE", pos[0])
	}
	return pos[0], pos[1], nil
}

func verifySnapshotFile(file string, stdout io.Writer) error {
	info, err := readSnapshotFile(file)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: whole snapshot taken at %s: %d files, %s\n", file, info.TakenAt.Format(time.RFC3339), len(info.Files), mib(info.Bytes))
	return nil
}

func readSnapshotFile(file string) (archive.Info, error) {
	f, err := os.Open(file) //nolint:gosec // the operator names the file
	if err != nil {
		return archive.Info{}, err
	}
	defer f.Close() //nolint:errcheck // read only
	return archive.Read(f, func(string, io.Reader) error { return nil })
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

// saveSnapshot downloads a snapshot into FILE.partial beside FILE, checks
// it, and only then renames it to FILE: a failed save leaves nothing.
func saveSnapshot(ctx context.Context, cfg config.Config, url, file string, force bool, stdout io.Writer) error {
	if _, err := os.Stat(file); err == nil && !force { //nolint:gosec // the operator names the file
		return fmt.Errorf("snapshot: %s exists; choose a new name or replace it with --force", file)
	}
	if cfg.SuperAdminEmail == "" {
		return errors.New("snapshot: FIRST_SUPERADMIN_EMAIL and FIRST_SUPERADMIN_PASSWORD must name the super admin")
	}
	if url == "" {
		u, err := localURL(cfg.HTTPAddr)
		if err != nil {
			return err
		}
		url = u
	}
	url = strings.TrimSuffix(url, "/")
	token, err := superAdminToken(ctx, url, cfg.SuperAdminEmail, cfg.SuperAdminPassword)
	if err != nil {
		return err
	}
	partial := file + ".partial"
	if err := download(ctx, url+"/admin/snapshot", token, partial); err != nil {
		_ = os.Remove(partial) //nolint:gosec // the operator names the file
		return err
	}
	info, err := readSnapshotFile(partial)
	if err == nil {
		err = os.Rename(partial, file) //nolint:gosec // the operator names the file
	}
	if err != nil {
		_ = os.Remove(partial) //nolint:gosec // the operator names the file
		return fmt.Errorf("snapshot: %w", err)
	}
	fmt.Fprintf(stdout, "saved %s: snapshot taken at %s, %d files, %s\n", file, info.TakenAt.Format(time.RFC3339), len(info.Files), mib(info.Bytes))
	return nil
}

// localURL is the URL of the orgd listening on addr, from this machine.
func localURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("HTTP_ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port), nil
}

func superAdminToken(ctx context.Context, url, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": password}) // strings always marshal
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/admin/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("snapshot: log in to %s: %w", url, err)
	}
	defer resp.Body.Close() //nolint:errcheck // read fully below
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("snapshot: log in as %s: %s", email, answer(resp))
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("snapshot: log in as %s: no token in the answer", email)
	}
	return out.AccessToken, nil
}

func download(ctx context.Context, url, token, dst string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	defer resp.Body.Close() //nolint:errcheck // read fully below
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("snapshot: %s", answer(resp))
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o750); err != nil { //nolint:gosec // the operator names the file
		return err
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) //nolint:gosec // the operator names the file
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	if err = errors.Join(err, f.Sync(), f.Close()); err != nil {
		return fmt.Errorf("snapshot: download: %w", err)
	}
	return nil
}

// answer describes an error answer: its status and detail.
func answer(resp *http.Response) string {
	var d struct {
		Detail string `json:"detail"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&d)
	if d.Detail == "" {
		return resp.Status
	}
	return resp.Status + ": " + d.Detail
}

// restoreSnapshot restores FILE into DATA_DIR, then starts the store on it
// once (which checks every file and applies migrations) to prove it serves.
func restoreSnapshot(ctx context.Context, cfg config.Config, file string, force bool, stdout io.Writer) error {
	if !cfg.Embedded() {
		return errors.New("snapshot restore: MONGODB_URI is set; restore MongoDB with mongorestore (see the README)")
	}
	f, err := os.Open(file) //nolint:gosec // the operator names the file
	if err != nil {
		return err
	}
	defer f.Close() //nolint:errcheck // read only
	rep, err := embedded.Restore(ctx, f, embedded.RestoreOptions{Dir: cfg.DataDir, Replace: force})
	if err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	if rep.MovedTo != "" {
		fmt.Fprintf(stdout, "moved what %s held into %s\n", cfg.DataDir, rep.MovedTo)
	}
	emb, err := embedded.Start(ctx, embedded.Options{Dir: cfg.DataDir})
	if err != nil {
		return fmt.Errorf("snapshot restore: the restored store does not start: %w", err)
	}
	defer emb.Close()
	st, err := mongodb.Open(ctx, mongodb.Options{URI: emb.URI(), Database: cfg.MongoDatabase, Embedded: emb, ServerSelectionTimeout: cfg.StoreTimeout})
	if err != nil {
		return fmt.Errorf("snapshot restore: the restored store does not open: %w", err)
	}
	defer st.Close(context.WithoutCancel(ctx)) //nolint:errcheck // closing at exit
	v, err := st.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("snapshot restore: %w", err)
	}
	fmt.Fprintf(stdout, "restored %s into %s: snapshot taken at %s, %d files, %s, schema version %d; start orgd to serve it\n",
		file, cfg.DataDir, rep.Info.TakenAt.Format(time.RFC3339), len(rep.Info.Files), mib(rep.Info.Bytes), v)
	return nil
}
