package dots_test

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/spec"
)

// lintRule is one rule openapi.yaml must follow. check reports every place that breaks it as
// "LOCATION: what is wrong", LOCATION being a JSON pointer into the document ("#/paths/~1v2~1x/get").
type lintRule struct {
	name  string
	what  string
	check func(doc *openapi3.T) []string
}

var lintRules = []lintRule{
	{"operation-ids", "every operation has an operationId, unique in the document", lintOperationIDs},
	{"operation-descriptions", "every operation has a description; a summary alone is not enough", lintOperationDescriptions},
	{"property-descriptions", "every schema property has a description; a $ref property takes it from its component", lintPropertyDescriptions},
	{"component-examples", "every component schema has an example", lintComponentExamples},
	{"response-content", "every response has content, and a schema for every media type", lintResponseContent},
	{"parameters", "every parameter has a description and a schema", lintParameters},
	{"unused-components", "every component is used from paths, security, x-webhooks or a used component", lintUnusedComponents},
}

// TestSpecLint runs every lint rule over openapi.yaml (run by make check).
func TestSpecLint(t *testing.T) {
	sp, err := spec.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	doc := sp.Document()
	for _, r := range lintRules {
		t.Run(r.name, func(t *testing.T) {
			for _, f := range r.check(doc) {
				t.Errorf("%s (rule: %s)", f, r.what)
			}
		})
	}
}

// TestSpecEmbeddedMatchesFile checks that dots.Spec is openapi.yaml byte for byte.
func TestSpecEmbeddedMatchesFile(t *testing.T) {
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, dots.Spec) {
		t.Fatalf("dots.Spec (%d bytes) differs from openapi.yaml (%d bytes): rebuild", len(dots.Spec), len(b))
	}
}

// TestSpecLintRules proves each rule can fail: the small documents of testdata/speclint break it,
// and the rule must report exactly the findings listed; a clean document must pass every rule.
func TestSpecLintRules(t *testing.T) {
	cases := []struct {
		rule string // the file testdata/speclint/RULE.yaml; "" for clean.yaml, which passes every rule
		want []string
	}{
		{"operation-ids", []string{
			"#/paths/~1a/post: no operationId",
			`#/paths/~1b/get: operationId "get-a" is also used at #/paths/~1a/get`,
			"#/paths/~1b/put: no operationId",
		}},
		{"operation-descriptions", []string{
			"#/paths/~1a/get: no description (a summary is not enough)",
			"#/paths/~1a/post: no description (a summary is not enough)",
		}},
		{"property-descriptions", []string{
			"#/components/schemas/Bare: no description, and the properties #/components/schemas/Thing/properties/bare, #/components/schemas/Thing/properties/bare2 take theirs from it",
			"#/components/schemas/Thing/properties/map/additionalProperties/properties/value: no description",
			"#/components/schemas/Thing/properties/mixed/allOf/0/properties/member: no description",
			"#/paths/~1a/post/parameters/0/schema/properties/inparam: no description",
			"#/paths/~1a/post/requestBody/content/application~1json/schema/properties/inline: no description",
			"#/paths/~1a/post/requestBody/content/application~1json/schema/properties/list/items/properties/deep: no description",
		}},
		{"component-examples", []string{
			"#/components/schemas/WithoutExample: no example",
		}},
		{"response-content", []string{
			"#/components/responses/Bad/content/application~1problem+json: no schema",
			"#/paths/~1a/get/responses/200: no content",
			"#/paths/~1a/get/responses/201/content/application~1json: no schema",
		}},
		{"parameters", []string{
			"#/components/parameters/P (header p): no description",
			"#/paths/~1a~1{id}/get/parameters/0 (query q): no schema",
			"#/paths/~1a~1{id}/get/parameters/1 (query r): no schema",
			"#/paths/~1a~1{id}/parameters/0 (path id): no description",
		}},
		{"unused-components", []string{
			"#/components/parameters/Unused: not used",
			"#/components/requestBodies/Unused: not used",
			"#/components/responses/Unused: not used",
			"#/components/schemas/FromUnusedResponse: not used",
			"#/components/schemas/OnlyFromOrphan: not used",
			"#/components/schemas/Orphan: not used",
			"#/components/securitySchemes/unusedScheme: not used",
		}},
		{"", nil},
	}

	broken := map[string]bool{}
	for i, c := range cases {
		file := filepath.Join("testdata", "speclint", cmp.Or(c.rule, "clean")+".yaml")
		doc, err := openapi3.NewLoader().LoadFromFile(file)
		if err != nil {
			t.Fatalf("case %d (%s): %v", i, file, err)
		}
		for _, r := range lintRules {
			if c.rule != "" && r.name != c.rule {
				continue
			}
			got := r.check(doc)
			want := c.want
			if c.rule == "" {
				want = nil // the clean document passes every rule
			} else {
				broken[r.name] = true
			}
			if !slices.Equal(got, want) {
				t.Errorf("case %d, rule %s:\ngot  %q\nwant %q", i, r.name, got, want)
			}
		}
	}
	for _, r := range lintRules {
		if !broken[r.name] {
			t.Errorf("rule %s has no case that makes it fail", r.name)
		}
	}
}

