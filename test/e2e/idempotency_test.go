package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"orgd/test/harness"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
)

// TestKeyedCreateTwiceAtOnce sends one create with one Idempotency-Key
// twice at once, the second 0 to 40 ms after the first, 200 rounds: one
// organization each round; the answers are 201 and 201 replayed (the same
// body, Idempotent-Replayed: true), or 409 with Retry-After for one that
// came while the first was in flight; never 400.
func TestKeyedCreateTwiceAtOnce(t *testing.T) {
	c := start(t, map[string]string{"FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword})
	replays, busy := 0, 0
	for round := range 200 {
		name := fmt.Sprintf("keyed%d", round)
		body := map[string]string{"organization_name": name, "email": "admin@" + name + ".test", "password": "password1"}
		key := fmt.Sprintf("create-%d-%d", round, rand.Int64())
		var got [2]reply
		var wg sync.WaitGroup
		delay := time.Duration(rand.Int64N(int64(40 * time.Millisecond)))
		for i := range 2 {
			wg.Go(func() {
				if i == 1 {
					time.Sleep(delay)
				}
				got[i] = c.call(http.MethodPost, "/org/create", body, "", "Idempotency-Key", key)
			})
		}
		wg.Wait()
		fresh := 0
		var first reply
		for _, r := range got {
			switch {
			case r.status == http.StatusCreated && r.header.Get("Idempotent-Replayed") == "":
				fresh++
				first = r
			case r.status == http.StatusCreated:
				replays++
			case r.status == http.StatusConflict:
				busy++
				assert.Equal(t, "1", r.header.Get("Retry-After"))
			default:
				t.Fatalf("round %d: %d %s", round, r.status, r.raw)
			}
		}
		require.Equal(t, 1, fresh, "round %d: exactly one carried out", round)
		for _, r := range got {
			if r.status == http.StatusCreated {
				assert.Equal(t, first.raw, r.raw, "round %d: a replay is the first answer", round)
			}
		}
		// A retry later replays it, whatever the second one got.
		again := c.call(http.MethodPost, "/org/create", body, "", "Idempotency-Key", key)
		require.Equal(t, http.StatusCreated, again.status, again.raw)
		assert.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
		assert.Equal(t, first.raw, again.raw)
		if round%50 == 0 {
			events, _ := c.eventsAfter(c.login("admin@"+name+".test", "password1"), "")
			require.Len(t, events, 1, "round %d: one create, one event", round)
		}
	}
	r := c.call(http.MethodGet, "/org/list?page_size=100", nil, c.login(rootEmail, rootPassword))
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.EqualValues(t, 200, r.body["total"], "one organization per round")
	t.Logf("keyed create twice at once, 200 rounds: %d replays, %d answered 409 in flight", replays, busy)
}

// TestIdempotencyKeyRefusals: the same key with another body is 422 and
// makes nothing; a key is its caller's; a bad key is 422; an answer that
// was an error is replayed as it was.
func TestIdempotencyKeyRefusals(t *testing.T) {
	c := start(t, nil)
	body := map[string]string{"organization_name": "first", "email": "admin@first.test", "password": "password1"}
	require.Equal(t, http.StatusCreated, c.call(http.MethodPost, "/org/create", body, "", "Idempotency-Key", `"k-1"`).status)
	other := map[string]string{"organization_name": "second", "email": "admin@second.test", "password": "password1"}
	r := c.call(http.MethodPost, "/org/create", other, "", "Idempotency-Key", "k-1")
	require.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
	assert.Contains(t, r.body["detail"], "Idempotency-Key")
	assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name=second", nil, "").status, "nothing made")

	for _, bad := range []string{strings.Repeat("k", 256), `""`} {
		r := c.call(http.MethodPost, "/org/create", other, "", "Idempotency-Key", bad)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%q: %s", bad, r.raw)
	}
	assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name=second", nil, "").status, "nothing made")

	// An answer that was a client error is kept too: the same request
	// gets the same answer.
	dup := map[string]string{"organization_name": "first", "email": "x@first.test", "password": "password1"}
	r1 := c.call(http.MethodPost, "/org/create", dup, "", "Idempotency-Key", "k-dup")
	require.Equal(t, http.StatusBadRequest, r1.status, r1.raw)
	r2 := c.call(http.MethodPost, "/org/create", dup, "", "Idempotency-Key", "k-dup")
	assert.Equal(t, r1.status, r2.status)
	assert.Equal(t, r1.raw, r2.raw)
	assert.Equal(t, "true", r2.header.Get("Idempotent-Replayed"))

	// An accept, keyed: the retry replays the membership, where without
	// a key the spent token would answer 401.
	tm := newTeam(c, "team")
	inv := tm.invite("new@team.test", "member")
	acc := map[string]string{"token": inv, "password": "password1"}
	a1 := c.call(http.MethodPost, "/org/invitations/accept", acc, "", "Idempotency-Key", "acc-1")
	require.Equal(t, http.StatusCreated, a1.status, a1.raw)
	a2 := c.call(http.MethodPost, "/org/invitations/accept", acc, "", "Idempotency-Key", "acc-1")
	assert.Equal(t, http.StatusCreated, a2.status, a2.raw)
	assert.Equal(t, a1.raw, a2.raw)
	assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodPost, "/org/invitations/accept", acc, "").status)
}

