package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/test/harness"
)

// rawExchange writes req on a fresh connection to p, then reads the whole
// answer, as a plain client (Python's urllib, say) does: the request
// written to the end before the answer is read. pieces > 1 writes the body
// in that many parts, a little apart.
func rawExchange(t *testing.T, p *harness.Proc, head string, body []byte, pieces int) (*http.Response, []byte, error) {
	t.Helper()
	c, err := net.DialTimeout("tcp", strings.TrimPrefix(p.URL, "http://"), 5*time.Second)
	require.NoError(t, err)
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		return nil, nil, err
	}
	size := (len(body) + pieces - 1) / pieces
	for off := 0; off < len(body); off += size {
		if _, err := c.Write(body[off:min(off+size, len(body))]); err != nil {
			return nil, nil, err
		}
		if pieces > 1 {
			time.Sleep(2 * time.Millisecond)
		}
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestOversizedBodyReachesPlainClientsAs413: a 2 MiB body, written whole
// before the answer is read, with Connection: close, or in pieces, gets
// the 413 and its detail every time, not a reset.
func TestOversizedBodyReachesPlainClientsAs413(t *testing.T) {
	c := start(t, nil)
	body := bytes.Repeat([]byte("x"), 2<<20)
	for _, pieces := range []int{1, 64} {
		for i := range 20 {
			head := fmt.Sprintf("POST /org/create HTTP/1.1\r\nHost: orgd\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", len(body))
			resp, raw, err := rawExchange(t, c.p, head, body, pieces)
			require.NoError(t, err, "round %d (%d pieces): the client reads an answer, not a reset", i, pieces)
			assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			assert.JSONEq(t, `{"detail":"Request body must not exceed 1048576 bytes"}`, string(raw))
		}
	}
	// Without a length (chunked), the limit is met as the body is read.
	req, err := http.NewRequest(http.MethodPost, c.p.URL+"/org/create", io.MultiReader(bytes.NewReader(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
}

// TestServerAnswersAreJSONToo: what net/http answers by itself, before
// any handler (headers too large, a malformed request), is {"detail"}.
func TestServerAnswersAreJSONToo(t *testing.T) {
	c := start(t, nil)
	big := strings.Repeat("a", 70<<10)
	resp, raw, err := rawExchange(t, c.p, "GET /healthz HTTP/1.1\r\nHost: orgd\r\nX-Big: "+big+"\r\n\r\n", nil, 1)
	require.NoError(t, err)
	assert.Equal(t, http.StatusRequestHeaderFieldsTooLarge, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var d map[string]string
	require.NoError(t, json.Unmarshal(raw, &d), string(raw))
	assert.Equal(t, "Request headers must not exceed 64 KiB", d["detail"])

	resp, raw, err = rawExchange(t, c.p, "GET /healthz HTTP/1.1\r\n\r\n", nil, 1) // no Host
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.NoError(t, json.Unmarshal(raw, &d), string(raw))
	assert.Contains(t, d["detail"], "Host")
}

// TestEdgesOfInput: a repeated query parameter, a charset other than
// UTF-8, and DELETE with the name in the query string.
func TestEdgesOfInput(t *testing.T) {
	c := start(t, nil)
	c.create("acme", "admin@acme.test", "password1")
	r := c.call(http.MethodGet, "/org/get?organization_name=acme&organization_name=other", nil, "")
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "which one would count is a guess")
	assert.Equal(t, "organization_name query parameter is given more than once", r.body["detail"])

	r = c.call(http.MethodPost, "/admin/login", `{"email":"admin@acme.test","password":"password1"}`, "", "Content-Type", "application/json; charset=iso-8859-1")
	assert.Equal(t, http.StatusUnsupportedMediaType, r.status)
	r = c.call(http.MethodPost, "/admin/login", `{"email":"admin@acme.test","password":"password1"}`, "", "Content-Type", "application/json; charset=UTF-8")
	assert.Equal(t, http.StatusOK, r.status, r.raw)

	tok := c.login("admin@acme.test", "password1")
	r = c.call(http.MethodDelete, "/org/delete?organization_name=other", map[string]string{"organization_name": "acme"}, tok)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status, "the query and the body disagree")
	r = c.call(http.MethodDelete, "/org/delete?organization_name=acme&organization_name=acme", nil, tok)
	assert.Equal(t, http.StatusUnprocessableEntity, r.status)
	r = c.call(http.MethodDelete, "/org/delete?organization_name=acme", nil, tok)
	require.Equal(t, http.StatusOK, r.status, "no body: the name from the query string: %s", r.raw)
	assert.Equal(t, http.StatusNotFound, c.call(http.MethodGet, "/org/get?organization_name=acme", nil, "").status)

	c.create("bravo", "admin@bravo.test", "password1")
	tok = c.login("admin@bravo.test", "password1")
	r = c.call(http.MethodDelete, "/org/delete?organization_name=bravo", map[string]string{"organization_name": "bravo"}, tok)
	assert.Equal(t, http.StatusOK, r.status, "both, agreeing: %s", r.raw)
	r = c.call(http.MethodDelete, "/org/delete", nil, tok)
	assert.Equal(t, http.StatusUnauthorized, r.status, "its admin is gone with it")
}

// TestSlowHeadersAreShed: connections that never finish sending their
// headers (slowloris) fill MAX_CONNECTIONS; a new client, the probe
// included, is still served at once, because the connection waiting
// longest without a request in progress is closed to admit it.
func TestSlowHeadersAreShed(t *testing.T) {
	c := start(t, map[string]string{"MAX_CONNECTIONS": "100"})
	addr := strings.TrimPrefix(c.p.URL, "http://")
	var mu sync.Mutex
	var held []net.Conn
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, conn := range held {
			_ = conn.Close()
		}
	})
	for range 150 {
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			continue // the listen queue may be full: enough are held
		}
		_, _ = io.WriteString(conn, "GET /healthz HTTP/1.1\r\nHost: orgd\r\nX-Slow: ")
		mu.Lock()
		held = append(held, conn)
		mu.Unlock()
	}
	client := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 5 {
		t0 := time.Now()
		resp, err := client.Get(c.p.URL + "/healthz")
		require.NoError(t, err, "probe %d", i)
		_ = resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Less(t, time.Since(t0), 2*time.Second, "probe %d is served at once, not after a header timeout", i)
	}
}
