package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// team is one organization's members over HTTP: their tokens by name.
type team struct {
	c      client
	org    string
	tokens map[string]string
	n      int
	live   int // how many members it has
	// lastToken is the last invitation token handed out.
	lastToken string
}

func newTeam(c client, org string) *team {
	c.create(org, "owner@"+org+".test", "password1")
	return &team{c: c, org: org, tokens: map[string]string{"owner": c.login("owner@"+org+".test", "password1")}, live: 1}
}

func (tm *team) email(name string) string { return name + "@" + tm.org + ".test" }

// invite has the owner invite email with role, and returns the token.
func (tm *team) invite(email, role string) string {
	tm.c.t.Helper()
	r := tm.c.call(http.MethodPost, "/org/invitations", map[string]string{"email": email, "role": role}, tm.tokens["owner"])
	require.Equal(tm.c.t, http.StatusCreated, r.status, r.raw)
	tm.lastToken = r.body["token"].(string)
	return tm.lastToken
}

// join brings in a fresh member with role, and returns its name.
func (tm *team) join(role string) string {
	tm.c.t.Helper()
	tm.n++
	name := fmt.Sprintf("%s%d", role, tm.n)
	r := tm.c.call(http.MethodPost, "/org/invitations/accept", map[string]string{"token": tm.invite(tm.email(name), role), "password": "password1"}, "")
	require.Equal(tm.c.t, http.StatusCreated, r.status, r.raw)
	require.Equal(tm.c.t, role, r.body["role"])
	tm.tokens[name] = tm.c.login(tm.email(name), "password1")
	tm.live++
	return name
}

