//go:build mongodb

package replicated

import (
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/mongodb/mongotest"
	"orgd/test/harness"
)

// TestWebhooksAcrossReplicas: two replicas deliver to one slow receiver
// while 4 writers change organizations through both and each replica is
// killed mid-delivery in turn. Every event is delivered, in the whole
// log's order; one replica delivers at a time (no two attempts overlap at
// the receiver); the repeats are attempts a kill cut short.
func TestWebhooksAcrossReplicas(t *testing.T) {
	c := newClusterVia(t, 2, os.Getenv(mongotest.EnvURI), map[string]string{"RATE_LIMIT_PER_MINUTE": "1000000", "WEBHOOK_RETRY_SCHEDULE": "100ms,200ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"})
	rcv := harness.NewReceiver(t)
	rcv.Delay(20 * time.Millisecond)
	login := c.call(0, http.MethodPost, "/admin/login", map[string]string{"email": rootEmail, "password": rootPassword}, "")
	require.Equal(t, http.StatusOK, login.status, login.raw)
	root := login.body["access_token"].(string)
	w := c.call(0, http.MethodPost, "/webhooks", map[string]any{"url": rcv.URL}, root)
	require.Equal(t, http.StatusCreated, w.status, w.raw)
	rcv.Trust(w.body["secret"].(string))

	const writers, changes = 4, 30
	tokens := make([]string, writers)
	for i := range writers {
		email := fmt.Sprintf("w%d@hooks.test", i)
		c.create(i%2, fmt.Sprintf("hooks%d", i), email)
		tokens[i] = c.login(i%2, email)
	}
	var down atomic.Int32 // the replica being killed, plus one; 0: none
	alive := func(i int) int {
		if d := int(down.Load()) - 1; d == i {
			return 1 - i
		}
		return i
	}
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			for n := range changes {
				base := c.procs[alive((i+n)%2)].Load().URL
				_, _ = sendTo(base, http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("i%d.%d@hooks.test", i, n), "role": "member"}, tokens[i])
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	kills := 0
	for _, victim := range []int{0, 1, 0, 1} {
		time.Sleep(300 * time.Millisecond)
		down.Store(int32(victim + 1))
		c.kill(victim)
		kills++
		time.Sleep(100 * time.Millisecond)
		c.start(victim)
		down.Store(0)
	}
	wg.Wait()
	pendingGone(t, c)

	// The endpoint was registered first: it is sent the whole log.
	want := allEvents(t, c, root, "")
	deadline := time.Now().Add(2 * time.Minute)
	var got []string
	var repeats int
	for time.Now().Before(deadline) {
		if got, repeats = harness.FirstSeen(rcv.Got()); len(got) >= len(want) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	assert.Equal(t, want, got, "every event delivered once or more, in order")
	assert.Zero(t, rcv.Refused(), "every signature verified")
	ds := rcv.Got()
	sort.Slice(ds, func(i, j int) bool { return ds[i].Started.Before(ds[j].Started) })
	overlaps := 0
	for i := 1; i < len(ds); i++ {
		if ds[i].Started.Before(ds[i-1].At) {
			overlaps++
		}
	}
	assert.Zero(t, overlaps, "one replica delivers the endpoint at a time")
	assert.LessOrEqual(t, repeats, kills, "only attempts in flight at a kill are repeated")
	t.Logf("webhooks across replicas: %d kills, %d events, all delivered in order, %d repeated (same webhook-id), %d overlapping attempts", kills, len(want), repeats, overlaps)
}

// BenchmarkWebhookLagAcrossReplicas is BenchmarkWebhookLag (test/e2e) on
// two replicas: changes at 50 per second through both, to five
// organizations, delivered by whichever replica holds the endpoint.
// WEBHOOK_LAG_VIA=1 sends every change through replica 1 only: the holder
// then learns of them by polling (once a second), not from its own
// commits.
//
//	task test:mongodb -- -run '^$' -bench WebhookLagAcrossReplicas -benchtime 1x
func BenchmarkWebhookLagAcrossReplicas(b *testing.B) {
	const rate, orgs = 50, 5
	span := 10 * time.Second
	for range b.N {
		c := newClusterVia(b, 2, os.Getenv(mongotest.EnvURI), map[string]string{"RATE_LIMIT_PER_MINUTE": "1000000"})
		rcv := harness.NewReceiver(b)
		login := c.call(0, http.MethodPost, "/admin/login", map[string]string{"email": rootEmail, "password": rootPassword}, "")
		root := login.body["access_token"].(string)
		w := c.call(0, http.MethodPost, "/webhooks", map[string]any{"url": rcv.URL}, root)
		rcv.Trust(w.body["secret"].(string))
		tokens := make([]string, orgs)
		for i := range orgs {
			email := fmt.Sprintf("lag%d@hooks.test", i)
			c.create(i%2, fmt.Sprintf("lag%d", i), email)
			tokens[i] = c.login(i%2, email)
		}
		via := func(i int) int { return i % 2 }
		if os.Getenv("WEBHOOK_LAG_VIA") == "1" {
			via = func(int) int { return 1 }
		}
		n := int(span.Seconds() * rate)
		tick := time.NewTicker(time.Second / rate)
		var wg sync.WaitGroup
		for i := range n {
			<-tick.C
			wg.Go(func() {
				st, err := sendTo(c.procs[via(i)].Load().URL, http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("m%d@hooks.test", i), "role": "member"}, tokens[i%orgs])
				if err != nil || st != http.StatusCreated {
					b.Errorf("change %d: %d %v", i, st, err)
				}
			})
		}
		wg.Wait()
		tick.Stop()
		var lags []time.Duration
		deadline := time.Now().Add(time.Minute)
		for time.Now().Before(deadline) {
			lags = lags[:0]
			for _, d := range rcv.Got() {
				if d.Type == "invitation.created" {
					lags = append(lags, d.At.Sub(d.Committed))
				}
			}
			if len(lags) >= n {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if len(lags) < n {
			b.Fatalf("%d of %d delivered", len(lags), n)
		}
		sort.Slice(lags, func(i, j int) bool { return lags[i] < lags[j] })
		ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
		b.ReportMetric(ms(lags[len(lags)/2]), "p50-ms")
		b.ReportMetric(ms(lags[len(lags)*99/100]), "p99-ms")
		b.ReportMetric(ms(lags[len(lags)-1]), "max-ms")
	}
}