// lintPointer extends a JSON pointer by tokens, escaping "~" and "/" in each.
func lintPointer(base string, tokens ...string) string {
	var b strings.Builder
	b.WriteString(base)
	for _, tok := range tokens {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(tok))
	}
	return b.String()
}

// lintSortedKeys returns the keys of m in order, so findings come out the same every run.
func lintSortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

type lintOperation struct {
	loc string
	op  *openapi3.Operation
}

// lintOperations lists every operation of doc with its location, by path and then method.
func lintOperations(doc *openapi3.T) []lintOperation {
	var out []lintOperation
	if doc.Paths == nil {
		return nil
	}
	paths := doc.Paths.Map()
	for _, p := range lintSortedKeys(paths) {
		ops := paths[p].Operations()
		for _, m := range lintSortedKeys(ops) {
			out = append(out, lintOperation{lintPointer("#/paths", p, strings.ToLower(m)), ops[m]})
		}
	}
	return out
}

func lintOperationIDs(doc *openapi3.T) []string {
	var out []string
	first := map[string]string{}
	for _, o := range lintOperations(doc) {
		id := o.op.OperationID
		switch {
		case strings.TrimSpace(id) == "":
			out = append(out, o.loc+": no operationId")
		case first[id] != "":
			out = append(out, fmt.Sprintf("%s: operationId %q is also used at %s", o.loc, id, first[id]))
		default:
			first[id] = o.loc
		}
	}
	return out
}

func lintOperationDescriptions(doc *openapi3.T) []string {
	var out []string
	for _, o := range lintOperations(doc) {
		if strings.TrimSpace(o.op.Description) == "" {
			out = append(out, o.loc+": no description (a summary is not enough)")
		}
	}
	return out
}

type lintSchemaAt struct {
	loc    string
	schema *openapi3.SchemaRef
}