// TestRightsTable checks the rights table cell by cell over HTTP: for
// each role of the caller, each action on each role of its target, the
// status the table gives, and that a refused action changed nothing.
func TestRightsTable(t *testing.T) {
	c := start(t, nil)
	tm := newTeam(c, "rights")
	actors := map[string]string{"owner": tm.join("owner"), "admin": tm.join("admin"), "member": tm.join("member")}
	ok := func(allowed bool, code int) int {
		if allowed {
			return code
		}
		return http.StatusForbidden
	}

	t.Run("anyone reads the organization", func(t *testing.T) {
		r := c.call(http.MethodGet, "/org/get?organization_name=rights", nil, "")
		assert.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, "owner@rights.test", r.body["admin_email"], "admin_email is the longest-standing owner")
	})
	for role, actor := range actors {
		tok := tm.tokens[actor]
		isOwner, isAdmin := role == "owner", role == "owner" || role == "admin"
		t.Run(role+" lists members", func(t *testing.T) {
			r := c.call(http.MethodGet, "/org/members?page=1&page_size=100", nil, tok)
			require.Equal(t, http.StatusOK, r.status, r.raw)
			assert.EqualValues(t, tm.live, r.body["total"])
			assert.Len(t, r.body["items"], tm.live)
		})
		t.Run(role+" renames", func(t *testing.T) {
			r := c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "rights_renamed"}, tok)
			require.Equal(t, ok(isAdmin, http.StatusOK), r.status, r.raw)
			if isAdmin {
				r = c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "rights"}, tok)
				require.Equal(t, http.StatusOK, r.status, r.raw)
			}
			assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name=rights", nil, "").status)
		})
		t.Run(role+" invites, lists and revokes", func(t *testing.T) {
			for _, target := range []string{"member", "admin", "owner"} {
				email := fmt.Sprintf("inv-%s-%s@x.test", role, target)
				r := c.call(http.MethodPost, "/org/invitations", map[string]string{"email": email, "role": target}, tok)
				allowed := isAdmin && (target != "owner" || isOwner)
				require.Equal(t, ok(allowed, http.StatusCreated), r.status, "%s invites a %s: %s", role, target, r.raw)
				// Revoking: the owner's invitation of the same role.
				id := tm.c.call(http.MethodPost, "/org/invitations", map[string]string{"email": "r" + email, "role": target}, tm.tokens["owner"]).body["id"].(string)
				r = c.call(http.MethodDelete, "/org/invitations", map[string]string{"id": id}, tok)
				require.Equal(t, ok(allowed, http.StatusOK), r.status, "%s revokes a %s's invitation: %s", role, target, r.raw)
			}
			r := c.call(http.MethodGet, "/org/invitations", nil, tok)
			require.Equal(t, ok(isAdmin, http.StatusOK), r.status, r.raw)
		})
		t.Run(role+" changes roles", func(t *testing.T) {
			for _, change := range [][2]string{{"member", "admin"}, {"admin", "member"}, {"member", "owner"}, {"owner", "admin"}, {"admin", "owner"}} {
				target := tm.join(change[0])
				r := c.call(http.MethodPut, "/org/members", map[string]string{"email": tm.email(target), "role": change[1]}, tok)
				allowed := isAdmin && (isOwner || (change[0] != "owner" && change[1] != "owner"))
				require.Equal(t, ok(allowed, http.StatusOK), r.status, "%s makes a %s %s: %s", role, change[0], change[1], r.raw)
				want := change[0]
				if allowed {
					want = change[1]
				}
				login := c.call(http.MethodPost, "/admin/login", map[string]string{"email": tm.email(target), "password": "password1"}, "")
				assert.Equal(t, want, login.body["role"], "the role is as the table says")
			}
		})
		t.Run(role+" removes", func(t *testing.T) {
			for _, target := range []string{"member", "admin", "owner"} {
				victim := tm.join(target)
				r := c.call(http.MethodDelete, "/org/members", map[string]string{"email": tm.email(victim)}, tok)
				allowed := isAdmin && (target != "owner" || isOwner)
				require.Equal(t, ok(allowed, http.StatusOK), r.status, "%s removes a %s: %s", role, target, r.raw)
				after := c.call(http.MethodGet, "/org/members?page_size=1", nil, tm.tokens[victim])
				if allowed {
					tm.live--
					assert.Equal(t, http.StatusUnauthorized, after.status, "a removed member's token dies at once")
				} else {
					assert.Equal(t, http.StatusOK, after.status)
				}
			}
		})
		t.Run(role+" changes its own credentials", func(t *testing.T) {
			r := c.call(http.MethodPut, "/org/update", map[string]string{"password": "password2"}, tok)
			require.Equal(t, http.StatusOK, r.status, r.raw)
			tm.tokens[actor] = c.login(tm.email(actor), "password2")
			tok = tm.tokens[actor]
		})
		t.Run(role+" deletes", func(t *testing.T) {
			if isOwner {
				return // the owner's delete ends the test, below
			}
			r := c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "rights"}, tok)
			require.Equal(t, http.StatusForbidden, r.status, r.raw)
		})
	}
	t.Run("a member leaves", func(t *testing.T) {
		m := tm.join("member")
		r := c.call(http.MethodDelete, "/org/members", nil, tm.tokens[m], "X-Unused", "")
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "the email is required: %s", r.raw)
		r = c.call(http.MethodDelete, "/org/members?email="+url.QueryEscape(tm.email(m)), nil, tm.tokens[m])
		require.Equal(t, http.StatusOK, r.status, r.raw)
		assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodPost, "/admin/login", map[string]string{"email": tm.email(m), "password": "password1"}, "").status)
	})
	t.Run("the owner deletes, and every member goes", func(t *testing.T) {
		r := c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "rights"}, tm.tokens[actors["owner"]])
		require.Equal(t, http.StatusOK, r.status, r.raw)
		for name := range tm.tokens {
			if strings.HasPrefix(name, "owner") || strings.HasPrefix(name, "admin") || strings.HasPrefix(name, "member") {
				r := c.call(http.MethodGet, "/org/members", nil, tm.tokens[name])
				assert.Equal(t, http.StatusUnauthorized, r.status, "%s's token died with the organization", name)
			}
		}
		// Their emails are free again: one may found an organization.
		c.create("rights2", tm.email(actors["admin"]), "password1")
	})
}

// TestLastOwner: there is always an owner. The last one can neither
// leave, be removed nor be demoted; once another owner exists, it can.
func TestLastOwner(t *testing.T) {
	c := start(t, nil)
	tm := newTeam(c, "solo")
	owner := "owner@solo.test"
	for _, r := range []reply{
		c.call(http.MethodDelete, "/org/members", map[string]string{"email": owner}, tm.tokens["owner"]),
		c.call(http.MethodPut, "/org/members", map[string]string{"email": owner, "role": "admin"}, tm.tokens["owner"]),
	} {
		assert.Equal(t, http.StatusBadRequest, r.status, r.raw)
		assert.Contains(t, r.body["detail"], "at least one owner")
	}
	second := tm.join("owner")
	r := c.call(http.MethodPut, "/org/members", map[string]string{"email": owner, "role": "member"}, tm.tokens[second])
	require.Equal(t, http.StatusOK, r.status, r.raw)
	r = c.call(http.MethodGet, "/org/get?organization_name=solo", nil, "")
	assert.Equal(t, tm.email(second), r.body["admin_email"], "admin_email follows the longest-standing owner")
	r = c.call(http.MethodDelete, "/org/members", map[string]string{"email": tm.email(second)}, tm.tokens[second])
	assert.Equal(t, http.StatusBadRequest, r.status, "now the last owner: %s", r.raw)
	r = c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "solo"}, tm.tokens["owner"])
	assert.Equal(t, http.StatusForbidden, r.status, "a demoted owner's rights shrink on its next request: %s", r.raw)
}

