package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// compare lists what the published document has that ours lacks or types differently. Operations
// are matched by method and path, whatever their operationIds and path parameters are called;
// parameters by where they go and their name (path parameters are matched with the path).
func compare(ours, published *openapi3.T) []string {
	byKey := map[string]*openapi3.Operation{}
	for path, item := range ours.Paths.Map() {
		for method, op := range item.Operations() {
			byKey[method+" "+params.ReplaceAllString(path, "{}")] = op
		}
	}
	var out []string
	for _, path := range slices.Sorted(maps.Keys(published.Paths.Map())) {
		item := published.Paths.Value(path)
		for _, method := range slices.Sorted(maps.Keys(item.Operations())) {
			op, where := item.Operations()[method], method+" "+path
			mine := byKey[method+" "+params.ReplaceAllString(path, "{}")]
			if mine == nil {
				out = append(out, "new operation: "+where)
				continue
			}
			ourItem := ours.Paths.Find(path)
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p.Value == nil || p.Value.In == openapi3.ParameterInPath {
					continue
				}
				at := where + " " + p.Value.In + " " + p.Value.Name
				if ourP := findParam(ourItem, mine, p.Value.In, p.Value.Name); ourP == nil {
					out = append(out, "new parameter: "+at)
				} else {
					out = diff(out, at, "", shapeOf(p.Value.Schema, nil), shapeOf(ourP.Schema, nil))
				}
			}
			if body := jsonSchema(op.RequestBody); body != nil {
				out = diff(out, where+" request", "$", shapeOf(body, nil), shapeOf(jsonSchema(mine.RequestBody), nil))
			}
			for _, code := range slices.Sorted(maps.Keys(op.Responses.Map())) {
				var ourResp *openapi3.ResponseRef
				if n, err := strconv.Atoi(code); err == nil {
					ourResp = mine.Responses.Status(n)
				} else {
					ourResp = mine.Responses.Value(code)
				}
				if ourResp == nil {
					out = append(out, "new response: "+where+" "+code)
					continue
				}
				theirs := op.Responses.Value(code)
				if s := responseSchema(theirs); s != nil {
					out = diff(out, where+" response "+code, "$", shapeOf(s, nil), shapeOf(responseSchema(ourResp), nil))
				}
			}
		}
	}
	return out
}

var params = regexp.MustCompile(`\{[^}]*\}`)

func findParam(item *openapi3.PathItem, op *openapi3.Operation, in, name string) *openapi3.Parameter {
	if p := op.Parameters.GetByInAndName(in, name); p != nil {
		return p
	}
	if item != nil {
		return item.Parameters.GetByInAndName(in, name)
	}
	return nil
}

func jsonSchema(rb *openapi3.RequestBodyRef) *openapi3.SchemaRef {
	if rb == nil || rb.Value == nil || rb.Value.Content.Get("application/json") == nil {
		return nil
	}
	return rb.Value.Content.Get("application/json").Schema
}

func responseSchema(r *openapi3.ResponseRef) *openapi3.SchemaRef {
	if r == nil || r.Value == nil || r.Value.Content.Get("application/json") == nil {
		return nil
	}
	return r.Value.Content.Get("application/json").Schema
}

// shape is a schema normalised for comparison: the union of what its alternatives (oneOf, anyOf,
// allOf) allow, with OpenAPI 3.0's nullable and 3.1's type lists both read as the JSON type
// "null". No types means any.
type shape struct {
	types, formats, enum map[string]bool
	props                map[string]*shape
	items                *shape
}

func shapeOf(ref *openapi3.SchemaRef, seen []*openapi3.Schema) *shape {
	sh := &shape{types: map[string]bool{}, formats: map[string]bool{}, enum: map[string]bool{}, props: map[string]*shape{}}
	if ref == nil || ref.Value == nil || slices.Contains(seen, ref.Value) {
		return sh
	}
	s, seen := ref.Value, append(seen, ref.Value)
	if s.Type != nil {
		for _, t := range *s.Type {
			sh.types[t] = true
		}
	}
	if s.Nullable {
		sh.types["null"] = true
	}
	if s.Format != "" {
		sh.formats[s.Format] = true
	}
	for _, v := range s.Enum {
		b, _ := json.Marshal(v)
		sh.enum[string(b)] = true
	}
	for name, p := range s.Properties {
		sh.props[name] = shapeOf(p, seen)
	}
	if s.Items != nil {
		sh.items = shapeOf(s.Items, seen)
	}
	for _, alt := range slices.Concat(s.OneOf, s.AnyOf, s.AllOf) {
		sh.merge(shapeOf(alt, seen))
	}
	return sh
}

func (sh *shape) merge(o *shape) {
	maps.Copy(sh.types, o.types)
	maps.Copy(sh.formats, o.formats)
	maps.Copy(sh.enum, o.enum)
	for name, p := range o.props {
		if mine, ok := sh.props[name]; ok {
			mine.merge(p)
		} else {
			sh.props[name] = p
		}
	}
	switch {
	case o.items == nil:
	case sh.items == nil:
		sh.items = o.items
	default:
		sh.items.merge(o.items)
	}
}

// diff appends what theirs (published) allows at path that ours does not.
func diff(out []string, where, path string, theirs, ours *shape) []string {
	at := strings.TrimSpace(where + " " + path)
	if !ours.accepts(theirs) {
		out = append(out, fmt.Sprintf("type change: %s: Dots has %s, openapi.yaml has %s", at, theirs.typeName(), ours.typeName()))
	}
	if len(ours.enum) > 0 {
		for _, v := range slices.Sorted(maps.Keys(theirs.enum)) {
			if !ours.enum[v] {
				out = append(out, fmt.Sprintf("new enum value: %s: %s", at, v))
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(theirs.props)) {
		if p, ok := ours.props[name]; ok {
			out = diff(out, where, path+"."+name, theirs.props[name], p)
		} else {
			out = append(out, "new field: "+at+"."+name)
		}
	}
	if theirs.items != nil && ours.items != nil {
		out = diff(out, where, path+"[]", theirs.items, ours.items)
	}
	return out
}

// accepts reports whether every JSON type (and format) theirs allows is allowed by sh; an integer
// is a number, and a schema without types or formats allows any.
func (sh *shape) accepts(theirs *shape) bool {
	for t := range theirs.types {
		if len(sh.types) > 0 && !sh.types[t] && !(t == "integer" && sh.types["number"]) {
			return false
		}
	}
	for f := range theirs.formats {
		if len(sh.formats) > 0 && !sh.formats[f] {
			return false
		}
	}
	return true
}

// typeName reads like "string|null (uuid)".
func (sh *shape) typeName() string {
	s := strings.Join(slices.Sorted(maps.Keys(sh.types)), "|")
	if s == "" {
		s = "any"
	}
	if len(sh.formats) > 0 {
		s += " (" + strings.Join(slices.Sorted(maps.Keys(sh.formats)), "|") + ")"
	}
	return s
}