// lintSchemaRoots lists the schemas written in place in doc: every component schema, and the schemas of
// parameters, request bodies, responses and headers, in components and in paths alike.
func lintSchemaRoots(doc *openapi3.T) []lintSchemaAt {
	var out []lintSchemaAt
	content := func(loc string, c openapi3.Content) {
		for _, mt := range lintSortedKeys(c) {
			if c[mt] != nil {
				out = append(out, lintSchemaAt{lintPointer(loc, "content", mt, "schema"), c[mt].Schema})
			}
		}
	}
	parameter := func(loc string, p *openapi3.Parameter) {
		out = append(out, lintSchemaAt{lintPointer(loc, "schema"), p.Schema})
		content(loc, p.Content)
	}
	response := func(loc string, r *openapi3.Response) {
		content(loc, r.Content)
		for _, h := range lintSortedKeys(r.Headers) {
			if v := r.Headers[h]; v != nil && v.Ref == "" && v.Value != nil {
				parameter(lintPointer(loc, "headers", h), &v.Value.Parameter)
			}
		}
	}
	parameters := func(loc string, ps openapi3.Parameters) {
		for i, p := range ps {
			if p != nil && p.Ref == "" && p.Value != nil {
				parameter(lintPointer(loc, "parameters", strconv.Itoa(i)), p.Value)
			}
		}
	}
	if c := doc.Components; c != nil {
		for _, n := range lintSortedKeys(c.Schemas) {
			out = append(out, lintSchemaAt{lintPointer("#/components/schemas", n), c.Schemas[n]})
		}
		for _, n := range lintSortedKeys(c.Parameters) {
			if p := c.Parameters[n]; p != nil && p.Ref == "" && p.Value != nil {
				parameter(lintPointer("#/components/parameters", n), p.Value)
			}
		}
		for _, n := range lintSortedKeys(c.Headers) {
			if h := c.Headers[n]; h != nil && h.Ref == "" && h.Value != nil {
				parameter(lintPointer("#/components/headers", n), &h.Value.Parameter)
			}
		}
		for _, n := range lintSortedKeys(c.RequestBodies) {
			if b := c.RequestBodies[n]; b != nil && b.Ref == "" && b.Value != nil {
				content(lintPointer("#/components/requestBodies", n), b.Value.Content)
			}
		}
		for _, n := range lintSortedKeys(c.Responses) {
			if r := c.Responses[n]; r != nil && r.Ref == "" && r.Value != nil {
				response(lintPointer("#/components/responses", n), r.Value)
			}
		}
	}
	if doc.Paths != nil {
		paths := doc.Paths.Map()
		for _, p := range lintSortedKeys(paths) {
			parameters(lintPointer("#/paths", p), paths[p].Parameters)
		}
	}
	for _, o := range lintOperations(doc) {
		parameters(o.loc, o.op.Parameters)
		if b := o.op.RequestBody; b != nil && b.Ref == "" && b.Value != nil {
			content(lintPointer(o.loc, "requestBody"), b.Value.Content)
		}
		if o.op.Responses != nil {
			rs := o.op.Responses.Map()
			for _, code := range lintSortedKeys(rs) {
				if r := rs[code]; r != nil && r.Ref == "" && r.Value != nil {
					response(lintPointer(o.loc, "responses", code), r.Value)
				}
			}
		}
	}
	return out
}

// lintWalkProperties calls visit for every property of the schema written in place at s, at any depth
// (properties, items, allOf, oneOf, anyOf, not, additionalProperties). It does not enter a $ref:
// the component it names is a root of its own.
func lintWalkProperties(loc string, s *openapi3.SchemaRef, visit func(loc string, p *openapi3.SchemaRef)) {
	if s == nil || s.Ref != "" || s.Value == nil {
		return
	}
	v := s.Value
	for _, name := range lintSortedKeys(v.Properties) {
		ploc := lintPointer(loc, "properties", name)
		visit(ploc, v.Properties[name])
		lintWalkProperties(ploc, v.Properties[name], visit)
	}
	lintWalkProperties(lintPointer(loc, "items"), v.Items, visit)
	for _, group := range []struct {
		keyword string
		members openapi3.SchemaRefs
	}{{"allOf", v.AllOf}, {"oneOf", v.OneOf}, {"anyOf", v.AnyOf}} {
		for i, m := range group.members {
			lintWalkProperties(lintPointer(loc, group.keyword, strconv.Itoa(i)), m, visit)
		}
	}
	lintWalkProperties(lintPointer(loc, "not"), v.Not, visit)
	lintWalkProperties(lintPointer(loc, "additionalProperties"), v.AdditionalProperties.Schema, visit)
}

func lintPropertyDescriptions(doc *openapi3.T) []string {
	var out []string
	viaRef := map[string][]string{} // component pointer → properties that take its description
	for _, root := range lintSchemaRoots(doc) {
		lintWalkProperties(root.loc, root.schema, func(loc string, p *openapi3.SchemaRef) {
			switch {
			case p == nil || p.Value == nil:
			case p.Ref != "":
				// $ref siblings are ignored in OpenAPI 3.0: the description must be the component's.
				if strings.TrimSpace(p.Value.Description) == "" {
					viaRef[p.Ref] = append(viaRef[p.Ref], loc)
				}
			case strings.TrimSpace(p.Value.Description) == "":
				out = append(out, loc+": no description")
			}
		})
	}
	for _, ref := range lintSortedKeys(viaRef) {
		props := viaRef[ref]
		slices.Sort(props)
		noun := "property " + props[0] + " takes its description"
		if len(props) > 1 {
			noun = "properties " + strings.Join(props, ", ") + " take theirs"
		}
		out = append(out, fmt.Sprintf("%s: no description, and the %s from it", ref, noun))
	}
	slices.Sort(out)
	return out
}

