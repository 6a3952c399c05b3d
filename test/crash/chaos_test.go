package crash

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
	"orgd/test/model"
)

// envInt reads a positive integer setting, or returns def.
func envInt(t *testing.T, key string, def int64) int64 {
	if s := os.Getenv(key); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, key)
		return n
	}
	return def
}

// TestChaos runs random histories over HTTP against the real binary, four
// clients at a time over four organizations (so two to four clients act on
// each), and SIGKILLs it once in each history, in the middle of a round
// whose requests are in flight, then restarts it on the same data. Every
// history must be linearizable against the model, and afterwards orgd
// check must find nothing in the store. ORGD_CHAOS_KILLS sets how many
// histories (and kills); ORGD_SEED replays one.
func TestChaos(t *testing.T) {
	kills := envInt(t, "ORGD_CHAOS_KILLS", 20)
	first := envInt(t, "ORGD_SEED", time.Now().UnixNano()%1_000_000_000)
	if os.Getenv("ORGD_SEED") != "" {
		kills = 1
	}
	dir := t.TempDir()
	env := map[string]string{"SECRET_KEY": secret, "FIRST_SUPERADMIN_EMAIL": "root@platform.test", "FIRST_SUPERADMIN_PASSWORD": "root-password-long"}
	var cur atomic.Pointer[harness.Proc]
	cur.Store(harness.Start(t, harness.Options{DataDir: dir, Env: env}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("logs of the last orgd:\n%s", cur.Load().Logs())
		}
	})
	api := model.HTTPAPI{URL: func() string { return cur.Load().URL }, Client: &http.Client{Timeout: 20 * time.Second},
		RootEmail: "root@platform.test", RootPassword: "root-password-long"}

	var ops, unknown, events, finished int
	counts := map[string]int{}
	for h := range kills {
		seed := first + h
		plan := model.DefaultPlan
		plan.Rounds = 6
		// Each history has names and emails of its own, so the store's
		// earlier organizations are not in its model.
		plan.Names = suffixed(plan.Names, fmt.Sprintf("_%d", h))
		plan.Emails = suffixed(plan.Emails, fmt.Sprintf(".h%d", h))
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		killRound := rng.IntN(plan.Rounds)
		delay := time.Duration(rng.IntN(15)) * time.Millisecond
		hooks := model.Hooks{During: func(_ context.Context, round int, done <-chan struct{}) {
			if round != killRound {
				return
			}
			time.Sleep(delay)
			cur.Load().Kill()
			<-done
			cur.Store(harness.Start(t, harness.Options{DataDir: dir, Env: env}))
		}, Settle: func(context.Context) error {
			// A restart finishes every operation the history left
			// (recovery, with the store to itself) and places their
			// events, so the log read next is whole.
			if err := cur.Load().Stop(); err != nil {
				return err
			}
			cur.Store(harness.Start(t, harness.Options{DataDir: dir, Env: env}))
			return nil
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		hist, err := model.Run(ctx, api, plan, seed, hooks)
		cancel()
		require.NoError(t, err)
		for _, op := range hist.Ops {
			out := op.Output.(model.Output)
			require.False(t, strings.HasPrefix(string(out.Result), "unexpected"), "seed %d: %s", seed, model.Model.DescribeOperation(op.Input, out))
			if out.Result == model.Unknown {
				unknown++
			}
		}
		ops += len(hist.Ops)
		hist.Tally(counts)
		if err := model.Check(hist, time.Minute); err != nil {
			t.Fatalf("%v\nreplay it: ORGD_SEED=%d go test ./test/crash -run 'TestChaos$' -v", err, seed)
		}
		e, f := hist.EventTally()
		events, finished = events+e, finished+f
	}
	require.NoError(t, cur.Load().Stop())
	rep, code := check(t, dir)
	assert.Equal(t, 0, code, "orgd check after the chaos: %s", rep)
	t.Logf("chaos: %d histories, %d SIGKILLs, %d operations (%d cut off by a kill or refused as busy), all linearizable; orgd check: %s",
		kills, kills, ops, unknown, strings.TrimSpace(rep))
	t.Logf("events: %d, each one committed change of its operation; %d operations whose answer a kill or a busy store cut off committed theirs all the same",
		events, finished)
	t.Logf("answers: %v", counts)
}

func suffixed(pool []string, suffix string) []string {
	out := make([]string, len(pool))
	for i, s := range pool {
		if at := strings.IndexByte(s, '@'); at >= 0 {
			out[i] = s[:at] + suffix + s[at:]
		} else {
			out[i] = s + suffix
		}
	}
	return out
}

// check runs orgd check on dir's stopped store and returns its report and
// exit code.
func check(t *testing.T, dir string) (string, int) {
	cmd := exec.Command(harness.Binary(t), "check") //nolint:gosec // the test's own binary
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "MONGODB_URI=", "DATA_DIR="+dir, "MONGODB_DATABASE="+harness.Database)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil {
		require.ErrorAs(t, err, &exit)
		return out.String(), exit.ExitCode()
	}
	return out.String(), 0
}
