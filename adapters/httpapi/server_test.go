package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/httpapi"
	"orgd/adapters/memory"
	"orgd/adapters/metrics"
	"orgd/adapters/token"
	"orgd/core/domain"
	"orgd/core/usecase"
	"orgd/ports"
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
		Rosters: st.Rosters(), Invitations: st.Invitations(), Events: st.Events(),
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

// TestMetricLabelsStayBounded sends requests with methods a client made up,
// one of them 60 KB long: each would otherwise become a metric series and a
// log value, growing /metrics without bound.
func TestMetricLabelsStayBounded(t *testing.T) {
	srv, logs := newServer(t, fakes.Hasher{})
	for i := range 300 {
		srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(fmt.Sprintf("M%03d", i), "/org/get", nil))
	}
	srv.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(strings.Repeat("X", 60<<10), "/org/get", nil))
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	text := rec.Body.String()
	assert.Contains(t, text, `method="other"`)
	assert.NotContains(t, text, `method="M0`)
	assert.NotContains(t, text, "XXXX")
	assert.Less(t, len(text), 64<<10, "/metrics stays small")
	assert.NotContains(t, logs.String(), "XXXX", "nor does the log carry the invented method")
}

// TestClientHangUpIsNotAnError hangs up while a login waits for a hashing
// slot: nothing failed in orgd, so it is logged as a client cancel and
// counted as 499, never as an internal error.
func TestClientHangUpIsNotAnError(t *testing.T) {
	srv, logs := newServer(t, blockingHasher{})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodPost, "/admin/login", strings.NewReader(`{"email":"a@b.co","password":"password1"}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServeHTTP(httptest.NewRecorder(), req)
	}()
	time.Sleep(20 * time.Millisecond)
	cancel()
	<-done
	assert.Contains(t, logs.String(), "client closed request")
	assert.NotContains(t, logs.String(), "internal error")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	assert.Contains(t, rec.Body.String(), `route="/admin/login",status="499"`)
	assert.NotContains(t, rec.Body.String(), `status="500"`)
}

// newServer is the production server on the memory store with hasher,
// real metrics, and its log in the returned buffer.
func newServer(t *testing.T, hasher ports.PasswordHasher) (http.Handler, *bytes.Buffer) {
	t.Helper()
	st := memory.New()
	tok, err := token.New("HS256", []byte("server-test-key-server-test-key!"))
	require.NoError(t, err)
	svc, err := usecase.New(context.Background(), usecase.Deps{
		Orgs: st.Orgs(), Names: st.Names(), Emails: st.Emails(), Admins: st.Admins(), Tenants: st.Tenants(),
		Rosters: st.Rosters(), Invitations: st.Invitations(), Events: st.Events(),
		Hasher: hasher, Tokens: tok,
	})
	require.NoError(t, err)
	var logs bytes.Buffer
	srv, err := httpapi.NewServer(svc, httpapi.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Metrics: metrics.New()})
	require.NoError(t, err)
	return srv, &logs
}

// blockingHasher hashes at once but verifies only when the caller gives up,
// as a hashing pool that is full would.
type blockingHasher struct{ fakes.Hasher }

func (blockingHasher) Verify(ctx context.Context, _ string, _ domain.Password) (bool, error) {
	<-ctx.Done()
	return false, fmt.Errorf("wait for hashing slot: %w", ctx.Err())
}
