package mock

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-json-experiment/json/jsontext"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
)

// factsNull are the link's fields the real API writes as null when it has no value (FACTS.md),
// as paths; "payee.*" is every property the spec gives the payee. Every other field without a
// value is left out: Dots' own spec does not allow null in most of them (transfer_id, ...).
var factsNull = []string{"claimed_user_id", "memo", "metadata", "payee.*"}

// computed are the link's fields the mock works out itself; the request's are not echoed.
var computed = map[string]bool{
	"id": true, "created": true, "link": true, "amount": true, "status": true, "flow_id": true,
	"claimed_user_id": true, "transfer_id": true, "delivery.method": true, "delivery.email": true,
	"delivery.country_code": true, "delivery.phone_number": true,
}

// linkSchema is what the mock reads from the spec to build the link a create makes, so that a
// field added to openapi.yaml round-trips with no change to the mock: every property of the
// request that the link also has is answered back (inside objects both schemas describe with
// properties, member by member), one the request left out gets the spec's default, and factsNull
// are written as null where the spec allows it.
type linkSchema struct {
	req, resp *openapi3.Schema
	nulls     [][]string // factsNull resolved against resp, such as ["payee", "email"]
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

// resolveNull expands a factsNull path against s to the paths of the nullable properties it names.
func resolveNull(s *openapi3.Schema, path []string) (out [][]string) {
	for name, p := range s.Properties {
		switch {
		case path[0] != "*" && path[0] != name || p.Value == nil:
		case len(path) == 1 && acceptsNull(p.Value):
			out = append(out, []string{name})
		case len(path) > 1:
			for _, rest := range resolveNull(p.Value, path[1:]) {
				out = append(out, append([]string{name}, rest...))
			}
		}
	}
	return out
}

// acceptsNull reports whether the spec allows null for s: it is nullable, one of its oneOf or
// anyOf alternatives is (as Metadata's object form is), or every part of its allOf is.
func acceptsNull(s *openapi3.Schema) bool {
	for _, alt := range slices.Concat(s.OneOf, s.AnyOf) {
		if alt.Value != nil && acceptsNull(alt.Value) {
			return true
		}
	}
	all := len(s.AllOf) > 0
	for _, part := range s.AllOf {
		all = all && part.Value != nil && acceptsNull(part.Value)
	}
	return s.Nullable || all
}

// object is a JSON object as the mock reads a request: its members as written; nil when the
// text is no object.
type object map[string]jsontext.Value

func parseObject(b []byte) object {
	var m object
	if codec.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

// obj reads the member name as an object.
func (o object) obj(name string) object {
	if v := o[name]; v.Kind() == '{' {
		return parseObject(v)
	}
	return nil
}

// str reads the member name as a string, or "".
func (o object) str(name string) string {
	var s string
	if v := o[name]; v.Kind() == '"' && codec.Unmarshal(v, &s) == nil {
		return s
	}
	return ""
}

// echo keeps the members of in that resp also has, except the computed ones (prefix is the
// path of in, such as "payee."); whole numbers written as floats (42.0) are written as integers
// where resp says integer.
func echo(in object, req, resp *openapi3.Schema, prefix string) map[string]any {
	out := make(map[string]any, len(in))
	for name, v := range in {
		rp := resp.Properties[name]
		if v.Kind() == 'n' || rp == nil || rp.Value == nil || computed[prefix+name] {
			continue
		}
		if qp := req.Properties[name]; v.Kind() == '{' && len(rp.Value.Properties) > 0 && qp != nil && qp.Value != nil && len(qp.Value.Properties) > 0 {
			out[name] = echo(parseObject(v), qp.Value, rp.Value, prefix+name+".")
			continue
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
func (ls *linkSchema) build(in object, computedFields map[string]any) map[string]any {
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
		sub, isMap := v.(map[string]any)
		if have, ok := doc[name].(map[string]any); ok && isMap {
			maps.Copy(have, sub)
		} else {
			doc[name] = v
		}
	}
	return doc
}
