package dots

import (
	stdjson "encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/payoutkit/dots-go/internal/codec"
)

// The types below are the tolerant wire types every generated model uses through the type
// mappings of oapi-codegen.yaml: each reads what the real API is known to send although the spec
// forbids it (see KnownDrift), and null as the zero value. They decode through the codec's token
// API (UnmarshalJSONFrom); their UnmarshalJSON, for encoding/json, is the same code.

// Int is an integer as Dots writes it: a JSON integer, or a whole number written as a float
// (5000.0, 5e3). A fraction is an error, never a silent rounding; null reads as 0. Every integer
// field of the models is an Int.
type Int int64

// Amount is a sum of money in cents, in requests and responses alike, read as Int is.
type Amount int64

// ParseWholeNumber reads a JSON number that is a whole number, as Int does: "5000", "5000.0" and
// "5e3" give 5000; "12.5", text and numbers beyond ±2^53 (unless written as integers) fail.
func ParseWholeNumber(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, errors.New("not a whole number")
	}
	return int64(f), nil
}

// readWhole reads a whole number or null (0) from dec.
func readWhole(dec *jsontext.Decoder) (int64, error) {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		return 0, err
	case '0':
		v, err := dec.ReadValue()
		if err != nil {
			return 0, err
		}
		n, err := ParseWholeNumber(string(v))
		if err != nil {
			return 0, fmt.Errorf("dots: %s is not a whole number", v)
		}
		return n, nil
	}
	v, err := dec.ReadValue()
	if err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("dots: want a whole number, not %s", clip(v))
}

// UnmarshalJSONFrom reads a whole number or null.
func (n *Int) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	v, err := readWhole(dec)
	*n = Int(v)
	return err
}

// UnmarshalJSON reads a whole number or null.
func (n *Int) UnmarshalJSON(b []byte) error { return codec.Unmarshal(b, n) }

// UnmarshalJSONFrom reads a whole number of cents or null.
func (a *Amount) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	return (*Int)(a).UnmarshalJSONFrom(dec)
}

// UnmarshalJSON reads a whole number of cents or null.
func (a *Amount) UnmarshalJSON(b []byte) error { return codec.Unmarshal(b, a) }

// Timestamp is a point in time as Dots writes it. It reads RFC 3339 and the zone-less form the
// real API sends (2024-07-11T12:31:33.479437), which it takes as UTC; null reads as the zero
// Timestamp. It writes RFC 3339 with the sub-second digits it has (MarshalJSON, and MarshalText
// for a query or path parameter), and null for the zero Timestamp.
type Timestamp struct {
	// This blank field makes Timestamp a type of its own shape: a bare struct{ time.Time } converts to
	// oapi-codegen's types.Date, which its runtime then writes as a date, dropping the time.
	_ struct{}
	time.Time
}

// zoneless are the layouts tried after RFC 3339, all read as UTC.
var zoneless = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
}

// ParseTimestamp reads s as a Timestamp field does, without the JSON quotes.
func ParseTimestamp(s string) (Timestamp, error) {
	if t, ok := parseTime(s); ok {
		return Timestamp{Time: t}, nil
	}
	return Timestamp{}, fmt.Errorf("dots: cannot read %q as a timestamp", s)
}

// parseTime keeps s from escaping, so a caller's string(bytes) needs no allocation.
func parseTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	for _, layout := range zoneless {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// UnmarshalJSONFrom reads a JSON string or null.
func (t *Timestamp) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	if dec.PeekKind() == 'n' {
		_, err := dec.ReadToken()
		*t = Timestamp{}
		return err
	}
	v, err := dec.ReadValue()
	if err != nil {
		return err
	}
	if v.Kind() != '"' {
		return fmt.Errorf("dots: a timestamp must be a JSON string, not %s", clip(v))
	}
	if !slices.Contains(v, '\\') { // no escapes: the text between the quotes is the string
		if tm, ok := parseTime(string(v[1 : len(v)-1])); ok {
			*t = Timestamp{Time: tm}
			return nil
		}
	}
	var s string
	if err := codec.Unmarshal(v, &s); err != nil {
		return err
	}
	*t, err = ParseTimestamp(s)
	return err
}

// UnmarshalJSON reads a JSON string or null.
func (t *Timestamp) UnmarshalJSON(b []byte) error { return codec.Unmarshal(b, t) }

// MarshalJSON writes RFC 3339 with the sub-second digits the value has, or null when zero.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return append(t.AppendFormat([]byte{'"'}, time.RFC3339Nano), '"'), nil
}

