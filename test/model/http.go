package model

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"orgd/core/domain"
)

// HTTPAPI drives a running orgd over HTTP. URL returns its base URL at
// the time of each request (it changes when the process is restarted).
// RootEmail and RootPassword are its super admin's (FIRST_SUPERADMIN_*),
// who reads the event log.
type HTTPAPI struct {
	URL                     func() string
	Client                  *http.Client
	RootEmail, RootPassword string
}

var _ API = HTTPAPI{}

type reply struct {
	status int
	body   map[string]any
	err    error
}

// do sends a request; header is name, value pairs (a pair with an empty
// value is left out).
func (a HTTPAPI) do(ctx context.Context, method, path string, body any, token string, header ...string) reply {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return reply{err: err}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL()+path, rd)
	if err != nil {
		return reply{err: err}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if id := CallID(ctx); id != "" {
		req.Header.Set("X-Request-ID", id)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] != "" {
			req.Header.Set(header[i], header[i+1])
		}
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return reply{err: err} // cut off: a kill, a timeout
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, err: err}
	_ = json.Unmarshal(raw, &r.body)
	return r
}

func (r reply) str(k string) string {
	s, _ := r.body[k].(string)
	return s
}

// result classifies an HTTP answer; auth says the request carried a token,
// whose 401 means its account is gone or its password changed.
func (r reply) result(auth bool) Result {
	switch {
	case r.err != nil:
		return Unknown
	case r.status == http.StatusOK || r.status == http.StatusCreated:
		return OK
	case r.status == http.StatusBadRequest:
		return map[string]Result{
			domain.ErrOrgExists.Message:   NameTaken,
			domain.ErrEmailExists.Message: EmailTaken,
			domain.ErrLastOwner.Message:   LastOwner,
		}[r.str("detail")]
	case r.status == http.StatusNotFound:
		return NotFound
	case r.status == http.StatusForbidden:
		return Forbidden
	case r.status == http.StatusUnauthorized && auth:
		return Unauthorized
	case r.status == http.StatusUnauthorized:
		return Invalid
	case r.status == http.StatusTooManyRequests:
		return Limited
	case r.status == http.StatusConflict:
		return Busy
	case r.status == http.StatusServiceUnavailable, r.status == http.StatusInsufficientStorage,
		r.status >= 502 && r.status <= 504:
		return Unknown
	}
	return Result("unexpected: " + http.StatusText(r.status) + " " + r.str("detail"))
}

// classified is an answer's result, or an unexpected one for a 400 the
// model does not know.
func classified(r reply, auth bool) Output {
	out := Output{Result: r.result(auth)}
	if out.Result == "" {
		out.Result = Result("unexpected: " + r.str("detail"))
	}
	return out
}

func orgReply(r reply, auth bool) Output {
	out := classified(r, auth)
	if out.Result == OK {
		out.Name, out.Email = r.str("organization_name"), r.str("admin_email")
	}
	return out
}

// Create implements API. Its answer does not give the organization's or
// the account's ID: the first login binds them.
func (a HTTPAPI) Create(ctx context.Context, key, name, email, password string) Output {
	r := a.do(ctx, http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": email, "password": password}, "", "Idempotency-Key", key)
	return orgReply(r, false)
}

// Get implements API.
func (a HTTPAPI) Get(ctx context.Context, name string) Output {
	return orgReply(a.do(ctx, http.MethodGet, "/org/get?organization_name="+name, nil, ""), false)
}

// Login implements API. The account's ID is the token's subject.
func (a HTTPAPI) Login(ctx context.Context, email, password string) (Output, Session) {
	r := a.do(ctx, http.MethodPost, "/admin/login", map[string]string{"email": email, "password": password}, "")
	out := classified(r, false)
	if out.Result != OK {
		return out, Session{}
	}
	tok := r.str("access_token")
	out.OrgID, out.AccountID, out.Name, out.Role = r.str("organization_id"), subject(tok), r.str("organization_name"), r.str("role")
	return out, Session{Token: tok}
}

// subject reads a JWT's subject claim, unverified.
func subject(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Sub string `json:"sub"`
	}
	_ = json.Unmarshal(raw, &claims)
	return claims.Sub
}

