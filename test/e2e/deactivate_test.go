package e2e

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeactivationOverHTTP: while deactivated, every member endpoint
// answers 403 {"detail": "organization is deactivated"}, its tokens and
// logins too, GET shows the state; activation restores all of it; the
// audit finds nothing.
func TestDeactivationOverHTTP(t *testing.T) {
	c := start(t, map[string]string{"FIRST_SUPERADMIN_EMAIL": "root@platform.test", "FIRST_SUPERADMIN_PASSWORD": "root-password-long"})
	root := c.login("root@platform.test", "root-password-long")
	tm := newTeam(c, "paused")
	owner := tm.tokens["owner"]
	member := tm.join("member")
	pending := tm.invite("new@paused.test", "member")

	r := c.call(http.MethodPost, "/org/deactivate", map[string]string{"organization_name": "paused", "reason": "unpaid invoice"}, owner)
	assert.Equal(t, http.StatusForbidden, r.status, "the super admin's alone")
	r = c.call(http.MethodPost, "/org/deactivate", map[string]string{"organization_name": "paused"}, root)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "a reason is required: %s", r.raw)
	r = c.call(http.MethodPost, "/org/deactivate", map[string]string{"organization_name": "paused", "reason": "unpaid invoice"}, root)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "deactivated", r.body["state"])
	assert.Equal(t, "deactivated", c.call(http.MethodGet, "/org/get?organization_name=paused", nil, "").body["state"])

	for _, tok := range []string{owner, tm.tokens[member]} {
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{http.MethodPut, "/org/update", map[string]string{"organization_name": "paused_two"}},
			{http.MethodDelete, "/org/delete?organization_name=paused", nil},
			{http.MethodGet, "/org/members", nil},
			{http.MethodPost, "/org/invitations", map[string]string{"email": "x@paused.test", "role": "member"}},
			{http.MethodGet, "/org/invitations", nil},
			{http.MethodGet, "/org/events", nil},
			{http.MethodGet, "/org/webhooks", nil},
			{http.MethodPut, "/org/members", map[string]string{"email": tm.email(member), "role": "admin"}},
		} {
			got := c.call(req.method, req.path, req.body, tok)
			assert.Equal(t, http.StatusForbidden, got.status, "%s %s", req.method, req.path)
			assert.Equal(t, "organization is deactivated", got.body["detail"], "%s %s", req.method, req.path)
		}
	}
	r = c.call(http.MethodPost, "/admin/login", map[string]string{"email": tm.email("owner"), "password": "password1"}, "")
	assert.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "organization is deactivated", r.body["detail"])
	r = c.call(http.MethodPost, "/admin/login", map[string]string{"email": tm.email("owner"), "password": "wrong-password"}, "")
	assert.Equal(t, http.StatusUnauthorized, r.status, "a wrong password learns nothing")
	r = c.call(http.MethodPost, "/org/invitations/accept", map[string]string{"token": pending, "password": "password1"}, "")
	assert.Equal(t, http.StatusForbidden, r.status, r.raw)
	r = c.call(http.MethodPut, "/org/update?organization_name=paused", map[string]any{"public_metadata": map[string]any{"a": 1}}, root)
	assert.Equal(t, http.StatusForbidden, r.status, "nothing of it changes")

	r = c.call(http.MethodPost, "/org/activate", map[string]string{"organization_name": "paused", "reason": "paid"}, root)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "active", r.body["state"])
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/members", nil, owner).status, "the token from before works again")
	r = c.call(http.MethodPost, "/org/invitations/accept", map[string]string{"token": pending, "password": "password1"}, "")
	assert.Equal(t, http.StatusCreated, r.status, "and the invitation: %s", r.raw)
	events, _ := c.eventsAfter(owner, "")
	var kinds []string
	for _, e := range events {
		kinds = append(kinds, e["type"].(string))
	}
	assert.Contains(t, kinds, "organization.deactivated")
	assert.Contains(t, kinds, "organization.activated")

	require.NoError(t, c.p.Stop())
	rep, code := checkReport(t, c.p.DataDir)
	assert.Equal(t, 0, code, "orgd check is clean: %v", rep)
	assert.Empty(t, findingsOf(rep, ""))
}
