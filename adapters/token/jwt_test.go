package token_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/adapters/token"
	"orgd/core/domain"
)

var key = []byte("0123456789abcdef0123456789abcdef")

func claims(now time.Time) domain.TokenClaims {
	return domain.TokenClaims{
		AdminID: domain.NewID(now), OrgID: domain.NewID(now), CredentialsVersion: 3,
		IssuedAt: now, ExpiresAt: now.Add(30 * time.Minute),
	}
}

func TestRoundTrip(t *testing.T) {
	for _, alg := range []string{"HS256", "HS384", "HS512"} {
		t.Run(alg, func(t *testing.T) {
			j, err := token.New(alg, key)
			require.NoError(t, err)
			now := time.Now().Truncate(time.Second).UTC()
			c := claims(now)
			s, err := j.Issue(c)
			require.NoError(t, err)
			got, err := j.Verify(s)
			require.NoError(t, err)
			assert.Equal(t, c.AdminID, got.AdminID)
			assert.Equal(t, c.OrgID, got.OrgID)
			assert.Equal(t, int64(3), got.CredentialsVersion)
			assert.True(t, c.ExpiresAt.Equal(got.ExpiresAt))
		})
	}
}

func TestUnsupportedAlgorithm(t *testing.T) {
	for _, alg := range []string{"none", "RS256", "hs256", ""} {
		_, err := token.New(alg, key)
		assert.Error(t, err, alg)
	}
	_, err := token.New("HS256", nil)
	assert.Error(t, err)
}

