package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMetadataOverHTTP: public metadata for anyone, private metadata and
// the external id for members and the super admin; patches are merge
// patches; limits are 422s naming the limit, changing nothing.
func TestMetadataOverHTTP(t *testing.T) {
	c := start(t, map[string]string{"FIRST_SUPERADMIN_EMAIL": "root@platform.test", "FIRST_SUPERADMIN_PASSWORD": "root-password-long"})
	root := c.login("root@platform.test", "root-password-long")
	r := c.call(http.MethodPost, "/org/create", map[string]any{
		"organization_name": "meta", "email": "owner@meta.test", "password": "password1",
		"public_metadata": map[string]any{"plan": "pro"}, "private_metadata": map[string]any{"billing": "cus_1"}, "external_id": "crm-42",
	}, "")
	require.Equal(t, http.StatusCreated, r.status, r.raw)
	assert.Equal(t, map[string]any{"plan": "pro"}, r.body["public_metadata"])
	assert.Equal(t, map[string]any{"billing": "cus_1"}, r.body["private_metadata"], "its creator sees what it set")
	assert.Equal(t, "crm-42", r.body["external_id"])
	owner := c.login("owner@meta.test", "password1")
	c.create("other", "owner@other.test", "password1")
	other := c.login("owner@other.test", "password1")

	anon := c.call(http.MethodGet, "/org/get?organization_name=meta", nil, "")
	require.Equal(t, http.StatusOK, anon.status)
	assert.Equal(t, map[string]any{"plan": "pro"}, anon.body["public_metadata"])
	assert.NotContains(t, anon.body, "private_metadata")
	assert.NotContains(t, anon.body, "external_id")
	assert.NotContains(t, anon.raw, "cus_1")
	assert.NotContains(t, c.call(http.MethodGet, "/org/get?organization_name=meta", nil, other).raw, "cus_1", "nor another organization's member")
	mine := c.call(http.MethodGet, "/org/get?organization_name=meta", nil, owner)
	assert.Equal(t, map[string]any{"billing": "cus_1"}, mine.body["private_metadata"])
	assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodGet, "/org/get?organization_name=meta", nil, "not-a-token").status)

	assert.Equal(t, http.StatusUnauthorized, c.call(http.MethodGet, "/org/get?external_id=crm-42", nil, "").status)
	assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?external_id=crm-42", nil, other).status)
	byExt := c.call(http.MethodGet, "/org/get?external_id=crm-42", nil, root)
	require.Equal(t, http.StatusOK, byExt.status, byExt.raw)
	assert.Equal(t, "meta", byExt.body["organization_name"])
	assert.Equal(t, http.StatusUnprocessableEntity, c.call(http.MethodGet, "/org/get?external_id=crm-42&organization_name=meta", nil, root).status)

	r = c.call(http.MethodPut, "/org/update", map[string]any{"public_metadata": map[string]any{"plan": nil, "seats": 3}}, owner)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, map[string]any{"seats": float64(3)}, r.body["public_metadata"])
	etag := r.header.Get("ETag")
	for _, bad := range []struct {
		body map[string]any
		says string
	}{
		{map[string]any{"public_metadata": map[string]any{"nested": map[string]any{"a": 1}}}, "not objects or arrays"},
		{map[string]any{"public_metadata": map[string]any{"long": strings.Repeat("x", 501)}}, "at most 500"},
		{map[string]any{"public_metadata": []any{1}}, "must be a JSON object"},
		{map[string]any{"external_id": "mine"}, "super admin"},
	} {
		r := c.call(http.MethodPut, "/org/update", bad.body, owner)
		assert.Contains(t, []int{http.StatusUnprocessableEntity, http.StatusForbidden}, r.status, r.raw)
		assert.Contains(t, r.body["detail"], bad.says)
	}
	assert.Equal(t, etag, c.call(http.MethodGet, "/org/get?organization_name=meta", nil, "").header.Get("ETag"), "refusals changed nothing")

	r = c.call(http.MethodPut, "/org/update?organization_name=meta", map[string]any{"external_id": "crm-43"}, root)
	require.Equal(t, http.StatusOK, r.status, r.raw)
	assert.Equal(t, "crm-43", r.body["external_id"])
	r = c.call(http.MethodPut, "/org/update?organization_name=other", map[string]any{"external_id": "crm-43"}, root)
	assert.Equal(t, http.StatusBadRequest, r.status, "unique: %s", r.raw)

	events, _ := c.eventsAfter(owner, "")
	var updated []map[string]any
	for _, e := range events {
		if e["type"] == "organization.updated" {
			updated = append(updated, e["data"].(map[string]any))
		}
	}
	assert.Equal(t, []map[string]any{
		{"public_metadata": map[string]any{"plan": nil, "seats": float64(3)}},
		{"external_id": map[string]any{"from": "crm-42", "to": "crm-43"}},
	}, updated)
	raw := c.call(http.MethodGet, "/org/events?limit=100", nil, owner).raw
	assert.NotContains(t, raw, "cus_1", "private values never in events")
}
