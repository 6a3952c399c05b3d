package webhook

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
	"orgd/ports"
)

func TestDeliveriesVerifyWithTheReferenceLibrary(t *testing.T) {
	oldSecret, newSecret := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	var verified, refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for _, s := range [][]byte{oldSecret, newSecret} {
			// As a receiver would: from the secret's whsec_ form.
			wh, err := standardwebhooks.NewWebhook("whsec_" + base64.StdEncoding.EncodeToString(s))
			require.NoError(t, err)
			if err := wh.Verify(body, r.Header); err != nil {
				refused.Add(1)
			} else {
				verified.Add(1)
			}
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	s := NewSender(Options{AllowPrivate: true})
	body := []byte(`{"type":"organization.created","timestamp":"2026-12-04T10:00:00Z","data":{}}`)
	res := s.Send(context.Background(), ports.WebhookRequest{URL: srv.URL, ID: "abc.0", Timestamp: time.Now(), Body: body, Secrets: [][]byte{newSecret, oldSecret}})
	require.Equal(t, http.StatusNoContent, res.Status, res.Failure)
	assert.Equal(t, int32(2), verified.Load(), "during a rotation, either secret verifies")

	verified.Store(0)
	res = s.Send(context.Background(), ports.WebhookRequest{URL: srv.URL, ID: "abc.1", Timestamp: time.Now(), Body: body, Secrets: [][]byte{newSecret}})
	require.Equal(t, http.StatusNoContent, res.Status)
	assert.Equal(t, int32(1), verified.Load(), "after it, only the new one")
	assert.Equal(t, int32(1), refused.Load())
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	var followed atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Add(1) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusFound)
	}))
	defer srv.Close()
	res := NewSender(Options{AllowPrivate: true}).Send(context.Background(), ports.WebhookRequest{URL: srv.URL, ID: "a.0", Timestamp: time.Now(), Body: []byte(`{}`), Secrets: [][]byte{{1}}})
	assert.Equal(t, http.StatusFound, res.Status)
	assert.Zero(t, followed.Load(), "no request reached the redirect's target")
}

func TestRegistrationRefusesNonPublicAddresses(t *testing.T) {
	s := NewSender(Options{RequireHTTPS: true})
	for _, u := range []string{
		"https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data", "https://127.0.0.1/", "https://[::1]/",
		"https://[fd00:ec2::254]/", "https://100.100.100.200/", "https://[::ffff:10.0.0.1]/", "https://192.168.1.10:8443/",
		"https://172.16.0.1/", "https://0.0.0.0/", "https://[fe80::1]/", "https://localhost/", "http://8.8.8.8/",
		// IPv6 forms that carry an IPv4 address inside.
		"https://[::127.0.0.1]/", "https://[::169.254.169.254]/", "https://[::ffff:0:7f00:1]/", "https://[2002:7f00:1::]/",
		"https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "https://[64:ff9b::a9fe:a9fe]/",
	} {
		err := s.Check(context.Background(), u)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%s", u)
	}
	// A name: the same answer whether it resolves to a private address or
	// not at all, and never the address (no map of an internal network).
	private := s.Check(context.Background(), "https://localhost/")
	missing := s.Check(context.Background(), "https://no-such-host.invalid/")
	require.Error(t, private)
	assert.Equal(t, private, missing)
	assert.NotContains(t, private.Error(), "127.0.0.1")
	assert.NoError(t, s.Check(context.Background(), "https://8.8.8.8/hook"), "a public address (no lookup: it is literal)")
	assert.NoError(t, NewSender(Options{AllowPrivate: true}).Check(context.Background(), "http://127.0.0.1:9000/"), "allowed for local receivers")
}

func TestConnectionsToNonPublicAddressesAreRefused(t *testing.T) {
	// A name that resolved to a public address at registration may
	// resolve to a private one later: the dialer checks what it connects
	// to.
	var reached atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer srv.Close()
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		// By address, and by a name resolving to it (as a name that
		// resolved elsewhere at registration might later).
		res := NewSender(Options{}).Send(context.Background(), ports.WebhookRequest{URL: u, ID: "a.0", Timestamp: time.Now(), Body: []byte(`{}`), Secrets: [][]byte{{1}}})
		assert.Zero(t, res.Status, u)
		assert.Contains(t, res.Failure, "refused: address ", u)
		assert.Contains(t, res.Failure, "is not public", u)
	}
	assert.Zero(t, reached.Load(), "no traffic sent")
}

func TestFailuresAreOrgdsWords(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(500 * time.Millisecond):
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	s := NewSender(Options{AllowPrivate: true})
	res := s.Send(ctx, ports.WebhookRequest{URL: srv.URL, ID: "a.0", Timestamp: time.Now(), Body: []byte(`{}`), Secrets: [][]byte{{1}}})
	assert.Equal(t, ports.WebhookResponse{Failure: "no answer in time"}, res)

	closed := httptest.NewServer(http.NotFoundHandler())
	url := closed.URL
	closed.Close()
	res = s.Send(context.Background(), ports.WebhookRequest{URL: url, ID: "a.0", Timestamp: time.Now(), Body: []byte(`{}`), Secrets: [][]byte{{1}}})
	assert.Equal(t, "connection refused", res.Failure)

	loud := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "7")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(bytes.Repeat([]byte("secret internals "), 1<<16)) // 1 MiB nobody reads
	}))
	defer loud.Close()
	res = s.Send(context.Background(), ports.WebhookRequest{URL: loud.URL, ID: "a.0", Timestamp: time.Now(), Body: []byte(`{}`), Secrets: [][]byte{{1}}})
	assert.Equal(t, ports.WebhookResponse{Status: 503, RetryAfter: 7 * time.Second}, res, "status and Retry-After only: the answer's body is not kept")
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	assert.Equal(t, 120*time.Second, retryAfter("120", now))
	assert.Equal(t, 30*time.Second, retryAfter(now.Add(30*time.Second).Format(http.TimeFormat), now))
	assert.Zero(t, retryAfter("soon", now))
	assert.Zero(t, retryAfter("-5", now))
	assert.Equal(t, time.Duration(maxRetryAfterSeconds)*time.Second, retryAfter("99999999999", now), "bounded, not overflowed")
}

func TestPublic(t *testing.T) {
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111"} {
		assert.True(t, Public(netip.MustParseAddr(a)), a)
	}
	for _, a := range []string{"10.1.2.3", "127.0.0.1", "169.254.169.254", "::1", "fd00:ec2::254", "64:ff9b::a00:1", "::ffff:192.168.0.1", "255.255.255.255", "224.0.0.1"} {
		assert.False(t, Public(netip.MustParseAddr(a)), a)
	}
}

func TestSealer(t *testing.T) {
	s, err := NewSealer([]byte("one key one key one key one key!"))
	require.NoError(t, err)
	secret := bytes.Repeat([]byte{7}, 32)
	a, err := s.Seal(secret)
	require.NoError(t, err)
	b, err := s.Seal(secret)
	require.NoError(t, err)
	assert.NotEqual(t, a, b, "a fresh nonce each time")
	assert.False(t, bytes.Contains(a, secret))
	got, err := s.Open(a)
	require.NoError(t, err)
	assert.Equal(t, secret, got)

	other, err := NewSealer([]byte("another key another key another!"))
	require.NoError(t, err)
	_, err = other.Open(a)
	assert.Error(t, err, "SECRET_KEY changed: the secret does not open")
	a[len(a)-1] ^= 1
	_, err = s.Open(a)
	assert.Error(t, err, "tampered")
}
