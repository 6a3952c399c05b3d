package crash

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
)

// wholeLog reads every event of the log, as the super admin.
func (n *node) wholeLog() []map[string]any {
	n.t.Helper()
	root := n.mustLogin(rootEmail, rootPassword)
	var out []map[string]any
	cursor := ""
	for {
		st, body := n.call(http.MethodGet, "/events?limit=100&after="+url.QueryEscape(cursor), nil, root)
		require.Equal(n.t, http.StatusOK, st, "%v", body)
		items := body["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any))
		}
		if len(items) == 0 {
			return out
		}
		cursor = body["next"].(string)
	}
}

// TestKillDuringDeliveries SIGKILLs orgd while it delivers to a slow
// receiver, again and again, changes going on in between; after the last
// restart every event has been delivered, in the log's order, and the
// only repeats are attempts the kill cut short (the same webhook-id).
func TestKillDuringDeliveries(t *testing.T) {
	kills := iterations(t)
	if kills > 10 {
		kills = 10
	}
	rcv := harness.NewReceiver(t)
	rcv.Delay(30 * time.Millisecond) // kills land mid-attempt
	n := &node{t: t, dir: t.TempDir(), env: map[string]string{"RATE_LIMIT_PER_MINUTE": "1000000", "WEBHOOK_RETRY_SCHEDULE": "100ms,200ms,500ms,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s,1s"}}
	n.start()
	root := n.mustLogin(rootEmail, rootPassword)
	st, body := n.call(http.MethodPost, "/webhooks", map[string]any{"url": rcv.URL}, root)
	require.Equal(t, http.StatusCreated, st, "%v", body)
	rcv.Trust(body["secret"].(string))
	id := body["id"].(string)
	st, body = n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "deliveries", "email": "owner@deliveries.test", "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st, "%v", body)

	inFlight := 0
	for k := range kills {
		owner := n.mustLogin("owner@deliveries.test", "password1")
		for i := range 10 {
			st, body := n.call(http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("m%d-%d@deliveries.test", k, i), "role": "member"}, owner)
			require.Equal(t, http.StatusCreated, st, "%v", body)
		}
		before := len(rcv.Got())
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		if len(rcv.Got()) > before || k == 0 {
			inFlight++ // killed while deliveries were going on
		}
		n.kill()
		n.start()
	}

	events := n.wholeLog()
	var want []string
	for i, e := range events {
		if e["type"] == "webhook.created" && e["data"].(map[string]any)["webhook_id"] == id {
			for _, e := range events[i:] {
				want = append(want, e["id"].(string))
			}
			break
		}
	}
	require.GreaterOrEqual(t, len(want), 10*kills+2)
	deadline := time.Now().Add(time.Minute)
	var got []string
	var repeats int
	for time.Now().Before(deadline) {
		if got, repeats = harness.FirstSeen(rcv.Got()); len(got) >= len(want) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	assert.Equal(t, want, got, "every event delivered, in order, across %d kills", kills)
	known := map[string]bool{}
	for _, id := range want {
		known[id] = true
	}
	for _, d := range rcv.Got() {
		assert.True(t, known[d.ID], "a delivery is of an event of the log: %s", d.ID)
	}
	assert.Zero(t, rcv.Refused(), "every signature verified")
	assert.LessOrEqual(t, repeats, kills, "at most the attempt in flight at each kill is repeated")
	assert.Positive(t, inFlight, "kills landed while deliveries were going on")
	t.Logf("%d kills (%d during deliveries): %d events delivered, %d deliveries repeated (same webhook-id)", kills, inFlight, len(got), repeats)
}
