package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
)

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d.Microseconds())/1000) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// find returns the load point name at concurrency c.
func (r report) find(name string, c int) (result, bool) {
	for _, l := range r.Loads {
		if l.Name == name && l.Concurrency == c {
			return l, true
		}
	}
	return result{}, false
}

// ratios are the figures the targets are stated in.
func (r report) ratios() []string {
	var out []string
	for _, c := range r.Concurrencies {
		lim, ok1 := r.find("limit: driver FindOne", c)
		get, ok2 := r.find("GET /org/get", c)
		if ok1 && ok2 && lim.Throughput() > 0 {
			out = append(out, fmt.Sprintf("GET /org/get at c=%d: %.2f× the raw-driver limit (%.0f vs %.0f ops/s)", c, get.Throughput()/lim.Throughput(), get.Throughput(), lim.Throughput()))
		}
		if own, ok := r.find("limit: driver FindOne (organization)", c); ok && ok2 && own.Throughput() > 0 {
			out = append(out, fmt.Sprintf("GET /org/get at c=%d: %.2f× a raw FindOne of the organization's own document, the one read it makes (%.0f vs %.0f ops/s)", c, get.Throughput()/own.Throughput(), get.Throughput(), own.Throughput()))
		}
	}
	if login, ok := r.find("POST /admin/login", 1); ok && r.HashTime > 0 {
		out = append(out, fmt.Sprintf("login p50 at c=1: %.2f× one argon2id hash (%s vs %s)", float64(login.P50)/float64(r.HashTime), ms(login.P50), ms(r.HashTime)))
	}
	if len(r.Renames) > 1 {
		first, last := r.Renames[0], r.Renames[len(r.Renames)-1]
		out = append(out, fmt.Sprintf("rename of %d documents: %.2f× the time of %d documents (%s vs %s)", last.Docs, float64(last.Time)/float64(first.Time), first.Docs, ms(last.Time), ms(first.Time)))
	}
	out = append(out, fmt.Sprintf("login burst: %d of %d succeeded at c=50; peak RSS during it %s", r.BurstOK, r.BurstTotal, mib(r.BurstPeakRSS)))
	out = append(out, fmt.Sprintf("idle RSS %s; start to ready %s; peak RSS over the run %s", mib(r.IdleRSS), ms(r.StartToReady), mib(r.PeakRSS)))
	return out
}

func printReport(w io.Writer, r report) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "load\tc\tops/s\tp50\tp99\terrors")
	for _, l := range r.Loads {
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%s\t%s\t%d\n", l.Name, l.Concurrency, l.Throughput(), ms(l.P50), ms(l.P99), l.Errors)
	}
	_ = tw.Flush()
	for _, l := range r.Loads {
		for _, s := range l.Sample {
			fmt.Fprintf(w, "error in %s at c=%d: %s\n", l.Name, l.Concurrency, s)
		}
	}
	fmt.Fprintln(w)
	for _, rn := range r.Renames {
		fmt.Fprintf(w, "rename, %d documents: %s\n", rn.Docs, ms(rn.Time))
	}
	fmt.Fprintln(w)
	for _, s := range r.ratios() {
		fmt.Fprintln(w, s)
	}
}

func writeMarkdown(path, chart string, r report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nMeasured by `task bench` (`go run ./test/orgbench`) on %s.\n\n", r.When.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&b, "- Machine: %s (shared and noisy: compare figures within one run, as ratios).\n", r.Machine)
	fmt.Fprintf(&b, "- Store: %s. orgd, the store and the load generator share the machine.\n\n", r.Store)
	b.WriteString("## Ratios\n\n")
	for _, s := range r.ratios() {
		fmt.Fprintf(&b, "- %s\n", s)
	}
	if chart != "" {
		rel, err := filepath.Rel(filepath.Dir(path), chart)
		if err != nil {
			rel = chart
		}
		fmt.Fprintf(&b, "\n![throughput against concurrency, rename time against tenant size](%s)\n", filepath.ToSlash(rel))
	}
	b.WriteString("\n## Endpoints (closed loop)\n\n| load | c | ops/s | p50 | p99 | errors |\n|---|---|---|---|---|---|\n")
	for _, l := range r.Loads {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %s | %s | %d |\n", l.Name, l.Concurrency, l.Throughput(), ms(l.P50), ms(l.P99), l.Errors)
	}
	for _, l := range r.Loads {
		for _, s := range l.Sample {
			fmt.Fprintf(&b, "\nError seen in %s at c=%d: `%s`\n", l.Name, l.Concurrency, strings.TrimSpace(s))
		}
	}
	b.WriteString("\n## Rename against tenant size (median of three)\n\n| documents | rename |\n|---|---|\n")
	for _, rn := range r.Renames {
		fmt.Fprintf(&b, "| %d | %s |\n", rn.Docs, ms(rn.Time))
	}
	fmt.Fprintf(&b, "\nOne argon2id hash (m=19456 KiB, t=2, p=1) in process: %s.\n", ms(r.HashTime))
	if notes, err := os.ReadFile(filepath.Join(filepath.Dir(path), "test", "orgbench", "notes.md")); err == nil {
		b.WriteString("\n")
		b.Write(notes)
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
