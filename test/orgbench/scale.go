package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb"
	"orgd/test/harness"
)

// scalePoint is what one tenant count measured.
type scalePoint struct {
	Tenants      int
	Grow         result // the creates that brought the count up to Tenants
	Get, Login   result
	Auth         result // an authenticated PUT /org/update that changes nothing
	Create       result // creates at this count
	Delete       result
	Rename       time.Duration // median of three renames of a 10,000-document tenant
	StartToReady time.Duration // restart (SIGTERM, start) to serving
	Settle       time.Duration // from serving until the startup background work is done
	IdleCPU      float64       // share of one core, over idleWindow once settled
	IdleRSS      int64
	LoadedRSS    int64 // after a GET load on the restarted process
}

const (
	scaleWorkers = 4
	renameDocs   = 10_000
	idleWindow   = 10 * time.Second
)

// runScale grows one orgd's organizations through the API to each count in
// o.tenants and measures per-request cost, restart and idle cost at each.
func runScale(ctx context.Context, o benchOptions, w io.Writer) error {
	dir, bin, err := buildOrgd()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	data := dir + "/data"
	if o.keep != "" {
		data = o.keep
		if err := os.MkdirAll(data, 0o750); err != nil {
			return err
		}
	}
	s := &scaler{bin: bin, opts: harness.Options{DataDir: data, Env: benchEnv()}}
	if err := s.start(); err != nil {
		return err
	}
	defer func() { s.p.Kill() }()

	var points []scalePoint
	created := 0
	for _, n := range o.tenants {
		step(fmt.Sprintf("growing to %d organizations", n))
		pt := scalePoint{Tenants: n}
		first := created
		pt.Grow = closedLoop(ctx, "create (growth)", scaleWorkers, 0, n-first, func(ctx context.Context, _, i int) error {
			return s.api.create(ctx, tenantName(first+i))
		})
		created = n
		if pt.Grow.Errors > 0 {
			return fmt.Errorf("growing to %d: %d creates failed: %v", n, pt.Grow.Errors, pt.Grow.Sample)
		}
		if err := s.measure(ctx, &pt, o.duration); err != nil {
			return err
		}
		points = append(points, pt)
		printScale(os.Stderr, points)
	}
	printScale(w, points)
	if o.chart != "" {
		return writeScaleChart(o.chart, points)
	}
	return nil
}

func tenantName(i int) string { return fmt.Sprintf("t%05d", i) }

// scaler runs one orgd, restarted on the same data.
type scaler struct {
	bin  string
	opts harness.Options
	p    *harness.Proc
	api  *api
	mc   *mongo.Client
}

func (s *scaler) start() error {
	p, err := harness.Launch(s.bin, s.opts)
	if p != nil {
		s.p = p
	}
	if err != nil {
		return err
	}
	s.api = newAPI(p.URL, scaleWorkers*2)
	if s.mc != nil {
		_ = s.mc.Disconnect(context.Background())
	}
	s.mc, err = mongo.Connect(options.Client().ApplyURI(p.MongoURI))
	return err
}

