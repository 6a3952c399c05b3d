// Package harness builds the orgd binary once per test binary and runs it
// as a real process, the way it runs in production: on the embedded store,
// on loopback ports, with a data directory of the test's.
package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
	buildDir  string
)

// Build compiles cmd/orgd into dir and returns the binary's path. It must
// run inside this module. With ORGD_COVERDIR set (task cover), the binary
// is built for coverage of every orgd package, and every run of it writes
// its counters there as it exits (GOCOVERDIR, which go test points
// elsewhere, is set for this process's children), so the tests that run
// the binary count towards the suite's figure.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "orgd")
	args := []string{"build", "-o", bin}
	if cover := os.Getenv("ORGD_COVERDIR"); cover != "" {
		args = append(args, "-cover", "-covermode=atomic", "-coverpkg=orgd/...") // atomic: as go test -race counts
		if err := os.Setenv("GOCOVERDIR", cover); err != nil {
			return "", err
		}
	}
	out, err := exec.Command("go", append(args, "orgd/cmd/orgd")...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %w\n%s", err, out)
	}
	return bin, nil
}

// Binary returns the path of an orgd binary built from this checkout, once
// per test binary.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "orgd-bin-")
		if buildErr == nil {
			binPath, buildErr = Build(buildDir)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Main runs the tests and removes the built binary. Call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	return code
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Database is the master database name every harness process uses.
const Database = "org_master"

// Proc is one running orgd.
type Proc struct {
	URL      string // http://127.0.0.1:port
	MongoURI string // the embedded store, exposed for direct checks
	DataDir  string
	// Started and Ready are when the process was started and first
	// answered /healthz.
	Started, Ready time.Time

	cmd  *exec.Cmd
	logs *SyncBuffer
	done chan struct{}
	err  error
}

// Options configure Start.
type Options struct {
	DataDir string            // reused across restarts; default t.TempDir()
	Env     map[string]string // extra or overriding configuration
	// NoWait returns as soon as the process runs, not once it is healthy
	// (to kill it while it starts).
	NoWait bool
	// FileLimit, if set, caps the process's open files (prlimit).
	FileLimit int
}

// Start runs orgd and waits until it answers /healthz. It is killed when
// the test ends if still running.
func Start(t testing.TB, o Options) *Proc {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	p, err := Launch(Binary(t), o)
	if p != nil {
		t.Cleanup(p.Kill)
	}
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// Launch runs the orgd binary bin on free loopback ports (o.DataDir is
// required) and waits until it answers /healthz. On error the process, if
// any, is returned for the caller to kill.
func Launch(bin string, o Options) (*Proc, error) {
	httpPort, err := freePort()
	if err != nil {
		return nil, err
	}
	mongoPort, err := freePort()
	if err != nil {
		return nil, err
	}
	env := map[string]string{
		"HTTP_ADDR":             fmt.Sprintf("127.0.0.1:%d", httpPort),
		"EMBEDDED_MONGODB_ADDR": fmt.Sprintf("127.0.0.1:%d", mongoPort),
		"DATA_DIR":              o.DataDir,
		"MONGODB_DATABASE":      Database,
		"LOG_FORMAT":            "json",
		"RATE_LIMIT_PER_MINUTE": "100000",
		"PATH":                  os.Getenv("PATH"),
		"HOME":                  os.Getenv("HOME"),
		"GOCOVERDIR":            os.Getenv("ORGD_COVERDIR"), // task cover: the binary's counters
	}
	for k, v := range o.Env {
		env[k] = v
	}
	cmd := exec.Command(bin)
	if o.FileLimit > 0 {
		n := strconv.Itoa(o.FileLimit)
		cmd = exec.Command("prlimit", "--nofile="+n+":"+n, "--", bin)
	}
	cmd.Dir = o.DataDir // no stray .env from the checkout
	for k, v := range env {
		if v != "" {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
	}
	p := &Proc{
		URL: fmt.Sprintf("http://127.0.0.1:%d", httpPort), MongoURI: fmt.Sprintf("mongodb://127.0.0.1:%d/", mongoPort),
		DataDir: o.DataDir, cmd: cmd, logs: &SyncBuffer{}, done: make(chan struct{}),
	}
	if uri := o.Env["MONGODB_URI"]; uri != "" {
		p.MongoURI = uri
	}
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	if o.NoWait {
		return p, nil
	}

	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-p.done:
			return p, fmt.Errorf("orgd exited during start: %w\n%s", p.err, p.logs.String())
		default:
		}
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.Ready = time.Now()
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			return p, fmt.Errorf("orgd did not become healthy:\n%s", p.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Kill ends the process with SIGKILL, as a crash would, and waits for it.
func (p *Proc) Kill() {
	if p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and returns the process's exit error (nil for 0).
func (p *Proc) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		p.Kill()
		return errors.New("orgd did not stop within 30s of SIGTERM")
	}
	return p.err
}

// PID is the process id.
func (p *Proc) PID() int { return p.cmd.Process.Pid }

// Logs returns everything the process wrote so far that has come through
// its pipe; call Sync first to be sure a line already written is there.
func (p *Proc) Logs() string { return p.logs.String() }

var syncSeq atomic.Int64

// Sync waits until every line the process logged before Sync was called
// has arrived in Logs: it sends a request with a unique request id and
// waits for that request's own access log line, which the process writes
// after them on the same stream.
func (p *Proc) Sync(t testing.TB) {
	t.Helper()
	id := fmt.Sprintf("harness-sync-%d", syncSeq.Add(1))
	_, _, err := p.Do(context.Background(), http.MethodGet, "/healthz", nil, http.Header{"X-Request-ID": {id}})
	if err != nil {
		t.Fatalf("sync with orgd's log: %v", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.Logs(), id) {
		if time.Now().After(deadline) {
			t.Fatalf("sync with orgd's log: the line of request %s never came", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// Do sends a request and returns the status and body.
func (p *Proc) Do(ctx context.Context, method, path string, body []byte, header http.Header) (*http.Response, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, p.URL+path, r)
	if err != nil {
		return nil, nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// SyncBuffer is a bytes.Buffer safe to write from a process's pipe while a
// test reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
