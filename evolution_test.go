package dots_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

var evolution = flag.Bool("evolution", false, "run TestEvolution: edit openapi.yaml in a temporary copy of the repository and prove each edit end to end (make evolution)")

// TestEvolution is the spec-evolution suite (make evolution; CI runs it after make test). In a
// temporary copy of the repository (the files git knows, as they are in the work tree) it makes
// the edits a team makes to openapi.yaml, with a YAML library, and proves each end to end as the
// team would see it: regenerate, then make check (spec tests, spec gate, both linters, vet,
// staticcheck, gen/ up to date) or make test, which also runs the tests of api/evolution_test.go:
// they decode and encode the new fields through api.Client and Generated() exactly as the spec
// says, drift forms included. They are ordinary tests of the api package, compiled and vetted
// by every make check, and skip unless DOTS_EVOLUTION names the made-up word of the edit.
//
//   - reformat: openapi.yaml loaded and dumped again (keys sorted, other indents, no comments).
//     gen/ must stay byte for byte the same, and make check green.
//   - tightened shared parameter: format: uuid added to the shared payout_link_id parameter. The
//     spec gate (bash .ci/spec-gate, as make check runs it, against .ci/openapi.released.yaml)
//     must fail, reporting request-parameter-format-added for every operation that takes it.
//   - major release: 1.0.0 released, then a response field removed. The gate fails and says
//     what a second major release needs; announced as 2.0.0 it still fails while go.mod's module
//     path lacks /v2, and passes with it.
//   - additive, in one batch (each edit has its own assertions): optional response fields of
//     every kind (string, integer, nullable date-time, object, array of objects, array of
//     strings, enum), a deprecated response field, optional request fields (string, integer,
//     a boolean), a new value in a request enum (DeliveryMethod, which responses carry too) and
//     in a response enum (PayoutLinkStatus), fields added to both the request and the payout
//     link (a string, and a new object with an object inside and a boolean that defaults to
//     true, which must round-trip through the mock with false intact, with no mock code for
//     them; a date-time, an integer, a boolean and an enum), query parameters of list-payout-links
//     of each of those types (sent as the spec says, the date-time with its time, and applied
//     as filters by the mock) and one that names no field of the link (501 from the mock), and
//     two new operations, a GET and a POST, reached through Generated() with the whole pipeline
//     and its rules for answers off the spec, with no hand-written code for any of it. make test
//     must stay green (staticcheck included: no code of ours uses the deprecated field), the
//     deprecated field's comment must have a "Deprecated:" paragraph, and staticcheck must
//     report code that uses it (SA1019). Every name is a made-up word, new each run so it
//     cannot collide with the spec's, plus a suffix (WORD+"str" is the new string field).
func TestEvolution(t *testing.T) {
	if !*evolution {
		t.Skip("the spec-evolution suite runs with -evolution (make evolution)")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("needs make")
	}
	w := newEvoWord(t)
	t.Logf("made-up names start with %q", w)
	dir := copyRepository(t)

	t.Run("reformat", func(t *testing.T) {
		doc := readSpecNode(t, dir)
		var before any
		if err := doc.Decode(&before); err != nil {
			t.Fatal(err)
		}
		out, err := yaml.Marshal(before) // a map: keys come out sorted, 4-space indents, no comments
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "openapi.yaml"), out)
		var after any
		if err := yaml.Unmarshal(out, &after); err != nil || !reflect.DeepEqual(before, after) {
			t.Fatalf("the reformatted spec differs from the original (%v)", err)
		}
		run(t, dir, "make", "generate")
		run(t, dir, "git", "diff", "--exit-code", "--stat", "--", "gen")
		commit(t, dir, "reformat openapi.yaml")
		run(t, dir, "make", "check")
		run(t, dir, "git", "reset", "-q", "--hard", "HEAD~1")
	})

	t.Run("tightened shared parameter", func(t *testing.T) {
		start := strings.TrimSpace(run(t, dir, "git", "rev-parse", "HEAD"))
		defer run(t, dir, "git", "reset", "-q", "--hard", start)
		doc := readSpecNode(t, dir)
		// The shared parameter: the one of components.parameters that is the path's payout_link_id.
		shared := yamlAt(t, doc.Content[0], "components", "parameters")
		i := slices.IndexFunc(shared.Content, func(n *yaml.Node) bool {
			var p struct{ Name, In string }
			return n.Kind == yaml.MappingNode && n.Decode(&p) == nil && p.Name == "payout_link_id" && p.In == "path"
		})
		if i < 0 {
			t.Fatal("openapi.yaml shares no payout_link_id path parameter in components.parameters")
		}
		yamlAdd(t, yamlAt(t, shared.Content[i], "schema"), "format", "uuid")
		writeSpecNode(t, dir, doc)
		commit(t, dir, "payout_link_id is a uuid")
		// Every operation of a path with {payout_link_id} takes the shared parameter.
		var want []string
		paths := yamlAt(t, doc.Content[0], "paths")
		for i := 0; i+1 < len(paths.Content); i += 2 {
			if path := paths.Content[i].Value; strings.Contains(path, "{payout_link_id}") {
				for j := 0; j+1 < len(paths.Content[i+1].Content); j += 2 {
					if m := paths.Content[i+1].Content[j].Value; m != "parameters" {
						want = append(want, "err request-parameter-format-added "+strings.ToUpper(m)+" "+path)
					}
				}
			}
		}
		exit, out, changes := specGate(t, dir)
		slices.Sort(want)
		slices.Sort(changes)
		if exit != 1 || !slices.Equal(changes, want) || !strings.Contains(out, "spec-gate: FAILED") {
			t.Fatalf("the spec gate exited %d with the errors\n%q\nwant 1 with\n%q\n%s", exit, changes, want, out)
		}
	})

	t.Run("major release", func(t *testing.T) {
		start := strings.TrimSpace(run(t, dir, "git", "rev-parse", "HEAD"))
		defer run(t, dir, "git", "reset", "-q", "--hard", start)
		// Release 1.0.0, as CHANGELOG.md says a release is made.
		doc := readSpecNode(t, dir)
		yamlAt(t, doc.Content[0], "info", "version").Value = "1.0.0"
		writeSpecNode(t, dir, doc)
		writeFile(t, filepath.Join(dir, ".ci", "openapi.released.yaml"), mustRead(t, filepath.Join(dir, "openapi.yaml")))
		changelog := filepath.Join(dir, "CHANGELOG.md")
		editFile(t, changelog, "\n## [Unreleased]\n", "\n## [Unreleased]\n\n## [1.0.0] - 2026-12-04\n")
		commit(t, dir, "release 1.0.0")
		// A breaking change: PayoutLink loses an optional field (the first one not required).
		link := yamlAt(t, doc.Content[0], "components", "schemas", "PayoutLink")
		var required struct{ Required []string }
		if err := link.Decode(&required); err != nil {
			t.Fatal(err)
		}
		props := yamlAt(t, link, "properties")
		i := -1
		for k := 0; k+1 < len(props.Content) && i < 0; k += 2 {
			if !slices.Contains(required.Required, props.Content[k].Value) {
				i = k
			}
		}
		if i < 0 {
			t.Fatal("PayoutLink has no optional field")
		}
		field := props.Content[i].Value
		props.Content = slices.Delete(props.Content, i, i+2)
		writeSpecNode(t, dir, doc)
		commit(t, dir, "remove PayoutLink."+field)
		removed := func(changes []string) bool {
			return slices.Contains(changes, "err response-optional-property-removed GET /v2/payout-links/{payout_link_id}") &&
				!slices.ContainsFunc(changes, func(c string) bool { return !strings.HasPrefix(c, "err response-optional-property-removed ") })
		}
		// Not announced: the gate says what a second major release needs, the /v2 module path too.
		exit, out, changes := specGate(t, dir)
		if exit != 1 || !removed(changes) || !strings.Contains(out, "## [Unreleased] - breaking: 2.0.0") ||
			!strings.Contains(out, "a major release also needs the module path github.com/payoutkit/dots-go/v2 in go.mod") {
			t.Fatalf("unannounced: the spec gate exited %d with the errors %q:\n%s", exit, changes, out)
		}
		// Announced as 2.0.0, with go.mod's module path still without /v2: Go would refuse the tag.
		editFile(t, changelog, "\n## [Unreleased]\n", "\n## [Unreleased] - breaking: 2.0.0\n")
		commit(t, dir, "announce 2.0.0")
		exit, out, changes = specGate(t, dir)
		if exit != 1 || !removed(changes) ||
			!strings.Contains(out, "spec-gate: FAILED: a major release 2.0.0 needs the module path github.com/payoutkit/dots-go/v2 in go.mod") {
			t.Fatalf("announced, module path without /v2: the spec gate exited %d with the errors %q:\n%s", exit, changes, out)
		}
		// With the /v2 module path, the announced release passes.
		editFile(t, filepath.Join(dir, "go.mod"), "module github.com/payoutkit/dots-go\n", "module github.com/payoutkit/dots-go/v2\n")
		commit(t, dir, "module path /v2")
		exit, out, changes = specGate(t, dir)
		if exit != 0 || !removed(changes) || !strings.Contains(out, "spec-gate: OK: the breaking changes above are announced") {
			t.Fatalf("announced, module path with /v2: the spec gate exited %d with the errors %q:\n%s", exit, changes, out)
		}
	})

	t.Run("additive", func(t *testing.T) {
		doc := readSpecNode(t, dir)
		w.edit(t, doc)
		writeSpecNode(t, dir, doc)
		run(t, dir, "make", "generate")
		diff := run(t, dir, "git", "diff", "--", "gen")
		for _, want := range []string{w.goName("str"), w.goName("reqint"), "DeliveryMethod" + w.goName("method"),
			w.goName("") + "PayoutLinkWithResponse", w.goName("") + "ActPayoutLinkWithResponse", w.goName("Nest"),
			"ListPayoutLinksParams" + w.goName("tier")} {
			if !strings.Contains(diff, want) {
				t.Fatalf("make generate did not add %s to gen/", want)
			}
		}
		// The deprecated field's comment ends in a paragraph of its own, "Deprecated: ...", the
		// form Go tooling reads (checked with staticcheck below).
		generated := string(mustRead(t, filepath.Join(dir, "gen", "dots.gen.go")))
		field := strings.Index(generated, "\n\t"+w.goName("old")+" string ")
		if field < 0 {
			t.Fatalf("gen/dots.gen.go has no field %s string", w.goName("old"))
		}
		if comment := generated[strings.LastIndex(generated[:field], "\n\n")+1 : field]; !strings.Contains(comment, "\t//\n\t// Deprecated: ") {
			t.Fatalf("the doc comment of %s has no Deprecated: paragraph:\n%s", w.goName("old"), comment)
		}
		commit(t, dir, "add fields, enum values and an operation to openapi.yaml")
		// The whole of make test, as a team runs it after the edit: every test of every package
		// (the mock's and the command line's included) against the edited spec, and the tests
		// of the new fields (api/evolution_test.go), which the verbose run below names.
		t.Setenv("DOTS_EVOLUTION", string(w))
		run(t, dir, "make", "test")
		out := run(t, dir, "go", "test", "-count=1", "-v", "-run", "^TestEvolved", "./api")
		for _, name := range []string{"TestEvolvedResponseFields", "TestEvolvedRequestFields", "TestEvolvedEnums", "TestEvolvedOperation",
			"TestEvolvedFieldRoundTripsThroughTheMock", "TestEvolvedQueryParameters"} {
			if !strings.Contains(out, "--- PASS: "+name+" ") {
				t.Errorf("%s did not pass:\n%s", name, out)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "--- ") {
				t.Log(strings.TrimSpace(line))
			}
		}
		// make test ran staticcheck, so no code of ours uses the deprecated field; code that does
		// is reported (SA1019), as a user's would be.
		use := filepath.Join(dir, "internal", "evodeprecated")
		if err := os.MkdirAll(use, 0o755); err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(use)
		writeFile(t, filepath.Join(use, "use.go"), []byte(fmt.Sprintf(
			"// Package evodeprecated reads a deprecated field.\npackage evodeprecated\n\nimport \"github.com/payoutkit/dots-go/gen\"\n\n"+
				"// Old reads it.\nfunc Old(l gen.PayoutLink) string { return l.%s }\n", w.goName("old"))))
		exit, out := runStatus(t, dir, nil, "go", "tool", "-modfile=.ci/tools.mod", "staticcheck", "./internal/evodeprecated")
		if exit == 0 || !strings.Contains(out, "(SA1019)") || !strings.Contains(out, w.goName("old")+" is deprecated") {
			t.Errorf("staticcheck exited %d on a use of the deprecated field, want SA1019:\n%s", exit, out)
		}
	})
}

