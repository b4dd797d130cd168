package spec_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
)

// wireTypes makes a value of each type a DriftRule may name, to decode into.
var wireTypes = map[string][]func() any{
	"dots.Int":       {func() any { return new(dots.Int) }},
	"dots.Amount":    {func() any { return new(dots.Amount) }},
	"dots.Timestamp": {func() any { return new(dots.Timestamp) }},
	// Every generated enum type is a string type; two of them stand for the rest.
	"string": {func() any { return new(string) }, func() any { return new(gen.PayoutLinkStatus) }, func() any { return new(gen.DeliveryMethod) }},
}

// driftFixturePaths are where testdata/drift.yaml has a property of each rule's schemas.
var driftFixturePaths = map[string][]string{
	"integer":          {"count", "small", "cents", "items.0.count", "nested.count"},
	"string date-time": {"when", "maybe_when", "items.0.when"},
	"enum":             {"kind", "items.0.kind"},
}

// notDrift are JSON texts in the places of each rule's schemas that are not known drift: the
// validator reports them as plain violations, and the wire types refuse them.
var notDrift = map[string][]string{
	"integer":          {"12.5", `"5000"`, "true"},
	"string date-time": {`"yesterday"`, `"2024-13-01T00:00:00"`, "1700000000"},
	"enum":             {"5", "{}"},
}

// notRead are JSON texts the spec allows that the wire types refuse all the same: not drift, so
// never marked as such, but a whole number beyond 2^53 written as a float cannot be read exactly.
var notRead = map[string][]string{"integer": {"1e300"}}

