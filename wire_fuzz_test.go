package dots_test

import (
	"encoding/json"
	"reflect"
	"testing"

	dots "github.com/payoutkit/dots-go"
)

// FuzzWireTypes decodes arbitrary JSON into the tolerant wire types: no panics, and whatever
// decodes encodes again and decodes to the same value.
func FuzzWireTypes(f *testing.F) {
	for _, s := range []string{`"2024-07-11T12:31:33.479437"`, `"2023-11-07T05:31:56Z"`, `5000.0`, `5e3`, `"12"`, `null`,
		`{"a":"b","n":1}`, `"text"`, `[1]`, `12.5`, `{}`, `"2024-07-11 12:31:33"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ts dots.Timestamp
		if json.Unmarshal(b, &ts) == nil && !ts.IsZero() {
			out, err := json.Marshal(ts)
			var back dots.Timestamp
			if err != nil || json.Unmarshal(out, &back) != nil || !back.Equal(ts.Time) {
				t.Fatalf("timestamp %s -> %s does not round-trip", b, out)
			}
		}
		var a dots.Amount
		if json.Unmarshal(b, &a) == nil {
			out, _ := json.Marshal(a)
			var back dots.Amount
			if json.Unmarshal(out, &back) != nil || back != a {
				t.Fatalf("amount %s -> %s does not round-trip", b, out)
			}
		}
		var m dots.Metadata
		if json.Unmarshal(b, &m) == nil {
			out, err := json.Marshal(m)
			var back dots.Metadata
			if err != nil || json.Unmarshal(out, &back) != nil || !reflect.DeepEqual(values(back), values(m)) {
				t.Fatalf("metadata %s -> %s does not round-trip", b, out)
			}
		}
	})
}

// values is metadata with its JSON-text values decoded: two texts of one value ("&" and
// "\u0026") are the same metadata.
func values(m dots.Metadata) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if raw, ok := v.(json.RawMessage); ok {
			var x any
			if err := json.Unmarshal(raw, &x); err != nil {
				x = err.Error()
			}
			v = x
		}
		out[k] = v
	}
	return out
}