func TestRejects(t *testing.T) {
	j, err := token.New("HS256", key)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second).UTC()
	good, err := j.Issue(claims(now))
	require.NoError(t, err)

	sign := func(t *testing.T, alg jwa.SignatureAlgorithm, k []byte, build func(*jwt.Builder) *jwt.Builder) string {
		t.Helper()
		b := jwt.NewBuilder().Issuer(token.Issuer).Audience([]string{token.Issuer}).Subject(string(domain.NewID(now))).
			IssuedAt(now).Expiration(now.Add(time.Hour)).Claim("org", string(domain.NewID(now))).Claim("cv", 0)
		tok, err := build(b).Build()
		require.NoError(t, err)
		s, err := jwt.Sign(tok, jwt.WithKey(alg, k))
		require.NoError(t, err)
		return string(s)
	}
	same := func(b *jwt.Builder) *jwt.Builder { return b }
	parts := strings.Split(good, ".")
	noneHeader := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))

	cases := map[string]string{
		"garbage":        "not-a-token",
		"empty":          "",
		"alg-none":       noneHeader + "." + parts[1] + ".",
		"other-alg":      sign(t, jwa.HS512(), key, same),
		"wrong-key":      sign(t, jwa.HS256(), []byte("another-key-another-key-another-k"), same),
		"tampered":       parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"x"}`)) + "." + parts[2],
		"expired":        sign(t, jwa.HS256(), key, func(b *jwt.Builder) *jwt.Builder { return b.Expiration(now.Add(-time.Minute)) }),
		"not-yet":        sign(t, jwa.HS256(), key, func(b *jwt.Builder) *jwt.Builder { return b.NotBefore(now.Add(time.Hour)) }),
		"wrong-issuer":   sign(t, jwa.HS256(), key, func(b *jwt.Builder) *jwt.Builder { return b.Issuer("evil") }),
		"wrong-audience": sign(t, jwa.HS256(), key, func(b *jwt.Builder) *jwt.Builder { return b.Audience([]string{"other"}) }),
		"bad-org-claim":  sign(t, jwa.HS256(), key, func(b *jwt.Builder) *jwt.Builder { return b.Claim("org", "x") }),
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := j.Verify(s)
			assert.ErrorIs(t, err, domain.ErrInvalidToken)
		})
	}
	t.Run("within-skew", func(t *testing.T) {
		s := sign(t, jwa.HS256(), key, func(b *jwt.Builder) *jwt.Builder { return b.Expiration(now.Add(-10 * time.Second)) })
		_, err := j.VerifyAt(s, now)
		assert.NoError(t, err, "30 s of clock skew is tolerated")
	})
}

func TestSuperAdminClaims(t *testing.T) {
	j, err := token.New("HS256", key)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second).UTC()
	s, err := j.Issue(domain.TokenClaims{AdminID: domain.NewID(now), Super: true, IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
	require.NoError(t, err)
	c, err := j.Verify(s)
	require.NoError(t, err)
	assert.True(t, c.Super)
	assert.Empty(t, c.OrgID)

	forged := func(b *jwt.Builder) string {
		tok, err := b.Issuer(token.Issuer).Audience([]string{token.Issuer}).Subject(string(domain.NewID(now))).
			IssuedAt(now).Expiration(now.Add(time.Hour)).Claim("cv", 0).Build()
		require.NoError(t, err)
		out, err := jwt.Sign(tok, jwt.WithKey(jwa.HS256(), key))
		require.NoError(t, err)
		return string(out)
	}
	for name, s := range map[string]string{
		"super-with-org":   forged(jwt.NewBuilder().Claim("role", "super_admin").Claim("org", string(domain.NewID(now)))),
		"other-role":       forged(jwt.NewBuilder().Claim("role", "admin").Claim("org", "")),
		"org-admin-no-org": forged(jwt.NewBuilder().Claim("org", "")),
	} {
		_, err := j.Verify(s)
		assert.ErrorIs(t, err, domain.ErrInvalidToken, name)
	}
}

func FuzzVerify(f *testing.F) {
	j, err := token.New("HS256", key)
	require.NoError(f, err)
	now := time.Now().Truncate(time.Second).UTC()
	good, err := j.Issue(claims(now))
	require.NoError(f, err)
	for _, s := range []string{good, "", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", good[:len(good)-2], strings.ReplaceAll(good, ".", "..")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := j.Verify(s)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("%q: %v is not ErrInvalidToken", s, err)
			}
			return
		}
		if s != good && c.AdminID == "" {
			t.Fatalf("%q verified without a subject", s)
		}
	})
}

// TestRefusesClaimsThatSayTwoThings signs payloads by hand, as only a key
// holder can: a claim given twice (the decoder would keep the last), a
// time as a string, and a time too large to be one (a token that never
// expires) are refused; the same payload written plainly verifies.
func TestRefusesClaimsThatSayTwoThings(t *testing.T) {
	j, err := token.New("HS256", key)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second).UTC()
	sub, org := domain.NewID(now), domain.NewID(now)
	signRaw := func(payload string) string {
		h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
		p := base64.RawURLEncoding.EncodeToString([]byte(payload))
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(h + "." + p))
		return h + "." + p + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	}
	claims := func(exp string, extra string) string {
		return fmt.Sprintf(`{"iss":"orgd","aud":["orgd"],"sub":%q,"org":%q,"cv":0,"iat":%d,"exp":%s%s}`, sub, org, now.Unix(), exp, extra)
	}
	plain := signRaw(claims(fmt.Sprint(now.Add(time.Hour).Unix()), ""))
	_, err = j.VerifyAt(plain, now)
	require.NoError(t, err, "the hand-signed token itself is good")
	for name, payload := range map[string]string{
		"duplicate-claim":    claims(fmt.Sprint(now.Add(time.Hour).Unix()), fmt.Sprintf(`,"sub":%q`, domain.NewID(now))),
		"duplicate-exp":      claims(fmt.Sprint(now.Add(time.Hour).Unix()), fmt.Sprintf(`,"exp":%d`, now.Add(100*365*24*time.Hour).Unix())),
		"exp-as-string":      claims(fmt.Sprintf(`"%d"`, now.Add(time.Hour).Unix()), ""),
		"exp-1e999":          claims("1e999", ""),
		"exp-fraction":       claims(fmt.Sprintf("%d.5", now.Add(time.Hour).Unix()), ""),
		"exp-past-year-2286": claims("99999999999", ""),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := j.VerifyAt(signRaw(payload), now)
			assert.ErrorIs(t, err, domain.ErrInvalidToken)
		})
	}
}

// spellings returns other spellings of the compact token s that decode to
// the same bytes under a lenient base64url decoder: the unused low bits of
// each segment's last character set, a line break inside a segment or
// after the token, padding added.
func spellings(s string) map[string]string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := map[string]string{}
	parts := strings.Split(s, ".")
	for i, p := range parts {
		// A segment of 4k+2 characters has 4 unused bits in its last one,
		// of 4k+3, 2; of 4k, none.
		unused := map[int]int{2: 4, 3: 2}[len(p)%4]
		last := strings.IndexByte(alphabet, p[len(p)-1])
		for bits := 1; bits < 1<<unused; bits++ {
			q := append([]string(nil), parts...)
			q[i] = p[:len(p)-1] + string(alphabet[last^bits])
			out[fmt.Sprintf("segment %d, low bits %b", i, bits)] = strings.Join(q, ".")
		}
		for name, in := range map[string]string{"LF": "\n", "CRLF": "\r\n"} {
			q := append([]string(nil), parts...)
			q[i] = p[:len(p)/2] + in + p[len(p)/2:]
			out[fmt.Sprintf("segment %d, %s inside", i, name)] = strings.Join(q, ".")
		}
		if len(p)%4 != 0 {
			q := append([]string(nil), parts...)
			q[i] = p + strings.Repeat("=", 4-len(p)%4)
			out[fmt.Sprintf("segment %d, padded", i)] = strings.Join(q, ".")
		}
	}
	out["LF after"] = s + "\n"
	return out
}

// TestTokenHasOneSpelling: a token is valid only as orgd spelled it; every
// other spelling of the same bytes is refused as a wrong token is.
func TestTokenHasOneSpelling(t *testing.T) {
	j, err := token.New("HS256", key)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second).UTC()
	s, err := j.Issue(claims(now))
	require.NoError(t, err)
	_, err = j.Verify(s)
	require.NoError(t, err)
	variants := spellings(s)
	require.GreaterOrEqual(t, len(variants), 10)
	for name, v := range variants {
		require.NotEqual(t, s, v)
		_, err := j.Verify(v)
		assert.ErrorIs(t, err, domain.ErrInvalidToken, name)
	}
}