// specGate runs the spec gate as make check does, and returns its exit status (0 or 1), its
// output, and the errors it found (from its JSON report) as "err ID METHOD PATH".
func specGate(t *testing.T, dir string) (int, string, []string) {
	t.Helper()
	report := filepath.Join(t.TempDir(), "changes.json")
	exit, out := runStatus(t, dir, []string{"SPEC_GATE_JSON=" + report}, "bash", ".ci/spec-gate")
	if exit != 0 && exit != 1 {
		t.Fatalf("the spec gate could not run (exit %d):\n%s", exit, out)
	}
	var errs []string
	for _, c := range gateChanges(t, report, false) {
		if strings.HasPrefix(c, "err ") {
			errs = append(errs, c)
		}
	}
	return exit, out, errs
}

// evoWord is the made-up word the additive edits name what they add by: "zq" and six more lower
// case letters, followed by a suffix each ("str", "int", ...), so a Go name is the name
// capitalized. api/evolution_test.go finds each addition by the same names.
type evoWord string

func newEvoWord(t *testing.T) evoWord {
	t.Helper()
	spec := strings.ToLower(string(mustRead(t, "openapi.yaml")))
	for {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		w := "zq"
		for _, c := range b {
			w += string(rune('a' + int(c)%26))
		}
		if !strings.Contains(spec, w) { // cannot happen in practice; but never collide
			return evoWord(w)
		}
	}
}

