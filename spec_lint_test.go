package dots_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.yaml.in/yaml/v3"

	dots "github.com/payoutkit/dots-go"
)

// The house rules of openapi.yaml (README, "Changing the spec") are rules of the two linters
// .ci/lint/run applies in make check: .ci/lint/.spectral.yaml (Spectral's core functions) and
// .ci/lint/redocly.yaml. The one rule neither can say is here: every component is reachable
// from the paths, the security requirements or x-webhooks. Both linters only ask that something
// refers to a component, so one used only by an unused component passes them.

// TestSpecComponentsReachable checks openapi.yaml for components nothing reaches (run by make check).
func TestSpecComponentsReachable(t *testing.T) {
	t.Parallel()
	for _, f := range unreachableComponents(t, dots.Spec) {
		t.Errorf("%s: not used (nothing reaches it from paths, security or x-webhooks)", f)
	}
}

// unreachableComponents lists, as JSON pointers, the components of the OpenAPI document doc
// that no $ref reaches from outside components, following $refs through the components reached.
// Security schemes are Redocly's (no-unused-components): they are named, not referred to.
func unreachableComponents(t *testing.T, doc []byte) []string {
	t.Helper()
	var root map[string]any
	if err := yaml.Unmarshal(doc, &root); err != nil {
		t.Fatal(err)
	}
	components, _ := root["components"].(map[string]any)
	used := map[string]bool{}
	var walk func(v any)
	follow := func(ref string) {
		kind, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
		if !ok || !strings.HasPrefix(ref, "#/components/") {
			return // not a local component
		}
		name, _, _ = strings.Cut(name, "/") // a ref into a component uses the whole component
		name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
		if !used[kind+"/"+name] {
			used[kind+"/"+name] = true
			if byName, ok := components[kind].(map[string]any); ok {
				walk(byName[name])
			}
		}
	}
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				ref, isString := e.(string)
				switch {
				case k == "$ref" && isString:
					follow(ref)
				case k == "discriminator":
					mapping, _ := e.(map[string]any)["mapping"].(map[string]any)
					for _, m := range mapping {
						if s, _ := m.(string); !strings.Contains(s, "/") {
							follow("#/components/schemas/" + s) // a bare name stands for a component schema
						} else {
							follow(s)
						}
					}
				default:
					walk(e)
				}
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	for k, v := range root {
		if k != "components" {
			walk(v)
		}
	}
	var out []string
	for kind, byName := range components {
		names, _ := byName.(map[string]any)
		for name := range names {
			if kind != "securitySchemes" && !used[kind+"/"+name] {
				out = append(out, "#/components/"+kind+"/"+strings.NewReplacer("~", "~0", "/", "~1").Replace(name))
			}
		}
	}
	slices.Sort(out)
	return out
}

