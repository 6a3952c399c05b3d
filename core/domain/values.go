package domain

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"
)

// ID identifies an organization or an admin: 24 lower-case hex digits, the
// textual form of a MongoDB ObjectID.
type ID string

// NewID returns a fresh ID shaped like a MongoDB ObjectID: a 4-byte
// big-endian timestamp followed by 8 random bytes.
func NewID(now time.Time) ID {
	var b [12]byte
	binary.BigEndian.PutUint32(b[:4], uint32(now.Unix())) //nolint:gosec // ObjectID timestamps are 32-bit by definition
	_, _ = rand.Read(b[4:])
	return ID(hex.EncodeToString(b[:]))
}

// Valid reports whether id has the shape NewID produces.
func (id ID) Valid() bool {
	if len(id) != 24 {
		return false
	}
	_, err := hex.DecodeString(string(id))
	return err == nil && strings.ToLower(string(id)) == string(id)
}

// DecodeBase64URL decodes s, unpadded base64url (RFC 4648 §5), if s is the
// one spelling of what it decodes to: no padding, no line breaks (which
// Go's decoder skips), and no bits set past the last byte (which it
// ignores). A token or secret so has exactly one spelling, and comparing,
// rate limiting and logging it all see the same value.
func DecodeBase64URL(s string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil && base64.RawURLEncoding.EncodeToString(b) == s
}

// Name limits.
const (
	NameMinLen     = 3
	NameMaxLen     = 63
	PasswordMinLen = 8
	PasswordMaxLen = 128
	EmailMaxLen    = 254
	// CollectionPrefix starts the name of every tenant collection.
	CollectionPrefix = "org_"
)

// OrgName is a validated organization name, kept as the client spelled it.
type OrgName struct{ display string }

// NewOrgName validates s: 3–63 ASCII letters, digits, '_' and '-', starting
// with a letter or a digit. Anything else can never reach a collection name
// or a query.
func NewOrgName(s string) (OrgName, error) {
	if len(s) < NameMinLen || len(s) > NameMaxLen {
		return OrgName{}, Errorf(CodeInvalid, fmt.Sprintf("organization_name must be %d to %d characters", NameMinLen, NameMaxLen))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return OrgName{}, Errorf(CodeInvalid, "organization_name must start with a letter or a digit")
		}
		if !alnum && c != '_' && c != '-' {
			return OrgName{}, Errorf(CodeInvalid, "organization_name may contain only ASCII letters, digits, '_' and '-'")
		}
	}
	return OrgName{display: s}, nil
}

// StoredOrgName is the name a store kept, which NewOrgName accepted when
// it was written; it is not checked again, so that a rule tightened later
// cannot make an existing organization unreadable.
func StoredOrgName(s string) OrgName { return OrgName{display: s} }

// String returns the name as given.
func (n OrgName) String() string { return n.display }

// MarshalText encodes n as the name as given (an operation's intent keeps
// one).
func (n OrgName) MarshalText() ([]byte, error) { return []byte(n.display), nil }

// UnmarshalText decodes a name an intent kept, as StoredOrgName does.
func (n *OrgName) UnmarshalText(b []byte) error {
	n.display = string(b)
	return nil
}

// IsZero reports whether n is no name at all.
func (n OrgName) IsZero() bool { return n.display == "" }

// Key returns the case-folded form that uniqueness is decided on.
func (n OrgName) Key() string { return strings.ToLower(n.display) }

// Collection returns the tenant collection name for n.
func (n OrgName) Collection() string { return CollectionPrefix + n.Key() }

// Email is a validated, lower-cased email address.
type Email string

// NewEmail validates s as a single bare address (no display name) and
// normalizes it to lower case. The address must be ASCII: a dot-atom local
// part and a host name (an internationalized domain in its xn-- form).
// Unicode would let look-alikes (a Cyrillic "а", a decomposed "ä") be
// distinct accounts that a person cannot tell apart; quoted local parts
// and address literals (a@[127.0.0.1]) are refused for the same reason.
func NewEmail(s string) (Email, error) {
	bad := Errorf(CodeInvalid, "email must be a valid email address")
	if s == "" || len(s) > EmailMaxLen || !utf8.ValidString(s) || strings.TrimSpace(s) != s {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", bad
	}
	at := strings.LastIndexByte(s, '@')
	if at < 1 || !strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, "$\x00") {
		return "", bad
	}
	if !dotAtom(s[:at]) || !hostName(s[at+1:]) {
		return "", Errorf(CodeInvalid, "email must be an ASCII address: letters, digits and .!#%&'*+/=?^_`{|}~- before the @, a host name after it (an internationalized domain in its xn-- form)")
	}
	return Email(strings.ToLower(s)), nil
}

// dotAtom reports whether s is an RFC 5322 dot-atom of ASCII atext.
func dotAtom(s string) bool {
	for _, atom := range strings.Split(s, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			c := atom[i]
			if !asciiAlnum(c) && !strings.ContainsRune("!#%&'*+/=?^_`{|}~-", rune(c)) {
				return false
			}
		}
	}
	return true
}

// hostName reports whether s is a DNS host name: dot-separated labels of
// ASCII letters, digits and inner hyphens, 1 to 63 bytes each.
func hostName(s string) bool {
	for _, label := range strings.Split(s, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if !asciiAlnum(label[i]) && label[i] != '-' {
				return false
			}
		}
	}
	return true
}

func asciiAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Password is a plain-text password that passed the length policy. It is
// never stored or logged; only its hash is.
type Password string

// NewPassword checks the length policy (8–128 characters).
func NewPassword(s string) (Password, error) {
	n := utf8.RuneCountInString(s)
	if !utf8.ValidString(s) || n < PasswordMinLen || n > PasswordMaxLen {
		return "", Errorf(CodeInvalid, fmt.Sprintf("password must be %d to %d characters", PasswordMinLen, PasswordMaxLen))
	}
	return Password(s), nil
}

// String hides the password from fmt verbs.
func (Password) String() string { return "[redacted]" }

// GoString hides the password from %#v.
func (Password) GoString() string { return "[redacted]" }
