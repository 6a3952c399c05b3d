//go:build mongodb

package replicated

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/test/model"
)

func envInt(t *testing.T, key string, def int) int {
	if s := os.Getenv(key); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(t, err, key)
		return n
	}
	return def
}

// TestAPIAcrossReplicas walks the API reference's flow with every request
// on another replica.
func TestAPIAcrossReplicas(t *testing.T) {
	c := newCluster(t, 3)
	c.create(0, "acme", "admin@acme.test")
	assert.Equal(t, http.StatusOK, c.call(1, http.MethodGet, "/org/get?organization_name=ACME", nil, "").status)
	tok := c.login(2, "admin@acme.test")
	r := c.call(0, http.MethodPut, "/org/update", map[string]string{"organization_name": "acme_two"}, tok)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, http.StatusNotFound, c.call(1, http.MethodGet, "/org/get?organization_name=acme", nil, "").status)
	assert.Equal(t, http.StatusOK, c.call(2, http.MethodGet, "/org/get?organization_name=acme_two", nil, "").status)
	r = c.call(1, http.MethodDelete, "/org/delete", map[string]string{"organization_name": "acme_two"}, tok)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, http.StatusNotFound, c.call(2, http.MethodGet, "/org/get?organization_name=acme_two", nil, "").status)
	assert.Equal(t, http.StatusUnauthorized, c.call(0, http.MethodPut, "/org/update", map[string]string{"organization_name": "again"}, tok).status)
	out, code := c.check()
	assert.Equal(t, 0, code, out)
}

// TestSameRenameOnTwoReplicas sends one rename to two replicas at once,
// the second 0 to 5 ms after the first, round after round: the
// organization is found under its new name every time.
func TestSameRenameOnTwoReplicas(t *testing.T) {
	c := newCluster(t, 2)
	c.create(0, "acme", "admin@acme.test")
	tok := c.login(1, "admin@acme.test")
	names := [2]string{"acme_two", "acme"}
	for round := range envInt(t, "ORGD_TWIN_ROUNDS", 100) {
		name := names[round%2]
		var st [2]int
		var wg sync.WaitGroup
		delay := time.Duration(rand.Int64N(int64(5 * time.Millisecond)))
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if i == 1 {
					time.Sleep(delay)
				}
				st[i] = c.call(i, http.MethodPut, "/org/update", map[string]string{"organization_name": name}, tok).status
			}()
		}
		wg.Wait()
		require.Equal(t, [2]int{200, 200}, st, "round %d (second after %s)", round, delay)
		r := c.call(round%2, http.MethodGet, "/org/get?organization_name="+name, nil, "")
		require.Equal(t, http.StatusOK, r.status, "round %d (second after %s): %s", round, delay, r.raw)
	}
}

// TestOneWinnerAcrossReplicas: organizations renaming to one name from
// different replicas, and creates of one name on every replica, have
// exactly one winner each time.
func TestOneWinnerAcrossReplicas(t *testing.T) {
	c := newCluster(t, 2)
	for round := range 10 {
		var toks []string
		for i := range 4 {
			email := fmt.Sprintf("a%d.r%d@x.test", i, round)
			c.create(i%2, fmt.Sprintf("org%d_r%d", i, round), email)
			toks = append(toks, c.login(i%2, email))
		}
		target := fmt.Sprintf("target_r%d", round)
		st := make([]int, len(toks))
		var wg sync.WaitGroup
		for i, tok := range toks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st[i] = c.call(i%2, http.MethodPut, "/org/update", map[string]string{"organization_name": target}, tok).status
			}()
		}
		wg.Wait()
		assert.ElementsMatch(t, []int{200, 400, 400, 400}, st, "round %d", round)

		name := fmt.Sprintf("same_r%d", round)
		for i := range st {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st[i] = c.call(i%2, http.MethodPost, "/org/create", map[string]string{
					"organization_name": name, "email": fmt.Sprintf("c%d.r%d@x.test", i, round), "password": "password1"}, "").status
			}()
		}
		wg.Wait()
		assert.ElementsMatch(t, []int{201, 400, 400, 400}, st, "round %d", round)
	}
	out, code := c.check()
	assert.Equal(t, 0, code, out)
}

