package dots_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/oapi-codegen/runtime"
	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

func TestTimestampUnmarshal(t *testing.T) {
	t.Parallel()
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
		{"escaped", `"2024-07-11T12:31:33\u002e5"`, time.Date(2024, 7, 11, 12, 31, 33, 500000000, time.UTC), false},
	}
	for _, tt := range tests {
		for name, decode := range decoders {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var ts dots.Timestamp
				err := decode([]byte(tt.in), &ts)
				if (err != nil) != tt.wantErr {
					t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
				}
				if !ts.Equal(tt.want) {
					t.Fatalf("got %v, want %v", ts.Time, tt.want)
				}
			})
		}
	}
}

func TestTimestampRoundTrip(t *testing.T) {
	t.Parallel()
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

// decoders are the two codecs the wire types must read alike: encoding/json (the generated client
// and users' own code) and the SDK's codec.
var decoders = map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "codec": codec.Unmarshal}

func TestWholeNumbers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{`5000`, 5000, false},
		{`5000.0`, 5000, false},
		{`5e3`, 5000, false},
		{`-0.0`, 0, false},
		{`null`, 0, false},
		{`9007199254740993`, 9007199254740993, false}, // an integer beyond 2^53 stays exact
		{`12.5`, 0, true},
		{`"1250"`, 0, true},
		{`true`, 0, true},
		{`1e300`, 0, true},
	}
	for _, tt := range tests {
		for name, decode := range decoders {
			t.Run(name+"/"+tt.in, func(t *testing.T) {
				t.Parallel()
				var a dots.Amount
				var n dots.Int
				errA, errN := decode([]byte(tt.in), &a), decode([]byte(tt.in), &n)
				if (errA != nil) != tt.wantErr || (errN != nil) != tt.wantErr {
					t.Fatalf("err = %v / %v, wantErr %v", errA, errN, tt.wantErr)
				}
				if int64(a) != tt.want || int64(n) != tt.want {
					t.Fatalf("got %d / %d, want %d", a, n, tt.want)
				}
			})
		}
	}
	if b, _ := json.Marshal(dots.Amount(1250)); string(b) != "1250" {
		t.Fatalf("marshal = %s", b)
	}
}

func TestMetadata(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		want     dots.Metadata
		wantOut  string
	}{
		{"object of strings", `{"order":"A-1"}`, dots.Metadata{"order": "A-1"}, `{"order":"A-1"}`},
		{"empty object", `{}`, dots.Metadata{}, `{}`},
		{"keys written sorted", `{"h":"8","g":"7","f":"6","e":"5","d":"4","c":"3","b":"2","a":"1"}`,
			dots.Metadata{"a": "1", "b": "2", "c": "3", "d": "4", "e": "5", "f": "6", "g": "7", "h": "8"},
			`{"a":"1","b":"2","c":"3","d":"4","e":"5","f":"6","g":"7","h":"8"}`},
		{"non-string values kept as JSON", `{"n": 5, "o": {"a" : 1}, "b": true, "nil": null}`,
			dots.Metadata{"n": json.RawMessage(`5`), "o": json.RawMessage(`{"a":1}`), "b": json.RawMessage(`true`), "nil": nil},
			`{"b":true,"n":5,"nil":null,"o":{"a":1}}`},
		{"invalid UTF-8 becomes U+FFFD, as encoding/json writes it", "{\"a\":[\"\xff\"],\"k\xff\":\"v\xff\"}",
			dots.Metadata{"a": json.RawMessage("[\"\ufffd\"]"), "k\ufffd": "v\ufffd"}, "{\"a\":[\"\ufffd\"],\"k\ufffd\":\"v\ufffd\"}"},
		{"string form", `"A-1"`, dots.Metadata{dots.MetadataText: "A-1"}, `"A-1"`},
		{"null", `null`, nil, `null`},
	}
	for _, tt := range tests {
		for name, decode := range decoders {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var m dots.Metadata
				if err := decode([]byte(tt.in), &m); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(m, tt.want) || (m == nil) != (tt.want == nil) {
					t.Fatalf("got %#v, want %#v", m, tt.want)
				}
				out, err := json.Marshal(m)
				if err != nil || string(out) != tt.wantOut {
					t.Fatalf("marshal = %s, %v; want %s", out, err, tt.wantOut)
				}
			})
		}
	}
	if m := (dots.Metadata{dots.MetadataText: "A-1"}); m.Text() != "A-1" {
		t.Fatalf("Text() = %q", m.Text())
	}
	for _, in := range []string{`[1,2]`, `5`, `true`} {
		var m dots.Metadata
		if err := codec.Unmarshal([]byte(in), &m); err == nil {
			t.Errorf("metadata %s decoded to %#v; want an error (neither an object nor a string)", in, m)
		}
	}
}

func TestMetadataGet(t *testing.T) {
	t.Parallel()
	var m dots.Metadata
	if err := codec.Unmarshal([]byte(`{"s":"text","n":12,"b":false,"o":{"a":[1]},"nil":null}`), &m); err != nil {
		t.Fatal(err)
	}
	m["go"] = 7 // set in Go, not decoded
	for key, want := range map[string]string{"s": "text", "n": "12", "b": "false", "o": `{"a":[1]}`, "nil": "", "missing": "", "go": "7"} {
		if got := m.Get(key); got != want {
			t.Errorf("Get(%q) = %q, want %q", key, got, want)
		}
	}
}

// TestParametersKeepTheirValue: a parameter goes on the wire through oapi-codegen's runtime, as
// gen's request builders write it, for each Go type a parameter of the spec can have after the
// type mappings of oapi-codegen.yaml and codegen/overlay.yaml: a date-time keeps its time (it was
// written as a bare date), a whole number, a string (uuid, email), a bool, an enum value.
func TestParametersKeepTheirValue(t *testing.T) {
	when := time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC)
	tests := []struct {
		name  string
		value any
		want  string
	}{
		{"date-time", dots.Timestamp{Time: when}, "p=2024-07-11T12%3A31%3A33.479437Z"},
		{"date-time, pointer", &dots.Timestamp{Time: when}, "p=2024-07-11T12%3A31%3A33.479437Z"},
		{"date-time with a zone", dots.Timestamp{Time: when.In(time.FixedZone("", 2*3600))}, "p=2024-07-11T14%3A31%3A33.479437%2B02%3A00"},
		{"integer (query parameters map to int)", 25, "p=25"},
		{"integer in a body type", dots.Int(7), "p=7"},
		{"amount", dots.Amount(1250), "p=1250"},
		{"uuid or email (strings)", "3c90c3cc-0d44-4b50-8888-8dd25736052a", "p=3c90c3cc-0d44-4b50-8888-8dd25736052a"},
		{"boolean", true, "p=true"},
		{"enum", gen.DeliveryMethodEmail, "p=email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := runtime.StyleParamWithLocation("form", true, "p", runtime.ParamLocationQuery, tt.value)
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}