// lintCases are the fixtures of testdata/speclint and what must be found in each: every finding
// of the rules named, as "LINTER RULE JSON-POINTER", and no other. Each breaks one house rule
// (clean.yaml none: it must have no error of any rule, the linters' own included).
var lintCases = map[string][]string{
	"operation-ids": {
		"spectral operation-operationId #/paths/~1a/post",
		"spectral operation-operationId-unique #/paths/~1b/get/operationId",
		"spectral dots-not-blank #/paths/~1b/put/operationId",
	},
	"operation-descriptions": {
		"spectral operation-description #/paths/~1a/get",
		"spectral dots-not-blank #/paths/~1a/post/description",
	},
	"property-descriptions": {
		"spectral dots-property-description #/components/schemas/Bare", // via the $ref properties bare and bare2
		"spectral dots-property-description #/components/schemas/Thing/properties/map/additionalProperties/properties/value",
		"spectral dots-property-description #/components/schemas/Thing/properties/mixed/allOf/0/properties/member",
		"spectral dots-property-description #/paths/~1a/post/parameters/0/schema/properties/inparam",
		"spectral dots-property-description #/paths/~1a/post/requestBody/content/application~1json/schema/properties/inline",
		"spectral dots-property-description #/paths/~1a/post/requestBody/content/application~1json/schema/properties/list/items/properties/deep",
		"spectral dots-not-blank #/components/schemas/Thing/properties/blank/description",
	},
	"component-examples": {
		"spectral dots-component-example #/components/schemas/WithoutExample",
	},
	"response-content": {
		"spectral dots-response-schema #/components/responses/Bad/content/application~1problem+json",
		"spectral dots-response-schema #/paths/~1a/get/responses/200",
		"spectral dots-response-schema #/paths/~1a/get/responses/201/content/application~1json",
	},
	"parameters": {
		"spectral oas3-parameter-description #/paths/~1a~1{id}/parameters/0",
		"spectral dots-not-blank #/components/parameters/P/description",
		"spectral dots-parameter-schema #/paths/~1a~1{id}/get/parameters/0",
		"spectral dots-parameter-schema #/paths/~1a~1{id}/get/parameters/1",
	},
	"unused-components": {
		"go reachable-components #/components/parameters/Unused",
		"go reachable-components #/components/requestBodies/Unused",
		"go reachable-components #/components/responses/Unused",
		"go reachable-components #/components/schemas/FromUnusedResponse",
		"go reachable-components #/components/schemas/OnlyFromOrphan",
		"go reachable-components #/components/schemas/Orphan",
	},
	"unused-security-scheme": {
		"redocly no-unused-components #/components/securitySchemes/unusedScheme",
	},
	"clean": nil,
}

// lintFinding is one finding on a fixture.
type lintFinding struct {
	file  string // the fixture's name, without .yaml
	what  string // "LINTER RULE JSON-POINTER"
	error bool   // of severity error
}

// TestSpecLintRules proves each house rule can fail: on each fixture the Go rule, Spectral and
// Redocly (the pinned ones of .ci/lint) must report exactly the findings lintCases lists, and
// every rule the configs add or raise must have a case. The linters need Node.js: without it
// their part skips, unless SPEC_LINT=required (as CI sets it).
func TestSpecLintRules(t *testing.T) {
	t.Parallel()
	t.Run("every rule has a case", func(t *testing.T) {
		t.Parallel()
		rules := []string{"go reachable-components"}
		for linter, file := range map[string]string{"spectral": ".ci/lint/.spectral.yaml", "redocly": ".ci/lint/redocly.yaml"} {
			var config struct{ Rules map[string]any }
			if err := yaml.Unmarshal(mustRead(t, file), &config); err != nil {
				t.Fatal(err)
			}
			for r := range config.Rules {
				rules = append(rules, linter+" "+r)
			}
		}
		for _, r := range rules {
			found := false
			for _, want := range lintCases {
				found = found || slices.ContainsFunc(want, func(w string) bool { return strings.HasPrefix(w, r+" ") })
			}
			if !found {
				t.Errorf("rule %q has no case in lintCases that makes it fail", r)
			}
		}
	})
	t.Run("go", func(t *testing.T) {
		t.Parallel()
		var got []lintFinding
		for file := range lintCases {
			for _, f := range unreachableComponents(t, mustRead(t, lintFixture(file))) {
				got = append(got, lintFinding{file, "go reachable-components " + f, true})
			}
		}
		checkLintCases(t, "go", got)
	})
	t.Run("linters", func(t *testing.T) {
		t.Parallel()
		_, errNode := exec.LookPath("node")
		_, errNPM := exec.LookPath("npm")
		switch {
		case (errNode != nil || errNPM != nil) && os.Getenv("SPEC_LINT") == "required":
			t.Fatal("node and npm are needed to run Spectral and Redocly, and SPEC_LINT=required")
		case errNode != nil || errNPM != nil:
			t.Skip("node and npm are not installed, so Spectral and Redocly cannot run (CI runs them)")
		}
		if out, err := exec.Command("bash", ".ci/lint/run", "--install").CombinedOutput(); err != nil {
			t.Fatalf(".ci/lint/run --install: %v\n%s", err, out)
		}
		var files []string
		for file := range lintCases {
			files = append(files, lintFixture(file))
		}
		var (
			wg                      sync.WaitGroup
			spectral, redocly       []lintFinding
			spectralErr, redoclyErr error
		)
		wg.Go(func() { spectral, spectralErr = runSpectral(files) })
		wg.Go(func() { redocly, redoclyErr = runRedocly(files) })
		wg.Wait()
		if err := errors.Join(spectralErr, redoclyErr); err != nil {
			t.Fatal(err)
		}
		checkLintCases(t, "spectral", spectral)
		checkLintCases(t, "redocly", redocly)
	})
}

