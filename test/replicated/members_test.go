//go:build mongodb

package replicated

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// both sends two requests at once, the first to replica 0 and the second
// to replica 1, and returns their statuses.
func (c *cluster) both(a, b func(i int) reply) [2]int {
	var st [2]int
	var wg sync.WaitGroup
	for i, f := range []func(int) reply{a, b} {
		wg.Add(1)
		go func() { defer wg.Done(); st[i] = f(i).status }()
	}
	wg.Wait()
	return st
}

func (c *cluster) invite(tok, email, role string) string {
	c.t.Helper()
	r := c.call(-1, http.MethodPost, "/org/invitations", map[string]string{"email": email, "role": role}, tok)
	require.Equal(c.t, http.StatusCreated, r.status, r.raw)
	return r.body["token"].(string)
}

func (c *cluster) accept(token string) func(int) reply {
	return func(i int) reply {
		return c.call(i, http.MethodPost, "/org/invitations/accept", map[string]string{"token": token, "password": "password1"}, "")
	}
}

// TestMembershipRacesAcrossReplicas: the membership races, each request
// of a pair on its own replica, have exactly one winner, and leave every
// organization whole.
func TestMembershipRacesAcrossReplicas(t *testing.T) {
	c := newCluster(t, 2)
	wins := map[string]int{}
	for round := range 8 {
		owner := fmt.Sprintf("owner.r%d@x.test", round)
		c.create(round%2, fmt.Sprintf("team_r%d", round), owner)
		tok := c.login(-1, owner)

		// One invitation accepted twice at once: one member.
		inv := c.invite(tok, fmt.Sprintf("m.r%d@x.test", round), "member")
		st := c.both(c.accept(inv), c.accept(inv))
		assert.ElementsMatch(t, []int{201, 401}, st[:], "round %d: one token, twice", round)

		// Two invitations for one email accepted at once: one member.
		email := fmt.Sprintf("twice.r%d@x.test", round)
		st = c.both(c.accept(c.invite(tok, email, "admin")), c.accept(c.invite(tok, email, "member")))
		assert.ElementsMatch(t, []int{201, 400}, st[:], "round %d: two invitations, one email", round)

		// Two owners demoting each other: one wins; the loser, an admin
		// now, may not touch an owner.
		second := fmt.Sprintf("second.r%d@x.test", round)
		require.Equal(t, 201, c.accept(c.invite(tok, second, "owner"))(-1).status)
		tok2 := c.login(-1, second)
		demote := func(by, whom string) func(int) reply {
			return func(i int) reply {
				return c.call(i, http.MethodPut, "/org/members", map[string]string{"email": whom, "role": "admin"}, by)
			}
		}
		st = c.both(demote(tok, second), demote(tok2, owner))
		assert.ElementsMatch(t, []int{200, 403}, st[:], "round %d: owners demoting each other", round)
		wins[fmt.Sprintf("demotion won on replica %d", slices.Index(st[:], 200))]++
		var owners []string
		r := c.call(-1, http.MethodGet, "/org/members?page_size=100", nil, c.login(-1, owner))
		require.Equal(t, 200, r.status, r.raw)
		for _, m := range r.body["items"].([]any) {
			if m := m.(map[string]any); m["role"] == "owner" {
				owners = append(owners, m["email"].(string))
			}
		}
		require.Len(t, owners, 1, "round %d: exactly one owner left", round)
		owner = owners[0]

		// An acceptance racing its organization's delete: either way the
		// organization is gone with every member, and the email is free.
		late := fmt.Sprintf("late.r%d@x.test", round)
		inv = c.invite(c.login(-1, owner), late, "member")
		del := func(i int) reply {
			return c.call(i, http.MethodDelete, "/org/delete", map[string]string{"organization_name": fmt.Sprintf("team_r%d", round)}, c.login(i, owner))
		}
		st = c.both(c.accept(inv), del)
		assert.Equal(t, 200, st[1], "round %d: the delete", round)
		assert.Contains(t, []int{201, 401}, st[0], "round %d: the acceptance", round)
		wins[fmt.Sprintf("acceptance racing the delete answered %d", st[0])]++
		r = c.call(-1, http.MethodPost, "/admin/login", map[string]string{"email": late, "password": "password1"}, "")
		assert.Equal(t, 401, r.status, "round %d: no member outlives its organization", round)
		c.create(-1, fmt.Sprintf("after_r%d", round), late)
	}
	out, code := c.check()
	assert.Equal(t, 0, code, out)
	t.Logf("8 rounds: %v; orgd check: %s", wins, strings.TrimSpace(out))
}
