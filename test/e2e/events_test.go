package e2e

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEventLog: every committed change over HTTP is one event of the
// organization's stream, readable by its admins and owners (also after a
// rename), and in the whole log for the super admin, who also reads a
// deleted organization's; refusals add none; bad parameters are 422s.
func TestEventLog(t *testing.T) {
	c := start(t, map[string]string{"FIRST_SUPERADMIN_EMAIL": "root@platform.test", "FIRST_SUPERADMIN_PASSWORD": "root-password-long"})
	root := c.login("root@platform.test", "root-password-long")
	tm := newTeam(c, "evt")
	owner := tm.tokens["owner"]
	member := tm.join("member")
	r := c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "evt_renamed"}, owner, "X-Request-ID", "rename-1")
	require.Equal(t, http.StatusOK, r.status, r.raw)
	// Refused, or changing nothing: no event.
	assert.Equal(t, http.StatusOK, c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "evt_renamed"}, owner).status)
	assert.Equal(t, http.StatusForbidden, c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": "nope"}, tm.tokens[member]).status)
	assert.Equal(t, http.StatusBadRequest, c.call(http.MethodDelete, "/org/members", map[string]string{"email": tm.email("owner")}, owner).status)

	events, cursor := c.eventsAfter(owner, "")
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e["type"].(string))
	}
	raw := c.call(http.MethodGet, "/org/events?limit=100", nil, owner).raw
	for _, secret := range []string{"password1", "argon2", "digest", tm.lastToken} {
		assert.NotContains(t, raw, secret, "an event never holds a secret")
	}
	assert.Equal(t, []string{"organization.created", "invitation.created", "member.joined", "organization.renamed"}, kinds)
	renamed := events[3]
	assert.Equal(t, "rename-1", renamed["request_id"], "the request that asked")
	assert.Equal(t, "evt_renamed", renamed["organization_name"])
	assert.Equal(t, map[string]any{"from": "evt", "to": "evt_renamed"}, renamed["data"])
	assert.Equal(t, tm.email("owner"), renamed["actor"].(map[string]any)["email"])
	assert.Equal(t, "admin", renamed["actor"].(map[string]any)["kind"])
	orgID := renamed["organization_id"].(string)

	r = c.call(http.MethodGet, "/org/events?limit=2", nil, owner)
	require.Equal(t, http.StatusOK, r.status)
	assert.Len(t, r.body["items"], 2, "limit")
	r = c.call(http.MethodGet, "/org/events?type=member.joined", nil, owner)
	require.Equal(t, http.StatusOK, r.status)
	assert.Len(t, r.body["items"], 1, "type")
	later, _ := c.eventsAfter(owner, cursor)
	assert.Empty(t, later, "nothing after the end")

	for _, row := range []struct {
		path, token string
		status      int
	}{
		{"/org/events", tm.tokens[member], http.StatusForbidden},
		{"/org/events", root, http.StatusForbidden},
		{"/org/events", "", http.StatusUnauthorized},
		{"/events", owner, http.StatusForbidden},
		{"/org/events?limit=0", owner, http.StatusUnprocessableEntity},
		{"/org/events?limit=101", owner, http.StatusUnprocessableEntity},
		{"/org/events?limit=x", owner, http.StatusUnprocessableEntity},
		{"/org/events?after=notacursor", owner, http.StatusUnprocessableEntity},
		{"/org/events?type=organization.exploded", owner, http.StatusUnprocessableEntity},
		{"/org/events?limit=5&limit=6", owner, http.StatusUnprocessableEntity},
		{"/events?organization_id=XYZ", root, http.StatusUnprocessableEntity},
	} {
		got := c.call(http.MethodGet, row.path, nil, row.token)
		assert.Equal(t, row.status, got.status, "%s: %s", row.path, got.raw)
	}

	r = c.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": "evt_renamed"}, root)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	r = c.call(http.MethodGet, "/events?limit=100&organization_id="+url.QueryEscape(orgID), nil, root)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	items := r.body["items"].([]any)
	require.Len(t, items, 5, "a deleted organization's stream stays readable")
	last := items[4].(map[string]any)
	assert.Equal(t, "organization.deleted", last["type"])
	assert.Equal(t, "super_admin", last["actor"].(map[string]any)["kind"])
	all := c.call(http.MethodGet, "/events?limit=100", nil, root)
	require.Equal(t, http.StatusOK, all.status)
	assert.Len(t, all.body["items"], 5, "the whole log: this organization's events, in the same order")
}
