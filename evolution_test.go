package dots_test

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"text/template"
	"time"

	"go.yaml.in/yaml/v3"
)

var evolution = flag.Bool("evolution", false, "run TestEvolution: edit openapi.yaml in a temporary copy of the repository and prove each edit end to end (make evolution)")

// TestEvolution is the spec-evolution suite (make evolution; CI runs it after make test). In a
// temporary copy of the repository (the files git knows, as they are in the work tree) it makes
// the edits a team makes to openapi.yaml, with a YAML library, and proves each end to end as the
// team would see it: regenerate, then make check (spec tests, spec gate, both linters, vet,
// staticcheck, gen/ up to date) or make test, which also runs Go tests the suite writes into the
// copy's api package: they decode and encode the new fields through api.Client and Generated()
// exactly as the spec says, drift forms included.
//
//   - reformat: openapi.yaml loaded and dumped again (keys sorted, other indents, no comments).
//     gen/ must stay byte for byte the same, and make check green.
//   - additive, in one batch (each edit has its own assertions): optional response fields of
//     every kind (string, integer, nullable date-time, object, array of objects, array of
//     strings, enum), optional request fields (string, integer), a new value in a request enum
//     (DeliveryMethod, which responses carry too) and in a response enum (PayoutLinkStatus), a
//     field added to both the request and the payout link (which must round-trip through the
//     mock, with no mock code for it), and a new operation reached through Generated() with the
//     whole pipeline. make test must stay green. Field and value names are made up per run, so
//     they cannot collide with the spec's.
func TestEvolution(t *testing.T) {
	if !*evolution {
		t.Skip("the spec-evolution suite runs with -evolution (make evolution)")
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("needs make")
	}
	names := newEvoNames(t)
	t.Logf("made-up names start with %q", names.Base)
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

	t.Run("additive", func(t *testing.T) {
		doc := readSpecNode(t, dir)
		names.edit(t, doc)
		var buf bytes.Buffer
		enc := yaml.NewEncoder(&buf)
		enc.SetIndent(2)
		if err := enc.Encode(doc); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "openapi.yaml"), buf.Bytes())
		run(t, dir, "make", "generate")
		diff := run(t, dir, "git", "diff", "--", "gen")
		for _, want := range []string{names.goName(names.Str), names.goName(names.ReqInt), "DeliveryMethod" + names.goName(names.Method),
			names.goName(names.Base) + "PayoutLinkWithResponse"} {
			if !strings.Contains(diff, want) {
				t.Fatalf("make generate did not add %s to gen/", want)
			}
		}
		var src bytes.Buffer
		if err := evolvedTests.Execute(&src, names); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "api", "zz_evolution_test.go"), src.Bytes())
		commit(t, dir, "add fields, enum values and an operation to openapi.yaml, and tests of them")
		// The whole of make test, as a team runs it after the edit: every test of every package
		// (the mock's and the command line's included) against the edited spec, and the tests
		// of the new fields, which the verbose run below names.
		run(t, dir, "make", "test")
		out := run(t, dir, "go", "test", "-count=1", "-v", "-run", "^TestEvolved", "./api")
		for _, name := range []string{"TestEvolvedResponseFields", "TestEvolvedRequestFields", "TestEvolvedEnums", "TestEvolvedOperation",
			"TestEvolvedFieldRoundTripsThroughTheMock"} {
			if !strings.Contains(out, "--- PASS: "+name+" ") {
				t.Errorf("%s did not pass:\n%s", name, out)
			}
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.Contains(line, "--- ") {
				t.Log(strings.TrimSpace(line))
			}
		}
	})
}

// evoNames are the names the additive edits give to what they add: one made-up base word plus
// a suffix each, all lower case letters, so the Go name is the word capitalized.
type evoNames struct {
	Base                                                string
	Str, Int, When, Obj, Inner, Objs, Count, Strs, Kind string // new PayoutLink fields
	One, Two                                            string // the values of the new enum field
	Req, ReqInt                                         string // new CreatePayoutLinkRequest fields
	Shared                                              string // a new field of both the request and the link
	Method, Status                                      string // new DeliveryMethod and PayoutLinkStatus values
	Op                                                  string // the new operation's last path segment
}

