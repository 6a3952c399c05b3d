package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/password"
	"orgd/core/domain"
	"orgd/test/harness"
)

// report is everything one run measured.
type report struct {
	When          time.Time
	Machine       string
	Store         string
	StartToReady  time.Duration
	IdleRSS       int64 // bytes
	PeakRSS       int64 // bytes, over the whole run
	BurstPeakRSS  int64 // bytes, after the login burst
	BurstOK       int
	BurstTotal    int
	HashTime      time.Duration
	Loads         []result
	Renames       []renameResult
	Concurrencies []int
}

type renameResult struct {
	Docs int
	Time time.Duration
}

func run(ctx context.Context, o benchOptions) error {
	rep := report{When: time.Now().UTC(), Machine: machine(), Concurrencies: o.concurrency, Store: "embedded (FerretDB v1.24, SQLite)"}
	if os.Getenv("MONGODB_URI") != "" {
		rep.Store = "MongoDB at MONGODB_URI"
	}
	dir, bin, err := buildOrgd()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := harness.Launch(bin, harness.Options{DataDir: dir + "/data", Env: benchEnv()})
	if p != nil {
		defer p.Kill()
	}
	if err != nil {
		return err
	}
	rep.StartToReady = p.Ready.Sub(p.Started)
	time.Sleep(time.Second)
	rep.IdleRSS = rss(p.PID(), "VmRSS")

	mc, err := mongo.Connect(options.Client().ApplyURI(p.MongoURI).SetMaxPoolSize(uint64(slices.Max(o.concurrency)) + 8))
	if err != nil {
		return err
	}
	defer mc.Disconnect(context.Background()) //nolint:errcheck // at exit
	db := mc.Database(harness.Database)
	a := newAPI(p.URL, slices.Max(o.concurrency))

	step(fmt.Sprintf("creating %d organizations", o.orgs))
	names := make([]string, o.orgs)
	for i := range names {
		names[i] = fmt.Sprintf("read%03d", i)
	}
	if err := parallel(ctx, 4, len(names), func(i int) error { return a.create(ctx, names[i]) }); err != nil {
		return err
	}

	// The organizations' own documents, which GET reads (one read, by
	// _id): the store's cost for them is its limit for GET.
	claims := db.Collection("name_claims")
	var orgIDs []any
	for _, n := range names {
		var claim bson.M
		if err := claims.FindOne(ctx, bson.D{{Key: "_id", Value: n}}).Decode(&claim); err != nil {
			return fmt.Errorf("claim of %s: %w", n, err)
		}
		orgIDs = append(orgIDs, claim["org_id"])
	}
	orgs := db.Collection("organizations")
	for _, c := range o.concurrency {
		step(fmt.Sprintf("c=%d: store limit and GET /org/get", c))
		rep.Loads = append(rep.Loads, closedLoop(ctx, "limit: driver FindOne", c, o.duration, 0, func(ctx context.Context, _, _ int) error {
			return claims.FindOne(ctx, bson.D{{Key: "_id", Value: names[rand.IntN(len(names))]}}).Err()
		}))
		rep.Loads = append(rep.Loads, closedLoop(ctx, "limit: driver FindOne (organization)", c, o.duration, 0, func(ctx context.Context, _, _ int) error {
			return orgs.FindOne(ctx, bson.D{{Key: "_id", Value: orgIDs[rand.IntN(len(orgIDs))]}}).Err()
		}))
		rep.Loads = append(rep.Loads, closedLoop(ctx, "GET /org/get", c, o.duration, 0, func(ctx context.Context, _, _ int) error {
			return a.do(ctx, http.MethodGet, "/org/get?organization_name="+names[rand.IntN(len(names))], "", nil, http.StatusOK, nil)
		}))
		step(fmt.Sprintf("c=%d: POST /admin/login", c))
		rep.Loads = append(rep.Loads, closedLoop(ctx, "POST /admin/login", c, o.duration, 0, func(ctx context.Context, _, _ int) error {
			_, err := a.login(ctx, names[rand.IntN(len(names))])
			return err
		}))
		step(fmt.Sprintf("c=%d: POST /org/create", c))
		rep.Loads = append(rep.Loads, closedLoop(ctx, "POST /org/create", c, o.duration, 0, func(ctx context.Context, _, i int) error {
			return a.create(ctx, fmt.Sprintf("new%d-%d", c, i))
		}))

		step(fmt.Sprintf("c=%d: PUT /org/update (rename)", c))
		tokens := make([]string, c)
		for w := range c {
			name := fmt.Sprintf("ren%d-%d-a", c, w)
			if err := a.create(ctx, name); err != nil {
				return err
			}
			if tokens[w], err = a.login(ctx, name); err != nil {
				return err
			}
		}
		rep.Loads = append(rep.Loads, closedLoop(ctx, "PUT /org/update (rename)", c, o.duration, 0, func(ctx context.Context, w, i int) error {
			suffix := "b"
			if i%2 == 1 {
				suffix = "a"
			}
			return a.do(ctx, http.MethodPut, "/org/update", tokens[w], map[string]string{"organization_name": fmt.Sprintf("ren%d-%d-%s", c, w, suffix)}, http.StatusOK, nil)
		}))

		n := max(50, 4*c)
		step(fmt.Sprintf("c=%d: DELETE /org/delete (%d organizations)", c, n))
		delTokens := make([]string, n)
		if err := parallel(ctx, 4, n, func(i int) error {
			name := fmt.Sprintf("del%d-%d", c, i)
			if err := a.create(ctx, name); err != nil {
				return err
			}
			var err error
			delTokens[i], err = a.login(ctx, name)
			return err
		}); err != nil {
			return err
		}
		rep.Loads = append(rep.Loads, closedLoop(ctx, "DELETE /org/delete", c, 0, n, func(ctx context.Context, _, i int) error {
			return a.do(ctx, http.MethodDelete, "/org/delete", delTokens[i], map[string]string{"organization_name": fmt.Sprintf("del%d-%d", c, i)}, http.StatusOK, nil)
		}))
	}

	rep.PeakRSS = rss(p.PID(), "VmHWM") // the loads' peak, before the reset below
	step("one argon2id hash, in process")
	rep.HashTime = hashTime()

	step("login burst: 200 logins at c=50")
	resetPeakRSS(p.PID()) // so the peak read after it is the burst's own
	burst := closedLoop(ctx, "login burst", 50, 0, 200, func(ctx context.Context, _, _ int) error {
		_, err := a.login(ctx, names[rand.IntN(len(names))])
		return err
	})
	rep.BurstOK, rep.BurstTotal = burst.Ops, burst.Ops+burst.Errors
	rep.BurstPeakRSS = rss(p.PID(), "VmHWM")

	for _, size := range o.sizes {
		step(fmt.Sprintf("rename of a %d-document tenant", size))
		d, err := renameTime(ctx, a, db, fmt.Sprintf("size%d", size), size)
		if err != nil {
			return err
		}
		rep.Renames = append(rep.Renames, renameResult{Docs: size, Time: d})
	}
	rep.PeakRSS = max(rep.PeakRSS, rss(p.PID(), "VmHWM"))

	printReport(os.Stdout, rep)
	if o.out != "" {
		if err := writeMarkdown(o.out, o.chart, rep); err != nil {
			return err
		}
	}
	if o.chart != "" {
		if err := writeChart(o.chart, rep); err != nil {
			return err
		}
	}
	return nil
}

