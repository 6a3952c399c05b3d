package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"orgd/adapters/password"
	"orgd/adapters/token"
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
func checkCmd(ctx context.Context, e env) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	repair := fs.Bool("repair", false, "")
	if err := fs.Parse(e.args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, checkUsage)
		return nil
	} else if err != nil || fs.NArg() > 0 {
		fmt.Fprint(e.stderr, checkUsage)
		return errors.Join(errors.New("check: unexpected arguments"), err)
	}
	// Only a repair writes, and so needs the single-writer lease.
	a, err := openApp(ctx, e, openOptions{lease: *repair})
	if err != nil {
		return err
	}
	defer a.close()
	if pending, err := a.st.PendingMigrations(a.ctx); err != nil {
		return err
	} else if len(pending) > 0 {
		return fmt.Errorf("check: the store lacks %d migration(s) this orgd knows, from %d (%s): run orgd migrate first", len(pending), pending[0].Version, pending[0].Name)
	}
	// The audit signs no tokens and checks no passwords: a throwaway key.
	tokens, err := token.New("HS256", []byte(rand.Text()+rand.Text()))
	if err != nil {
		return err
	}
	svc, err := a.newService(usecase.Deps{Hasher: password.New(password.OWASP, 1), Tokens: tokens})
	if err != nil {
		return err
	}
	offline := a.server != nil // the data directory is locked to this process
	if *repair {
		rep, err := svc.Repair(a.ctx, offline)
		if err != nil {
			return err
		}
		return report(e.stdout, *asJSON, rep, rep.Left.Findings)
	}
	rep, err := svc.CheckIntegrity(a.ctx, offline)
	if err != nil {
		return err
	}
	return report(e.stdout, *asJSON, rep, rep.Findings)
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
	summary := func(a usecase.IntegrityReport) {
		fmt.Fprintf(w, "%d organizations, %d claims, %d tenant collections: %d findings\n",
			a.Organizations, a.Claims, a.Collections, len(a.Findings))
	}
	switch r := rep.(type) {
	case usecase.IntegrityReport:
		for _, f := range r.Findings {
			line(f)
		}
		summary(r)
	case usecase.RepairReport:
		fmt.Fprintf(w, "recovery: %d operations finished or rolled back, %d abandoned claims released, %d stray invitations deleted\n",
			r.Recovered.Resumed, r.Recovered.ClaimsReleased, r.Recovered.InvitationsDeleted)
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