// TestKillReplicaMidOperation SIGKILLs the replica that is carrying out a
// rename of a 2,000-document tenant or a delete, at a random moment; the
// other replica keeps serving, and once the operation's lease runs out it
// finishes what the dead one began. The organization is whole under
// exactly one name with every document, and orgd check finds nothing.
func TestKillReplicaMidOperation(t *testing.T) {
	c := newCluster(t, 2)
	const docs = 2000
	c.create(1, "tenant", "admin@tenant.test")
	seed(t, c, "tenant", docs)
	names := [2]string{"tenant", "tenant_moved"}
	cur, moved := 0, 0
	// How long a rename takes here, so the kills land while one runs.
	tok := c.login(0, "admin@tenant.test")
	began := time.Now()
	for _, n := range []string{names[1], names[0]} {
		r := c.call(0, http.MethodPut, "/org/update", map[string]string{"organization_name": n}, tok)
		require.Equal(t, http.StatusOK, r.status, r.raw)
	}
	took := time.Since(began) / 2
	iterations := envInt(t, "ORGD_KILL_ITERATIONS", 10)
	orgs := c.mc.Database(c.db).Collection("organizations")
	intent := bson.D{{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}}
	survivor := c.procs[1].Load()
	resumed := func() int {
		survivor.Sync(t)
		return strings.Count(survivor.Logs(), "lifecycle: resuming operation")
	}
	// At least iterations kills, and more (up to three times as many) until
	// one has landed mid-operation: its window is a few milliseconds.
	i := 0
	for ; i < iterations || (resumed() == 0 && i < 3*iterations); i++ {
		tok := c.login(1, "admin@tenant.test")
		go func() {
			// Its answer is cut off by the kill.
			_, _ = sendTo(c.procs[0].Load().URL, http.MethodPut, "/org/update", map[string]string{"organization_name": names[1-cur]}, tok)
		}()
		if i%2 == 0 {
			// At a random moment: before, during or after the operation.
			time.Sleep(time.Duration(rand.Int64N(int64(took * 2))))
		} else {
			// As soon as the organization records its intent: mid-operation
			// (its marker in pending_ops comes first, and a kill between the
			// two leaves nothing to finish). The first request after a
			// restart opens the replica's connections to the store, so the
			// wait allows for that, not only for a rename's time.
			deadline := time.Now().Add(3*took + 2*time.Second)
			for time.Now().Before(deadline) && orgs.FindOne(context.Background(), intent).Err() != nil {
			}
		}
		c.kill(0)

		// The survivor serves at once (every answer is 200, 404, or 503
		// while the operation's owner may still act), and settles the
		// operation once its lease runs out, within a sweep.
		for _, n := range names {
			st := c.call(1, http.MethodGet, "/org/get?organization_name="+n, nil, "").status
			require.Contains(t, []int{200, 404, 503}, st)
		}
		pendingGone(t, c)
		old := c.call(1, http.MethodGet, "/org/get?organization_name="+names[cur], nil, "").status
		renamed := c.call(1, http.MethodGet, "/org/get?organization_name="+names[1-cur], nil, "").status
		require.True(t, (old == 200) != (renamed == 200), "iteration %d: under exactly one name (old %d, new %d)", i, old, renamed)
		if renamed == 200 {
			cur, moved = 1-cur, moved+1
		}
		assert.Equal(t, int64(docs), c.tenantDocs(names[cur]), "iteration %d: every document", i)
		c.start(0)
	}
	out, code := c.check()
	assert.Equal(t, 0, code, out)
	n := resumed()
	assert.Positive(t, n, "some kills land mid-operation, and the survivor finishes those")
	t.Logf("%d kills of the replica within a rename's %s: %d renames landed, %d operations the survivor took over and finished; orgd check: %s",
		i, took.Round(time.Millisecond), moved, n, strings.TrimSpace(out))
}

