package model_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"orgd/adapters/memory"
	"orgd/adapters/mongodb/mongotest"
	"orgd/adapters/token"
	"orgd/core/usecase"
	"orgd/ports"
	"orgd/test/fakes"
	"orgd/test/model"
)

func TestMain(m *testing.M) { os.Exit(mongotest.Main(m)) }

// stores is one fresh store, seen through the ports the use cases need.
type stores struct {
	orgs          ports.OrgRepository
	names, emails ports.ClaimRegistry
	admins        ports.AdminRepository
	rosters       ports.Rosters
	invites       ports.Invitations
	events        ports.EventLog
	tenants       ports.TenantStore
	idem          ports.IdempotencyKeys
}

// adapter is a store to run histories on, with a lease fit for its speed
// (an operation must finish within two thirds of it, under the race
// detector too).
type adapter struct {
	name      string
	lease     time.Duration
	histories int // in a default go test run
	open      func(t *testing.T) stores
}

var adapters = []adapter{
	{"memory", 150 * time.Millisecond, 300, func(*testing.T) stores {
		s := memory.New()
		return stores{s.Orgs(), s.Names(), s.Emails(), s.Admins(), s.Rosters(), s.Invitations(), s.Events(), s.Tenants(), s.IdempotencyKeys()}
	}},
	// The mongodb adapter on the embedded store, or on the server
	// ORGD_TEST_MONGODB_URI names.
	{"mongodb", 900 * time.Millisecond, 40, func(t *testing.T) stores {
		s := mongotest.NewStore(t)
		return stores{s.Orgs(), s.Names(), s.Emails(), s.Admins(), s.Rosters(), s.Invitations(), s.Events(), s.Tenants(), s.IdempotencyKeys()}
	}},
}

// envInt reads a positive integer setting, or returns def.
func envInt(t *testing.T, key string, def int64) int64 {
	s := os.Getenv(key)
	if s == "" {
		return def
	}
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err, key)
	return n
}

// TestHistories runs random histories on each adapter and checks each
// against the model and the integrity audit. ORGD_HISTORIES sets how many
// per adapter (task chaos runs thousands); ORGD_SEED replays one.
func TestHistories(t *testing.T) {
	for _, a := range adapters {
		t.Run(a.name, func(t *testing.T) {
			n := envInt(t, "ORGD_HISTORIES", int64(a.histories))
			first := envInt(t, "ORGD_SEED", time.Now().UnixNano()%1_000_000_000)
			if os.Getenv("ORGD_SEED") != "" {
				n = 1
			}
			var fired, ops int64
			counts := map[string]int{}
			for i := range n {
				seed := first + i
				// A subtest each, so each history's store is dropped as it
				// ends.
				ok := t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
					f, o := runHistory(t, a, seed, counts)
					fired, ops = fired+f, ops+o
				})
				if !ok {
					t.Fatalf("replay it: ORGD_SEED=%d go test ./test/model -run 'TestHistories/%s$' -v", seed, a.name)
				}
			}
			t.Logf("%d histories, %d operations, %d injected failures: all linearizable, audits clean", n, ops, fired)
			t.Logf("answers: %v", counts)
			if n > 10 {
				require.Positive(t, fired, "failures must have been injected")
			}
			if n >= 100 {
				// Every kind of operation, and the refusals the rights
				// table and the last-owner rule give, must have happened.
				for _, k := range []string{"create ok", "login ok", "update ok", "delete ok", "invite ok", "accept ok",
					"setrole ok", "remove ok", "get ok", "invite forbidden", "remove last_owner",
					"accept invalid", "update unauthorized", "deactivate ok", "activate ok", "login forbidden", "update forbidden"} {
					require.Positive(t, counts[k], "no %q in %d histories", k, n)
				}
			}
		})
	}
}

// runHistory runs and checks the history of seed; it returns how many
// failures were injected and how many operations were recorded.
func runHistory(t *testing.T, a adapter, seed int64, counts map[string]int) (fired, ops int64) {
	st := a.open(t)
	tok, err := token.New("HS256", []byte("model-test-key-model-test-key-model"))
	require.NoError(t, err)
	fp := model.NewRandomFailpoints(seed, 0.04)
	svc, err := usecase.New(context.Background(), usecase.Deps{
		Orgs: st.orgs, Names: st.names, Emails: st.emails, Admins: st.admins, Tenants: st.tenants,
		Rosters: st.rosters, Invitations: st.invites, Events: st.events, Idempotency: st.idem,
		Hasher: fakes.Hasher{}, Tokens: tok, Failpoints: fp, Logger: slog.New(slog.DiscardHandler),
		Lease: a.lease, BusyWait: 2 * a.lease,
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	settle := func(ctx context.Context) error {
		// As a restart would: nothing runs now, so every operation a
		// failure left midway is taken over at once. A restart takes a
		// moment: claims are stamped to the millisecond, and one made in
		// the very millisecond of the takeover counts as in flight.
		fp.Stop()
		time.Sleep(2 * time.Millisecond)
		_, err := svc.Recover(ctx, true)
		return err
	}
	h, err := model.Run(ctx, model.ServiceAPI{S: svc}, model.DefaultPlan, seed, model.Hooks{Settle: settle})
	require.NoError(t, err, "seed %d", seed)
	for _, op := range h.Ops {
		out := op.Output.(model.Output)
		require.False(t, strings.HasPrefix(string(out.Result), "unexpected"), "seed %d: %s", seed, model.Model.DescribeOperation(op.Input, out))
	}
	h.Tally(counts)
	if err := model.Check(h, 30*time.Second); err != nil {
		t.Error(err)
	}
	rep, err := svc.CheckIntegrity(ctx, true)
	require.NoError(t, err)
	if len(rep.Findings) > 0 {
		t.Errorf("seed %d: the audit found %s", seed, fmt.Sprint(rep.Findings))
	}
	return fp.Fired(), int64(len(h.Ops))
}
