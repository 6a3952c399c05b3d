package model

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// HTTPAPI drives a running orgd over HTTP. URL returns its base URL at
// the time of each request (it changes when the process is restarted).
type HTTPAPI struct {
	URL    func() string
	Client *http.Client
}

var _ API = HTTPAPI{}

type reply struct {
	status int
	body   map[string]any
	err    error
}

func (a HTTPAPI) do(ctx context.Context, method, path string, body any, token string) reply {
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
// whose 401 means its admin is gone (the model leaves out what else
// revokes tokens).
func (r reply) result(auth bool) Result {
	switch {
	case r.err != nil:
		return Unknown
	case r.status == http.StatusOK || r.status == http.StatusCreated:
		return OK
	case r.status == http.StatusBadRequest && strings.Contains(r.str("detail"), "name"):
		return NameTaken
	case r.status == http.StatusBadRequest && strings.Contains(r.str("detail"), "Email"):
		return EmailTaken
	case r.status == http.StatusNotFound:
		return NotFound
	case r.status == http.StatusForbidden:
		return Forbidden
	case r.status == http.StatusUnauthorized && auth:
		return NotFound
	case r.status == http.StatusUnauthorized:
		return Invalid
	case r.status == http.StatusServiceUnavailable, r.status == http.StatusTooManyRequests,
		r.status == http.StatusInsufficientStorage, r.status >= 502 && r.status <= 504:
		return Unknown
	}
	return Result("unexpected: " + http.StatusText(r.status) + " " + r.str("detail"))
}

func orgReply(r reply, auth bool) Output {
	out := Output{Result: r.result(auth)}
	if out.Result == OK {
		out.Name, out.Email = r.str("organization_name"), r.str("admin_email")
	}
	return out
}

// Create implements API. Its answer does not give the organization's ID,
// so it gives no session: the client logs in for one.
func (a HTTPAPI) Create(ctx context.Context, name, email, password string) (Output, Session) {
	r := a.do(ctx, http.MethodPost, "/org/create", map[string]string{"organization_name": name, "email": email, "password": password}, "")
	return orgReply(r, false), Session{}
}

// Get implements API.
func (a HTTPAPI) Get(ctx context.Context, name string) Output {
	return orgReply(a.do(ctx, http.MethodGet, "/org/get?organization_name="+name, nil, ""), false)
}

// Login implements API.
func (a HTTPAPI) Login(ctx context.Context, email, password string) (Output, Session) {
	r := a.do(ctx, http.MethodPost, "/admin/login", map[string]string{"email": email, "password": password}, "")
	out := Output{Result: r.result(false)}
	if out.Result != OK {
		return out, Session{}
	}
	out.OrgID, out.Name = r.str("organization_id"), r.str("organization_name")
	return out, Session{OrgID: out.OrgID, Auth: r.str("access_token")}
}

// Update implements API.
func (a HTTPAPI) Update(ctx context.Context, as Session, name, email, password string) Output {
	body := map[string]string{}
	for k, v := range map[string]string{"organization_name": name, "email": email, "password": password} {
		if v != "" {
			body[k] = v
		}
	}
	return orgReply(a.do(ctx, http.MethodPut, "/org/update", body, as.Auth.(string)), true)
}

// Delete implements API.
func (a HTTPAPI) Delete(ctx context.Context, as Session, name string) Output {
	r := a.do(ctx, http.MethodDelete, "/org/delete", map[string]string{"organization_name": name}, as.Auth.(string))
	return Output{Result: r.result(true)}
}
