package domain_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"orgd/core/domain"
)

var safeCollection = regexp.MustCompile(`^org_[a-z0-9][a-z0-9_-]{2,62}$`)

func TestNewOrgName(t *testing.T) {
	ok := []string{"acme", "Acme_Corp", "a-1", "123", strings.Repeat("x", 63)}
	bad := []string{"", "ab", strings.Repeat("x", 64), "a.b", "a$b", "system.users", "a b", "_ab", "-ab", "ab\x00c", "ümlaut", "../x", "a/b", "a\\b"}
	for _, s := range ok {
		n, err := domain.NewOrgName(s)
		require.NoError(t, err, s)
		assert.Equal(t, s, n.String())
		assert.Equal(t, strings.ToLower(s), n.Key())
		assert.Regexp(t, safeCollection, n.Collection())
	}
	for _, s := range bad {
		_, err := domain.NewOrgName(s)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q must be refused", s)
	}
}

func TestNewEmail(t *testing.T) {
	ok := map[string]domain.Email{
		"a@b.co": "a@b.co", "First.Last+tag@Example.COM": "first.last+tag@example.com",
		"o'brien_x@sub-domain.example.org": "o'brien_x@sub-domain.example.org", "a@xn--mnchen-3ya.de": "a@xn--mnchen-3ya.de",
	}
	for in, want := range ok {
		got, err := domain.NewEmail(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	for _, in := range []string{
		"", "a", "a@", "@b.co", "a@b", " a@b.co", "A <a@b.co>", "a@b.co\x00", "$ne@b.co", strings.Repeat("a", 250) + "@b.co",
		"\u0430dmin@acme.com",   // Cyrillic а: a look-alike of admin@acme.com
		"ja\u0308ger@acme.com",  // a decomposed ä
		"j\u00e4ger@acme.com",   // a composed ä: Unicode local parts are refused, so the two cannot differ
		"admin@m\u00fcnchen.de", // an internationalized domain must come as xn--
		"n@[127.0.0.1]", "n@[IPv6:::1]", `"a b"@c.de`, `"admin"@acme.com`,
		"a..b@c.de", ".a@c.de", "a@-c.de", "a@c-.de", "a@c..de", "a@c_d.de",
	} {
		_, err := domain.NewEmail(in)
		assert.Equal(t, domain.CodeInvalid, domain.ErrorCode(err), "%q must be refused", in)
	}
}

func TestPasswordNeverPrints(t *testing.T) {
	p, err := domain.NewPassword("hunter2-hunter2")
	require.NoError(t, err)
	assert.NotContains(t, p.String(), "hunter2")
}

func TestNewID(t *testing.T) {
	id := domain.NewID(time.Unix(0x5f5e1000, 0))
	assert.True(t, id.Valid())
	assert.Equal(t, "5f5e1000", string(id[:8]), "starts with the timestamp, like an ObjectID")
	assert.NotEqual(t, id, domain.NewID(time.Unix(0x5f5e1000, 0)))
	assert.False(t, domain.ID("5F5E1000AAAAAAAAAAAAAAAA").Valid())
	assert.False(t, domain.ID("xyz").Valid())
}

func FuzzNewOrgName(f *testing.F) {
	for _, s := range []string{"acme", "a.b", "$x", "system.x", "ab\x00", "ÅÅÅ", "a-b_c", "../../etc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := domain.NewOrgName(s)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("%q: unexpected error %v", s, err)
			}
			return
		}
		if !safeCollection.MatchString(n.Collection()) {
			t.Fatalf("%q gives unsafe collection %q", s, n.Collection())
		}
	})
}

func FuzzNewEmail(f *testing.F) {
	for _, s := range []string{"a@b.co", "A@B.CO", "x", "a@b", "\"a b\"@c.de", "a@[127.0.0.1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := domain.NewEmail(s)
		if err != nil {
			if domain.ErrorCode(err) != domain.CodeInvalid {
				t.Fatalf("%q: unexpected error %v", s, err)
			}
			return
		}
		if string(e) != strings.ToLower(string(e)) || strings.ContainsAny(string(e), "$\x00 []\"") || len(e) > domain.EmailMaxLen {
			t.Fatalf("%q accepted as %q", s, e)
		}
		for _, r := range string(e) {
			if r > 0x7e {
				t.Fatalf("%q accepted as %q, which is not ASCII", s, e)
			}
		}
	})
}