// TestKeyedWebhookRegistration: a registration retried with its key
// replays the endpoint and its secret (the secret stored for it, kept
// sealed: the store holds no plain secret), and makes one endpoint; the
// key is its caller's: another admin's same key is another request.
func TestKeyedWebhookRegistration(t *testing.T) {
	c := start(t, nil)
	tm := newTeam(c, "hooks")
	admin := tm.join("admin")
	body := map[string]string{"url": "http://127.0.0.1:9/hook"}
	r1 := c.call(http.MethodPost, "/org/webhooks", body, tm.tokens["owner"], "Idempotency-Key", "w-1")
	require.Equal(t, http.StatusCreated, r1.status, r1.raw)
	secret := r1.body["secret"].(string)
	r2 := c.call(http.MethodPost, "/org/webhooks", body, tm.tokens["owner"], "Idempotency-Key", "w-1")
	require.Equal(t, http.StatusCreated, r2.status, r2.raw)
	assert.Equal(t, "true", r2.header.Get("Idempotent-Replayed"))
	assert.Equal(t, r1.raw, r2.raw)
	assert.Equal(t, "no-store", r2.header.Get("Cache-Control"))

	r3 := c.call(http.MethodPost, "/org/webhooks", body, tm.tokens[admin], "Idempotency-Key", "w-1")
	require.Equal(t, http.StatusCreated, r3.status, r3.raw)
	assert.Empty(t, r3.header.Get("Idempotent-Replayed"), "another caller's key")
	assert.NotEqual(t, r1.body["id"], r3.body["id"])

	list := c.call(http.MethodGet, "/org/webhooks", nil, tm.tokens["owner"])
	require.Equal(t, http.StatusOK, list.status)
	assert.Len(t, list.body["items"], 2, "one endpoint per key and caller")

	mc := mongoClient(t, c.p.MongoURI)
	cur, err := mc.Database(harness.Database).Collection("idempotency_keys").Find(ctx(t), bson.D{})
	require.NoError(t, err)
	var docs []bson.M
	require.NoError(t, cur.All(ctx(t), &docs))
	require.Len(t, docs, 2)
	for _, d := range docs {
		raw, _ := bson.Marshal(d)
		assert.NotContains(t, string(raw), secret[len("whsec_"):], "a kept answer holding a secret is sealed")
		assert.NotContains(t, string(raw), "whsec_")
		assert.Equal(t, true, d["sealed"])
	}
}