func lintComponentExamples(doc *openapi3.T) []string {
	var out []string
	if doc.Components == nil {
		return nil
	}
	for _, n := range lintSortedKeys(doc.Components.Schemas) {
		if s := doc.Components.Schemas[n]; s != nil && s.Value != nil && s.Value.Example == nil {
			out = append(out, lintPointer("#/components/schemas", n)+": no example")
		}
	}
	return out
}

func lintResponseContent(doc *openapi3.T) []string {
	var out []string
	check := func(loc string, r *openapi3.ResponseRef) {
		if r == nil || r.Ref != "" || r.Value == nil {
			return // a $ref is checked at its component
		}
		if len(r.Value.Content) == 0 {
			out = append(out, loc+": no content")
		}
		for _, mt := range lintSortedKeys(r.Value.Content) {
			if m := r.Value.Content[mt]; m == nil || m.Schema == nil {
				out = append(out, lintPointer(loc, "content", mt)+": no schema")
			}
		}
	}
	if doc.Components != nil {
		for _, n := range lintSortedKeys(doc.Components.Responses) {
			check(lintPointer("#/components/responses", n), doc.Components.Responses[n])
		}
	}
	for _, o := range lintOperations(doc) {
		if o.op.Responses == nil {
			continue
		}
		rs := o.op.Responses.Map()
		for _, code := range lintSortedKeys(rs) {
			check(lintPointer(o.loc, "responses", code), rs[code])
		}
	}
	slices.Sort(out)
	return out
}

func lintParameters(doc *openapi3.T) []string {
	var out []string
	check := func(loc string, p *openapi3.ParameterRef) {
		if p == nil || p.Ref != "" || p.Value == nil {
			return // a $ref is checked at its component
		}
		loc = fmt.Sprintf("%s (%s %s)", loc, p.Value.In, p.Value.Name)
		if strings.TrimSpace(p.Value.Description) == "" {
			out = append(out, loc+": no description")
		}
		if p.Value.Schema == nil {
			out = append(out, loc+": no schema")
		}
	}
	if doc.Components != nil {
		for _, n := range lintSortedKeys(doc.Components.Parameters) {
			check(lintPointer("#/components/parameters", n), doc.Components.Parameters[n])
		}
	}
	if doc.Paths != nil {
		paths := doc.Paths.Map()
		for _, p := range lintSortedKeys(paths) {
			for i, prm := range paths[p].Parameters {
				check(lintPointer("#/paths", p, "parameters", strconv.Itoa(i)), prm)
			}
		}
	}
	for _, o := range lintOperations(doc) {
		for i, prm := range o.op.Parameters {
			check(lintPointer(o.loc, "parameters", strconv.Itoa(i)), prm)
		}
	}
	slices.Sort(out)
	return out
}

// lintUsage finds the components reachable from a document's paths, security requirements and
// x-webhooks, following $refs through the components it reaches.
type lintUsage struct {
	c    *openapi3.Components
	used map[string]bool // "schemas/Name", "securitySchemes/name", ...
}

// follow marks the component a local $ref names, and what that component uses in turn.
func (u *lintUsage) follow(ref string) {
	kind, name, ok := strings.Cut(strings.TrimPrefix(ref, "#/components/"), "/")
	if !ok || !strings.HasPrefix(ref, "#/components/") {
		return // not a local component: nothing to mark
	}
	name, _, _ = strings.Cut(name, "/") // a ref into a component uses the whole component
	name = strings.NewReplacer("~1", "/", "~0", "~").Replace(name)
	if u.used[kind+"/"+name] {
		return
	}
	u.used[kind+"/"+name] = true
	switch kind {
	case "schemas":
		u.schema(u.c.Schemas[name])
	case "parameters":
		u.parameter(u.c.Parameters[name])
	case "headers":
		if h := u.c.Headers[name]; h != nil {
			u.header(h)
		}
	case "requestBodies":
		u.requestBody(u.c.RequestBodies[name])
	case "responses":
		u.response(u.c.Responses[name])
	}
}

