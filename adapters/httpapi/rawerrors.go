package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// JSONErrors wraps a listener so that the answers net/http gives on its
// own, before any handler runs (headers over the limit: 431; a malformed
// request line or header: 400; an unknown transfer coding: 501), are
// {"detail"} like every other error instead of net/http's plain text. It
// recognizes them by their exact shape: net/http writes each in one write
// straight to the connection, with a plain-text type and Connection: close.
func JSONErrors(ln net.Listener) net.Listener { return jsonErrorsListener{ln} }

type jsonErrorsListener struct{ net.Listener }

func (l jsonErrorsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &jsonErrorsConn{Conn: c}, nil
}

type jsonErrorsConn struct{ net.Conn }

// plainErrorHeaders is what net/http puts between the status line and the
// text of the errors it answers itself.
const plainErrorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

func (c *jsonErrorsConn) Write(p []byte) (int, error) {
	if out, ok := rewritePlainError(p); ok {
		if _, err := c.Conn.Write(out); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// Unwrap gives the server the connection underneath (for its deadlines and
// TCP settings).
func (c *jsonErrorsConn) Unwrap() net.Conn { return c.Conn }

// rewritePlainError turns one of net/http's own error answers into the
// same status with a {"detail"} body.
func rewritePlainError(p []byte) ([]byte, bool) {
	const prefix = "HTTP/1.1 "
	i := bytes.Index(p, []byte(plainErrorHeaders))
	if !bytes.HasPrefix(p, []byte(prefix)) || i < 0 || len(p) < len(prefix)+3 {
		return nil, false
	}
	status, err := strconv.Atoi(string(p[len(prefix) : len(prefix)+3]))
	if err != nil || status < 400 || status > 599 {
		return nil, false
	}
	detail := string(p[i+len(plainErrorHeaders):])
	if status == http.StatusRequestHeaderFieldsTooLarge {
		detail = fmt.Sprintf("Request headers must not exceed %d KiB", MaxHeaderBytes>>10)
	} else if _, text, ok := strings.Cut(detail, " "); ok && strings.HasPrefix(detail, strconv.Itoa(status)) {
		detail = text // "400 Bad Request: missing required Host header" → "Bad Request: …"
	}
	body, _ := json.Marshal(Detail{Detail: detail})
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"+
		"X-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
	return b.Bytes(), true
}

// MaxHeaderBytes caps a request's headers (the server's MaxHeaderBytes).
const MaxHeaderBytes = 64 << 10
