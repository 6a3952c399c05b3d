package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/labstack/echo/v5"

	"orgd/core/usecase"
)

// This file is Idempotency-Key on the requests that make something
// (POST /org/create, POST /org/invitations/accept, the webhook
// registrations): the first answer to a key is kept and replayed, with
// Idempotent-Replayed: true, to every retry with the same key and body
// for 24 hours. See usecase.Idempotently.

// idempotencyKey reads the Idempotency-Key header: a Structured Field
// string ("…") as the draft writes it, or bare, as most clients send it.
func idempotencyKey(c *echo.Context) (string, bool, error) {
	vs := c.Request().Header.Values("Idempotency-Key")
	switch len(vs) {
	case 0:
		return "", false, nil
	case 1:
	default:
		return "", false, invalid("Idempotency-Key is given more than once")
	}
	key := strings.TrimSpace(vs[0])
	if len(key) >= 2 && strings.HasPrefix(key, `"`) && strings.HasSuffix(key, `"`) {
		key = key[1 : len(key)-1]
	}
	if err := usecase.CheckIdempotencyKey(key); err != nil {
		return "", false, err
	}
	return key, true, nil
}

// keptHeaders are the headers that are part of an answer, kept and
// replayed with it.
var keptHeaders = []string{"ETag"}

// produced is a handler's answer, before it is written: its status and
// value, or the error it ends with.
type produced func(ids *usecase.IdempotentIDs) (int, any, error)

// keyed answers a request that makes something: once per Idempotency-Key
// if it carries one (scope names whose keys they are: the caller's
// account, or the operation for an anonymous request), with secret set
// when the answer holds one (it is then kept sealed, and no cache may
// keep it).
func (h *handlers) keyed(c *echo.Context, scope string, secret bool, produce produced) error {
	key, ok, err := idempotencyKey(c)
	if err != nil {
		return err
	}
	if secret {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	if !ok {
		status, v, err := produce(nil)
		if err != nil {
			return err
		}
		return c.JSON(status, v)
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return errTooLarge
		}
		return errStatus(http.StatusBadRequest, "Could not read request body")
	}
	c.Request().Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(append([]byte(c.Request().Method+" "+c.Request().URL.RequestURI()+"\x00"), body...))
	call := usecase.IdempotentCall{Scope: scope, Key: key, Fingerprint: hex.EncodeToString(sum[:]), Secret: secret}
	ans, replayed, err := h.svc.Idempotently(c.Request().Context(), call, func(ids usecase.IdempotentIDs) (usecase.Answer, bool, error) {
		status, v, err := produce(&ids)
		if err != nil {
			st, detail := classify(err)
			if st >= 500 || st == http.StatusTooManyRequests {
				return usecase.Answer{}, false, err // worth retrying: not kept
			}
			b, _ := json.Marshal(Detail{Detail: detail})
			return usecase.Answer{Status: st, Body: b}, true, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return usecase.Answer{}, false, err
		}
		ans := usecase.Answer{Status: status, Body: b}
		for _, k := range keptHeaders {
			if v := c.Response().Header().Get(k); v != "" {
				ans.Header = map[string]string{k: v}
			}
		}
		return ans, true, nil
	})
	if err != nil {
		return err
	}
	if replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
		for k, v := range ans.Header {
			c.Response().Header().Set(k, v)
		}
	}
	return c.JSONBlob(ans.Status, ans.Body)
}
