package crash

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keyedCreate sends a create with an Idempotency-Key and returns its
// status, the organization's id (from its ETag) and whether it was a
// replay.
func (n *node) keyedCreate(ctx context.Context, url string, body []byte, key string) (int, string, bool, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/org/create", bytes.NewReader(body))
	if err != nil {
		return 0, "", false, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", false, 0, err
	}
	defer resp.Body.Close()
	id, _, _ := strings.Cut(strings.Trim(resp.Header.Get("ETag"), `"`), ".")
	wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	return resp.StatusCode, id, resp.Header.Get("Idempotent-Replayed") == "true", time.Duration(wait) * time.Second, nil
}

// TestKillBetweenKeyedCreateAndRetry sends a create with an
// Idempotency-Key, SIGKILLs orgd at a random moment of it, restarts it
// and retries with the key: the retry answers 201 with the organization
// the first attempt began (its id, if the first was answered), which is
// whole (its admin logs in, one organization.created), and no other was
// made.
func TestKillBetweenKeyedCreateAndRetry(t *testing.T) {
	n := &node{t: t, dir: t.TempDir(), env: map[string]string{"OPERATION_LEASE": "2s"}}
	n.start()
	kills := 20
	if s := iterations(t); s > kills {
		kills = s
	}
	answered, waited, replayed, takenOver := 0, 0, 0, 0
	for i := range kills {
		name := fmt.Sprintf("keyed%d", i)
		email := "admin@" + name + ".test"
		body, _ := json.Marshal(map[string]string{"organization_name": name, "email": email, "password": "password1"})
		key := fmt.Sprintf("crash-%d-%d", i, rand.Int64())
		first := make(chan string, 1)
		url := n.p.URL
		go func() {
			st, id, _, _, err := n.keyedCreate(context.Background(), url, body, key)
			if err == nil && st == http.StatusCreated {
				first <- id
			}
			close(first)
		}()
		time.Sleep(time.Duration(rand.Int64N(int64(150 * time.Millisecond))))
		n.kill()
		n.start()

		var st int
		var id string
		var replay bool
		deadline := time.Now().Add(30 * time.Second)
		for tries := 0; ; tries++ {
			var wait time.Duration
			var err error
			st, id, replay, wait, err = n.keyedCreate(context.Background(), n.p.URL, body, key)
			require.NoError(t, err)
			if st != http.StatusConflict || time.Now().After(deadline) {
				if tries > 0 && st == http.StatusCreated {
					takenOver++ // the dead attempt had the key: the retry finished its create
				}
				break
			}
			waited++
			time.Sleep(wait)
		}
		require.Equal(t, http.StatusCreated, st, "iteration %d: the retry finishes the create", i)
		if replay {
			replayed++
		}
		if firstID, ok := <-first; ok {
			answered++
			assert.Equal(t, firstID, id, "iteration %d: the organization the first attempt answered", i)
		}
		got, _ := n.call(http.MethodGet, "/org/get?organization_name="+name, nil, "")
		require.Equal(t, http.StatusOK, got, "iteration %d", i)
		require.Equal(t, id, n.orgID(email, "password1"), "iteration %d: its admin's organization", i)
		require.Equal(t, []string{"organization.created"}, n.events(id), "iteration %d: one create, one event", i)
	}
	root := n.mustLogin(rootEmail, rootPassword)
	st, list := n.call(http.MethodGet, "/org/list?page_size=100", nil, root)
	require.Equal(t, http.StatusOK, st)
	assert.EqualValues(t, kills, list["total"], "one organization per key")
	t.Logf("keyed create killed %d times: %d first attempts answered before the kill (%d retries replayed), %d cut short holding the key (finished by the retry after %d answers 409 while the dead attempt's lease ran)", kills, answered, replayed, takenOver, waited)
}