func (s *scaler) measure(ctx context.Context, pt *scalePoint, d time.Duration) error {
	n := pt.Tenants
	random := func() string { return tenantName(rand.IntN(n)) }
	step(fmt.Sprintf("%d: GET, login, authenticated request", n))
	pt.Get = closedLoop(ctx, "GET /org/get", 1, d, 0, func(ctx context.Context, _, _ int) error {
		return s.api.do(ctx, http.MethodGet, "/org/get?organization_name="+random(), "", nil, http.StatusOK, nil)
	})
	pt.Login = closedLoop(ctx, "POST /admin/login", 1, d, 0, func(ctx context.Context, _, _ int) error {
		_, err := s.api.login(ctx, random())
		return err
	})
	tokens := map[string]string{}
	for range 20 {
		name := random()
		tok, err := s.api.login(ctx, name)
		if err != nil {
			return err
		}
		tokens[name] = tok
	}
	var names []string
	for k := range tokens {
		names = append(names, k)
	}
	pt.Auth = closedLoop(ctx, "PUT /org/update (no change)", 1, d, 0, func(ctx context.Context, _, i int) error {
		name := names[i%len(names)]
		return s.api.do(ctx, http.MethodPut, "/org/update", tokens[name], map[string]string{"email": name + "@bench.test"}, http.StatusOK, nil)
	})

	step(fmt.Sprintf("%d: create, delete", n))
	const extra = 20
	pt.Create = closedLoop(ctx, "POST /org/create", 1, 0, extra, func(ctx context.Context, _, i int) error {
		return s.api.create(ctx, fmt.Sprintf("x%05d-%d", n, i))
	})
	pt.Delete = closedLoop(ctx, "DELETE /org/delete", 1, 0, extra, func(ctx context.Context, _, i int) error {
		name := fmt.Sprintf("x%05d-%d", n, i)
		tok, err := s.api.login(ctx, name)
		if err != nil {
			return err
		}
		return s.api.do(ctx, http.MethodDelete, "/org/delete", tok, map[string]string{"organization_name": name}, http.StatusOK, nil)
	})
	if pt.Create.Errors+pt.Delete.Errors > 0 {
		return fmt.Errorf("%d: create/delete failed: %v %v", n, pt.Create.Sample, pt.Delete.Sample)
	}

	step(fmt.Sprintf("%d: rename of a %d-document tenant", n, renameDocs))
	var err error
	if pt.Rename, err = renameTime(ctx, s.api, s.mc.Database(harness.Database), fmt.Sprintf("big%05d", n), renameDocs); err != nil {
		return err
	}

	step(fmt.Sprintf("%d: restart, idle", n))
	if err := s.p.Stop(); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	if err := s.start(); err != nil {
		return err
	}
	pt.StartToReady = s.p.Ready.Sub(s.p.Started)
	pt.Settle = settle(s.p.PID())
	pt.IdleCPU = cpuShare(s.p.PID(), idleWindow)
	pt.IdleRSS = rss(s.p.PID(), "VmRSS")
	closedLoop(ctx, "warm", scaleWorkers, 3*time.Second, 0, func(ctx context.Context, _, _ int) error {
		return s.api.do(ctx, http.MethodGet, "/org/get?organization_name="+random(), "", nil, http.StatusOK, nil)
	})
	pt.LoadedRSS = rss(s.p.PID(), "VmRSS")
	return nil
}

// settle waits until process pid uses under 2% of a core over a second
// (its startup background work is done), at most a minute, and returns how
// long that took.
func settle(pid int) time.Duration {
	start := time.Now()
	for time.Since(start) < time.Minute {
		if cpuShare(pid, time.Second) < 0.02 {
			break
		}
	}
	return time.Since(start)
}

// cpuShare is the share of one core process pid used over window.
func cpuShare(pid int, window time.Duration) float64 {
	before := cpuTicks(pid)
	time.Sleep(window)
	return float64(cpuTicks(pid)-before) / 100 / window.Seconds() // USER_HZ is 100 on Linux
}

// cpuTicks is the user plus system time of process pid, in clock ticks.
func cpuTicks(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0
	}
	user, _ := strconv.ParseInt(fields[11], 10, 64)
	sys, _ := strconv.ParseInt(fields[12], 10, 64)
	return user + sys
}

