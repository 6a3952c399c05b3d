package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// twice sends the same request from two clients, the second after a
// delay, and returns both statuses.
func twice(c client, delay time.Duration, method, path string, body any, token string) [2]int {
	var st [2]int
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i == 1 {
				time.Sleep(delay)
			}
			st[i] = c.call(method, path, body, token).status
		}()
	}
	wg.Wait()
	return st
}

// TestSameRenameTwice sends one rename twice at once (a double click, a
// retry on timeout, a proxy replaying it), the second 0 to 5 ms after the
// first, round after round: the organization is found under its new name
// after every round, and its event log gained exactly one
// organization.renamed. Before operations owned their claims, 9 rounds in
// 10 lost it within 5 ms. ORGD_TWIN_ROUNDS sets the rounds (200 by
// default; 1,000 take about a minute).
func TestSameRenameTwice(t *testing.T) {
	rounds := 200
	if s := os.Getenv("ORGD_TWIN_ROUNDS"); s != "" {
		var err error
		rounds, err = strconv.Atoi(s)
		require.NoError(t, err)
	}
	c := start(t, nil)
	require.Equal(t, http.StatusCreated, c.create("acme", "admin@acme.test", "password1").status)
	tok := c.login("admin@acme.test", "password1")
	names := [2]string{"acme_two", "acme"}
	cursor := c.events(tok, "")
	for round := range rounds {
		name := names[round%2]
		delay := time.Duration(rand.Int64N(int64(5 * time.Millisecond)))
		st := twice(c, delay, http.MethodPut, "/org/update", map[string]string{"organization_name": name}, tok)
		require.Equal(t, [2]int{200, 200}, st, "round %d (second after %s): both answer the organization as renamed", round, delay)
		r := c.call(http.MethodGet, "/org/get?organization_name="+name, nil, "")
		require.Equal(t, http.StatusOK, r.status, "round %d (second after %s): %s", round, delay, r.raw)
		var got []map[string]any
		got, cursor = c.eventsAfter(tok, cursor)
		require.Len(t, got, 1, "round %d (second after %s): one rename, one event: %v", round, delay, got)
		require.Equal(t, "organization.renamed", got[0]["type"])
		require.Equal(t, name, got[0]["data"].(map[string]any)["to"])
	}
}

// TestSameCreateTwice sends one create twice at once: exactly one 201,
// the other 400, and nothing half made.
func TestSameCreateTwice(t *testing.T) {
	c := start(t, nil)
	for round := range 50 {
		name := fmt.Sprintf("twin%d", round)
		body := map[string]string{"organization_name": name, "email": "admin@" + name + ".test", "password": "password1"}
		st := twice(c, time.Duration(rand.Int64N(int64(2*time.Millisecond))), http.MethodPost, "/org/create", body, "")
		require.ElementsMatch(t, []int{201, 400}, st[:], "round %d", round)
		require.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name="+name, nil, "").status)
		events, _ := c.eventsAfter(c.login("admin@"+name+".test", "password1"), "")
		require.Len(t, events, 1, "round %d: one create, one event", round)
		require.Equal(t, "organization.created", events[0]["type"])
	}
}
