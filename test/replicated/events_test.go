//go:build mongodb

package replicated

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventLogAcrossReplicas: four writers change their organizations
// through two replicas while a reader follows the whole log's next through
// both, and one replica is SIGKILLed midway and started again. The
// reader's stream must be the final log exactly: no event missed, none
// seen twice, in the same order; every answered change is in it once.
func TestEventLogAcrossReplicas(t *testing.T) {
	c := newCluster(t, 2)
	const writers, changes = 4, 40
	tokens := make([]string, writers)
	for w := range writers {
		email := fmt.Sprintf("w%d@events.test", w)
		c.create(w%2, fmt.Sprintf("evlog%d", w), email)
		tokens[w] = c.login(w%2, email)
	}
	login := c.call(0, http.MethodPost, "/admin/login", map[string]string{"email": rootEmail, "password": rootPassword}, "")
	require.Equal(t, http.StatusOK, login.status, login.raw)
	root := login.body["access_token"].(string)
	var down atomic.Int32 // the replica being killed, plus one; 0: none
	alive := func(i int) int {
		if d := int(down.Load()) - 1; d == i {
			return 1 - i
		}
		return i
	}

	// The reader: the whole log, through both replicas in turn.
	var seen []string
	stop := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		after := ""
		for i := 0; ; i++ {
			r, err := tryCall(c, alive(i%2), http.MethodGet, "/events?limit=7&after="+url.QueryEscape(after), root)
			if err == nil && r.status == http.StatusOK {
				for _, it := range r.body["items"].([]any) {
					seen = append(seen, it.(map[string]any)["id"].(string))
				}
				after = r.body["next"].(string)
				if len(r.body["items"].([]any)) > 0 {
					continue
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()

	// The writers: renames back and forth, and invitations.
	var wg sync.WaitGroup
	var answered, lost atomic.Int64
	for w := range writers {
		wg.Go(func() {
			for i := range changes {
				var st int
				var err error
				base := c.procs[alive((w+i)%2)].Load().URL
				if i%2 == 0 {
					st, err = sendTo(base, http.MethodPut, "/org/update", map[string]string{"organization_name": fmt.Sprintf("evlog%d_%d", w, i%4)}, tokens[w])
				} else {
					st, err = sendTo(base, http.MethodPost, "/org/invitations", map[string]string{"email": fmt.Sprintf("i%d.%d@events.test", w, i), "role": "member"}, tokens[w])
				}
				switch {
				case err == nil && (st == http.StatusOK || st == http.StatusCreated):
					answered.Add(1)
				default:
					lost.Add(1) // cut off by the kill, or busy meanwhile
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	down.Store(2)
	c.kill(1)
	time.Sleep(200 * time.Millisecond)
	c.start(1)
	down.Store(0)
	wg.Wait()
	pendingGone(t, c)
	time.Sleep(100 * time.Millisecond) // the reader catches up
	close(stop)
	<-read
	// It reads on to the end once more, as a reader would.
	final := allEvents(t, c, root, "")
	require.NotEmpty(t, final)
	assert.Equal(t, final[:len(seen)], seen, "what the reader saw is the log's start, in order")
	rest := final[len(seen):]
	tail := allEvents(t, c, root, "")
	assert.Equal(t, final, tail, "the log is stable once everything settled")
	dups := map[string]bool{}
	for _, id := range final {
		require.False(t, dups[id], "event %s twice", id)
		dups[id] = true
	}
	// Each organization's stream: its create, and one event per change
	// that committed; at least every answered one.
	total := 0
	for w := range writers {
		stream := orgStream(t, c, tokens[w])
		require.Equal(t, "organization.created", stream[0])
		total += len(stream)
	}
	assert.Equal(t, len(final), total, "the whole log is the organizations' streams together")
	assert.GreaterOrEqual(t, int64(total-writers), answered.Load(), "every answered change is an event")
	t.Logf("event log across replicas: %d writers, %d changes answered, %d cut off or busy; %d events; the reader followed %d of them live and %d after, no gap, no repeat",
		writers, answered.Load(), lost.Load(), len(final), len(seen), len(rest))
}

// tryCall is cluster.call, but returns a transport error instead of
// failing (a replica being killed).
func tryCall(c *cluster, i int, method, path string, token string) (reply, error) {
	base := c.procs[i].Load().URL
	req, err := http.NewRequest(method, base+path, nil) //nolint:noctx // short reads
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return doReply(req)
}

// doReply sends req and reads its JSON answer.
func doReply(req *http.Request) (reply, error) {
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &r.body)
	return r, err
}

// allEvents reads a stream whole (org empty: the whole log), and returns
// its event ids in order.
func allEvents(t *testing.T, c *cluster, root, org string) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		q := url.Values{"limit": {"100"}, "after": {after}}
		if org != "" {
			q.Set("organization_id", org)
		}
		r := c.call(0, http.MethodGet, "/events?"+q.Encode(), nil, root)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		items := r.body["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any)["id"].(string))
		}
		if len(items) == 0 {
			return out
		}
		after = r.body["next"].(string)
	}
}

// orgStream is the types of the events of the organization token's
// account belongs to.
func orgStream(t *testing.T, c *cluster, token string) []string {
	t.Helper()
	var out []string
	after := ""
	for {
		r := c.call(1, http.MethodGet, "/org/events?limit=100&after="+url.QueryEscape(after), nil, token)
		require.Equal(t, http.StatusOK, r.status, r.raw)
		items := r.body["items"].([]any)
		for _, it := range items {
			out = append(out, it.(map[string]any)["type"].(string))
		}
		if len(items) == 0 {
			return out
		}
		after = r.body["next"].(string)
	}
}
