package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v5"

	"orgd/core/domain"
)

// statusByCode is the one table from domain error codes to HTTP statuses.
var statusByCode = map[domain.Code]int{
	domain.CodeInvalid:      http.StatusUnprocessableEntity,
	domain.CodeConflict:     http.StatusBadRequest, // the API reference's choice for duplicates
	domain.CodeNotFound:     http.StatusNotFound,
	domain.CodeUnauthorized: http.StatusUnauthorized,
	domain.CodeForbidden:    http.StatusForbidden,
	domain.CodeBusy:         http.StatusServiceUnavailable,
	domain.CodeUnavailable:  http.StatusServiceUnavailable,
	domain.CodeRateLimited:  http.StatusTooManyRequests,
	domain.CodeStorageFull:  http.StatusInsufficientStorage,
	domain.CodeUnsupported:  http.StatusNotImplemented,
	domain.CodePrecondition: http.StatusPreconditionFailed,
	domain.CodeInProgress:   http.StatusConflict,
}

// Detail is the body of every error response.
type Detail struct {
	Detail string `json:"detail"`
}

// httpError is an error raised by the HTTP layer itself (decoding, limits).
type httpError struct {
	status int
	detail string
}

func (e *httpError) Error() string { return e.detail }

func errStatus(status int, detail string) error { return &httpError{status: status, detail: detail} }

const internalDetail = "Internal server error"

// StatusClientClosedRequest is recorded for a request whose client hung up
// before its answer was ready.
const StatusClientClosedRequest = 499

// errorHandler writes every error as {"detail": "..."}: domain errors
// through statusByCode, HTTP-layer errors as raised, and anything else as a
// logged 500 whose cause never reaches the client.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(c *echo.Context, err error) {
		if r, _ := echo.UnwrapResponse(c.Response()); r != nil && r.Committed {
			return
		}
		if errors.Is(err, context.Canceled) && c.Request().Context().Err() != nil {
			// The client hung up: nothing failed here, and nobody reads the
			// answer. Recorded as 499, nginx's "client closed request".
			log.InfoContext(c.Request().Context(), "client closed request", "request_id", requestID(c))
			_ = c.NoContent(StatusClientClosedRequest)
			return
		}
		status, detail := classify(err)
		var de *domain.Error
		if errors.As(err, &de) && de.RetryAfter > 0 {
			c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(de.RetryAfter.Seconds()))))
		}
		if status == http.StatusInternalServerError {
			log.ErrorContext(c.Request().Context(), "internal error",
				"request_id", requestID(c), "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		} else if errors.Is(err, domain.ErrUnavailable) {
			log.WarnContext(c.Request().Context(), "store unavailable", "request_id", requestID(c), "error", err)
		}
		if status == http.StatusServiceUnavailable && c.Response().Header().Get("Retry-After") == "" {
			c.Response().Header().Set("Retry-After", "1")
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, Detail{Detail: detail})
	}
}

// errTooLarge answers a body over MaxBodyBytes.
var errTooLarge = errStatus(http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body must not exceed %d bytes", MaxBodyBytes))

func classify(err error) (int, string) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.detail
	}
	var de *domain.Error
	if errors.As(err, &de) {
		if s, ok := statusByCode[de.Code]; ok {
			return s, de.Message
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return http.StatusServiceUnavailable, domain.ErrUnavailable.Message
	}
	if s := echo.StatusCode(err); s != 0 && s != http.StatusInternalServerError {
		return s, http.StatusText(s)
	}
	return http.StatusInternalServerError, internalDetail
}