func printScale(w io.Writer, pts []scalePoint) {
	fmt.Fprintln(w, "| tenants | creates/s while growing (c=4) | create p50 | GET /org/get p50 | login p50 | authenticated request p50 | delete p50 | rename 10,000 docs | restart to serving | startup background work | idle CPU | RSS idle | RSS after load |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	row := func(p scalePoint) {
		fmt.Fprintf(w, "| %d | %.1f | %s | %s | %s | %s | %s | %s | %s | %.1f s | %.2f%% | %s | %s |\n",
			p.Tenants, p.Grow.Throughput(), ms(p.Create.P50), ms(p.Get.P50), ms(p.Login.P50), ms(p.Auth.P50), ms(p.Delete.P50),
			ms(p.Rename), ms(p.StartToReady), p.Settle.Seconds(), 100*p.IdleCPU, mib(p.IdleRSS), mib(p.LoadedRSS))
	}
	for _, p := range pts {
		row(p)
	}
	if len(pts) > 1 {
		a, b := pts[0], pts[len(pts)-1]
		r := func(x, y time.Duration) string { return fmt.Sprintf("%.2f×", float64(y)/float64(max(x, 1))) }
		fmt.Fprintf(w, "| **%d vs %d** | %.2f× | %s | %s | %s | %s | %s | %s | %s | | | %.2f× | %.2f× |\n",
			b.Tenants, a.Tenants, b.Grow.Throughput()/a.Grow.Throughput(), r(a.Create.P50, b.Create.P50), r(a.Get.P50, b.Get.P50),
			r(a.Login.P50, b.Login.P50), r(a.Auth.P50, b.Auth.P50), r(a.Delete.P50, b.Delete.P50), r(a.Rename, b.Rename),
			r(a.StartToReady, b.StartToReady), float64(b.IdleRSS)/float64(a.IdleRSS), float64(b.LoadedRSS)/float64(a.LoadedRSS))
	}
}

func writeScaleChart(path string, pts []scalePoint) error {
	series := []struct {
		name string
		get  func(scalePoint) time.Duration
	}{
		{"GET /org/get", func(p scalePoint) time.Duration { return p.Get.P50 }},
		{"login", func(p scalePoint) time.Duration { return p.Login.P50 }},
		{"authenticated PUT", func(p scalePoint) time.Duration { return p.Auth.P50 }},
		{"create", func(p scalePoint) time.Duration { return p.Create.P50 }},
		{"delete", func(p scalePoint) time.Duration { return p.Delete.P50 }},
		{"rename 10k docs", func(p scalePoint) time.Duration { return p.Rename }},
	}
	var lines []chartLine
	for _, s := range series {
		l := chartLine{name: s.name}
		for _, p := range pts {
			l.pts = append(l.pts, [2]float64{float64(p.Tenants), float64(s.get(p).Microseconds()) / 1000})
		}
		lines = append(lines, l)
	}
	return writeLines(path, "p50 latency (ms, log) vs organizations (log), embedded store", lines)
}

// renameTime creates organization base, fills its collection with size
// documents, renames it three times and returns the median time.
func renameTime(ctx context.Context, a *api, db *mongo.Database, base string, size int) (time.Duration, error) {
	if err := a.create(ctx, base); err != nil {
		return 0, err
	}
	tok, err := a.login(ctx, base)
	if err != nil {
		return 0, err
	}
	coll, err := harness.TenantCollection(ctx, db.Client(), base)
	if err != nil {
		return 0, err
	}
	if err := mongodb.SeedCollection(ctx, coll, size); err != nil {
		return 0, err
	}
	var times []time.Duration
	name := base
	for i := range 3 {
		next := fmt.Sprintf("%s-r%d", base, i)
		t0 := time.Now()
		if err := a.do(ctx, http.MethodPut, "/org/update", tok, map[string]string{"organization_name": next}, http.StatusOK, nil); err != nil {
			return 0, err
		}
		times = append(times, time.Since(t0))
		name = next
	}
	coll, err = harness.TenantCollection(ctx, db.Client(), strings.ToLower(name))
	if err != nil {
		return 0, err
	}
	n, err := coll.EstimatedDocumentCount(ctx)
	if err != nil {
		return 0, err
	}
	if int(n) != size {
		return 0, fmt.Errorf("rename moved %d of %d documents", n, size)
	}
	slices.Sort(times)
	return times[1], nil
}
