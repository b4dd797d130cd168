package mock

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	dots "github.com/payoutkit/dots-go"
)

// factsNull are the response fields the real API writes as null when it has no value (FACTS.md:
// claimed_user_id, the payee's fields, memo, metadata), as paths; "payee.*" is every property
// the spec gives the payee. Every other field without a value is left out, never null: Dots' own
// spec does not allow null in most of them (transfer_id, delivery.email, ...).
var factsNull = []string{"claimed_user_id", "memo", "metadata", "payee.*"}

// computed are the response fields the mock works out itself, as paths; a request field at the
// same path is not echoed.
var computed = map[string]bool{
	"id": true, "created": true, "link": true, "amount": true, "status": true, "flow_id": true,
	"claimed_user_id": true, "transfer_id": true, "delivery.method": true, "delivery.email": true,
	"delivery.country_code": true, "delivery.phone_number": true,
}

// linkSchema is what the mock reads from the spec to build the link a create makes: the schemas
// of the create request and of its 201 answer. Nothing else about the fields is written in Go:
// every property of the request that the payout link also has is kept and answered back
// (recursively inside objects both schemas describe with properties), a property the request
// does not carry gets the default the spec gives it, and factsNull are written as null when the
// spec allows it. So a field added to openapi.yaml round-trips with no change to the mock.
type linkSchema struct {
	req, resp *openapi3.Schema
	// nulls are factsNull resolved against resp: paths of nullable properties, such as
	// ["payee", "email"].
	nulls [][]string
}

// newLinkSchema finds the schemas of operationID's JSON request body and of its 201 answer.
func newLinkSchema(doc *openapi3.T, operationID string) (*linkSchema, error) {
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID != operationID {
				continue
			}
			req := jsonSchema(op.RequestBody.Value.Content)
			var resp *openapi3.Schema
			if r := op.Responses.Status(201); r != nil && r.Value != nil {
				resp = jsonSchema(r.Value.Content)
			}
			if req == nil || resp == nil {
				return nil, fmt.Errorf("%s has no JSON request body or no JSON 201 answer", operationID)
			}
			ls := &linkSchema{req: req, resp: resp}
			for _, p := range factsNull {
				ls.nulls = append(ls.nulls, resolveNull(resp, strings.Split(p, "."))...)
			}
			return ls, nil
		}
	}
	return nil, fmt.Errorf("the spec has no operation %s", operationID)
}

func jsonSchema(c openapi3.Content) *openapi3.Schema {
	if mt := c.Get("application/json"); mt != nil && mt.Schema != nil {
		return mt.Schema.Value
	}
	return nil
}

// resolveNull expands one factsNull path against schema s: the paths of the nullable properties
// it names ("*" names every property of an object).
func resolveNull(s *openapi3.Schema, path []string) [][]string {
	if s == nil || len(path) == 0 {
		return nil
	}
	names := []string{path[0]}
	if path[0] == "*" {
		names = names[:0]
		for name := range s.Properties {
			names = append(names, name)
		}
	}
	var out [][]string
	for _, name := range names {
		p := s.Properties[name]
		if p == nil || p.Value == nil {
			continue
		}
		if len(path) == 1 {
			if acceptsNull(p.Value) {
				out = append(out, []string{name})
			}
			continue
		}
		for _, rest := range resolveNull(p.Value, path[1:]) {
			out = append(out, append([]string{name}, rest...))
		}
	}
	return out
}

// acceptsNull reports whether the spec allows null for s: it is nullable, one of its oneOf or
// anyOf alternatives is (as Metadata's object form is), or every part of its allOf is.
func acceptsNull(s *openapi3.Schema) bool {
	if s.Nullable {
		return true
	}
	for _, alt := range append(append(openapi3.SchemaRefs(nil), s.OneOf...), s.AnyOf...) {
		if alt.Value != nil && acceptsNull(alt.Value) {
			return true
		}
	}
	if len(s.AllOf) == 0 {
		return false
	}
	for _, part := range s.AllOf {
		if part.Value == nil || !acceptsNull(part.Value) {
			return false
		}
	}
	return true
}

// createInput is a create request as the mock reads it: its members, numbers kept as written.
type createInput map[string]any

// parseCreate reads a create body that passed the spec.
func parseCreate(body []byte) (createInput, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var in createInput
	if err := dec.Decode(&in); err != nil || in == nil {
		return nil, errors.New("$: the body is not a JSON object")
	}
	return in, nil
}

// str reads a string at a path of nested objects, or "".
func (in createInput) str(path ...string) string {
	var v any = map[string]any(in)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

// echo keeps the members of the request object in that the response schema resp also has,
// except the computed ones (prefix is the path of in, such as "payee."); objects both schemas
// describe with properties are kept member by member. Whole numbers written as floats (42.0) are
// written as integers where resp says integer.
func echo(in map[string]any, req, resp *openapi3.Schema, prefix string) map[string]any {
	out := make(map[string]any, len(in))
	for name, v := range in {
		rp := resp.Properties[name]
		if v == nil || rp == nil || rp.Value == nil || computed[prefix+name] {
			continue
		}
		if sub, ok := v.(map[string]any); ok && len(rp.Value.Properties) > 0 {
			if qp := req.Properties[name]; qp != nil && qp.Value != nil && len(qp.Value.Properties) > 0 {
				out[name] = echo(sub, qp.Value, rp.Value, prefix+name+".")
				continue
			}
		}
		if n, ok := v.(json.Number); ok && rp.Value.Type.Is(openapi3.TypeInteger) {
			if whole, err := dots.ParseWholeNumber(string(n)); err == nil {
				v = json.Number(strconv.FormatInt(whole, 10))
			}
		}
		out[name] = v
	}
	return out
}

// build makes the document of a new link: the echo of the request, the spec's defaults for what
// the request left out, factsNull as null, then the computed fields, which win.
func (ls *linkSchema) build(in createInput, computedFields map[string]any) map[string]any {
	doc := echo(in, ls.req, ls.resp, "")
	for name, p := range ls.resp.Properties {
		if _, ok := doc[name]; !ok && p.Value != nil && p.Value.Default != nil && !computed[name] {
			doc[name] = p.Value.Default
		}
	}
	for _, path := range ls.nulls {
		m := doc
		for _, p := range path[:len(path)-1] {
			sub, ok := m[p].(map[string]any)
			if !ok {
				sub = map[string]any{}
				m[p] = sub
			}
			m = sub
		}
		if _, ok := m[path[len(path)-1]]; !ok {
			m[path[len(path)-1]] = nil
		}
	}
	for name, v := range computedFields {
		if sub, ok := v.(map[string]any); ok {
			if have, ok := doc[name].(map[string]any); ok {
				for k, x := range sub {
					have[k] = x
				}
				continue
			}
		}
		doc[name] = v
	}
	return doc
}