func lintFixture(name string) string { return filepath.Join("testdata", "speclint", name+".yaml") }

// checkLintCases compares what linter found on each fixture with lintCases.
func checkLintCases(t *testing.T, linter string, got []lintFinding) {
	t.Helper()
	for file, cases := range lintCases {
		var want, have []string
		rules := map[string]bool{}
		for _, w := range cases {
			if strings.HasPrefix(w, linter+" ") {
				want = append(want, w)
				rules[w[:strings.LastIndex(w, " ")]] = true
			}
		}
		for _, f := range got {
			switch {
			case f.file != file || !rules[f.what[:strings.LastIndex(f.what, " ")]] && (file != "clean" || !f.error):
			case !f.error:
				have = append(have, f.what+" (not an error: make check would pass)")
			default:
				have = append(have, f.what)
			}
		}
		slices.Sort(want)
		slices.Sort(have)
		if !slices.Equal(have, want) {
			t.Errorf("%s on %s:\ngot  %q\nwant %q", linter, lintFixture(file), have, want)
		}
	}
}

// lintLinter runs a linter of .ci/lint/node_modules with JSON output: exit status 0 (no errors)
// or 1 (errors) and JSON on stdout.
func lintLinter(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(".ci", "lint", "node_modules", ".bin", name), args...)
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) && ee.ExitCode() == 1 {
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w\n%s", name, err, stderr.Bytes())
	}
	return out, nil
}

func runSpectral(files []string) ([]lintFinding, error) {
	out, err := lintLinter("spectral", append([]string{"lint", "--ruleset", ".ci/lint/.spectral.yaml", "--format", "json"}, files...)...)
	if err != nil {
		return nil, err
	}
	var results []struct {
		Code     string
		Path     []any
		Severity int // 0 is error
		Source   string
	}
	if err := json.Unmarshal(out, &results); err != nil {
		return nil, fmt.Errorf("spectral's JSON: %w\n%s", err, out)
	}
	var got []lintFinding
	for _, r := range results {
		ptr := "#"
		for _, tok := range r.Path {
			ptr += "/" + strings.NewReplacer("~", "~0", "/", "~1").Replace(fmt.Sprint(tok))
		}
		got = append(got, lintFinding{strings.TrimSuffix(filepath.Base(r.Source), ".yaml"), "spectral " + r.Code + " " + ptr, r.Severity == 0})
	}
	return got, nil
}

func runRedocly(files []string) ([]lintFinding, error) {
	out, err := lintLinter("redocly", append([]string{"lint", "--config", ".ci/lint/redocly.yaml", "--format", "json"}, files...)...)
	if err != nil {
		return nil, err
	}
	// One JSON report per file.
	var got []lintFinding
	for dec := json.NewDecoder(bytes.NewReader(out)); dec.More(); {
		var report struct {
			Problems []struct {
				RuleID   string
				Severity string
				Location []struct {
					Pointer string
					Source  struct{ Ref string }
				}
			}
		}
		if err := dec.Decode(&report); err != nil {
			return nil, fmt.Errorf("redocly's JSON: %w\n%s", err, out)
		}
		for _, p := range report.Problems {
			for _, l := range p.Location[:min(1, len(p.Location))] {
				got = append(got, lintFinding{strings.TrimSuffix(filepath.Base(l.Source.Ref), ".yaml"), "redocly " + p.RuleID + " " + l.Pointer, p.Severity == "error"})
			}
		}
	}
	return got, nil
}
