package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"orgd/adapters/mongodb"
)

const migrateUsage = `Usage:
  orgd migrate [up]            apply pending schema migrations (serve applies them too)
  orgd migrate status [--json] the store's schema version, each migration applied (when) and each pending
  orgd migrate down --to N     undo the migrations above N, newest first; refused, changing nothing,
                               if one cannot be undone (then restore a snapshot taken before it)

A store whose schema is newer than this orgd knows is refused by every
command but status: roll it back with the newer orgd's "migrate down".
`

// migrateCmd runs "orgd migrate": apply (up, the default), report
// (status) or undo (down) schema migrations, then exit.
func migrateCmd(ctx context.Context, e env) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "")
	to := fs.Int("to", -1, "")
	verb := "up"
	args := e.args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		verb, args = args[0], args[1:]
	}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, migrateUsage)
		return nil
	}
	switch {
	case err != nil:
	case fs.NArg() > 0:
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case verb == "down" && *to < 0:
		err = errors.New("down needs --to N (the version to go back to)")
	case verb != "up" && verb != "status" && verb != "down":
		err = fmt.Errorf("unknown verb %q", verb)
	}
	if err != nil {
		fmt.Fprint(e.stderr, migrateUsage)
		return fmt.Errorf("migrate: %w", err)
	}
	switch verb {
	case "status":
		return migrateStatus(ctx, e, *asJSON)
	case "down":
		return migrateDown(ctx, e, *to)
	}
	return migrateUp(ctx, e)
}

func migrateUp(ctx context.Context, e env) error {
	return migrateWith(ctx, e, "applied", func(a *app) ([]mongodb.Migration, error) { return a.st.Migrate(a.ctx) })
}

// migrateWith runs a migration step holding the writer lease, and reports
// each migration it went through and the schema version it left.
func migrateWith(ctx context.Context, e env, verb string, step func(*app) ([]mongodb.Migration, error)) error {
	a, err := openApp(ctx, e, openOptions{lease: true})
	if err != nil {
		return err
	}
	defer a.close()
	done, err := step(a)
	for _, m := range done {
		fmt.Fprintf(e.stdout, "%s %d: %s\n", verb, m.Version, m.Name)
	}
	if err != nil {
		return err
	}
	v, err := a.st.SchemaVersion(a.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema version %d (%d %s now)\n", v, len(done), verb)
	return nil
}

// migrateStatus prints what the store has had and lacks; it writes
// nothing, takes no lease (a running orgd may hold it) and reads a store
// newer than this orgd too.
func migrateStatus(ctx context.Context, e env, asJSON bool) error {
	a, err := openApp(ctx, e, openOptions{anySchema: true})
	if err != nil {
		return err
	}
	defer a.close()
	st, err := a.st.Status(a.ctx)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	fmt.Fprintf(e.stdout, "schema version %d (this orgd knows up to %d)\n", st.SchemaVersion, st.KnownVersion)
	for _, m := range st.Applied {
		note := ""
		switch {
		case !m.Known:
			note = "  (newer than this orgd)"
		case m.Undoing:
			note = "  (being undone: finish with migrate down, or apply again with migrate)"
		}
		fmt.Fprintf(e.stdout, "applied  %3d  %s  %s%s\n", m.Version, m.AppliedAt.Format(time.RFC3339), m.Name, note)
	}
	for _, m := range st.Pending {
		fmt.Fprintf(e.stdout, "pending  %3d  %s\n", m.Version, m.Name)
	}
	return nil
}

// migrateDown undoes the migrations above to, holding the writer lease
// (nothing else writes meanwhile: stop the server first).
func migrateDown(ctx context.Context, e env, to int) error {
	return migrateWith(ctx, e, "undone", func(a *app) ([]mongodb.Migration, error) { return a.st.MigrateDown(a.ctx, to) })
}

// recoverCmd runs "orgd recover": finish the operations a previous process
// left half done, free abandoned claims, exit. The embedded store's data
// directory is locked to this process, so nothing else can be running an
// operation there and every pending one is taken over at once.
func recoverCmd(ctx context.Context, e env) error {
	a, err := openApp(ctx, e, openOptions{migrate: true, lease: true})
	if err != nil {
		return err
	}
	defer a.close()
	svc, _, err := a.service()
	if err != nil {
		return err
	}
	rep, err := svc.Recover(a.ctx, a.server != nil)
	a.log.Info("recovery", "resumed", rep.Resumed, "claims_released", rep.ClaimsReleased, "invitations_deleted", rep.InvitationsDeleted)
	return err
}