// goName is the Go name oapi-codegen gives the word plus suffix.
func (w evoWord) goName(suffix string) string {
	return strings.ToUpper(string(w[:1])) + string(w[1:]) + suffix
}

// edit makes the additive edits to the document node of openapi.yaml.
func (w evoWord) edit(t *testing.T, doc *yaml.Node) {
	t.Helper()
	n := func(suffix string) string { return string(w) + suffix }
	root := doc.Content[0]
	schemas := yamlAt(t, root, "components", "schemas")
	props := yamlAt(t, schemas, "PayoutLink", "properties")
	yamlAdd(t, props, n("str"), "{type: string, description: 'Evolution suite: a string.', example: evolved}")
	yamlAdd(t, props, n("int"), "{type: integer, description: 'Evolution suite: an integer.', example: 5000}")
	yamlAdd(t, props, n("when"), "{type: string, format: date-time, nullable: true, description: 'Evolution suite: a time.', example: '2024-07-11T12:31:33Z'}")
	yamlAdd(t, props, n("obj"), fmt.Sprintf("{type: object, description: 'Evolution suite: an object.', properties: {%s: {type: string, description: 'Evolution suite: a string in an object.', example: inside}}}", n("inner")))
	yamlAdd(t, props, n("objs"), fmt.Sprintf("{type: array, description: 'Evolution suite: objects.', items: {type: object, properties: {%s: {type: integer, description: 'Evolution suite: an integer in an array.', example: 7}}}}", n("count")))
	yamlAdd(t, props, n("strs"), "{type: array, description: 'Evolution suite: strings.', items: {type: string}, example: [x, y]}")
	yamlAdd(t, props, n("kind"), fmt.Sprintf("{type: string, description: 'Evolution suite: an enum.', enum: [%s, %s], example: %s}", n("one"), n("two"), n("two")))
	req := yamlAt(t, schemas, "CreatePayoutLinkRequest", "properties")
	yamlAdd(t, req, n("req"), "{type: string, description: 'Evolution suite: a request string.', example: R-1}")
	yamlAdd(t, req, n("reqint"), "{type: integer, description: 'Evolution suite: a request integer.', example: 42}")
	yamlAdd(t, req, n("shared"), "{type: string, description: 'Evolution suite: a field of the request and the link.', example: S-1}")
	yamlAdd(t, props, n("shared"), "{type: string, description: 'Evolution suite: a field of the request and the link.', example: S-1}")
	yamlAdd(t, props, n("old"), "{type: string, deprecated: true, description: 'Evolution suite: a deprecated field.', example: old}")
	// A new object of the request and the link, in component schemas of its own (so both share
	// it), with an object inside: scalars of each kind, and a boolean that defaults to true.
	yamlAdd(t, schemas, w.goName("Nest"), fmt.Sprintf(`
type: object
description: 'Evolution suite: a new object of the request and the link.'
properties:
  %[1]slabel: {type: string, description: 'Evolution suite: a string in the new object.', example: L-1}
  %[1]scount: {type: integer, description: 'Evolution suite: an integer in the new object.', example: 3}
  %[1]son: {type: boolean, default: true, description: 'Evolution suite: a boolean that defaults to true.', example: true}
  %[1]sdeep: {$ref: '#/components/schemas/%[2]s'}
example: {%[1]slabel: L-1, %[1]scount: 3, %[1]son: true}`, w, w.goName("Deep")))
	yamlAdd(t, schemas, w.goName("Deep"), fmt.Sprintf(`
type: object
description: 'Evolution suite: an object in the new object.'
properties:
  %[1]sdepth: {type: integer, description: 'Evolution suite: an integer two objects down.', example: 2}
  %[1]sfar: {type: boolean, description: 'Evolution suite: a boolean two objects down.', example: true}
example: {%[1]sdepth: 2}`, w))
	// Fields of the request and the link that the new query parameters of list-payout-links
	// filter by: a date-time, an integer, a boolean and an enum.
	for _, m := range []*yaml.Node{req, props} {
		yamlAdd(t, m, n("nest"), fmt.Sprintf("{$ref: '#/components/schemas/%s'}", w.goName("Nest")))
		yamlAdd(t, m, n("due"), "{type: string, format: date-time, description: 'Evolution suite: a time of the request and the link.', example: '2030-01-02T09:00:00Z'}")
		yamlAdd(t, m, n("num"), "{type: integer, description: 'Evolution suite: an integer of the request and the link.', example: 7}")
		yamlAdd(t, m, n("flag"), "{type: boolean, description: 'Evolution suite: a boolean of the request and the link.', example: true}")
		yamlAdd(t, m, n("tier"), fmt.Sprintf("{type: string, enum: [%s, %s], description: 'Evolution suite: an enum of the request and the link.', example: %s}", n("gold"), n("lead"), n("gold")))
	}
	list := yamlAt(t, yamlAt(t, root, "paths"), "/v2/payout-links", "get", "parameters")
	for _, p := range []string{
		"{name: %[1]sdue_after, in: query, description: 'Evolution suite: links whose %[1]sdue is later.', schema: {type: string, format: date-time}}",
		"{name: %[1]snum, in: query, description: 'Evolution suite: links with this %[1]snum.', schema: {type: integer}}",
		"{name: %[1]sflag, in: query, description: 'Evolution suite: links with this %[1]sflag.', schema: {type: boolean}}",
		"{name: %[1]stier, in: query, description: 'Evolution suite: links with this %[1]stier.', schema: {type: string, enum: [%[1]sgold, %[1]slead]}}",
		"{name: %[1]scolour, in: query, description: 'Evolution suite: a filter by no field of the link.', schema: {type: string}}",
	} {
		yamlAppend(t, list, fmt.Sprintf(p, w))
	}
	for schema, value := range map[string]string{"DeliveryMethod": n("method"), "PayoutLinkStatus": n("status")} {
		enum := yamlAt(t, schemas, schema, "enum")
		enum.Content = append(enum.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
	}
	yamlAdd(t, yamlAt(t, root, "paths"), "/v2/payout-links/{payout_link_id}/"+n("op"), fmt.Sprintf(`
get:
  operationId: %s-payout-link
  tags: [payout-links]
  summary: Evolution suite operation
  description: An operation the evolution suite adds; it answers a payout link.
  parameters:
    - {name: payout_link_id, in: path, required: true, description: The id of a payout link., schema: {type: string}}
  responses:
    '200':
      description: The payout link.
      content: {application/json: {schema: {$ref: '#/components/schemas/PayoutLink'}}}
    4XX: {$ref: '#/components/responses/ClientError'}
    5XX: {$ref: '#/components/responses/ServerError'}
`, w))
	yamlAdd(t, yamlAt(t, root, "paths"), "/v2/payout-links/{payout_link_id}/"+n("act"), fmt.Sprintf(`
post:
  operationId: %s-act-payout-link
  tags: [payout-links]
  summary: Evolution suite action
  description: An action the evolution suite adds; it takes no body and answers the payout link.
  parameters:
    - {name: payout_link_id, in: path, required: true, description: The id of a payout link., schema: {type: string}}
  responses:
    '200':
      description: The payout link.
      content: {application/json: {schema: {$ref: '#/components/schemas/PayoutLink'}}}
    4XX: {$ref: '#/components/responses/ClientError'}
    5XX: {$ref: '#/components/responses/ServerError'}
`, w))
}

// yamlAt walks mapping keys from node, failing the test when one is missing.
func yamlAt(t *testing.T, node *yaml.Node, keys ...string) *yaml.Node {
	t.Helper()
	for _, k := range keys {
		var next *yaml.Node
		for i := 0; node.Kind == yaml.MappingNode && i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == k {
				next = node.Content[i+1]
			}
		}
		if next == nil {
			t.Fatalf("openapi.yaml has no %q where the suite edits it (under %v)", k, keys)
		}
		node = next
	}
	return node
}

