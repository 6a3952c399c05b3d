package usecase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/core/usecase"
)

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestMetadataIsAMergePatch(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	org, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{
		PublicMetadata:  raw(`{"plan": "pro", "seats": 12, "trial": false}`),
		PrivateMetadata: raw(`{"billing_id": "cus_123"}`),
	}})
	require.NoError(t, err)
	assert.Equal(t, domain.Metadata{"plan": raw(`"pro"`), "seats": raw(`12`), "trial": raw(`false`)}, org.PublicMetadata)
	assert.Equal(t, domain.Metadata{"billing_id": raw(`"cus_123"`)}, org.PrivateMetadata)

	org, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{
		PublicMetadata:  raw(`{"plan": "enterprise", "trial": null, "seats": 12}`),
		PrivateMetadata: raw(`{"billing_id": null}`),
	}})
	require.NoError(t, err)
	assert.Equal(t, domain.Metadata{"plan": raw(`"enterprise"`), "seats": raw(`12`)}, org.PublicMetadata, "null removes a key; others are kept")
	assert.Empty(t, org.PrivateMetadata)

	before := len(h.stream(t, p, usecase.EventQuery{Limit: 100}))
	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{PublicMetadata: raw(`{"seats": 12, "gone": null}`)}})
	require.NoError(t, err)
	events := h.stream(t, p, usecase.EventQuery{Limit: 100, Type: usecase.EventOrgUpdated})
	assert.Len(t, h.stream(t, p, usecase.EventQuery{Limit: 100}), before, "a patch that changes nothing records nothing")
	require.Len(t, events, 2)
	assert.JSONEq(t, `{"public_metadata": {"plan": "pro", "seats": 12, "trial": false}, "private_metadata": ["billing_id"]}`, string(events[0].Data))
	assert.JSONEq(t, `{"public_metadata": {"plan": "enterprise", "trial": null}, "private_metadata": ["billing_id"]}`, string(events[1].Data),
		"the keys changed, public values, never private ones")
	assert.NotContains(t, string(events[0].Data), "cus_123")
}

func TestMetadataLimits(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	p, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	_, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{PublicMetadata: raw(`{"keep": "me"}`)}})
	require.NoError(t, err)
	many := func(n, size int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = fmt.Sprintf("%q: %q", fmt.Sprintf("k%02d", i), strings.Repeat("v", size))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	for _, c := range []struct{ patch, says string }{
		{`[]`, "must be a JSON object"},
		{`"x"`, "must be a JSON object"},
		{`{"bad key": 1}`, "letters, digits"},
		{`{"` + strings.Repeat("k", 41) + `": 1}`, "1 to 40"},
		{`{"nested": {"a": 1}}`, "not objects or arrays"},
		{`{"list": [1]}`, "not objects or arrays"},
		{`{"long": "` + strings.Repeat("é", 501) + `"}`, "at most 500"},
		{many(51, 1), "at most 50"},
		{many(49, 1), "would have 50 keys"}, // with "keep": 50 is allowed...
		{many(20, 450), "at most 8192"},
	} {
		if c.says == "would have 50 keys" {
			continue // ...so this one is checked below, past the limit
		}
		_, err := h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{PublicMetadata: raw(c.patch)}})
		require.Error(t, err, c.patch)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), c.patch)
		assert.Contains(t, err.Error(), c.says)
	}
	_, err = h.svc.UpdateOrg(ctx, p, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{PublicMetadata: raw(many(50, 1))}})
	require.Error(t, err, "50 new keys beside the one kept")
	assert.Contains(t, err.Error(), "would have 51 keys; at most 50")
	org, err := h.svc.GetOrg(ctx, "acme")
	require.NoError(t, err)
	assert.Equal(t, domain.Metadata{"keep": raw(`"me"`)}, org.PublicMetadata, "no refusal changed anything")
	assert.Len(t, h.stream(t, p, usecase.EventQuery{Limit: 100, Type: usecase.EventOrgUpdated}), 1)
}

