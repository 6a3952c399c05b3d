// Package token implements ports.TokenIssuer with signed JWTs (jwx v3).
package token

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"

	"orgd/core/domain"
	"orgd/ports"
)

// Claim names beyond the registered ones.
const (
	claimOrg  = "org"
	claimCV   = "cv"
	claimRole = "role"
	roleSuper = string(domain.RoleSuperAdmin)
	// Issuer is the iss (and aud) of every token orgd signs.
	Issuer = "orgd"
)

// JWT signs and verifies tokens with one HMAC key and one algorithm.
type JWT struct {
	alg   jwa.SignatureAlgorithm
	key   []byte
	skew  time.Duration
	clock ports.Clock
}

// Option configures New.
type Option func(*JWT)

// WithClock makes Verify tell the time by c (default: the system clock),
// the clock the use cases issue tokens by.
func WithClock(c ports.Clock) Option { return func(j *JWT) { j.clock = c } }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

var _ ports.TokenIssuer = (*JWT)(nil)

// Algorithms names the HMAC algorithms New accepts.
var Algorithms = []string{"HS256", "HS384", "HS512"}

// New returns a JWT issuer for the HMAC algorithm named alg (one of
// Algorithms). Tokens signed with any other algorithm never verify.
func New(alg string, key []byte, opts ...Option) (*JWT, error) {
	a, ok := jwa.LookupSignatureAlgorithm(alg)
	if !ok || !slices.Contains(Algorithms, alg) {
		return nil, fmt.Errorf("token: unsupported algorithm %q (use %s)", alg, strings.Join(Algorithms, ", "))
	}
	if len(key) == 0 {
		return nil, errors.New("token: empty key")
	}
	j := &JWT{alg: a, key: key, skew: 30 * time.Second, clock: systemClock{}}
	for _, o := range opts {
		o(j)
	}
	return j, nil
}

// Issue implements ports.TokenIssuer.
func (j *JWT) Issue(c domain.TokenClaims) (string, error) {
	b := jwt.NewBuilder()
	if c.Super {
		b = b.Claim(claimRole, roleSuper)
	}
	t, err := b.
		Issuer(Issuer).
		Audience([]string{Issuer}).
		Subject(string(c.AdminID)).
		IssuedAt(c.IssuedAt).
		NotBefore(c.IssuedAt).
		Expiration(c.ExpiresAt).
		Claim(claimOrg, string(c.OrgID)).
		Claim(claimCV, c.CredentialsVersion).
		Build()
	if err != nil {
		return "", fmt.Errorf("build token: %w", err)
	}
	signed, err := jwt.Sign(t, jwt.WithKey(j.alg, j.key))
	if err != nil {
		return "", fmt.Errorf("sign token: %w", err)
	}
	return string(signed), nil
}

// Verify implements ports.TokenIssuer.
func (j *JWT) Verify(s string) (domain.TokenClaims, error) { return j.VerifyAt(s, j.clock.Now()) }

// VerifyAt is Verify as if the time were now.
func (j *JWT) VerifyAt(s string, now time.Time) (domain.TokenClaims, error) {
	t, err := jwt.ParseString(s,
		jwt.WithKey(j.alg, j.key),
		jwt.WithValidate(true),
		jwt.WithIssuer(Issuer),
		jwt.WithAudience(Issuer),
		jwt.WithAcceptableSkew(j.skew),
		jwt.WithClock(jwt.ClockFunc(func() time.Time { return now })),
		jwt.WithRequiredClaim("exp"),
		jwt.WithRequiredClaim("iat"),
		jwt.WithRequiredClaim("sub"),
	)
	if err != nil || !canonical(s) || !plainClaims(s) {
		return domain.TokenClaims{}, domain.ErrInvalidToken
	}
	var c domain.TokenClaims
	sub, _ := t.Subject()
	c.AdminID = domain.ID(sub)
	var org, role string
	if err := t.Get(claimOrg, &org); err != nil {
		return domain.TokenClaims{}, domain.ErrInvalidToken
	}
	c.OrgID = domain.ID(org)
	if t.Has(claimRole) {
		if err := t.Get(claimRole, &role); err != nil || role != roleSuper {
			return domain.TokenClaims{}, domain.ErrInvalidToken
		}
		c.Super = true
	}
	var cv float64
	if err := t.Get(claimCV, &cv); err != nil {
		return domain.TokenClaims{}, domain.ErrInvalidToken
	}
	c.CredentialsVersion = int64(cv)
	c.IssuedAt, _ = t.IssuedAt()
	c.ExpiresAt, _ = t.Expiration()
	if !c.AdminID.Valid() || (c.Super != (c.OrgID == "")) || (!c.Super && !c.OrgID.Valid()) {
		return domain.TokenClaims{}, domain.ErrInvalidToken
	}
	return c, nil
}

// canonical reports whether the compact token s is spelled the one way
// orgd signs it: three non-empty segments, each canonical base64url
// (domain.DecodeBase64URL), so that no bit of its signature or claims can
// be flipped without changing what it decodes to, and a token compared,
// rate limited or logged has one spelling.
func canonical(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if _, ok := domain.DecodeBase64URL(p); !ok || p == "" {
			return false
		}
	}
	return true
}

// plainClaims reports whether the claims of the compact token s say one
// thing only: no claim is given twice (a JSON decoder keeps the last), and
// every time (exp, iat, nbf) is a whole number of seconds written as one,
// of at most maxTimeDigits digits, so that "exp": "1900000000" or
// "exp": 1e999 (a token that never expires) is refused, not interpreted.
// Only a holder of the key can sign a token at all; this keeps one that
// does from minting one that means more than orgd would issue.
func plainClaims(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		key, ok := tok.(string)
		if err != nil || !ok || seen[key] {
			return false
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return false
		}
		if timeClaims[key] && !wholeSeconds(raw) {
			return false
		}
	}
	return true
}

var timeClaims = map[string]bool{"exp": true, "iat": true, "nbf": true}

// maxTimeDigits bounds a time claim: ten digits of seconds reach the year
// 2286.
const maxTimeDigits = 10

func wholeSeconds(raw json.RawMessage) bool {
	if len(raw) == 0 || len(raw) > maxTimeDigits {
		return false
	}
	for _, c := range raw {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
