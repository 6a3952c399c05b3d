package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
	"orgd/core/usecase"
)

// MaxBodyBytes caps every request body.
const MaxBodyBytes = 1 << 20

// createOrgRequest is POST /org/create's body.
type createOrgRequest struct {
	OrganizationName *string          `json:"organization_name"`
	Email            *string          `json:"email"`
	Password         *string          `json:"password"`
	PublicMetadata   *json.RawMessage `json:"public_metadata"`
	PrivateMetadata  *json.RawMessage `json:"private_metadata"`
	ExternalID       *string          `json:"external_id"`
}

// metadata is req's metadata input.
func (req createOrgRequest) metadata() usecase.MetadataInput {
	var in usecase.MetadataInput
	if req.PublicMetadata != nil {
		in.PublicMetadata = *req.PublicMetadata
	}
	if req.PrivateMetadata != nil {
		in.PrivateMetadata = *req.PrivateMetadata
	}
	in.ExternalID = req.ExternalID
	return in
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

// orgResponse describes an organization. PrivateMetadata and ExternalID
// are shown to its members and the super admin only.
type orgResponse struct {
	OrganizationName string           `json:"organization_name"`
	CollectionName   string           `json:"collection_name"`
	AdminEmail       string           `json:"admin_email"`
	CreatedAt        string           `json:"created_at"`
	State            string           `json:"state"`
	PublicMetadata   json.RawMessage  `json:"public_metadata"`
	PrivateMetadata  *json.RawMessage `json:"private_metadata,omitempty"`
	ExternalID       *json.RawMessage `json:"external_id,omitempty"`
}

// TimeFormat is how timestamps are written: ISO-8601 in UTC.
const TimeFormat = usecase.ViewTime

// newOrgResponse is o as the public sees it.
func newOrgResponse(o domain.Organization) orgResponse {
	return orgResponse{
		OrganizationName: o.Name.String(),
		CollectionName:   o.Name.Collection(),
		AdminEmail:       string(o.AdminEmail()),
		CreatedAt:        o.CreatedAt.UTC().Format(TimeFormat),
		State:            stateOf(o),
		PublicMetadata:   o.PublicMetadata.Encode(),
	}
}

// stateOf is how an answer names o's state: active or deactivated.
func stateOf(o domain.Organization) string {
	if o.Deactivated() {
		return "deactivated"
	}
	return "active"
}

// suspensionRequest is POST /org/deactivate's and /org/activate's body.
type suspensionRequest struct {
	OrganizationName *string `json:"organization_name"`
	Reason           *string `json:"reason"`
}

// orgResponseFor is o as who sees it: with its private metadata and
// external id for its members and the super admin (who nil is not).
func orgResponseFor(o domain.Organization, who *domain.Principal) orgResponse {
	out := newOrgResponse(o)
	if who != nil && (who.Super || who.OrgID == o.ID) {
		private := json.RawMessage(o.PrivateMetadata.Encode())
		out.PrivateMetadata = &private
		id := json.RawMessage("null")
		if o.ExternalID != "" {
			id, _ = json.Marshal(o.ExternalID)
		}
		out.ExternalID = &id
	}
	return out
}

// loginResponse is POST /admin/login's answer.
type loginResponse struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	AdminEmail       string  `json:"admin_email"`
	OrganizationName *string `json:"organization_name"` // null for the super admin
	OrganizationID   *string `json:"organization_id"`   // null for the super admin
	Role             *string `json:"role"`              // in the organization; null for the super admin
}

// listResponse is GET /org/list's answer.
type listResponse struct {
	Items    []orgResponse `json:"items"`
	Page     int           `json:"page"`
	PageSize int           `json:"page_size"`
	Total    int64         `json:"total"`
}

// keysetResponse is GET /org/list?after='s answer.
type keysetResponse struct {
	Items    []orgResponse `json:"items"`
	PageSize int           `json:"page_size"`
	Next     string        `json:"next"`
}

// messageResponse is the answer of DELETE /org/delete and of an endpoint's DELETE.
type messageResponse struct {
	Message string `json:"message"`
}

// decodeJSON reads the body as exactly one JSON object into dst. Errors
// are 4xx with a detail naming what is wrong: 413 over MaxBodyBytes, 415
// for a non-JSON content type, 422 for anything malformed.
func decodeJSON(c *echo.Context, dst any) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, params, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return errStatus(http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		}
		if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
			return errStatus(http.StatusUnsupportedMediaType, "Content-Type charset must be UTF-8 (JSON is UTF-8)")
		}
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return errTooLarge
		}
		return errStatus(http.StatusBadRequest, "Could not read request body")
	}
	return parseJSON(body, dst)
}

