package dots_test

import (
	"encoding/json"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
)

func TestTimestampUnmarshal(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time
		wantErr  bool
	}{
		{"zone-less with microseconds is UTC", `"2024-07-11T12:31:33.479437"`, time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC), false},
		{"zone-less whole seconds", `"2024-07-11T12:31:33"`, time.Date(2024, 7, 11, 12, 31, 33, 0, time.UTC), false},
		{"space separator", `"2024-07-11 12:31:33.5"`, time.Date(2024, 7, 11, 12, 31, 33, 500000000, time.UTC), false},
		{"RFC 3339 Z", `"2023-11-07T05:31:56Z"`, time.Date(2023, 11, 7, 5, 31, 56, 0, time.UTC), false},
		{"RFC 3339 offset", `"2023-11-07T07:31:56+02:00"`, time.Date(2023, 11, 7, 5, 31, 56, 0, time.UTC), false},
		{"null", `null`, time.Time{}, false},
		{"garbage", `"yesterday"`, time.Time{}, true},
		{"number", `1700000000`, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts dots.Timestamp
			err := json.Unmarshal([]byte(tt.in), &ts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if !ts.Equal(tt.want) {
				t.Fatalf("got %v, want %v", ts.Time, tt.want)
			}
		})
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	in := dots.Timestamp{Time: time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `"2024-07-11T12:31:33.479437Z"` {
		t.Fatalf("marshal = %s", b)
	}
	var out dots.Timestamp
	if err := json.Unmarshal(b, &out); err != nil || !out.Equal(in.Time) {
		t.Fatalf("round trip = %v, %v", out, err)
	}
	if b, _ := json.Marshal(dots.Timestamp{}); string(b) != "null" {
		t.Fatalf("zero marshals as %s", b)
	}
}

func TestAmountUnmarshal(t *testing.T) {
	tests := []struct {
		in      string
		want    dots.Amount
		wantErr bool
	}{
		{`5000`, 5000, false},
		{`5000.0`, 5000, false},
		{`5e3`, 5000, false},
		{`"1250"`, 1250, false},
		{`null`, 0, false},
		{`12.5`, 0, true},
		{`"abc"`, 0, true},
		{`true`, 0, true},
		{`1e300`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var a dots.Amount
			err := json.Unmarshal([]byte(tt.in), &a)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if a != tt.want {
				t.Fatalf("got %d, want %d", a, tt.want)
			}
		})
	}
	if b, _ := json.Marshal(dots.Amount(1250)); string(b) != "1250" {
		t.Fatalf("marshal = %s", b)
	}
}

func TestMetadata(t *testing.T) {
	tests := []struct {
		name, in  string
		wantPairs map[string]string
		wantText  string
		wantOut   string
	}{
		{"object of strings", `{"order":"A-1"}`, map[string]string{"order": "A-1"}, "", `{"order":"A-1"}`},
		{"empty object", `{}`, map[string]string{}, "", `{}`},
		{"non-string values kept as JSON", `{"n": 5, "o": {"a" : 1}}`, map[string]string{"n": "5", "o": `{"a":1}`}, "", `{"n":"5","o":"{\"a\":1}"}`},
		{"string form", `"A-1"`, nil, "A-1", `"A-1"`},
		{"null", `null`, nil, "", `{}`},
		{"array kept as text", `[1,2]`, nil, "[1,2]", `"[1,2]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m dots.Metadata
			if err := json.Unmarshal([]byte(tt.in), &m); err != nil {
				t.Fatal(err)
			}
			if len(m.Pairs) != len(tt.wantPairs) || (m.Pairs == nil) != (tt.wantPairs == nil) {
				t.Fatalf("pairs = %#v, want %#v", m.Pairs, tt.wantPairs)
			}
			for k, v := range tt.wantPairs {
				if m.Pairs[k] != v {
					t.Fatalf("pairs[%q] = %q, want %q", k, m.Pairs[k], v)
				}
			}
			if m.Text != tt.wantText {
				t.Fatalf("text = %q, want %q", m.Text, tt.wantText)
			}
			out, err := json.Marshal(m)
			if err != nil || string(out) != tt.wantOut {
				t.Fatalf("marshal = %s, %v; want %s", out, err, tt.wantOut)
			}
		})
	}
}