// MarshalText writes RFC 3339 with the sub-second digits the value has, as a query or path
// parameter carries it ("" for the zero Timestamp).
func (t Timestamp) MarshalText() ([]byte, error) {
	if t.IsZero() {
		return nil, nil
	}
	return t.AppendFormat(nil, time.RFC3339Nano), nil
}

// UnmarshalText reads what ParseTimestamp reads.
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := ParseTimestamp(string(b))
	if err == nil {
		*t = v
	}
	return err
}

// Metadata is your own key-value data kept with a payout link. Write it as a literal
// (dots.Metadata{"order_id": "A-1001", "items": 3}) and read it by key. Values keep what Dots
// sent: a JSON string reads as a Go string, null as nil, and any other value (a number, a bool,
// an object, an array) as its JSON text in a stdjson.RawMessage, so metadata copied from a link into
// a new create is sent back exactly as it came. Get reads any value as text.
//
// Dots may also answer with metadata written as one string: Text returns it. It is kept under the
// key MetadataText ("") and written back as a string. null and absent read as a nil Metadata.
type Metadata map[string]any

// MetadataText is the key under which Metadata keeps metadata that Dots wrote as a single string.
const MetadataText = ""

// Text returns the metadata Dots wrote as a single string, if it did.
func (m Metadata) Text() string {
	s, _ := m[MetadataText].(string)
	return s
}

// Get returns the value under key as text: a string as it is, nil and a missing key as "", any
// other value as its JSON text (1, true, {"a":1}).
func (m Metadata) Get(key string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case stdjson.RawMessage:
		return string(v)
	default:
		b, err := codec.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}

// UnmarshalJSONFrom reads an object, a string or null.
func (m *Metadata) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch dec.PeekKind() {
	case 'n':
		_, err := dec.ReadToken()
		*m = nil
		return err
	case '{':
	default:
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		if v.Kind() != '"' {
			return fmt.Errorf("dots: metadata must be an object or a string, not %s", clip(v))
		}
		var text string
		if err := codec.Unmarshal(v, &text); err != nil {
			return err
		}
		*m = Metadata{MetadataText: strings.ToValidUTF8(text, "\uFFFD")}
		return nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	out := Metadata{}
	for dec.PeekKind() != '}' {
		name, err := dec.ReadToken()
		if err != nil {
			return err
		}
		key := strings.ToValidUTF8(name.String(), "\uFFFD") // before the next read voids the token
		switch dec.PeekKind() {
		case '"':
			tok, err := dec.ReadToken()
			if err != nil {
				return err
			}
			out[key] = strings.ToValidUTF8(tok.String(), "\uFFFD")
			continue
		case 'n':
			if _, err := dec.ReadToken(); err != nil {
				return err
			}
			out[key] = nil
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return err
		}
		raw, err := rawValue(v)
		if err != nil {
			return err
		}
		out[key] = raw
	}
	if _, err := dec.ReadToken(); err != nil {
		return err
	}
	*m = out
	return nil
}

// rawValue is a metadata value as compact JSON text that every encoder writes back unchanged:
// invalid UTF-8 in its strings becomes U+FFFD, as encoding/json would write it.
func rawValue(v jsontext.Value) (stdjson.RawMessage, error) {
	raw := v.Clone()
	if !utf8.Valid(raw) {
		var x any
		if err := codec.Unmarshal(raw, &x); err != nil {
			return nil, err
		}
		b, err := codec.Marshal(x)
		if err != nil {
			return nil, err
		}
		raw = b
	}
	if err := raw.Compact(); err != nil {
		return nil, err
	}
	return stdjson.RawMessage(raw), nil
}

// UnmarshalJSON reads an object, a string or null.
func (m *Metadata) UnmarshalJSON(b []byte) error { return codec.Unmarshal(b, m) }

// MarshalJSONTo writes the pairs as an object (keys sorted, as encoding/json does), metadata read
// as a single string as that string, and a nil Metadata as null.
func (m Metadata) MarshalJSONTo(enc *jsontext.Encoder) error {
	if text, ok := m[MetadataText].(string); ok && len(m) == 1 {
		return enc.WriteToken(jsontext.String(text))
	}
	return json.MarshalEncode(enc, map[string]any(m))
}

// MarshalJSON writes what MarshalJSONTo writes.
func (m Metadata) MarshalJSON() ([]byte, error) { return codec.Marshal(m) }

// clip shortens a JSON value for an error message.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
