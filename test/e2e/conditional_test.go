package e2e

import (
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConditionalRequests: an organization's answers carry its ETag;
// If-None-Match answers 304 while it stays; If-Match makes an update or a
// delete conditional: two admins updating from one ETag, one wins and the
// other gets 412 with nothing changed.
func TestConditionalRequests(t *testing.T) {
	c := start(t, nil)
	tm := newTeam(c, "cond")
	admin := tm.join("admin")
	r := c.call(http.MethodGet, "/org/get?organization_name=cond", nil, "")
	require.Equal(t, http.StatusOK, r.status)
	tag := r.header.Get("ETag")
	require.Regexp(t, `^"[0-9a-f]{24}\.\d+"$`, tag)

	for _, h := range []string{tag, "W/" + tag, `"nope", ` + tag, "*"} {
		got := c.call(http.MethodGet, "/org/get?organization_name=cond", nil, "", "If-None-Match", h)
		assert.Equal(t, http.StatusNotModified, got.status, h)
		assert.Empty(t, got.raw)
		assert.Equal(t, tag, got.header.Get("ETag"))
	}
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name=cond", nil, "", "If-None-Match", `"other"`).status)

	// Two admins, one ETag: exactly one update lands.
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i, token := range []string{tm.tokens["owner"], tm.tokens[admin]} {
		wg.Go(func() {
			name := []string{"cond_a", "cond_b"}[i]
			statuses[i] = c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": name}, token, "If-Match", tag).status
		})
	}
	wg.Wait()
	assert.ElementsMatch(t, []int{http.StatusOK, http.StatusPreconditionFailed}, statuses)
	winner := "cond_a"
	if statuses[1] == http.StatusOK {
		winner = "cond_b"
	}
	r = c.call(http.MethodGet, "/org/get?organization_name="+winner, nil, "")
	require.Equal(t, http.StatusOK, r.status)
	fresh := r.header.Get("ETag")
	assert.NotEqual(t, tag, fresh)
	events, _ := c.eventsAfter(tm.tokens["owner"], "")
	renames := 0
	for _, e := range events {
		if e["type"] == "organization.renamed" {
			renames++
		}
	}
	assert.Equal(t, 1, renames, "the refused update changed nothing")

	// A delete from a stale ETag is refused; from the current one it goes.
	r = c.call(http.MethodDelete, "/org/delete?organization_name="+winner, nil, tm.tokens["owner"], "If-Match", tag)
	assert.Equal(t, http.StatusPreconditionFailed, r.status, r.raw)
	assert.Equal(t, http.StatusOK, c.call(http.MethodGet, "/org/get?organization_name="+winner, nil, "").status)
	r = c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": winner}, tm.tokens["owner"], "If-Match", "W/"+fresh)
	assert.Equal(t, http.StatusPreconditionFailed, r.status, "If-Match compares strongly: a weak tag never matches")
	r = c.call(http.MethodPut, "/org/update", map[string]string{"organization_name": winner}, tm.tokens["owner"], "If-Match", "not a tag")
	assert.Equal(t, http.StatusBadRequest, r.status, r.raw)
	r = c.call(http.MethodDelete, "/org/delete?organization_name="+winner, nil, tm.tokens["owner"], "If-Match", fresh)
	assert.Equal(t, http.StatusOK, r.status, r.raw)
}