// yamlAdd adds key with the value written in YAML to a mapping node.
func yamlAdd(t *testing.T, m *yaml.Node, key, value string) {
	t.Helper()
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			t.Fatalf("openapi.yaml already has %q", key)
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}, v.Content[0])
}

// yamlAppend appends the value written in YAML to a sequence node, failing the test when an
// element with the same name is there already.
func yamlAppend(t *testing.T, seq *yaml.Node, value string) {
	t.Helper()
	var v yaml.Node
	if err := yaml.Unmarshal([]byte(value), &v); err != nil {
		t.Fatal(err)
	}
	var add struct{ Name string }
	_ = v.Decode(&add)
	for _, el := range seq.Content {
		var have struct{ Name string }
		if el.Decode(&have) == nil && have.Name != "" && have.Name == add.Name {
			t.Fatalf("openapi.yaml already has %q", add.Name)
		}
	}
	seq.Content = append(seq.Content, v.Content[0])
}

// copyRepository copies the files git knows (tracked, and untracked but not ignored) as they are
// in the work tree into a temporary git repository with one commit. The linters already
// installed here are linked, not installed again.
func copyRepository(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := run(t, ".", "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	for _, f := range strings.Split(strings.TrimRight(files, "\x00"), "\x00") {
		info, err := os.Lstat(f)
		if err != nil || !info.Mode().IsRegular() {
			continue // deleted in the work tree, or not a file
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), mustRead(t, f), info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	if abs, err := filepath.Abs(".ci/lint/node_modules"); err == nil {
		if _, err := os.Stat(abs); err == nil {
			if err := os.Symlink(abs, filepath.Join(dir, ".ci/lint/node_modules")); err != nil {
				t.Fatal(err)
			}
		}
	}
	run(t, dir, "git", "init", "-q")
	commit(t, dir, "the repository as it is")
	return dir
}

func commit(t *testing.T, dir, msg string) {
	t.Helper()
	run(t, dir, "git", "add", "-A")
	run(t, dir, "git", "-c", "user.name=evolution", "-c", "user.email=evolution@example.com", "-c", "commit.gpgsign=false",
		"commit", "-q", "--no-verify", "-m", msg)
}

// run runs a command in dir and returns its output, failing the test (with the output's end) on
// a non-zero exit.
func run(t *testing.T, dir string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	if err != nil {
		tail := string(out)
		if len(tail) > 6000 {
			tail = "…" + tail[len(tail)-6000:]
		}
		t.Fatalf("%s %s in %s: %v\n%s", name, strings.Join(args, " "), dir, err, tail)
	}
	return string(out)
}

// runStatus runs a command in dir with env added, and returns its exit status and output.
func runStatus(t *testing.T, dir string, env []string, name string, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s: %v", name, strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond))
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	case err != nil:
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// editFile replaces the first old in the file with new, failing the test when old is not there.
func editFile(t *testing.T, path, old, new string) {
	t.Helper()
	b := string(mustRead(t, path))
	if !strings.Contains(b, old) {
		t.Fatalf("%s has no %q", path, old)
	}
	writeFile(t, path, []byte(strings.Replace(b, old, new, 1)))
}

// writeSpecNode writes the document node to openapi.yaml, with 2-space indents.
func writeSpecNode(t *testing.T, dir string, doc *yaml.Node) {
	t.Helper()
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "openapi.yaml"), buf.Bytes())
}

func readSpecNode(t *testing.T, dir string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(dir, "openapi.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	return &doc
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
