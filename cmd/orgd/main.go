// Command orgd runs the Organization Management Service.
//
//	orgd            serve the API (default)
//	orgd serve      the same
//	orgd migrate    apply, report (status) or undo (down --to N) schema migrations
//	orgd recover    finish interrupted operations, then exit
//	orgd check      audit the store's integrity (--repair fixes what is safe)
//	orgd healthcheck  probe a running orgd's /healthz (for container health checks)
//	orgd snapshot   save, restore or verify a snapshot of the embedded store
//	orgd version    print the version
//	orgd --help     list the subcommands and every configuration key
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"orgd/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if config.FatalFormat(os.Getenv) == "json" {
			slog.New(slog.NewJSONHandler(os.Stderr, nil)).Error("orgd cannot go on", "error", err.Error())
		} else {
			fmt.Fprintln(os.Stderr, "orgd:", err)
		}
		os.Exit(1)
	}
}

// env is what a subcommand gets from the process: its arguments, the
// environment (only config reads it) and where to write.
type env struct {
	args           []string
	getenv         func(string) string
	stdout, stderr io.Writer
}

// command is one subcommand. withArgs: it parses its own arguments and
// answers --help itself; the others take none.
type command struct {
	run      func(context.Context, env) error
	withArgs bool
}

var commands = map[string]command{
	"serve":       {run: serveCmd},
	"migrate":     {run: migrateCmd, withArgs: true},
	"recover":     {run: recoverCmd},
	"healthcheck": {run: healthcheckCmd},
	"version":     {run: versionCmd},
	"check":       {run: checkCmd, withArgs: true},
	"snapshot":    {run: snapshotCmd, withArgs: true},
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	name, rest := "serve", []string(nil)
	if len(args) > 0 {
		name, rest = args[0], args[1:]
	}
	switch name {
	case "-h", "--help", "help":
		usage(stdout)
		return nil
	case "--version":
		name = "version"
	}
	c, ok := commands[name]
	if !ok {
		usage(stderr)
		return fmt.Errorf("unknown command %q", name)
	}
	if !c.withArgs {
		if slices.ContainsFunc(rest, func(a string) bool { return a == "-h" || a == "--help" }) {
			usage(stdout) // every subcommand answers --help, and does nothing else
			return nil
		}
		if len(rest) > 0 {
			usage(stderr)
			return fmt.Errorf("%s takes no arguments (configuration comes from the environment)", name)
		}
	}
	return c.run(ctx, env{args: rest, getenv: getenv, stdout: stdout, stderr: stderr})
}

func versionCmd(_ context.Context, e env) error {
	v, rev := buildVersion()
	if rev != "" {
		v += " (revision " + rev + ")"
	}
	fmt.Fprintln(e.stdout, "orgd", v)
	return nil
}

func usage(w io.Writer) {
	fmt.Fprint(w, `orgd: the Organization Management Service

Usage:
  orgd [serve]    serve the API
  orgd migrate [up|status [--json]|down --to N]  apply, report or undo schema migrations (orgd migrate --help)
  orgd recover    finish operations a previous process left half done, then exit
  orgd check [--json] [--repair]  audit the store's integrity; exit 1 on findings (orgd check --help)
  orgd healthcheck  exit 0 if the orgd at HTTP_ADDR answers /healthz (container health checks)
  orgd snapshot save|restore|verify FILE  back up and restore the embedded store (orgd snapshot --help)
  orgd version    print the version
  orgd --help     show this help

Configuration (environment, then .env, then CONFIG_FILE, then defaults):
`)
	for _, k := range config.Keys {
		def := k.Default
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(w, "  %-28s %-14s %s\n", k.Name, def, k.Meaning)
	}
}