func (u *lintUsage) schema(s *openapi3.SchemaRef) {
	if s == nil {
		return
	}
	if s.Ref != "" {
		u.follow(s.Ref)
		return
	}
	v := s.Value
	if v == nil {
		return
	}
	for _, n := range lintSortedKeys(v.Properties) {
		u.schema(v.Properties[n])
	}
	u.schema(v.Items)
	for _, m := range slices.Concat(v.AllOf, v.OneOf, v.AnyOf) {
		u.schema(m)
	}
	u.schema(v.Not)
	u.schema(v.AdditionalProperties.Schema)
	if v.Discriminator != nil {
		for _, k := range lintSortedKeys(v.Discriminator.Mapping) {
			ref := v.Discriminator.Mapping[k].Ref
			if !strings.Contains(ref, "/") {
				ref = "#/components/schemas/" + ref // a bare name stands for a component schema
			}
			u.follow(ref)
		}
	}
}

func (u *lintUsage) content(c openapi3.Content) {
	for _, mt := range lintSortedKeys(c) {
		if c[mt] != nil {
			u.schema(c[mt].Schema)
		}
	}
}

func (u *lintUsage) parameter(p *openapi3.ParameterRef) {
	switch {
	case p == nil:
	case p.Ref != "":
		u.follow(p.Ref)
	case p.Value != nil:
		u.schema(p.Value.Schema)
		u.content(p.Value.Content)
	}
}

func (u *lintUsage) header(h *openapi3.HeaderRef) {
	switch {
	case h.Ref != "":
		u.follow(h.Ref)
	case h.Value != nil:
		u.schema(h.Value.Schema)
		u.content(h.Value.Content)
	}
}

func (u *lintUsage) requestBody(b *openapi3.RequestBodyRef) {
	switch {
	case b == nil:
	case b.Ref != "":
		u.follow(b.Ref)
	case b.Value != nil:
		u.content(b.Value.Content)
	}
}

func (u *lintUsage) response(r *openapi3.ResponseRef) {
	switch {
	case r == nil:
	case r.Ref != "":
		u.follow(r.Ref)
	case r.Value != nil:
		u.content(r.Value.Content)
		for _, n := range lintSortedKeys(r.Value.Headers) {
			if h := r.Value.Headers[n]; h != nil {
				u.header(h)
			}
		}
	}
}

func (u *lintUsage) security(reqs openapi3.SecurityRequirements) {
	for _, req := range reqs {
		for name := range req {
			u.used["securitySchemes/"+name] = true
		}
	}
}

// lintExtensionRefs calls fn with every "$ref" string inside an extension's decoded value.
func lintExtensionRefs(v any, fn func(ref string)) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range lintSortedKeys(v) {
			if s, ok := v[k].(string); ok && k == "$ref" {
				fn(s)
			} else {
				lintExtensionRefs(v[k], fn)
			}
		}
	case []any:
		for _, e := range v {
			lintExtensionRefs(e, fn)
		}
	}
}

func lintUnusedComponents(doc *openapi3.T) []string {
	if doc.Components == nil {
		return nil
	}
	u := &lintUsage{c: doc.Components, used: map[string]bool{}}
	u.security(doc.Security)
	if doc.Paths != nil {
		for _, item := range doc.Paths.Map() {
			for _, p := range item.Parameters {
				u.parameter(p)
			}
		}
	}
	for _, o := range lintOperations(doc) {
		for _, p := range o.op.Parameters {
			u.parameter(p)
		}
		u.requestBody(o.op.RequestBody)
		if o.op.Responses != nil {
			for _, r := range o.op.Responses.Map() {
				u.response(r)
			}
		}
		if o.op.Security != nil {
			u.security(*o.op.Security)
		}
	}
	lintExtensionRefs(doc.Extensions["x-webhooks"], u.follow)

	var out []string
	c := doc.Components
	for _, kind := range []struct {
		name  string
		names []string
	}{
		{"parameters", lintSortedKeys(c.Parameters)},
		{"headers", lintSortedKeys(c.Headers)},
		{"requestBodies", lintSortedKeys(c.RequestBodies)},
		{"responses", lintSortedKeys(c.Responses)},
		{"schemas", lintSortedKeys(c.Schemas)},
		{"securitySchemes", lintSortedKeys(c.SecuritySchemes)},
	} {
		for _, n := range kind.names {
			if !u.used[kind.name+"/"+n] {
				out = append(out, lintPointer("#/components/"+kind.name, n)+": not used")
			}
		}
	}
	return out
}
