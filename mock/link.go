package mock

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-json-experiment/json/jsontext"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
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

// newLinkSchema reads the schemas of operationID's JSON request body and of its 201 answer.
func newLinkSchema(sp *spec.Spec, operationID string) (*linkSchema, error) {
	op, ok := sp.Operation(operationID)
	if !ok {
		return nil, fmt.Errorf("the spec has no operation %s", operationID)
	}
	ls := &linkSchema{req: op.RequestSchema(), resp: op.Schema(http.StatusCreated)}
	if ls.req == nil || ls.resp == nil {
		return nil, fmt.Errorf("%s has no JSON request body or no JSON 201 answer", operationID)
	}
	for _, p := range factsNull {
		ls.nulls = append(ls.nulls, resolveNull(ls.resp, strings.Split(p, "."))...)
	}
	return ls, nil
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

// createInput is a create request (or one of its objects) as the mock reads it: its members,
// each as written, and the objects among them once read.
type createInput struct {
	members map[string]jsontext.Value
	objects map[string]createInput
}

// parseCreate reads a create body (or one of its objects); an error when it is not a JSON object.
func parseCreate(body []byte) (createInput, error) {
	var m map[string]jsontext.Value
	if err := codec.Unmarshal(body, &m); err != nil || m == nil {
		return createInput{}, errors.New("$: the body is not a JSON object")
	}
	return createInput{members: m}, nil
}

// valid reports whether the input was read.
func (in createInput) valid() bool { return in.members != nil }

// obj reads the member name as an object, once; not valid when it is not one.
func (in *createInput) obj(name string) createInput {
	if sub, ok := in.objects[name]; ok {
		return sub
	}
	v := in.members[name]
	if v.Kind() != '{' {
		return createInput{}
	}
	sub, _ := parseCreate(v)
	if in.objects == nil {
		in.objects = map[string]createInput{}
	}
	in.objects[name] = sub
	return sub
}

// str reads the member name as a string, or "".
func (in createInput) str(name string) string {
	v := in.members[name]
	var s string
	if v.Kind() != '"' || codec.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// echo keeps the members of the request object in that the response schema resp also has,
// except the computed ones (prefix is the path of in, such as "payee."); objects both schemas
// describe with properties are kept member by member. Whole numbers written as floats (42.0) are
// written as integers where resp says integer.
func echo(in *createInput, req, resp *openapi3.Schema, prefix string) map[string]any {
	out := make(map[string]any, len(in.members))
	for name, v := range in.members {
		rp := resp.Properties[name]
		if v.Kind() == 'n' || rp == nil || rp.Value == nil || computed[prefix+name] {
			continue
		}
		if v.Kind() == '{' && len(rp.Value.Properties) > 0 {
			if qp := req.Properties[name]; qp != nil && qp.Value != nil && len(qp.Value.Properties) > 0 {
				if sub := in.obj(name); sub.valid() {
					out[name] = echo(&sub, qp.Value, rp.Value, prefix+name+".")
					continue
				}
			}
		}
		if v.Kind() == '0' && rp.Value.Type.Is(openapi3.TypeInteger) {
			if whole, err := dots.ParseWholeNumber(string(v)); err == nil {
				v = jsontext.Value(strconv.AppendInt(nil, whole, 10))
			}
		}
		out[name] = v
	}
	return out
}

// build makes the document of a new link: the echo of the request, the spec's defaults for what
// the request left out, factsNull as null, then the computed fields, which win.
func (ls *linkSchema) build(in *createInput, computedFields map[string]any) map[string]any {
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
