package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/httpapi"
	"orgd/adapters/memory"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/test/fakes"
)

// downClaims is a claim registry whose store cannot be reached.
type downClaims struct{ *memory.Claims }

func (downClaims) Claim(context.Context, string) (domain.Claim, error) {
	return domain.Claim{}, fmt.Errorf("%w: server selection error: context deadline exceeded, current topology: { Type: Unknown }", domain.ErrUnavailable)
}

func TestStoreDownAnswers503(t *testing.T) {
	st := memory.New()
	tok, err := token.New("HS256", []byte("server-test-key-server-test-key!"))
	require.NoError(t, err)
	svc, err := usecase.New(context.Background(), usecase.Deps{
		Orgs: st.Orgs(), Names: downClaims{st.Names()}, Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
		Hasher: fakes.Hasher{}, Tokens: tok,
	})
	require.NoError(t, err)
	srv, err := httpapi.NewServer(svc, httpapi.Options{
		Logger: slog.New(slog.DiscardHandler),
		Ready:  func(*echo.Context) error { return errors.New("ping: connection refused") },
	})
	require.NoError(t, err)

	for _, path := range []string{"/org/get?organization_name=acme", "/readyz"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		assert.Equal(t, http.StatusServiceUnavailable, rec.Code, path)
		assert.JSONEq(t, `{"detail":"Service temporarily unavailable"}`, rec.Body.String(), "no driver text: %s", path)
		assert.Equal(t, "1", rec.Header().Get("Retry-After"))
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/healthz", nil))
	assert.Equal(t, http.StatusOK, rec.Code, "liveness never touches the store")
}
