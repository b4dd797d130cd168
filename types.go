package dots

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Timestamp is a point in time as Dots writes it. It reads RFC 3339 timestamps and the zone-less
// form the real API sends (2024-07-11T12:31:33.479437), which it takes as UTC. It writes RFC 3339.
type Timestamp struct {
	time.Time
}

// zoneless are the layouts tried after RFC 3339, all read as UTC.
var zoneless = []string{
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
}

// ParseTimestamp reads s as UnmarshalJSON does, without the JSON quotes.
func ParseTimestamp(s string) (Timestamp, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return Timestamp{t}, nil
	}
	for _, layout := range zoneless {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return Timestamp{t}, nil
		}
	}
	return Timestamp{}, fmt.Errorf("dots: cannot read %q as a timestamp", s)
}

// UnmarshalJSON reads a JSON string or null (which leaves the zero Timestamp).
func (t *Timestamp) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = Timestamp{}
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("dots: a timestamp must be a JSON string, not %s", clip(b))
	}
	v, err := ParseTimestamp(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// MarshalJSON writes RFC 3339 with the sub-second digits the value has.
func (t Timestamp) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	return append(t.AppendFormat([]byte{'"'}, time.RFC3339Nano), '"'), nil
}

// MarshalText and UnmarshalText keep the embedded time.Time's text methods from taking over.

// MarshalText writes RFC 3339.
func (t Timestamp) MarshalText() ([]byte, error) { return t.AppendFormat(nil, time.RFC3339Nano), nil }

// UnmarshalText reads what ParseTimestamp reads.
func (t *Timestamp) UnmarshalText(b []byte) error {
	v, err := ParseTimestamp(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// Amount is a sum of money in cents. It reads whole numbers written as JSON integers or as floats
// with no fraction (5000.0, 5e3), and quoted digits; a fraction of a cent is an error rather than a
// silent rounding. It writes a JSON integer.
type Amount int64

// UnmarshalJSON reads a JSON number, a string of one, or null (which leaves zero).
func (a *Amount) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		b = bytes.Trim(b, `"`)
	}
	s := string(b)
	if s == "null" {
		*a = 0
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*a = Amount(n)
		return nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("dots: an amount must be a number of cents, not %s", clip(b))
	}
	if f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return fmt.Errorf("dots: amount %s is not a whole number of cents", clip(b))
	}
	*a = Amount(f)
	return nil
}

// MarshalJSON writes the amount as a JSON integer.
func (a Amount) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(a), 10), nil
}

// Metadata is your own key-value data kept with a payout link. Dots takes and gives an object of
// strings; its published spec also allows a single string, which lands in Text. Values that are
// not strings in an object the API sends are kept as their JSON text.
type Metadata struct {
	// Pairs is the object form.
	Pairs map[string]string
	// Text is the string form; it is only written when Pairs is nil.
	Text string
}

// IsZero reports whether the metadata holds nothing, so an omitzero field leaves it out.
func (m Metadata) IsZero() bool { return m.Pairs == nil && m.Text == "" }

// MarshalJSON writes Text as a JSON string when it is set and Pairs is nil; otherwise the pairs
// as an object ({} when there are none).
func (m Metadata) MarshalJSON() ([]byte, error) {
	if m.Pairs == nil && m.Text != "" {
		return json.Marshal(m.Text)
	}
	if m.Pairs == nil {
		return []byte("{}"), nil
	}
	return json.Marshal(m.Pairs)
}

// UnmarshalJSON reads an object, a string or null; any other JSON value is kept as text.
func (m *Metadata) UnmarshalJSON(b []byte) error {
	*m = Metadata{}
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case 'n':
		return nil
	case '"':
		return json.Unmarshal(b, &m.Text)
	case '{':
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			return err
		}
		m.Pairs = make(map[string]string, len(raw))
		for k, v := range raw {
			var s string
			if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
				m.Pairs[k] = s
				continue
			}
			var buf bytes.Buffer
			if json.Compact(&buf, v) != nil {
				buf.Reset()
				buf.Write(v)
			}
			m.Pairs[k] = buf.String()
		}
		return nil
	default:
		m.Text = string(b)
		return nil
	}
}

// clip shortens a JSON value for an error message.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