func newEvoNames(t *testing.T) evoNames {
	t.Helper()
	spec := strings.ToLower(string(mustRead(t, "openapi.yaml")))
	for {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		base := "zq"
		for _, c := range b {
			base += string(rune('a' + int(c)%26))
		}
		if strings.Contains(spec, base) {
			continue // cannot happen in practice; but never collide
		}
		n := evoNames{Base: base}
		for _, f := range []struct {
			to     *string
			suffix string
		}{{&n.Str, "str"}, {&n.Int, "int"}, {&n.When, "when"}, {&n.Obj, "obj"}, {&n.Inner, "inner"}, {&n.Objs, "objs"},
			{&n.Count, "count"}, {&n.Strs, "strs"}, {&n.Kind, "kind"}, {&n.One, "one"}, {&n.Two, "two"}, {&n.Req, "req"},
			{&n.ReqInt, "reqint"}, {&n.Shared, "shared"}, {&n.Method, "method"}, {&n.Status, "status"}, {&n.Op, "op"}} {
			*f.to = base + f.suffix
		}
		return n
	}
}

// goName is the Go name oapi-codegen gives a one-word name of lower case letters.
func (evoNames) goName(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// edit makes the additive edits to the document node of openapi.yaml.
func (n evoNames) edit(t *testing.T, doc *yaml.Node) {
	t.Helper()
	root := doc.Content[0]
	schemas := yamlAt(t, root, "components", "schemas")
	props := yamlAt(t, schemas, "PayoutLink", "properties")
	yamlAdd(t, props, n.Str, "{type: string, description: 'Evolution suite: a string.', example: evolved}")
	yamlAdd(t, props, n.Int, "{type: integer, description: 'Evolution suite: an integer.', example: 5000}")
	yamlAdd(t, props, n.When, "{type: string, format: date-time, nullable: true, description: 'Evolution suite: a time.', example: '2024-07-11T12:31:33Z'}")
	yamlAdd(t, props, n.Obj, fmt.Sprintf("{type: object, description: 'Evolution suite: an object.', properties: {%s: {type: string, description: 'Evolution suite: a string in an object.', example: inside}}}", n.Inner))
	yamlAdd(t, props, n.Objs, fmt.Sprintf("{type: array, description: 'Evolution suite: objects.', items: {type: object, properties: {%s: {type: integer, description: 'Evolution suite: an integer in an array.', example: 7}}}}", n.Count))
	yamlAdd(t, props, n.Strs, "{type: array, description: 'Evolution suite: strings.', items: {type: string}, example: [x, y]}")
	yamlAdd(t, props, n.Kind, fmt.Sprintf("{type: string, description: 'Evolution suite: an enum.', enum: [%s, %s], example: %s}", n.One, n.Two, n.Two))
	req := yamlAt(t, schemas, "CreatePayoutLinkRequest", "properties")
	yamlAdd(t, req, n.Req, "{type: string, description: 'Evolution suite: a request string.', example: R-1}")
	yamlAdd(t, req, n.ReqInt, "{type: integer, description: 'Evolution suite: a request integer.', example: 42}")
	yamlAdd(t, req, n.Shared, "{type: string, description: 'Evolution suite: a field of the request and the link.', example: S-1}")
	yamlAdd(t, props, n.Shared, "{type: string, description: 'Evolution suite: a field of the request and the link.', example: S-1}")
	for schema, value := range map[string]string{"DeliveryMethod": n.Method, "PayoutLinkStatus": n.Status} {
		enum := yamlAt(t, schemas, schema, "enum")
		enum.Content = append(enum.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
	}
	yamlAdd(t, yamlAt(t, root, "paths"), "/v2/payout-links/{payout_link_id}/"+n.Op, fmt.Sprintf(`
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
`, n.Base))
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

// evolvedTests is the Go test file the additive case writes into the copy's api package, with
// the made-up names filled in. It uses only the SDK's exported API and the generated code.
var evolvedTests = template.Must(template.New("").Funcs(template.FuncMap{
	"go": evoNames{}.goName,
}).Parse(`package api_test

// Written by TestEvolution (evolution_test.go at the repository's root) into a temporary copy of
// the repository whose openapi.yaml it edited. Never committed.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// TestEvolvedFieldRoundTripsThroughTheMock: a field the request and the payout link both gained
// goes through the mock, which has no code for it, and comes back on create, get and list.
func TestEvolvedFieldRoundTripsThroughTheMock(t *testing.T) {
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	c, err := api.NewClient("pk_test_evolution", "sk_test_evolution", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	b := gen.CreatePayoutLinkRequest{Amount: 1250}
	b.{{go .Shared}} = api.Ptr("S-1")
	link, err := c.CreatePayoutLink(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPayoutLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListPayoutLinks(ctx, nil)
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("list: %v %v", page, err)
	}
	for name, l := range map[string]gen.PayoutLink{"create": *link, "get": *got, "list": page.Data[0]} {
		if l.{{go .Shared}} != "S-1" {
			t.Errorf("%s answered {{.Shared}} %q, want the request's S-1", name, l.{{go .Shared}})
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("the mock answered outside the edited spec: %v", v)
	}
}

const evoID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

type evoAnswer struct {
	status int
	body   string
}

type evoRequest struct {
	method, path, auth string
	body               []byte
}

// evoServer answers from a script and checks every request, and every answer it gives, against
// the edited spec: requests must conform; answers may break it only by known drift.
type evoServer struct {
	t      *testing.T
	mu     sync.Mutex
	script []evoAnswer
	seen   []evoRequest
	srv    *httptest.Server
}

func newEvoServer(t *testing.T, script ...evoAnswer) *evoServer {
	v, err := dots.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	s := &evoServer{t: t, script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, evoRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		if len(s.script) == 0 {
			s.mu.Unlock()
			t.Errorf("an unscripted request: %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		a := s.script[0]
		s.script = s.script[1:]
		s.mu.Unlock()
		op, _, ok := v.Match(r.Method, r.URL.Path)
		if !ok {
			t.Errorf("%s %s is no operation of the edited spec", r.Method, r.URL.Path)
		} else {
			if vs := v.ValidateRequest(r.Context(), op, r, body); len(vs) > 0 {
				t.Errorf("the SDK sent a request that breaks the edited spec: %v", vs)
			}
			h := http.Header{"Content-Type": {"application/json"}}
			for _, vi := range v.ValidateResponse(r.Context(), op, r, a.status, h, []byte(a.body)) {
				if !vi.Drift {
					t.Errorf("the test's answer breaks the edited spec: %v", vi)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *evoServer) requests() []evoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]evoRequest(nil), s.seen...)
}

// client is a client of the server with contract validation in report mode: findings collects
// what the validator reported.
func (s *evoServer) client(findings *[]api.ContractFinding) *api.Client {
	var mu sync.Mutex
	c, err := api.NewClient("pk_test_evolution", "sk_test_evolution", api.WithBaseURL(s.srv.URL+"/api"),
		api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
		api.WithContractValidation(api.ContractReport),
		api.WithContractReporter(func(f api.ContractFinding) {
			mu.Lock()
			defer mu.Unlock()
			*findings = append(*findings, f)
		}))
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// The link in canonical forms, and in the forms the real API is known to drift to.
const (
	evoLink = ` + "`" + `{"id":"` + "` + evoID + `" + `","amount":1250,"created":"2024-07-11T12:31:33Z","status":"{{.Status}}",
		"delivery":{"method":"{{.Method}}"},"payee":{"email":"jsmith@example.com"},
		"{{.Str}}":"evolved","{{.Int}}":5000,"{{.When}}":"2024-07-11T12:31:33.5Z","{{.Obj}}":{"{{.Inner}}":"inside"},
		"{{.Objs}}":[{"{{.Count}}":7},{"{{.Count}}":8}],"{{.Strs}}":["x","y"],"{{.Kind}}":"{{.Two}}"}` + "`" + `
	evoDriftLink = ` + "`" + `{"id":"` + "` + evoID + `" + `","amount":1250.0,"created":"2024-07-11T12:31:33.479437","status":"{{.Status}}",
		"{{.Int}}":5000.0,"{{.When}}":"2024-07-11T12:31:33.479437","{{.Objs}}":[{"{{.Count}}":7.0}],"{{.Kind}}":"{{.One}}"}` + "`" + `
	evoNullLink = ` + "`" + `{"id":"` + "` + evoID + `" + `","{{.When}}":null}` + "`" + `
)

func TestEvolvedResponseFields(t *testing.T) {
	ctx := context.Background()
	get := map[string]func(c *api.Client) (gen.PayoutLink, error){
		"typed": func(c *api.Client) (gen.PayoutLink, error) {
			link, err := c.GetPayoutLink(ctx, evoID)
			if err != nil || link == nil {
				return gen.PayoutLink{}, err
			}
			return *link, nil
		},
		"generated": func(c *api.Client) (gen.PayoutLink, error) {
			resp, err := c.Generated().GetPayoutLinkWithResponse(ctx, evoID)
			if err != nil || resp.JSON200 == nil {
				return gen.PayoutLink{}, err
			}
			return *resp.JSON200, nil
		},
	}
	for name, get := range get {
		t.Run(name, func(t *testing.T) {
			var findings []api.ContractFinding
			s := newEvoServer(t, evoAnswer{200, evoLink}, evoAnswer{200, evoDriftLink}, evoAnswer{200, evoNullLink})
			c := s.client(&findings)

			// Canonical forms: every new field, with the Go type the spec's kind maps to.
			link, err := get(c)
			if err != nil {
				t.Fatal(err)
			}
			var (
				str   string         = link.{{go .Str}}
				n     dots.Int       = link.{{go .Int}}
				when  dots.Timestamp = link.{{go .When}}
				inner string         = link.{{go .Obj}}.{{go .Inner}}
				strs  []string       = link.{{go .Strs}}
			)
			if str != "evolved" || n != 5000 || !when.Equal(time.Date(2024, 7, 11, 12, 31, 33, 5e8, time.UTC)) || inner != "inside" ||
				!slices.Equal(strs, []string{"x", "y"}) || len(link.{{go .Objs}}) != 2 || link.{{go .Objs}}[1].{{go .Count}} != dots.Int(8) ||
				link.{{go .Kind}} != "{{.Two}}" || !link.{{go .Kind}}.Valid() {
				t.Errorf("canonical forms decoded as %+v", link)
			}
			if link.Status != gen.PayoutLinkStatus{{go .Status}} || !link.Status.Valid() ||
				link.Delivery.Method != gen.DeliveryMethod{{go .Method}} || !link.Delivery.Method.Valid() {
				t.Errorf("the new enum values decoded as %q, %q", link.Status, link.Delivery.Method)
			}
			if len(findings) != 0 {
				t.Errorf("canonical forms were reported: %+v", findings)
			}
			// Encoding the model writes the spec's forms back.
			b, err := json.Marshal(link)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{` + "`" + `"{{.Str}}":"evolved"` + "`" + `, ` + "`" + `"{{.Int}}":5000,` + "`" + `, ` + "`" + `"{{.When}}":"2024-07-11T12:31:33.5Z"` + "`" + `,
				` + "`" + `"{{.Obj}}":{"{{.Inner}}":"inside"}` + "`" + `, ` + "`" + `"{{.Objs}}":[{"{{.Count}}":7},{"{{.Count}}":8}]` + "`" + `, ` + "`" + `"{{.Strs}}":["x","y"]` + "`" + `, ` + "`" + `"{{.Kind}}":"{{.Two}}"` + "`" + `} {
				if !strings.Contains(string(b), want) {
					t.Errorf("the model encodes as %s, without %s", b, want)
				}
			}

			// The drift forms decode, are reported as known drift only, and encode canonically.
			link, err = get(c)
			if err != nil {
				t.Fatal(err)
			}
			if link.{{go .Int}} != 5000 || !link.{{go .When}}.Equal(time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC)) ||
				link.{{go .Objs}}[0].{{go .Count}} != 7 || link.Amount != 1250 || link.{{go .Kind}} != "{{.One}}" {
				t.Errorf("drift forms decoded as %+v", link)
			}
			var paths []string
			for _, f := range findings {
				if !f.OnlyDrift() {
					t.Errorf("a finding that is not only drift: %+v", f)
				}
				for _, v := range f.Violations {
					paths = append(paths, v.Path)
				}
			}
			slices.Sort(paths)
			want := []string{"$.amount", "$.created", "$.{{.Int}}", "$.{{.Objs}}.0.{{.Count}}", "$.{{.When}}"}
			if !slices.Equal(paths, want) {
				t.Errorf("drift reported at %v, want %v", paths, want)
			}
			b, err = json.Marshal(link)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{` + "`" + `"{{.Int}}":5000,` + "`" + `, ` + "`" + `"{{.When}}":"2024-07-11T12:31:33.479437Z"` + "`" + `, ` + "`" + `"{{.Count}}":7}` + "`" + `} {
				if !strings.Contains(string(b), want) {
					t.Errorf("the model encodes as %s, without %s", b, want)
				}
			}

			// null reads as the zero value, which is left out when encoding.
			link, err = get(c)
			if err != nil || !link.{{go .When}}.IsZero() {
				t.Errorf("null date-time: %v, %v", link.{{go .When}}, err)
			}
			if b, _ := json.Marshal(link); strings.Contains(string(b), "{{.When}}") {
				t.Errorf("a zero time is encoded: %s", b)
			}
		})
	}
}

func TestEvolvedRequestFields(t *testing.T) {
	ctx := context.Background()
	created := ` + "`" + `{"id":"` + "` + evoID + `" + `","amount":1250,"status":"created","delivery":{"method":"{{.Method}}"},"payee":{"email":"jsmith@example.com"}}` + "`" + `
	var findings []api.ContractFinding
	s := newEvoServer(t, evoAnswer{201, created}, evoAnswer{201, created}, evoAnswer{201, created}, evoAnswer{201, created})
	c := s.client(&findings)
	body := func(set bool) gen.CreatePayoutLinkRequest {
		b := gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethod{{go .Method}}}, IdempotencyKey: api.Ptr(api.NewIdempotencyKey())}
		if set {
			// Optional request scalars are pointers, as every request field of their kind.
			var req *string = api.Ptr("R-1")
			var reqInt *dots.Int = api.Ptr[dots.Int](42)
			b.{{go .Req}}, b.{{go .ReqInt}} = req, reqInt
		}
		return b
	}
	if _, err := c.CreatePayoutLink(ctx, body(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePayoutLink(ctx, body(false)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Generated().CreatePayoutLinkWithResponse(ctx, body(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Generated().CreatePayoutLinkWithResponse(ctx, body(false)); err != nil {
		t.Fatal(err)
	}
	seen := s.requests()
	if len(seen) != 4 {
		t.Fatalf("%d requests, want 4", len(seen))
	}
	for i, r := range seen {
		var got map[string]any
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		set := i%2 == 0
		_, hasReq := got["{{.Req}}"]
		_, hasReqInt := got["{{.ReqInt}}"]
		switch {
		case set && (got["{{.Req}}"] != "R-1" || got["{{.ReqInt}}"] != float64(42)):
			t.Errorf("request %d: the set fields are not on the wire: %s", i, r.body)
		case !set && (hasReq || hasReqInt):
			t.Errorf("request %d: unset fields are on the wire: %s", i, r.body)
		}
		if m, _ := got["delivery"].(map[string]any); m["method"] != "{{.Method}}" {
			t.Errorf("request %d: the new delivery method is not on the wire: %s", i, r.body)
		}
	}
	if len(findings) != 0 {
		t.Errorf("contract findings: %+v", findings)
	}
}

func TestEvolvedEnums(t *testing.T) {
	if !slices.Contains(gen.DeliveryMethodValues(), gen.DeliveryMethod{{go .Method}}) || !gen.DeliveryMethod("{{.Method}}").Valid() {
		t.Errorf("DeliveryMethod lacks {{.Method}}: %v", gen.DeliveryMethodValues())
	}
	if !slices.Contains(gen.PayoutLinkStatusValues(), gen.PayoutLinkStatus{{go .Status}}) || !gen.PayoutLinkStatus("{{.Status}}").Valid() {
		t.Errorf("PayoutLinkStatus lacks {{.Status}}: %v", gen.PayoutLinkStatusValues())
	}
	var link gen.PayoutLink
	if link.{{go .Kind}} = "{{.Two}}"; !link.{{go .Kind}}.Valid() {
		t.Error("the new enum field's type does not know {{.Two}}")
	}
	if link.{{go .Kind}} = "neither"; link.{{go .Kind}}.Valid() {
		t.Error("the new enum field's type takes any value as valid")
	}
}

func TestEvolvedOperation(t *testing.T) {
	ctx := context.Background()
	var findings []api.ContractFinding
	s := newEvoServer(t, evoAnswer{503, ` + "`" + `{"message":"try later"}` + "`" + `}, evoAnswer{200, evoLink},
		evoAnswer{404, ` + "`" + `{"message":"no such link","error_code":"not-found"}` + "`" + `})
	c := s.client(&findings)

	// Through Generated(), with the whole pipeline: a 503 is retried, and auth is sent each time.
	resp, err := c.Generated().{{go .Base}}PayoutLinkWithResponse(ctx, evoID)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode() != 200 || resp.JSON200 == nil || resp.JSON200.{{go .Str}} != "evolved" {
		t.Fatalf("the new operation answered %d %+v", resp.StatusCode(), resp.JSON200)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk_test_evolution:sk_test_evolution"))
	seen := s.requests()
	if len(seen) != 2 {
		t.Fatalf("%d requests, want 2 (the 503, then its retry)", len(seen))
	}
	for _, r := range seen {
		if r.method != "GET" || r.path != "/api/v2/payout-links/"+evoID+"/{{.Op}}" || r.auth != auth {
			t.Errorf("request %s %s with auth %t", r.method, r.path, r.auth == auth)
		}
	}

	// A 4xx is a typed *api.Error, and is not retried.
	_, err = c.Generated().{{go .Base}}PayoutLinkWithResponse(ctx, evoID)
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "not-found" || apiErr.Operation != "{{.Base}}-payout-link" {
		t.Fatalf("err = %#v, want *api.Error 404 not-found of {{.Base}}-payout-link", err)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests after the 404, want 3", n)
	}
	if len(findings) != 0 {
		t.Errorf("contract findings: %+v", findings)
	}
}
`))