// TestKnownDrift holds the three places that must agree on the real API's drift to the one list,
// spec.KnownDrift: oapi-codegen.yaml maps each rule's schemas to the rule's wire type, the wire
// types decode each example (with encoding/json and the SDK's codec) and refuse what is not
// drift, and the validator marks each example as drift, and nothing else, wherever a schema the
// rule concerns is.
func TestKnownDrift(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("../oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		OutputOptions struct {
			TypeMapping map[string]struct {
				Default struct{ Type string }
				Formats map[string]struct{ Type string }
			} `yaml:"type-mapping"`
		} `yaml:"output-options"`
	}
	if err := yaml.Unmarshal(raw, &cfg); err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromFile("../testdata/drift.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := spec.New(doc)
	op, _ := v.Operation("get-thing")

	covered := map[string]bool{} // "type format" of the mappings the rules cover
	for _, rule := range spec.KnownDrift {
		t.Run(rule.Name, func(t *testing.T) { // not parallel: the rules fill covered, read below
			if len(rule.GoTypes) == 0 || len(rule.Examples) == 0 || rule.Recognise == nil {
				t.Fatalf("the rule lacks wire types, examples or a Recognise: %+v", rule)
			}
			// 1. oapi-codegen.yaml maps the rule's schemas, in every format, to its first wire type.
			typ, format, _ := strings.Cut(rule.Schema, " ")
			if typ != "enum" {
				m, ok := cfg.OutputOptions.TypeMapping[typ]
				if !ok {
					t.Fatalf("oapi-codegen.yaml has no type-mapping for %q", typ)
				}
				mapped := map[string]string{}
				if format == "" {
					mapped[""] = m.Default.Type
					for f, to := range m.Formats {
						mapped[f] = to.Type
					}
				} else {
					mapped[format] = m.Formats[format].Type
				}
				for f, to := range mapped {
					covered[strings.TrimSpace(typ+" "+f)] = true
					if to != rule.GoTypes[0] {
						t.Errorf("oapi-codegen.yaml maps %s (format %q) to %q, the rule says %s", typ, f, to, rule.GoTypes[0])
					}
				}
			}
			// 2. The wire types read every example, and refuse what is not drift.
			for _, goType := range rule.GoTypes {
				makers, ok := wireTypes[goType]
				if !ok {
					t.Fatalf("the test knows no wire type %q", goType)
				}
				for _, mk := range makers {
					for name, decode := range decoders {
						for _, ex := range rule.Examples {
							if err := decode([]byte(ex), mk()); err != nil {
								t.Errorf("%s: %T does not read the example %s: %v", name, mk(), ex, err)
							}
						}
						if goType == "string" {
							continue // a string type reads any string; the enum rule's negatives are not strings
						}
						for _, bad := range slices.Concat(notDrift[rule.Schema], notRead[rule.Schema]) {
							if err := decode([]byte(bad), mk()); err == nil {
								t.Errorf("%s: %T reads %s, which is not known drift", name, mk(), bad)
							}
						}
					}
				}
			}
			for _, ex := range rule.Examples {
				if !rule.Recognise(ex) {
					t.Errorf("Recognise(%s) = false for the rule's own example", ex)
				}
			}
			for _, bad := range slices.Concat(notDrift[rule.Schema], notRead[rule.Schema]) {
				if rule.Recognise(bad) {
					t.Errorf("Recognise(%s) = true, but it is not known drift", bad)
				}
			}
			// 3. The validator marks each example as drift wherever the rule's schemas are, and
			// what is not drift as a plain violation.
			paths := driftFixturePaths[rule.Schema]
			if len(paths) == 0 {
				t.Fatalf("testdata/drift.yaml has no property for the schema %q: add one", rule.Schema)
			}
			for _, path := range paths {
				for _, ex := range rule.Examples {
					got := validateDrift(t, v, op, path, ex)
					if len(got) != 1 || got[0].Path != "$."+path || !got[0].Drift {
						t.Errorf("%s = %s: violations %v, want one, known drift, at $.%s", path, ex, got, path)
					}
				}
				for _, bad := range slices.Concat(notDrift[rule.Schema], notRead[rule.Schema]) {
					got := validateDrift(t, v, op, path, bad)
					if slices.ContainsFunc(got, func(vi spec.Violation) bool { return vi.Drift }) {
						t.Errorf("%s = %s: %v is marked as known drift", path, bad, got)
					}
					if len(got) == 0 && slices.Contains(notDrift[rule.Schema], bad) {
						t.Errorf("%s = %s: no violation", path, bad)
					}
				}
			}
		})
	}
	// A value of the right form that breaks a bound is never drift, whole float or not; 0.0 is
	// also a whole float, which is.
	for _, raw := range []string{"0", "0.0"} {
		got := validateDrift(t, v, op, "cents", raw) // minimum: 1
		bound := slices.ContainsFunc(got, func(vi spec.Violation) bool { return !vi.Drift && vi.Path == "$.cents" })
		wrong := slices.ContainsFunc(got, func(vi spec.Violation) bool { return vi.Drift && vi.Message != spec.KnownDrift[0].Name })
		if !bound || wrong {
			t.Errorf("cents = %s: violations %v, want the minimum, not marked as drift", raw, got)
		}
	}
	// Every mapping to a tolerant wire type is there for a rule, or it tolerates nothing known.
	for typ, m := range cfg.OutputOptions.TypeMapping {
		check := func(format, to string) {
			if strings.HasPrefix(to, "dots.") && !covered[strings.TrimSpace(typ+" "+format)] {
				t.Errorf("oapi-codegen.yaml maps %s (format %q) to %s, which no rule of spec.KnownDrift names", typ, format, to)
			}
		}
		check("", m.Default.Type)
		for f, to := range m.Formats {
			check(f, to.Type)
		}
	}
}

// validateDrift validates a 200 answer of op whose body holds raw at path ("items.0.count") and
// valid values elsewhere.
func validateDrift(t *testing.T, v *spec.Spec, op *spec.Operation, path, raw string) []spec.Violation {
	t.Helper()
	body := map[string]any{"count": 1, "small": 2, "cents": 3, "when": "2024-07-11T12:31:33Z", "maybe_when": nil, "kind": "a",
		"items": []any{map[string]any{"count": 4, "when": "2024-07-11T12:31:33Z", "kind": "x"}}, "nested": map[string]any{"count": 5}}
	keys := strings.Split(path, ".")
	var at any = body
	for _, k := range keys[:len(keys)-1] {
		switch x := at.(type) {
		case map[string]any:
			at = x[k]
		case []any:
			at = x[0]
		}
	}
	at.(map[string]any)[keys[len(keys)-1]] = json.RawMessage(raw)
	b, err := codec.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "/things/1", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	return v.ValidateResponse(context.Background(), op, req, 200, h, b)
}

// decoders are the two codecs the wire types must read alike: encoding/json (the generated client
// and users' own code) and the SDK's codec.
var decoders = map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "codec": codec.Unmarshal}
