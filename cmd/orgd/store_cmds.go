package main

import (
	"context"
	"fmt"
)

// migrateCmd runs "orgd migrate": apply pending migrations, report them,
// exit.
func migrateCmd(ctx context.Context, e env) error {
	a, err := openApp(ctx, e, openOptions{lease: true})
	if err != nil {
		return err
	}
	defer a.close()
	done, err := a.st.Migrate(a.ctx)
	for _, m := range done {
		fmt.Fprintf(e.stdout, "applied %d: %s\n", m.Version, m.Name)
	}
	if err != nil {
		return err
	}
	v, err := a.st.SchemaVersion(a.ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema version %d (%d applied now)\n", v, len(done))
	return nil
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
	a.log.Info("recovery", "resumed", rep.Resumed, "claims_released", rep.ClaimsReleased)
	return err
}
