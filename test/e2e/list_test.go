package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeysetListing pages /org/list with after: every organization once,
// in id order, a deleted one gone, one created since in a fresh walk; a
// bad cursor, or after with page, is a 422.
func TestKeysetListing(t *testing.T) {
	c := start(t, map[string]string{"FIRST_SUPERADMIN_EMAIL": rootEmail, "FIRST_SUPERADMIN_PASSWORD": rootPassword})
	root := c.login(rootEmail, rootPassword)
	var created []string
	for i := range 25 {
		name := fmt.Sprintf("list%02d", i)
		c.create(name, "admin@"+name+".test", "password1")
		created = append(created, name)
	}
	walk := func(cursor string) ([]string, string) {
		var names []string
		for {
			r := c.call(http.MethodGet, "/org/list?page_size=10&after="+url.QueryEscape(cursor), nil, root)
			require.Equal(t, http.StatusOK, r.status, r.raw)
			items := r.body["items"].([]any)
			assert.LessOrEqual(t, len(items), 10)
			for _, it := range items {
				names = append(names, it.(map[string]any)["organization_name"].(string))
			}
			next := r.body["next"].(string)
			if len(items) == 0 {
				assert.Equal(t, cursor, next, "an empty page gives its cursor back")
				return names, next
			}
			cursor = next
		}
	}
	names, end := walk("")
	assert.ElementsMatch(t, created, names, "each organization once")
	more, _ := walk(end)
	assert.Empty(t, more, "nothing after the end")

	tok := c.login("admin@list07.test", "password1")
	require.Equal(t, http.StatusOK, c.call(http.MethodDelete, "/org/delete?organization_name=list07", nil, tok).status)
	c.create("latecomer", "admin@latecomer.test", "password1")
	names, _ = walk("")
	assert.NotContains(t, names, "list07")
	assert.Contains(t, names, "latecomer")
	assert.Len(t, names, 25)

	for _, q := range []string{"after=nonsense", "after=bzE6MTIz", "after=&page=2"} {
		r := c.call(http.MethodGet, "/org/list?"+q, nil, root)
		assert.Equal(t, http.StatusUnprocessableEntity, r.status, "%s: %s", q, r.raw)
	}
	r := c.call(http.MethodGet, "/org/list?page=2&page_size=10", nil, root)
	require.Equal(t, http.StatusOK, r.status, "page keeps working")
	assert.EqualValues(t, 25, r.body["total"])
}
