package e2e

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/httpapi"
)

var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

func router(t *testing.T) routers.Router {
	t.Helper()
	specOnce.Do(func() {
		var raw []byte
		if raw, specErr = httpapi.OpenAPI(); specErr != nil {
			return
		}
		var doc *openapi3.T
		if doc, specErr = openapi3.NewLoader().LoadFromData(raw); specErr != nil {
			return
		}
		if specErr = doc.Validate(context.Background()); specErr != nil {
			return
		}
		doc.Servers = nil // match any host
		specRouter, specErr = legacy.NewRouter(doc)
	})
	require.NoError(t, specErr, "the OpenAPI document is valid")
	return specRouter
}

// checkAgainstSpec validates one exchange against the OpenAPI document: the
// operation must be documented, and the response's status, headers and
// body must match it. Unknown routes (404/405) have no operation to check.
func checkAgainstSpec(t *testing.T, req *http.Request, status int, header http.Header, body []byte) {
	t.Helper()
	route, params, err := router(t).FindRoute(req)
	if err != nil {
		assert.Contains(t, []int{http.StatusNotFound, http.StatusMethodNotAllowed, http.StatusTooManyRequests}, status,
			"%s %s is answered but not documented", req.Method, req.URL.Path)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: status, Header: header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	assert.NoError(t, openapi3filter.ValidateResponse(context.Background(), out),
		"%s %s → %d does not match the OpenAPI document: %s", req.Method, req.URL.Path, status, body)
}

func TestDocs(t *testing.T) {
	c := start(t, nil)
	resp, raw, err := c.p.Do(ctx(t), http.MethodGet, "/openapi.json", nil, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	require.NoError(t, err)
	require.NoError(t, doc.Validate(ctx(t)))
	for _, p := range []string{"/org/create", "/admin/login", "/org/get", "/org/update", "/org/delete", "/org/list"} {
		require.NotNil(t, doc.Paths.Find(p), "%s is documented", p)
		for method, op := range doc.Paths.Find(p).Operations() {
			assert.NotEmpty(t, op.OperationID, "%s %s has an operationId", method, p)
			assert.NotEmpty(t, op.Tags, "%s %s has a tag", method, p)
		}
	}
	require.Len(t, doc.Servers, 1)
	assert.Equal(t, "/", doc.Servers[0].URL, "Try it out works from any host, port or proxy path")
	resp, raw, err = c.p.Do(ctx(t), http.MethodGet, "/docs/", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(raw), "/docs/swagger-ui-bundle.js")
	assert.NotContains(t, string(raw), "https://", "no CDN")
	resp, raw, err = c.p.Do(ctx(t), http.MethodGet, "/docs/swagger-ui-bundle.js", nil, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Greater(t, len(raw), 100_000, "Swagger UI is served from the binary")
	resp, _, err = c.p.Do(ctx(t), http.MethodGet, "/docs/../../etc/passwd", nil, nil)
	require.NoError(t, err)
	assert.NotEqual(t, http.StatusOK, resp.StatusCode)
}
