package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/test/harness"
)

// invitationsOf lists an organization's invitations as token sees them
// (query: "?organization_name=…" for the super admin), by email.
func invitationsOf(c client, token, query string) map[string]map[string]any {
	c.t.Helper()
	r := c.call(http.MethodGet, "/org/invitations"+query, nil, token)
	require.Equal(c.t, http.StatusOK, r.status, r.raw)
	out := map[string]map[string]any{}
	for _, it := range r.body["items"].([]any) {
		inv := it.(map[string]any)
		out[inv["email"].(string)] = inv
	}
	return out
}

// TestInvitationsAsAnOperatorSeesThem: the super admin lists and revokes
// any organization's invitations by organization_name (a member may not
// name one); an invitation id has one spelling; a listed invitation says
// whether it is pending or expired, and an expired one is removed by the
// sweep once INVITATION_RETENTION has passed, with an invitation.expired
// event by orgd itself.
func TestInvitationsAsAnOperatorSeesThem(t *testing.T) {
	c := start(t, map[string]string{
		"FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword,
		"INVITATION_RETENTION": "1h", "OPERATION_LEASE": "1s",
	})
	root := c.login(rootEmail, rootPassword)
	tm := newTeam(c, "ops")
	other := newTeam(c, "other")
	for _, e := range []string{"a@ops.test", "b@ops.test", "c@ops.test", "d@ops.test"} {
		tm.invite(e, "member")
	}

	// 1. The super admin names the organization; a member may not.
	invs := invitationsOf(c, root, "?organization_name=OPS")
	require.Len(t, invs, 4)
	for e, inv := range invs {
		assert.Equal(t, "pending", inv["status"], e)
	}
	r := c.call(http.MethodGet, "/org/invitations", nil, root)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
	r = c.call(http.MethodGet, "/org/invitations?organization_name=ops", nil, other.tokens["owner"])
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "a member lists only its own: %s", r.raw)
	r = c.call(http.MethodGet, "/org/invitations?organization_name=nobody", nil, root)
	assert.Equal(t, http.StatusNotFound, r.status, r.raw)
	id := invs["a@ops.test"]["id"].(string)
	r = c.call(http.MethodDelete, "/org/invitations?organization_name=other", map[string]string{"id": id}, root)
	assert.Equal(t, http.StatusNotFound, r.status, "another organization's id: %s", r.raw)
	r = c.call(http.MethodDelete, "/org/invitations?organization_name=ops", map[string]string{"id": id}, root)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.NotContains(t, invitationsOf(c, tm.tokens["owner"], ""), "a@ops.test")

	// 2. One spelling per id, in the body and the query alike.
	id = invs["b@ops.test"]["id"].(string)
	for _, bad := range []string{strings.ToUpper(id), id[:23], id + "0", " " + id} {
		r := c.call(http.MethodDelete, "/org/invitations", map[string]string{"id": bad}, tm.tokens["owner"])
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%q: %s", bad, r.raw)
		assert.Contains(t, r.body["detail"], "24 lower-case hex")
	}
	r = c.call(http.MethodDelete, "/org/invitations?id="+strings.ToUpper(id), nil, tm.tokens["owner"])
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, r.raw)
	assert.Contains(t, invitationsOf(c, tm.tokens["owner"], ""), "b@ops.test", "nothing changed")

	// 3. Expired says so (its expiry moved into the past in the store).
	mc := mongoClient(t, c.p.MongoURI)
	coll := mc.Database(harness.Database).Collection("invitations")
	setExpiry := func(email string, at time.Time) {
		res, err := coll.UpdateOne(ctx(t), bson.D{{Key: "email", Value: email}}, bson.D{{Key: "$set", Value: bson.D{{Key: "expires_at", Value: at}}}})
		require.NoError(t, err)
		require.Equal(t, int64(1), res.ModifiedCount)
	}
	setExpiry("b@ops.test", time.Now().Add(-time.Minute))
	invs = invitationsOf(c, tm.tokens["owner"], "")
	assert.Equal(t, "expired", invs["b@ops.test"]["status"])
	assert.Equal(t, "pending", invs["c@ops.test"]["status"])

	// 4. Removed once expired for longer than the retention, by the
	// sweep (every OPERATION_LEASE), with one event.
	setExpiry("c@ops.test", time.Now().Add(-2*time.Hour))
	deadline := time.Now().Add(20 * time.Second)
	for {
		invs = invitationsOf(c, tm.tokens["owner"], "")
		if _, ok := invs["c@ops.test"]; !ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	assert.NotContains(t, invs, "c@ops.test", "removed after the retention")
	assert.Contains(t, invs, "b@ops.test", "within the retention: kept, as expired")
	assert.Contains(t, invs, "d@ops.test")
	events, _ := c.eventsAfter(tm.tokens["owner"], "")
	var expired []map[string]any
	for _, e := range events {
		if e["type"] == "invitation.expired" {
			expired = append(expired, e)
		}
	}
	require.Len(t, expired, 1)
	assert.Equal(t, "system", expired[0]["actor"].(map[string]any)["kind"])
	assert.Equal(t, "c@ops.test", expired[0]["data"].(map[string]any)["email"])
}
