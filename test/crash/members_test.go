package crash

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"

	"orgd/adapters/mongodb"
	"orgd/core/domain"
)

// TestKillDuringBigDelete SIGKILLs orgd while it deletes an organization
// of many members (ten roster pages), at a random point, and restarts it:
// the organization is then whole, every member able to log in, or gone
// with every member, email claim, roster page and invitation.
func TestKillDuringBigDelete(t *testing.T) {
	const members = 1000
	n := &node{t: t, dir: t.TempDir()}
	n.start()
	st, _ := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": "bystander", "email": "admin@bystander.test", "password": "password1"}, "")
	require.Equal(t, http.StatusCreated, st)
	n.seed("bystander", 10)

	gone, recovered := 0, 0
	for i := range max(iterations(t)/3, 3) {
		name := fmt.Sprintf("big%d", i%2)
		email := "admin@" + name + ".test"
		st, body := n.call(http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": email, "password": "password1"}, "")
		require.Equal(t, http.StatusCreated, st, "iteration %d: the name is free again: %v", i, body)
		n.seed(name, 200)
		st, login := n.call(http.MethodPost, "/admin/login", map[string]string{"email": email, "password": "password1"}, "")
		require.Equal(t, http.StatusOK, st)
		org := domain.ID(login["organization_id"].(string))
		var owner struct {
			Hash string `bson:"password_hash"`
		}
		require.NoError(t, n.db.Collection("admins").FindOne(context.Background(), bson.D{{Key: "email", Value: email}}).Decode(&owner))
		require.NoError(t, mongodb.SeedMembers(context.Background(), n.db, org, members-1, owner.Hash))
		tok := n.mustLogin(email, "password1")
		st, _ = n.call(http.MethodPost, "/org/invitations", map[string]string{"email": "invited@" + name + ".test", "role": "admin"}, tok)
		require.Equal(t, http.StatusCreated, st)

		n.sendAndKill(http.MethodDelete, "/org/delete", map[string]string{"organization_name": name}, tok, 400*time.Millisecond)
		n.start()
		recovered += n.resumed()

		seeded := fmt.Sprintf("m%d@%s.seed", members-2, org)
		stGet, _ := n.call(http.MethodGet, "/org/get?organization_name="+name, nil, "")
		stLogin, _ := n.call(http.MethodPost, "/admin/login", map[string]string{"email": seeded, "password": "password1"}, "")
		switch stGet {
		case http.StatusOK: // still whole
			assert.Equal(t, http.StatusOK, stLogin, "iteration %d: a member of a whole organization logs in", i)
			tok = n.mustLogin(email, "password1")
			st, list := n.call(http.MethodGet, "/org/members?page_size=1", nil, tok)
			require.Equal(t, http.StatusOK, st)
			assert.EqualValues(t, members, list["total"], "iteration %d: every member is still there", i)
			st, body := n.call(http.MethodDelete, "/org/delete", map[string]string{"organization_name": name}, tok)
			require.Equal(t, http.StatusOK, st, "%v", body)
		case http.StatusNotFound: // completely gone
			gone++
			assert.Equal(t, http.StatusUnauthorized, stLogin, "iteration %d: no member of a deleted organization logs in", i)
		default:
			t.Fatalf("iteration %d: get answered %d", i, stGet)
		}
		n.checkStore(map[string]int64{"bystander": 10})
		for _, coll := range []string{"rosters", "invitations"} {
			left, err := n.db.Collection(coll).CountDocuments(context.Background(), bson.D{{Key: "org_id", Value: bson.D{{Key: "$ne", Value: nil}}}})
			require.NoError(t, err)
			want := int64(0)
			if coll == "rosters" {
				want = 1 // the bystander's one page
			}
			assert.Equal(t, want, left, "iteration %d: nothing of the deleted organization is left in %s", i, coll)
		}
		if t.Failed() {
			return
		}
	}
	t.Logf("kill-during-big-delete: %d members each, %d organizations gone after the restart, %d interrupted operations finished by startup recovery", members, gone, recovered)
}