// pendingGone waits until no operation is pending in the cluster's store
// and every committed event is in the event log, its outbox cleared (the
// survivor's sweep runs every lease).
func pendingGone(t *testing.T, c *cluster) {
	t.Helper()
	require.Eventually(t, func() bool {
		n, err := c.mc.Database(c.db).Collection("organizations").CountDocuments(context.Background(),
			bson.D{{Key: "$or", Value: bson.A{
				bson.D{{Key: "pending", Value: bson.D{{Key: "$exists", Value: true}}}},
				bson.D{{Key: "outbox", Value: bson.D{{Key: "$exists", Value: true}}}},
			}}})
		return err == nil && n == 0
	}, 4*lease, 100*time.Millisecond, "every operation settles")
}

func seed(t *testing.T, c *cluster, key string, n int) {
	t.Helper()
	coll, err := harnessTenant(c, key)
	require.NoError(t, err)
	batch := make([]any, n)
	for i := range batch {
		batch[i] = bson.D{{Key: "i", Value: i}}
	}
	_, err = coll.InsertMany(context.Background(), batch)
	require.NoError(t, err)
}

// TestHistoriesAcrossReplicas runs random histories with every request on
// the next replica, SIGKILLing one replica in each history mid-round; each
// must be linearizable against the model, and orgd check must find
// nothing afterwards.
func TestHistoriesAcrossReplicas(t *testing.T) {
	c := newCluster(t, 2)
	api := model.HTTPAPI{URL: c.url, Client: &http.Client{Timeout: 30 * time.Second}, RootEmail: rootEmail, RootPassword: rootPassword}
	first := int64(envInt(t, "ORGD_SEED", int(time.Now().UnixNano()%1_000_000_000)))
	n := envInt(t, "ORGD_HISTORIES", 10)
	if os.Getenv("ORGD_SEED") != "" {
		n = 1
	}
	for h := range n {
		seed := first + int64(h)
		plan := model.DefaultPlan
		plan.Names = suffix(plan.Names, fmt.Sprintf("_%d", h), false)
		plan.Emails = suffix(plan.Emails, fmt.Sprintf(".h%d", h), true)
		rng := rand.New(rand.NewPCG(uint64(seed), 11))
		killRound, victim := rng.IntN(plan.Rounds), rng.IntN(2)
		hooks := model.Hooks{During: func(_ context.Context, round int, done <-chan struct{}) {
			if round != killRound {
				return
			}
			time.Sleep(time.Duration(rng.IntN(15)) * time.Millisecond)
			c.kill(victim)
			<-done
			c.start(victim)
		}, Settle: func(context.Context) error {
			// The operations the kill cut off are the survivor's to
			// finish once their lease runs out.
			pendingGone(t, c)
			return nil
		}}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		hist, err := model.Run(ctx, api, plan, seed, hooks)
		cancel()
		require.NoError(t, err)
		for _, op := range hist.Ops {
			out := op.Output.(model.Output)
			require.False(t, strings.HasPrefix(string(out.Result), "unexpected"), "seed %d: %s", seed, model.Model.DescribeOperation(op.Input, out))
		}
		if err := model.Check(hist, time.Minute); err != nil {
			t.Fatalf("%v\nreplay it: ORGD_SEED=%d task test:mongodb -- -run 'TestHistoriesAcrossReplicas$'", err, seed)
		}
	}
	out, code := c.check()
	assert.Equal(t, 0, code, out)
	t.Logf("%d histories over 2 replicas, one replica killed in each: all linearizable; orgd check: %s", n, strings.TrimSpace(out))
}

func suffix(pool []string, s string, email bool) []string {
	out := make([]string, len(pool))
	for i, v := range pool {
		if at := strings.IndexByte(v, '@'); email && at >= 0 {
			out[i] = v[:at] + s + v[at:]
		} else {
			out[i] = v + s
		}
	}
	return out
}