// buildOrgd builds orgd into a fresh directory, which also holds an empty
// data directory "data"; the caller removes dir.
func buildOrgd() (dir, bin string, err error) {
	if dir, err = os.MkdirTemp("", "orgbench-"); err != nil {
		return "", "", err
	}
	step("building orgd")
	if bin, err = harness.Build(dir); err == nil {
		err = os.MkdirAll(dir+"/data", 0o750)
	}
	return dir, bin, err
}

// benchEnv configures the measured orgd: no rate limit, quiet logs, and
// MongoDB when MONGODB_URI is set.
func benchEnv() map[string]string {
	return map[string]string{
		"SECRET_KEY": "orgbench-secret-key-orgbench-secret-key", "RATE_LIMIT_PER_MINUTE": "1000000000",
		"LOG_LEVEL": "warn", "MONGODB_URI": os.Getenv("MONGODB_URI"),
	}
}

func hashTime() time.Duration {
	h := password.New(password.OWASP, 1)
	var times []time.Duration
	for range 7 {
		t0 := time.Now()
		if _, err := h.Hash(context.Background(), domain.Password(benchPassword)); err != nil {
			return 0
		}
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	return times[len(times)/2]
}

func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	r := closedLoop(ctx, "setup", workers, 0, n, func(_ context.Context, _, i int) error { return fn(i) })
	if r.Errors > 0 {
		return fmt.Errorf("setup: %d of %d failed", r.Errors, n)
	}
	return nil
}

// rss reads a memory figure (VmRSS, VmHWM) of a process, in bytes.
func rss(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// resetPeakRSS resets the kernel's high-water mark of the process's RSS
// (Linux: writing 5 to /proc/PID/clear_refs).
func resetPeakRSS(pid int) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d cores, %s %s/%s", model, runtime.NumCPU(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

var stepMu sync.Mutex

func step(s string) {
	stepMu.Lock()
	defer stepMu.Unlock()
	fmt.Fprintf(os.Stderr, "orgbench: %s\n", s)
}
