// Package webhook delivers orgd's webhooks: over HTTP, signed as Standard
// Webhooks v1 (with the reference library, so any receiver built on a
// Standard Webhooks or Svix library verifies them), to addresses checked
// at registration and again at every connection; and it seals their
// secrets at rest.
package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"orgd/core/domain"
	"orgd/ports"
)

// MaxBody bounds what is sent (one event's payload) and what is read of
// an answer (the rest is not read).
const (
	MaxBody       = 256 << 10
	maxAnswerRead = 64 << 10
)

// Options configure a Sender.
type Options struct {
	// AllowPrivate lets endpoints be on loopback, private, link-local and
	// other non-public addresses (development, local receivers).
	AllowPrivate bool
	// RequireHTTPS refuses plain-http endpoints (production).
	RequireHTTPS bool
	// Resolver resolves endpoint hosts at registration (default: the
	// system's).
	Resolver *net.Resolver
}

// Sender implements ports.WebhookSender over HTTP.
type Sender struct {
	opts   Options
	client *http.Client
}

var _ ports.WebhookSender = (*Sender)(nil)

// NewSender returns a Sender. Its connections go straight to the
// endpoint (no proxy from the environment: it would bypass the address
// check), follow no redirect, and are refused, once resolved, to an
// address the options do not allow.
func NewSender(o Options) *Sender {
	if o.Resolver == nil {
		o.Resolver = net.DefaultResolver
	}
	s := &Sender{opts: o}
	dialer := &net.Dialer{Timeout: 10 * time.Second, Control: s.control}
	s.client = &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   10 * time.Second,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ExpectContinueTimeout: time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// refusedAddr is a connection refused to a non-public address.
type refusedAddr struct{ addr netip.Addr }

func (e *refusedAddr) Error() string {
	return fmt.Sprintf("address %s is not public (loopback, private, link-local or reserved)", e.addr)
}

// control refuses, at each connection, an address the options do not
// allow: a name that resolved to a public address at registration and
// to a private one now (DNS rebinding) is refused here.
func (s *Sender) control(_, address string, _ syscall.RawConn) error {
	if s.opts.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &refusedAddr{}
	}
	if !Public(ap.Addr()) {
		return &refusedAddr{addr: ap.Addr()}
	}
	return nil
}

// nonPublic are the networks an endpoint may not be on unless private
// addresses are allowed, besides loopback, private, link-local,
// multicast and unspecified ones (netip says those).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT (and some clouds' metadata)
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),  // NAT64: any IPv4 address, private ones too
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("100::/64"),  // discard
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated)
	// IPv6 forms that carry an IPv4 address inside, private ones too.
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated): ::127.0.0.1
	netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT: ::ffff:0:7f00:1
	netip.MustParsePrefix("2002::/16"),       // 6to4
	netip.MustParsePrefix("2001::/32"),       // Teredo
}

// Public reports whether a is a public unicast address.
func Public(a netip.Addr) bool {
	a = a.Unmap()
	if !a.IsValid() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

// Check implements ports.WebhookSender: https in production, and every
// address the host resolves to public unless private ones are allowed.
// No request is sent.
func (s *Sender) Check(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return domain.Errorf(domain.CodeInvalid, "url is not a URL")
	}
	if s.opts.RequireHTTPS && u.Scheme != "https" {
		return domain.Errorf(domain.CodeInvalid, "url must be https")
	}
	if s.opts.AllowPrivate {
		return nil
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		if Public(a) {
			return nil
		}
		return domain.Errorf(domain.CodeInvalid, fmt.Sprintf("url points to %s, which is not a public address (loopback, private, link-local, metadata or reserved); orgd does not send webhooks there", a.Unmap()))
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := s.opts.Resolver.LookupNetIP(ctx, "ip", host)
	public := err == nil && len(addrs) > 0
	for _, a := range addrs {
		public = public && Public(a)
	}
	if !public {
		// One answer whether the name does not resolve or resolves to a
		// private address: the refusal must not map an internal network.
		return errNotPublicHost
	}
	return nil
}

// errNotPublicHost refuses a host name that does not resolve to public
// addresses only.
var errNotPublicHost = domain.Errorf(domain.CodeInvalid, "url's host must resolve, and only to public addresses; orgd does not send webhooks to loopback, private, link-local, metadata or reserved addresses")

// Send implements ports.WebhookSender.
func (s *Sender) Send(ctx context.Context, req ports.WebhookRequest) ports.WebhookResponse {
	if len(req.Body) > MaxBody {
		return ports.WebhookResponse{Failure: "payload larger than the webhook body limit"}
	}
	sigs := make([]string, 0, len(req.Secrets))
	for _, secret := range req.Secrets {
		wh, err := standardwebhooks.NewWebhookRaw(secret)
		if err != nil {
			continue
		}
		sig, err := wh.Sign(req.ID, req.Timestamp, req.Body)
		if err == nil {
			sigs = append(sigs, sig)
		}
	}
	if len(sigs) == 0 {
		return ports.WebhookResponse{Failure: "no signing secret"}
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		return ports.WebhookResponse{Failure: "url cannot be requested"}
	}
	hr.Header.Set("Content-Type", "application/json")
	hr.Header.Set("User-Agent", "orgd-webhooks/1")
	hr.Header.Set(standardwebhooks.HeaderWebhookID, req.ID)
	hr.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(req.Timestamp.Unix(), 10))
	hr.Header.Set(standardwebhooks.HeaderWebhookSignature, strings.Join(sigs, " "))
	resp, err := s.client.Do(hr)
	if err != nil {
		return ports.WebhookResponse{Failure: failure(ctx, err)}
	}
	// Read a bounded part of the answer (so the connection can be
	// reused), and nothing of it is kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxAnswerRead))
	_ = resp.Body.Close()
	return ports.WebhookResponse{Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
}

// maxRetryAfterSeconds bounds a Retry-After read (a week; the core
// bounds it further).
const maxRetryAfterSeconds = 7 * 24 * 3600

// failure says, in orgd's words, why no answer came.
func failure(ctx context.Context, err error) string {
	var refused *refusedAddr
	var dns *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var alert tls.AlertError
	var record tls.RecordHeaderError
	switch {
	case errors.As(err, &refused):
		return "refused: " + refused.Error()
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil:
		return "no answer in time"
	case errors.As(err, &dns):
		return "host does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed before an answer"
	case errors.As(err, &unknownCA), errors.As(err, &hostname), errors.As(err, &invalid):
		return "TLS certificate not trusted"
	case errors.As(err, &alert), errors.As(err, &record):
		return "TLS handshake failed"
	}
	return "connection failed"
}

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(min(max(n, 0), maxRetryAfterSeconds)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