// TestInvitations: single use, bound to its email, refused for an email
// an admin holds, still valid after a rename, dead after a revocation or
// a delete, and guessing meets the back-off.
func TestInvitations(t *testing.T) {
	c := start(t, nil)
	tm := newTeam(c, "inv")
	accept := func(token string) reply {
		return c.call(http.MethodPost, "/org/invitations/accept", map[string]string{"token": token, "password": "password1"}, "")
	}

	r := c.call(http.MethodPost, "/org/invitations", map[string]string{"email": "owner@inv.test", "role": "member"}, tm.tokens["owner"])
	assert.Equal(t, http.StatusBadRequest, r.status, "an email an admin holds: %s", r.raw)
	c.create("other", "boss@other.test", "password1")
	r = c.call(http.MethodPost, "/org/invitations", map[string]string{"email": "BOSS@other.test", "role": "member"}, tm.tokens["owner"])
	assert.Equal(t, http.StatusBadRequest, r.status, "held in another organization, in any letter case: %s", r.raw)

	tok := tm.invite("new@inv.test", "admin")
	r = c.call(http.MethodGet, "/org/invitations", nil, tm.tokens["owner"])
	require.Equal(t, http.StatusOK, r.status)
	require.Len(t, r.body["items"], 1)
	assert.NotContains(t, r.raw, strings.Split(tok, ".")[1], "the secret is shown only once")

	r = c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "inv_renamed"}, tm.tokens["owner"])
	require.Equal(t, http.StatusOK, r.status, r.raw)
	r = accept(tok)
	require.Equal(t, http.StatusCreated, r.status, "still valid after a rename: %s", r.raw)
	assert.Equal(t, "inv_renamed", r.body["organization_name"])
	assert.Equal(t, "new@inv.test", r.body["email"], "bound to the invited email")
	r = accept(tok)
	assert.Equal(t, http.StatusUnauthorized, r.status, "single use: %s", r.raw)
	login := c.call(http.MethodPost, "/admin/login", map[string]string{"email": "new@inv.test", "password": "password1"}, "")
	require.Equal(t, http.StatusOK, login.status)
	assert.Equal(t, "admin", login.body["role"])
	assert.Equal(t, "inv_renamed", login.body["organization_name"])

	revoked := tm.invite("gone@inv.test", "member")
	id := strings.Split(revoked, ".")[0]
	r = c.call(http.MethodDelete, "/org/invitations?id="+id, nil, tm.tokens["owner"])
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, http.StatusUnauthorized, accept(revoked).status, "dead after a revocation")
	r = c.call(http.MethodDelete, "/org/invitations", map[string]string{"id": id}, tm.tokens["owner"])
	assert.Equal(t, http.StatusNotFound, r.status, "revoked once: %s", r.raw)

	orphan := tm.invite("late@inv.test", "member")
	r = c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "inv_renamed"}, tm.tokens["owner"])
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, http.StatusUnauthorized, accept(orphan).status, "dead after a delete")

	// Guessing: a well-formed token with a wrong secret, again and again,
	// from one address, meets the back-off.
	guess := id + "." + strings.Repeat("A", 43)
	var statuses []int
	for range 12 {
		statuses = append(statuses, accept(guess).status)
	}
	assert.Equal(t, http.StatusUnauthorized, statuses[0])
	assert.Contains(t, statuses, http.StatusTooManyRequests, "guessing meets the back-off: %v", statuses)
	for _, bad := range []string{"", "x", "nodot", strings.Repeat("a", 4000)} {
		r := accept(bad)
		assert.Contains(t, []int{http.StatusUnauthorized, http.StatusUnprocessableEntity, http.StatusTooManyRequests}, r.status, "%q: %s", bad, r.raw)
	}
}
