package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"orgd/adapters/metrics"
	"orgd/adapters/password"
	"orgd/adapters/token"
	"orgd/config"
	"orgd/core/usecase"
)

const checkUsage = `Usage:
  orgd check [--json] [--repair]
      audit the whole store: every organization holds the claims on its
      name and its admin's email, has its admin and its collection; no
      collection, claim, operation, marker or admin is left over. Exits 1
      if anything is found.

      On the embedded store (no MONGODB_URI) it runs offline: stop orgd
      first (DATA_DIR is locked to one process), and every unfinished
      operation counts. Against MONGODB_URI it runs online beside the
      replicas, and only what has outlived its lease counts.

Flags:
  --json     print the report as JSON
  --repair   first finish or roll back stale operations, then fix what is
             safe to fix (claims, markers, stray admins; an orphan
             collection goes back to its organization when that is
             unambiguous, else is renamed lost_<key>_<time>; no document
             is ever dropped), and report what is left for an operator
`

// errFindings makes check exit 1 without repeating its report.
var errFindings = errors.New("the store has integrity findings")

// checkCmd runs "orgd check".
func checkCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	repair := fs.Bool("repair", false, "")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, checkUsage)
		return nil
	} else if err != nil || fs.NArg() > 0 {
		fmt.Fprint(stderr, checkUsage)
		return errors.Join(errors.New("check: unexpected arguments"), err)
	}
	cfg, err := config.Load(getenv, ".")
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, log, true, metrics.New())
	if err != nil {
		return err
	}
	defer st.close()
	if pending, err := st.PendingMigrations(ctx); err != nil {
		return err
	} else if len(pending) > 0 {
		return fmt.Errorf("check: the store lacks %d migration(s) this orgd knows, from %d (%s): run orgd migrate first", len(pending), pending[0].Version, pending[0].Name)
	}
	if *repair {
		ctx, lost := context.WithCancelCause(ctx)
		defer lost(nil)
		if err := holdWriterLease(ctx, st, cfg, log, lost); err != nil {
			return err
		}
	}
	svc, err := auditService(ctx, st, log)
	if err != nil {
		return err
	}
	offline := cfg.Embedded()
	if *repair {
		rep, err := svc.Repair(ctx, offline)
		if err != nil {
			return err
		}
		return report(stdout, *asJSON, rep, rep.Left.Findings)
	}
	rep, err := svc.Audit(ctx, offline)
	if err != nil {
		return err
	}
	return report(stdout, *asJSON, rep, rep.Findings)
}

// auditService wires the use cases for an audit: the store alone. It signs
// no tokens and checks no passwords, so its token key is a throwaway.
func auditService(ctx context.Context, st *store, log *slog.Logger) (*usecase.Service, error) {
	tokens, err := token.New("HS256", []byte(rand.Text()+rand.Text()))
	if err != nil {
		return nil, err
	}
	return usecase.New(ctx, usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
		Hasher: password.New(password.OWASP, 1), Tokens: tokens, Logger: log,
	})
}

// report prints rep, and returns errFindings if left holds any.
func report(w io.Writer, asJSON bool, rep any, left []usecase.Finding) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		printReport(w, rep)
	}
	if len(left) > 0 {
		return fmt.Errorf("%w: %d", errFindings, len(left))
	}
	return nil
}

func printReport(w io.Writer, rep any) {
	line := func(f usecase.Finding) {
		fmt.Fprintf(w, "%-18s %-26s %-30s %s", f.Kind, f.OrgID, f.Place+" "+f.Key, f.Detail)
		if f.Repair != "" {
			fmt.Fprintf(w, " -> %s", f.Repair)
		}
		fmt.Fprintln(w)
	}
	summary := func(a usecase.AuditReport) {
		fmt.Fprintf(w, "%d organizations, %d claims, %d tenant collections: %d findings\n",
			a.Organizations, a.Claims, a.Collections, len(a.Findings))
	}
	switch r := rep.(type) {
	case usecase.AuditReport:
		for _, f := range r.Findings {
			line(f)
		}
		summary(r)
	case usecase.RepairReport:
		fmt.Fprintf(w, "recovery: %d operations finished or rolled back\n", r.Recovered.Resumed)
		for _, f := range r.Found {
			line(f)
		}
		fmt.Fprintln(w, "after repair:")
		for _, f := range r.Left.Findings {
			line(f)
		}
		summary(r.Left)
	}
}
