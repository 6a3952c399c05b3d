package httpapi

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
)

func BenchmarkDecodeAndValidateCreate(b *testing.B) {
	body := []byte(`{"organization_name":"Acme_Corp","email":"Admin@Acme.com","password":"SecurePass123"}`)
	b.ReportAllocs()
	for b.Loop() {
		var req createOrgRequest
		if err := parseJSON(body, &req); err != nil {
			b.Fatal(err)
		}
		if _, err := domain.NewOrgName(*req.OrganizationName); err != nil {
			b.Fatal(err)
		}
		if _, err := domain.NewEmail(*req.Email); err != nil {
			b.Fatal(err)
		}
		if _, err := domain.NewPassword(*req.Password); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeOrg(b *testing.B) {
	o := domain.Organization{Name: domain.StoredOrgName("acme_corp"), Owners: []domain.Owner{{Email: "admin@acme.com"}}, CreatedAt: time.Now()}
	enc := json.NewEncoder(io.Discard)
	b.ReportAllocs()
	for b.Loop() {
		if err := enc.Encode(newOrgResponse(o)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkErrorHandler(b *testing.B) {
	e := echo.New()
	h := errorHandler(slog.New(slog.DiscardHandler))
	errs := []error{domain.ErrOrgNotFound, errStatus(http.StatusUnsupportedMediaType, "x"), errors.New("internal")}
	req := httptest.NewRequest(http.MethodGet, "/org/get", nil)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		rec := httptest.NewRecorder()
		h(e.NewContext(req, rec), errs[i%len(errs)])
		i++
	}
}
