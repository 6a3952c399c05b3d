package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantDetail string
	}{
		{"domain-invalid", domain.Errorf(domain.CodeInvalid, "email must be a valid email address"), 422, "email must be a valid email address"},
		{"domain-conflict-wrapped", fmt.Errorf("insert: %w", domain.ErrOrgExists), 400, "Organization name already exists"},
		{"domain-not-found", domain.ErrOrgNotFound, 404, "Organization not found"},
		{"domain-unauthorized", domain.ErrInvalidToken, 401, "Invalid or expired token"},
		{"domain-forbidden", domain.ErrNotOwner, 403, domain.ErrNotOwner.Message},
		{"domain-busy", domain.ErrOrgBusy, 503, domain.ErrOrgBusy.Message},
		{"domain-unavailable", fmt.Errorf("%w: server selection error: 10.0.0.1:27017", domain.ErrUnavailable), 503, "Service temporarily unavailable"},
		{"domain-unsupported", domain.ErrNoSnapshots, 501, domain.ErrNoSnapshots.Message},
		{"http-413", errStatus(413, "too big"), 413, "too big"},
		{"body-limit", errTooLarge, 413, "Request body must not exceed 1048576 bytes"},
		{"echo-404", echo.ErrNotFound, 404, "Not Found"},
		{"echo-405", echo.ErrMethodNotAllowed, 405, "Method Not Allowed"},
		{"internal", errors.New("e11000 duplicate key error collection: org_master.admins password_hash $argon2id$"), 500, "Internal server error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			e := echo.New()
			h := errorHandler(slog.New(slog.NewJSONHandler(&logs, nil)))
			rec := httptest.NewRecorder()
			c := e.NewContext(httptest.NewRequest(http.MethodGet, "/x", nil), rec)
			h(c, tc.err)
			assert.Equal(t, tc.wantStatus, rec.Code)
			var body map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, map[string]string{"detail": tc.wantDetail}, body, "the cause never reaches the client")
			if tc.wantStatus == 500 {
				assert.Contains(t, logs.String(), "internal error", "an internal error is logged")
			}
		})
	}
}

func TestParseJSON(t *testing.T) {
	tests := []struct {
		body, wantErr string
	}{
		{`{"organization_name":"a","email":"b","password":"c"}`, ""},
		{`{"organization_name":"a","unknown":1}`, ""},
		{``, "required"},
		{`   `, "required"},
		{`null`, ""},
		{`[]`, "JSON object"},
		{`"str"`, "JSON object"},
		{`{"organization_name":1}`, "organization_name must be a string"},
		{`{"email":true}`, "email must be a string"},
		{`{"password":{"$ne":1}}`, "password must be a string"},
		{`{"organization_name":"a"} x`, "single JSON object"},
		{`{"organization_name":"a"}{}`, "single JSON object"},
		{"{\"organization_name\":\"\xff\"}", "UTF-8"},
		{`{`, "not valid JSON"},
		{`null x`, "single JSON object"},
		{`{"organization_name":"a","organization_name":"b"}`, "organization_name is given more than once"},
		{`{"x":1,"x":2}`, "x is given more than once"},
		{`{"password":"\ud800abcdefgh"}`, "password must be valid Unicode"},
		{`{"password":"abcdefgh\udfff"}`, "password must be valid Unicode"},
		{`{"password":"\ud800\u0041bcdefgh"}`, "password must be valid Unicode"},
		{`{"\ud800":"x"}`, "Request body must be valid Unicode"},
		{`{"password":"\ud83d\ude00 ok"}`, ""},
		{`{"password":"\\ud800 is text, not an escape"}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.body, func(t *testing.T) {
			var req createOrgRequest
			err := parseJSON([]byte(tc.body), &req)
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err))
			assert.Contains(t, err.Error(), tc.wantErr)
		})
	}
}

func TestParseJSONKeysMatchExactly(t *testing.T) {
	var req createOrgRequest
	require.NoError(t, parseJSON([]byte(`{"ORGANIZATION_NAME":"a","Email":"b","password":"c"}`), &req))
	assert.Nil(t, req.OrganizationName, "a key in another case is not the field")
	assert.Nil(t, req.Email)
	require.NotNil(t, req.Password)
	assert.Equal(t, "c", *req.Password)
	var pair createOrgRequest
	require.NoError(t, parseJSON([]byte(`{"password":"\ud83d\ude00"}`), &pair))
	assert.Equal(t, "😀", *pair.Password, "a surrogate pair decodes to its character")
}

func FuzzParseJSON(f *testing.F) {
	for _, s := range []string{`{"organization_name":"acme","email":"a@b.co","password":"12345678"}`, `{"email":{"$gt":""}}`, `[1]`, `{}{}`, "\xff", `{"organization_name":null}`, `{"a":` + "\"\\ud800\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Every endpoint's body type: create and update, login, delete.
		for _, dst := range []any{&createOrgRequest{}, &loginRequest{}, &deleteOrgRequest{}} {
			err := parseJSON(b, dst)
			if err != nil && domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("%q into %T: decoding error must be a 422, got %v", b, dst, err)
			}
		}
	})
}
