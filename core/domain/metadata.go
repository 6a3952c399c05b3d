package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"unicode"
	"unicode/utf8"
)

// Metadata is what a product keeps on an organization for itself: a JSON
// object of at most MaxMetadataKeys keys (metadataKey), each value a
// string of at most MaxMetadataString characters, a number or a boolean,
// at most MaxMetadataBytes encoded. Values are kept as the JSON given
// (compacted), so a number comes back exactly as it was written.
type Metadata map[string]json.RawMessage

// The metadata limits.
const (
	MaxMetadataKeys   = 50
	MaxMetadataString = 500
	MaxMetadataBytes  = 8 << 10
)

var metadataKey = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)

// MetadataPatch is a JSON merge patch (RFC 7396) of Metadata: a key set
// to a value sets it, a key set to nil removes it.
type MetadataPatch map[string]json.RawMessage

// ParseMetadataPatch reads raw, the value of the field named field, as a
// merge patch of metadata: a JSON object whose keys are metadata keys and
// whose values are strings, numbers, booleans or null.
func ParseMetadataPatch(field string, raw json.RawMessage) (MetadataPatch, error) {
	bad := func(why string) (MetadataPatch, error) { return nil, Errorf(CodeInvalid, field+" "+why) }
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return bad("must be a JSON object")
	}
	if len(obj) > MaxMetadataKeys {
		return bad(fmt.Sprintf("has %d keys; at most %d", len(obj), MaxMetadataKeys))
	}
	patch := MetadataPatch{}
	for k, v := range obj {
		if !metadataKey.MatchString(k) {
			return bad(fmt.Sprintf("key %q must be 1 to 40 letters, digits, _ or -", truncate(k, 50)))
		}
		if string(v) == "null" {
			patch[k] = nil
			continue
		}
		value, err := metadataValue(v)
		if err != nil {
			return bad(fmt.Sprintf("key %q: %s", k, err.Error()))
		}
		patch[k] = value
	}
	return patch, nil
}

// metadataValue checks and compacts one metadata value.
func metadataValue(v json.RawMessage) (json.RawMessage, error) {
	var buf bytes.Buffer
	if err := json.Compact(&buf, v); err != nil {
		return nil, fmt.Errorf("value is not JSON")
	}
	out := json.RawMessage(buf.Bytes())
	switch out[0] {
	case '"':
		var s string
		if err := json.Unmarshal(out, &s); err != nil {
			return nil, fmt.Errorf("value is not a JSON string")
		}
		if n := utf8.RuneCountInString(s); n > MaxMetadataString {
			return nil, fmt.Errorf("a string value is %d characters; at most %d", n, MaxMetadataString)
		}
		if !utf8.ValidString(s) || slices.ContainsFunc([]rune(s), func(r rune) bool { return r == utf8.RuneError }) {
			return nil, fmt.Errorf("a string value must be valid Unicode")
		}
	case 't', 'f':
	case '{', '[':
		return nil, fmt.Errorf("values must be strings, numbers or booleans, not objects or arrays")
	default:
		var n json.Number
		if err := json.Unmarshal(out, &n); err != nil {
			return nil, fmt.Errorf("values must be strings, numbers or booleans")
		}
	}
	return out, nil
}

// Apply is m with patch applied, and the keys whose value it changed,
// sorted; field names the metadata in errors (a limit the result would
// pass).
func (m Metadata) Apply(field string, patch MetadataPatch) (Metadata, []string, error) {
	out := maps.Clone(m)
	if out == nil {
		out = Metadata{}
	}
	var changed []string
	for k, v := range patch {
		old, had := out[k]
		switch {
		case v == nil && had:
			delete(out, k)
		case v == nil:
			continue
		case had && bytes.Equal(old, v):
			continue
		default:
			out[k] = v
		}
		changed = append(changed, k)
	}
	slices.Sort(changed)
	if len(out) > MaxMetadataKeys {
		return m, nil, Errorf(CodeInvalid, fmt.Sprintf("%s would have %d keys; at most %d", field, len(out), MaxMetadataKeys))
	}
	if n := out.Size(); n > MaxMetadataBytes {
		return m, nil, Errorf(CodeInvalid, fmt.Sprintf("%s would be %d bytes encoded; at most %d", field, n, MaxMetadataBytes))
	}
	if len(out) == 0 {
		out = nil
	}
	return out, changed, nil
}

// Size is m's encoded length.
func (m Metadata) Size() int {
	b, _ := json.Marshal(m)
	return len(b)
}

// Encode is m as one JSON object ({} when empty).
func (m Metadata) Encode() []byte {
	if len(m) == 0 {
		return []byte("{}")
	}
	b, _ := json.Marshal(m)
	return b
}

// DecodeMetadata reads what Encode wrote (the stores keep it so).
func DecodeMetadata(b []byte) (Metadata, error) {
	if len(b) == 0 {
		return nil, nil
	}
	var m Metadata
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

// MaxExternalID bounds an external id.
const MaxExternalID = 64

// NewExternalID checks an organization's external id: the id a product
// knows it by, 1 to 64 characters, none of them a control character or
// white space at either end.
func NewExternalID(s string) (string, error) {
	bad := Errorf(CodeInvalid, fmt.Sprintf("external_id must be 1 to %d characters, with no control characters and no white space at either end", MaxExternalID))
	if s == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > MaxExternalID {
		return "", bad
	}
	r0, _ := utf8.DecodeRuneInString(s)
	rn, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(r0) || unicode.IsSpace(rn) || slices.ContainsFunc([]rune(s), unicode.IsControl) {
		return "", bad
	}
	return s, nil
}

// ErrExternalIDExists says another organization has that external id.
var ErrExternalIDExists = Errorf(CodeConflict, "external_id already belongs to another organization")

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
