// Command orgbench measures orgd the way its clients feel it, next to the
// limit its store sets, in one run on one machine:
//
//   - the limit: a raw mongo-driver FindOne loop on the same store;
//   - each endpoint under a closed-loop load at several concurrencies
//     (throughput, p50, p99);
//   - rename time against tenant size;
//   - login against one argon2id hash, and a login burst's peak RSS;
//   - idle RSS and start-to-ready time;
//   - with -scale, how per-request cost, restart, idle CPU and RSS change
//     as organizations grow (10, 1,000, 10,000, …).
//
// It prints a table and writes a report and a PNG chart (bench-report.md
// and .png unless told otherwise; task bench:update rewrites the tracked
// BENCHMARKS.md and chart). Run it from the repository root: go run
// ./test/orgbench (task bench). With MONGODB_URI
// set, orgd and the limit loop use that MongoDB instead of the embedded store.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	var o benchOptions
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "how long each load point runs")
	conc := flag.String("concurrency", "1,16,64", "closed-loop concurrencies")
	sizes := flag.String("sizes", "1000,10000,100000,1000000", "tenant sizes (documents) for rename timing")
	flag.StringVar(&o.out, "out", "bench-report.md", "report to write (empty: none); BENCHMARKS.md to update the tracked one")
	flag.StringVar(&o.chart, "chart", "bench-report.png", "chart to write (empty: none); docs/benchmarks.png (or docs/scale.png with -scale) to update the tracked one")
	flag.IntVar(&o.orgs, "orgs", 100, "organizations to read from")
	flag.StringVar(&o.keep, "keep", "", "with -scale: keep the store in this (empty) directory for later study")
	scale := flag.String("scale", "", "tenant-scale mode: grow to each of these organization counts (e.g. 10,1000,10000), measure per-request cost at each, print a table and write -chart if set")
	replicated := flag.Bool("replicated", false, "replicated mode (needs MONGODB_URI): one and two replicas on the shared server, at 10 organizations and at the largest -scale count (default 10000)")
	flag.Parse()
	var err error
	if o.concurrency, err = ints(*conc); err == nil {
		o.sizes, err = ints(*sizes)
	}
	if err == nil && *scale != "" {
		o.tenants, err = ints(*scale)
	}
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
		switch {
		case *replicated:
			err = runReplicated(ctx, o, os.Stdout)
		case o.tenants != nil:
			err = runScale(ctx, o, os.Stdout)
		default:
			err = run(ctx, o)
		}
		cancel()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "orgbench:", err)
		os.Exit(1)
	}
}

type benchOptions struct {
	duration    time.Duration
	concurrency []int
	sizes       []int
	out, chart  string
	orgs        int
	tenants     []int
	keep        string
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a list of positive integers", s)
		}
		out = append(out, n)
	}
	return out, nil
}