func TestMetadataRights(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.create(t, "acme", "owner@acme.test", "pw-acme-12345")
	owner, _ := h.login(t, "owner@acme.test", "pw-acme-12345")
	h.join(t, owner, "member@acme.test", domain.RoleMember)
	member, _ := h.login(t, "member@acme.test", "password1")
	_, err := h.svc.UpdateOrg(ctx, member, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{PublicMetadata: raw(`{"a": 1}`)}})
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "a member does not edit metadata")
	_, err = h.svc.UpdateOrg(ctx, owner, usecase.UpdateOrgInput{Metadata: usecase.MetadataInput{ExternalID: ptr("crm-1")}})
	assert.Equal(t, domain.CodeForbidden, domain.ErrorCode(err), "the external id is the super admin's to set")
}

func TestExternalIDs(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	_, err := h.svc.EnsureSuperAdmin(ctx, "root@orgd.test", "root-password-123")
	require.NoError(t, err)
	root, _ := h.login(t, "root@orgd.test", "root-password-123")
	a, err := h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "acme", Email: "owner@acme.test", Password: "pw-acme-12345",
		Metadata: usecase.MetadataInput{ExternalID: ptr("crm-1"), PublicMetadata: raw(`{"plan": "pro"}`)}})
	require.NoError(t, err)
	assert.Equal(t, "crm-1", a.ExternalID)
	_, err = h.svc.CreateOrg(ctx, usecase.CreateOrgInput{Name: "beta", Email: "owner@beta.test", Password: "pw-beta-12345",
		Metadata: usecase.MetadataInput{ExternalID: ptr("crm-1")}})
	require.ErrorIs(t, err, domain.ErrExternalIDExists)
	_, err = h.svc.GetOrg(ctx, "beta")
	require.ErrorIs(t, err, domain.ErrOrgNotFound, "a refused create leaves nothing")
	h.create(t, "beta", "owner@beta.test", "pw-beta-12345")
	beta, _ := h.login(t, "owner@beta.test", "pw-beta-12345")
	acme, _ := h.login(t, "owner@acme.test", "pw-acme-12345")

	got, err := h.svc.GetOrgByExternalID(ctx, root, "crm-1")
	require.NoError(t, err)
	assert.Equal(t, a.ID, got.ID)
	_, err = h.svc.GetOrgByExternalID(ctx, acme, "crm-1")
	require.NoError(t, err, "a member finds its own")
	_, err = h.svc.GetOrgByExternalID(ctx, beta, "crm-1")
	require.ErrorIs(t, err, domain.ErrOrgNotFound, "another's is not found")

	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "beta", Metadata: usecase.MetadataInput{ExternalID: ptr("crm-1")}})
	require.ErrorIs(t, err, domain.ErrExternalIDExists)
	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "acme", Metadata: usecase.MetadataInput{ExternalID: ptr("crm-2")}})
	require.NoError(t, err)
	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "beta", Metadata: usecase.MetadataInput{ExternalID: ptr("crm-1")}})
	require.NoError(t, err, "the old one is free once changed")
	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "beta", Name: ptr("gamma")})
	assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "the super admin sets metadata and external ids only")
	events := h.stream(t, acme, usecase.EventQuery{Limit: 100, Type: usecase.EventOrgUpdated})
	require.Len(t, events, 1)
	assert.JSONEq(t, `{"external_id": {"from": "crm-1", "to": "crm-2"}}`, string(events[0].Data))
	assert.Equal(t, domain.ActorSuperAdmin, events[0].Actor.Kind)

	_, err = h.svc.DeleteOrg(ctx, root, "acme", nil)
	require.NoError(t, err)
	_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "beta", Metadata: usecase.MetadataInput{ExternalID: ptr("crm-2")}})
	require.NoError(t, err, "a deleted organization's external id is free")
	for _, bad := range []string{" lead", "trail ", strings.Repeat("x", 65), "tab\there"} {
		_, err = h.svc.UpdateOrg(ctx, root, usecase.UpdateOrgInput{Org: "beta", Metadata: usecase.MetadataInput{ExternalID: ptr(bad)}})
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q", bad)
	}
	rep, err := h.svc.CheckIntegrity(ctx, true)
	require.NoError(t, err)
	assert.Empty(t, rep.Findings)
}
