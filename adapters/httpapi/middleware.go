package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"orgd/core/usecase"

	"github.com/labstack/echo/v5"
	"github.com/labstack/echo/v5/middleware"
	"github.com/ulule/limiter/v3"
)

const (
	headerRequestID = "X-Request-ID"
	ctxRequestID    = "request_id"
)

// requestIDMiddleware keeps a sane client X-Request-ID (1–64 characters of
// [A-Za-z0-9._-]) or makes one, and echoes it: Echo's RequestID, given
// only sane ones.
func requestIDMiddleware() echo.MiddlewareFunc {
	rid := middleware.RequestIDWithConfig(middleware.RequestIDConfig{
		Generator: func() string {
			var b [8]byte
			_, _ = rand.Read(b[:])
			return hex.EncodeToString(b[:])
		},
		RequestIDHandler: func(c *echo.Context, id string) {
			c.Set(ctxRequestID, id)
			// The operations a request begins record it in their events.
			c.SetRequest(c.Request().WithContext(usecase.WithRequestID(c.Request().Context(), id)))
		},
	})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		withID := rid(next)
		return func(c *echo.Context) error {
			if h := c.Request().Header; !saneRequestID(h.Get(headerRequestID)) {
				h.Del(headerRequestID)
			}
			return withID(c)
		}
	}
}

func saneRequestID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isIDChar(s[i]) {
			return false
		}
	}
	return true
}

func isIDChar(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-'
}

func requestID(c *echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}

// accessLog writes one line per request. The error handler runs inside it,
// so the status logged is the one sent.
func accessLog(log *slog.Logger, m Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Echo().HTTPErrorHandler(c, err)
			}
			_, status := echo.ResolveResponseStatus(c.Response(), nil)
			d := time.Since(start)
			route := c.Path()
			if route == "" || status == http.StatusNotFound && route == "/*" {
				route = "unmatched" // keep label values bounded
			}
			method := knownMethod(c.Request().Method)
			m.ObserveRequest(route, method, status, d)
			log.InfoContext(c.Request().Context(), "request",
				"request_id", requestID(c), "method", method, "path", truncate(c.Request().URL.Path, maxLoggedPath),
				"status", status, "duration_ms", float64(d.Microseconds())/1000, "client_ip", c.RealIP())
			return nil
		}
	}
}

// knownMethod returns m if it is a standard HTTP method, else "other": a
// client invents methods freely, and each would otherwise be a new metric
// series and a log value of its choosing.
func knownMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "other"
}

// maxLoggedPath bounds how much of a request path one log line carries.
const maxLoggedPath = 256

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// recoverMiddleware turns a panic into a 500 (logged by the error
// handler, never shown); Echo's Recover, without the stack in the error.
// A handler that must cut its connection panics with http.ErrAbortHandler,
// which it passes on to net/http.
func recoverMiddleware() echo.MiddlewareFunc {
	return middleware.RecoverWithConfig(middleware.RecoverConfig{DisablePrintStack: true})
}

// securityHeaders: Echo's Secure, for the headers an API needs, plus no
// caching of any answer.
func securityHeaders() echo.MiddlewareFunc {
	secure := middleware.SecureWithConfig(middleware.SecureConfig{ContentTypeNosniff: "nosniff", XFrameOptions: "DENY"})
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		next = secure(next)
		return func(c *echo.Context) error {
			c.Response().Header().Set("Cache-Control", "no-store")
			return next(c)
		}
	}
}

// bodyLimit refuses a body over MaxBodyBytes, before it is read (by its
// Content-Length) or as it is. The 413 is sent at once, and then the rest
// of the body, up to maxDrain, is read and thrown away before the
// connection closes: a plain client writes its whole body before it reads
// the answer, and closing on unread data would reach it as a reset, not
// as the 413.
func bodyLimit() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			req := c.Request()
			raw := req.Body
			if req.ContentLength > MaxBodyBytes {
				return refuseBody(c, raw)
			}
			body := &limitedBody{r: raw, left: MaxBodyBytes}
			req.Body = body
			err := next(c)
			if body.over {
				return refuseBody(c, raw)
			}
			return err
		}
	}
}

// maxDrain bounds how much of a refused body is read and thrown away, and
// drainTime how long that may take.
const (
	maxDrain  = 16 * MaxBodyBytes
	drainTime = 10 * time.Second
)

// refuseBody answers 413 and drains the body.
func refuseBody(c *echo.Context, body io.ReadCloser) error {
	c.Response().Header().Set("Connection", "close")
	c.Echo().HTTPErrorHandler(c, errTooLarge)
	rc := http.NewResponseController(c.Response())
	_ = rc.Flush()
	_ = rc.SetReadDeadline(time.Now().Add(drainTime))
	_, _ = io.CopyN(io.Discard, body, maxDrain)
	return nil
}

// limitedBody reads at most left bytes of r, then fails (and says so).
type limitedBody struct {
	r    io.ReadCloser
	left int64
	over bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := b.r.Read(one[:]); n > 0 {
			b.over = true
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }

// TooManyRequests is the detail of a 429.
const TooManyRequests = "Too many requests. Please try again later."

// unlimited are the operators' probe paths: an orchestrator polling them
// must never be throttled, nor use up a client's budget.
var unlimited = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true}

// rateLimit counts every request (but probes) against its client IP and
// answers 429 beyond the limit. Every response carries the X-RateLimit-*
// headers. If
// the limiter's store fails, the request is let through (and logged): the
// limit protects the service, it must not take it down.
func rateLimit(l *limiter.Limiter, m Metrics) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c *echo.Context) error {
			if unlimited[c.Request().URL.Path] {
				return next(c)
			}
			lc, err := l.Get(c.Request().Context(), c.RealIP())
			if err != nil {
				c.Logger().WarnContext(c.Request().Context(), "rate limiter unavailable", "error", err)
				return next(c)
			}
			h := c.Response().Header()
			h.Set("X-RateLimit-Limit", strconv.FormatInt(lc.Limit, 10))
			h.Set("X-RateLimit-Remaining", strconv.FormatInt(lc.Remaining, 10))
			h.Set("X-RateLimit-Reset", strconv.FormatInt(lc.Reset, 10))
			if lc.Reached {
				wait := max(lc.Reset-time.Now().Unix(), 1)
				h.Set("Retry-After", strconv.FormatInt(wait, 10))
				m.RateLimited()
				return errStatus(http.StatusTooManyRequests, TooManyRequests)
			}
			return next(c)
		}
	}
}
