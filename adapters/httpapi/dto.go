package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// createOrgRequest is POST /org/create's body.
type createOrgRequest struct {
	OrganizationName *string `json:"organization_name"`
	Email            *string `json:"email"`
	Password         *string `json:"password"`
}

// loginRequest is POST /admin/login's body.
type loginRequest struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// updateOrgRequest is PUT /org/update's body; every field is optional.
type updateOrgRequest = createOrgRequest

// deleteOrgRequest is DELETE /org/delete's body.
type deleteOrgRequest struct {
	OrganizationName *string `json:"organization_name"`
}

// orgResponse describes an organization.
type orgResponse struct {
	OrganizationName string `json:"organization_name"`
	CollectionName   string `json:"collection_name"`
	AdminEmail       string `json:"admin_email"`
	CreatedAt        string `json:"created_at"`
}

// TimeFormat is how timestamps are written: ISO-8601 in UTC.
const TimeFormat = "2006-01-02T15:04:05Z"

func newOrgResponse(o domain.Organization) orgResponse {
	return orgResponse{
		OrganizationName: o.Name,
		CollectionName:   o.Collection,
		AdminEmail:       string(o.AdminEmail),
		CreatedAt:        o.CreatedAt.UTC().Format(TimeFormat),
	}
}

// loginResponse is POST /admin/login's answer.
type loginResponse struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	AdminEmail       string  `json:"admin_email"`
	OrganizationName *string `json:"organization_name"` // null for the super admin
	OrganizationID   *string `json:"organization_id"`   // null for the super admin
}

// listResponse is GET /org/list's answer.
type listResponse struct {
	Items    []orgResponse `json:"items"`
	Page     int           `json:"page"`
	PageSize int           `json:"page_size"`
	Total    int64         `json:"total"`
}

// messageResponse is DELETE /org/delete's answer.
type messageResponse struct {
	Message string `json:"message"`
}

// decodeJSON reads the body as exactly one JSON object into dst. Errors
// are 4xx with a detail naming what is wrong: 413 over MaxBodyBytes, 415
// for a non-JSON content type, 422 for anything malformed.
func decodeJSON(c *echo.Context, dst any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errStatus(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		}
	}
	if r.ContentLength > MaxBodyBytes {
		return errStatus(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body must not exceed %d bytes", MaxBodyBytes))
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Response(), r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errStatus(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body must not exceed %d bytes", MaxBodyBytes))
		}
		return errStatus(http.StatusBadRequest, "Could not read request body")
	}
	return parseJSON(body, dst)
}

// parseJSON is decodeJSON's pure part, shared with the fuzz tests.
func parseJSON(body []byte, dst any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return invalid("Request body is required and must be a JSON object")
	}
	if !utf8.Valid(body) {
		return invalid("Request body must be UTF-8 encoded JSON")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if err := dec.Decode(dst); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			if ute.Field == "" {
				return invalid("Request body must be a JSON object")
			}
			return invalid(fmt.Sprintf("%s must be a %s", ute.Field, "string"))
		}
		return invalid("Request body is not valid JSON")
	}
	if dec.More() {
		return invalid("Request body must contain a single JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("Request body must contain a single JSON object")
	}
	return nil
}

func invalid(msg string) error { return domain.Errorf(domain.CodeInvalid, msg) }

// required returns *p, or a 422 naming field when it is missing or null.
func required(p *string, field string) (string, error) {
	if p == nil {
		return "", invalid(field + " is required")
	}
	return *p, nil
}