// hasBody reports whether r carries a body: a length, or a chunked one.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// parseJSON is decodeJSON's pure part, shared with the fuzz tests. dst
// points to a struct of *string (or *[]string, or *json.RawMessage for a
// value read as it is) fields named by json tags. Stricter than
// encoding/json, so that one body can only mean one thing: keys match the
// tags exactly (encoding/json ignores case, so "ORGANIZATION_NAME" would
// set organization_name), a key may appear once (encoding/json keeps the
// last), and a string may not hold an unpaired UTF-16 surrogate escape
// (encoding/json turns each into U+FFFD, so distinct passwords would
// collide). Keys other than dst's are ignored.
func parseJSON(body []byte, dst any) error {
	if len(strings.TrimSpace(string(body))) == 0 {
		return invalid("Request body is required and must be a JSON object")
	}
	if !utf8.Valid(body) {
		return invalid("Request body must be UTF-8 encoded JSON")
	}
	fields, err := objectFields(body)
	if err != nil {
		return err
	}
	v := reflect.ValueOf(dst).Elem()
	for i := range v.NumField() {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		raw, ok := fields[name]
		if !ok || string(raw) == "null" {
			continue
		}
		if !validEscapes(raw) {
			return invalid(name + " must be valid Unicode (it holds an unpaired surrogate escape)")
		}
		if v.Field(i).Type() == reflect.TypeFor[*json.RawMessage]() {
			value := raw
			v.Field(i).Set(reflect.ValueOf(&value))
			continue
		}
		if v.Field(i).Type() == reflect.TypeFor[*[]string]() {
			var list []string
			if err := json.Unmarshal(raw, &list); err != nil {
				return invalid(name + " must be an array of strings")
			}
			v.Field(i).Set(reflect.ValueOf(&list))
			continue
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return invalid(name + " must be a string")
		}
		v.Field(i).Set(reflect.ValueOf(&s))
	}
	if !validEscapes(body) { // in a key, or in a member nobody reads
		return invalid("Request body must be valid Unicode (it holds an unpaired surrogate escape)")
	}
	return nil
}

// objectFields splits body, which must be exactly one JSON object, into
// its members' raw values by key, refusing a key given twice.
func objectFields(body []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	notJSON := invalid("Request body is not valid JSON")
	tok, err := dec.Token()
	if err != nil {
		return nil, notJSON
	}
	fields := map[string]json.RawMessage{}
	if tok == nil { // null: an object with no members
		return fields, endOfBody(dec)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, invalid("Request body must be a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, notJSON
		}
		key := tok.(string) // inside an object, encoding/json yields keys as strings
		if _, dup := fields[key]; dup {
			return nil, invalid(fmt.Sprintf("%s is given more than once", key))
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, notJSON
		}
		fields[key] = raw
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, notJSON
	}
	return fields, endOfBody(dec)
}

func endOfBody(dec *json.Decoder) error {
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalid("Request body must contain a single JSON object")
	}
	return nil
}

// validEscapes reports whether every \u escape in the JSON text raw that
// encodes a UTF-16 surrogate is half of a high-low pair.
func validEscapes(raw []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(raw) || raw[i] != '\\' || raw[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
		return rune(n), err == nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // another escape: skip the escaped character
			continue
		}
		switch {
		case utf16.IsSurrogate(r) && r < 0xdc00: // high: a low must follow
			low, ok := hex4(i + 6)
			if !ok || low < 0xdc00 || low > 0xdfff {
				return false
			}
			i += 11
		case utf16.IsSurrogate(r): // a low on its own
			return false
		default:
			i += 5
		}
	}
	return true
}

func invalid(msg string) error { return domain.Errorf(domain.CodeInvalid, msg) }

// required returns *p, or a 422 naming field when it is missing or null.
func required(p *string, field string) (string, error) {
	if p == nil {
		return "", invalid(field + " is required")
	}
	return *p, nil
}

// bodyOrQuery reads the one field name of a DELETE request (into T's
// field get names) from its body or, since some clients, proxies and
// gateways drop a DELETE's body, from its query string (both, if they
// agree).
func bodyOrQuery[T any](c *echo.Context, name string, get func(*T) **string) (string, error) {
	inQuery, err := queryParam(c, name)
	if err != nil {
		return "", err
	}
	var req T
	if inQuery == nil || hasBody(c.Request()) {
		if err := decodeJSON(c, &req); err != nil {
			return "", err
		}
	}
	field := get(&req)
	switch {
	case *field == nil:
		*field = inQuery
	case inQuery != nil && *inQuery != **field:
		return "", invalid(name + " is given in the query and the body, differently")
	}
	return required(*field, name)
}