// Update implements API.
func (a HTTPAPI) Update(ctx context.Context, as Session, name, email, password string) Output {
	body := map[string]string{}
	for k, v := range map[string]string{"organization_name": name, "email": email, "password": password} {
		if v != "" {
			body[k] = v
		}
	}
	return orgReply(a.do(ctx, http.MethodPut, "/org/update", body, as.Token), true)
}

// Delete implements API.
func (a HTTPAPI) Delete(ctx context.Context, as Session, name string) Output {
	return classified(a.do(ctx, http.MethodDelete, "/org/delete", map[string]string{"organization_name": name}, as.Token), true)
}

// Invite implements API.
func (a HTTPAPI) Invite(ctx context.Context, as Session, email, role string) Output {
	r := a.do(ctx, http.MethodPost, "/org/invitations", map[string]string{"email": email, "role": role}, as.Token)
	out := classified(r, true)
	out.Token = r.str("token")
	return out
}

// Accept implements API.
func (a HTTPAPI) Accept(ctx context.Context, token, password string) Output {
	r := a.do(ctx, http.MethodPost, "/org/invitations/accept", map[string]string{"token": token, "password": password}, "")
	out := classified(r, false)
	if out.Result == OK {
		out.Name, out.Email, out.Role = r.str("organization_name"), r.str("email"), r.str("role")
	}
	return out
}

// SetRole implements API.
func (a HTTPAPI) SetRole(ctx context.Context, as Session, email, role string) Output {
	r := a.do(ctx, http.MethodPut, "/org/members", map[string]string{"email": email, "role": role}, as.Token)
	out := classified(r, true)
	if out.Result == OK {
		out.Role = r.str("role")
	}
	return out
}

// Remove implements API.
func (a HTTPAPI) Remove(ctx context.Context, as Session, email string) Output {
	return classified(a.do(ctx, http.MethodDelete, "/org/members", map[string]string{"email": email}, as.Token), true)
}

// root logs the super admin in.
func (a HTTPAPI) root(ctx context.Context) (string, error) {
	login := a.do(ctx, http.MethodPost, "/admin/login", map[string]string{"email": a.RootEmail, "password": a.RootPassword}, "")
	if login.err != nil || login.status != http.StatusOK {
		return "", fmt.Errorf("the super admin's login: %d %s: %w", login.status, login.str("detail"), login.err)
	}
	return login.str("access_token"), nil
}

// Deactivate implements API, as the super admin.
func (a HTTPAPI) Deactivate(ctx context.Context, name string) Output {
	return a.suspension(ctx, "/org/deactivate", name)
}

// Activate implements API, as the super admin.
func (a HTTPAPI) Activate(ctx context.Context, name string) Output {
	return a.suspension(ctx, "/org/activate", name)
}

func (a HTTPAPI) suspension(ctx context.Context, path, name string) Output {
	root, err := a.root(ctx)
	if err != nil {
		return Output{Result: Unknown} // cut off: a kill
	}
	return orgReply(a.do(ctx, http.MethodPost, path, map[string]string{"organization_name": name, "reason": "model"}, root), true)
}

// Events implements API, as the super admin: GET /events, with
// organization_id for one organization's stream.
func (a HTTPAPI) Events(ctx context.Context, org string) ([]Event, error) {
	root, err := a.root(ctx)
	if err != nil {
		return nil, err
	}
	var out []Event
	after := ""
	for {
		q := url.Values{"limit": {"100"}, "after": {after}}
		if org != "" {
			q.Set("organization_id", org)
		}
		r := a.do(ctx, http.MethodGet, "/events?"+q.Encode(), nil, root)
		if r.err != nil || r.status != http.StatusOK {
			return nil, fmt.Errorf("GET /events: %d %s: %w", r.status, r.str("detail"), r.err)
		}
		items, _ := r.body["items"].([]any)
		for _, it := range items {
			raw, err := json.Marshal(it)
			if err != nil {
				return nil, err
			}
			e, err := eventOf(raw)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
		}
		if len(items) == 0 {
			return out, nil
		}
		after = r.str("next")
	}
}
