package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"orgd/adapters/mongodb"
	"orgd/test/harness"
)

// replicatedPoint is what one tenant count measured on a shared server.
type replicatedPoint struct {
	Tenants int
	Loads   []result
	// Recover and Check are how long orgd recover (the periodic sweep's
	// work: pending operations, then every claim against every
	// organization) and orgd check (the integrity audit) took, as
	// commands against the shared database.
	Recover, Check time.Duration
}

// runReplicated measures orgd as it is deployed: one and two replicas of
// the binary on the shared server MONGODB_URI names, next to that server's
// own limit (raw driver lookups by _id), at 10 organizations and again
// once grown to o.tenants' largest count.
func runReplicated(ctx context.Context, o benchOptions, w io.Writer) error {
	uri := os.Getenv("MONGODB_URI")
	if uri == "" {
		return fmt.Errorf("-replicated needs MONGODB_URI, the shared server")
	}
	dir, bin, err := buildOrgd()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var b [4]byte
	_, _ = rand.Read(b[:])
	env := benchEnv()
	env["MONGODB_DATABASE"] = "orgbench_" + hex.EncodeToString(b[:])
	mc, err := mongo.Connect(options.Client().ApplyURI(uri).SetMaxPoolSize(64))
	if err != nil {
		return err
	}
	defer dropAll(mc, env["MONGODB_DATABASE"])
	var apis [2]*api
	for i := range apis {
		env["INSTANCE_ID"] = fmt.Sprintf("bench-%d", i)
		data := fmt.Sprintf("%s/data%d", dir, i)
		if err := os.MkdirAll(data, 0o750); err != nil {
			return err
		}
		p, err := harness.Launch(bin, harness.Options{DataDir: data, Env: env})
		if p != nil {
			defer p.Kill()
		}
		if err != nil {
			return err
		}
		apis[i] = newAPI(p.URL, 32)
	}
	r := &replicatedBench{bin: bin, env: env, apis: apis, claims: mc.Database(env["MONGODB_DATABASE"]).Collection("name_claims")}
	var points []replicatedPoint
	created := 0
	for _, n := range []int{10, slicesMax(o.tenants, 10_000)} {
		step(fmt.Sprintf("growing to %d organizations over both replicas", n))
		first := created
		grow := closedLoop(ctx, "grow", 8, 0, n-first, func(ctx context.Context, wk, i int) error {
			return apis[wk%2].create(ctx, tenantName(first+i))
		})
		if grow.Errors > 0 {
			return fmt.Errorf("growing to %d: %d creates failed: %v", n, grow.Errors, grow.Sample)
		}
		created = n
		pt, err := r.measure(ctx, n, o.duration)
		if err != nil {
			return err
		}
		points = append(points, pt)
	}
	printReplicated(w, points)
	return nil
}

func slicesMax(v []int, def int) int {
	m := 0
	for _, x := range v {
		m = max(m, x)
	}
	if m == 0 {
		return def
	}
	return m
}

type replicatedBench struct {
	bin    string
	env    map[string]string
	apis   [2]*api
	claims *mongo.Collection
}

// measure runs each load at concurrency 1 and 16, on one replica and
// spread over two, then times recover and check.
func (r *replicatedBench) measure(ctx context.Context, n int, d time.Duration) (replicatedPoint, error) {
	pt := replicatedPoint{Tenants: n}
	random := func() string { return tenantName(mrand.IntN(n)) }
	on := func(replicas, worker int) *api { return r.apis[worker%replicas] }
	for _, c := range []int{1, 16} {
		step(fmt.Sprintf("%d organizations, c=%d", n, c))
		pt.Loads = append(pt.Loads, closedLoop(ctx, "limit: driver FindOne by _id", c, d, 0, func(ctx context.Context, _, _ int) error {
			return r.claims.FindOne(ctx, bson.D{{Key: "_id", Value: random()}}).Err()
		}))
		for _, replicas := range []int{1, 2} {
			suffix := fmt.Sprintf(" (%d replica%s)", replicas, map[bool]string{true: "s"}[replicas > 1])
			pt.Loads = append(pt.Loads,
				closedLoop(ctx, "GET /org/get"+suffix, c, d, 0, func(ctx context.Context, wk, _ int) error {
					return on(replicas, wk).do(ctx, http.MethodGet, "/org/get?organization_name="+random(), "", nil, http.StatusOK, nil)
				}),
				closedLoop(ctx, "POST /admin/login"+suffix, c, d, 0, func(ctx context.Context, wk, _ int) error {
					_, err := on(replicas, wk).login(ctx, random())
					return err
				}),
				closedLoop(ctx, "POST /org/create"+suffix, c, d, 0, func(ctx context.Context, wk, _ int) error {
					return on(replicas, wk).create(ctx, fmt.Sprintf("m%d-%d-%d", n, wk, mrand.Int64()))
				}))
		}
	}
	var err error
	if pt.Recover, err = r.timeCommand(ctx, "recover"); err != nil {
		return pt, err
	}
	pt.Check, err = r.timeCommand(ctx, "check")
	return pt, err
}

// timeCommand runs orgd cmd against the shared database, as an operator
// would beside the replicas, and returns how long it took.
func (r *replicatedBench) timeCommand(ctx context.Context, cmd string) (time.Duration, error) {
	step("orgd " + cmd)
	c := exec.CommandContext(ctx, r.bin, cmd) //nolint:gosec // the benchmark's own binary
	c.Dir = os.TempDir()
	c.Env = append(os.Environ(), "MONGODB_URI="+r.env["MONGODB_URI"], "MONGODB_DATABASE="+r.env["MONGODB_DATABASE"], "LOG_LEVEL=warn")
	t0 := time.Now()
	out, err := c.CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("orgd %s: %w: %s", cmd, err, out)
	}
	return time.Since(t0), nil
}

func dropAll(mc *mongo.Client, master string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	_ = mc.Database(master).Drop(ctx)
	for i := range mongodb.TenantDatabases {
		_ = mc.Database(mongodb.TenantDatabaseName(master, i)).Drop(ctx)
	}
	_ = mc.Disconnect(ctx)
}

func printReplicated(w io.Writer, points []replicatedPoint) {
	fmt.Fprintf(w, "\n%s\n\n", machine())
	for _, pt := range points {
		fmt.Fprintf(w, "### %d organizations\n\n", pt.Tenants)
		fmt.Fprintln(w, "| load | c | ops/s | p50 | p99 | errors |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
		for _, l := range pt.Loads {
			fmt.Fprintf(w, "| %s | %d | %.0f | %s | %s | %d |\n", l.Name, l.Concurrency, l.Throughput(),
				l.P50.Round(10*time.Microsecond), l.P99.Round(10*time.Microsecond), l.Errors)
		}
		fmt.Fprintf(w, "\norgd recover (the sweep's work): %s; orgd check (the audit): %s\n\n",
			pt.Recover.Round(time.Millisecond), pt.Check.Round(time.Millisecond))
	}
}
