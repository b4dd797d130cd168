package spec

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/payoutkit/dots-go/internal/codec"
)

// CheckBody checks a request body given as a Go value (a generated request type) against the
// operation's request schema, as Check does for its JSON, without encoding and decoding it: it
// walks the value's fields by their JSON names beside the schema's properties, and hands each
// value that is present to kin-openapi's schema validation. Parts the walk does not follow (a
// oneOf or allOf, a list, a map, a type with its own JSON form) are validated as JSON.
func (s *Spec) CheckBody(op *Operation, body any) []Violation {
	sch := op.RequestSchema()
	if sch == nil {
		return nil
	}
	w := walk{s: s, path: append(make([]string, 0, 8), "$")} // room for the depth of a request
	w.value(sch, reflect.ValueOf(body))
	return w.out
}

// walk is one CheckBody: where it is (path, the names down to the value) and what it found.
type walk struct {
	s    *Spec
	path []string
	out  []Violation
}

func (w *walk) at() string { return strings.Join(w.path, ".") }

func (w *walk) add(msg string) { w.out = append(w.out, Violation{Path: w.at(), Message: msg}) }

var marshaler = reflect.TypeFor[interface{ MarshalJSON() ([]byte, error) }]()

func (w *walk) value(sch *openapi3.Schema, v reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			w.visit(sch, nil)
			return
		}
		v = v.Elem()
	}
	switch {
	case len(sch.OneOf)+len(sch.AnyOf)+len(sch.AllOf) > 0 || v.Type().Implements(marshaler) ||
		reflect.PointerTo(v.Type()).Implements(marshaler) || v.Kind() == reflect.Slice || v.Kind() == reflect.Map:
		b, err := codec.Marshal(v.Interface())
		var x any
		if err == nil {
			err = codec.Unmarshal(b, &x)
		}
		if err != nil {
			w.add("cannot be encoded: " + err.Error())
			return
		}
		w.visit(sch, x)
	case v.Kind() == reflect.Struct:
		for _, jf := range jsonFields(v.Type()) {
			name, f := jf.name, v.Field(jf.index)
			present := !(f.Kind() == reflect.Pointer && f.IsNil()) && !(jf.omit && f.IsZero())
			prop := sch.Properties[name]
			w.path = append(w.path, name)
			switch {
			case !present:
				if slices.Contains(sch.Required, name) {
					w.add("is required")
				}
			case prop == nil || prop.Value == nil:
				if sch.AdditionalProperties.Has != nil && !*sch.AdditionalProperties.Has {
					w.add("is not a field of the spec")
				}
			default:
				w.value(prop.Value, f)
			}
			w.path = w.path[:len(w.path)-1]
		}
	case !constrained(sch):
		// The Go type already gives the value its JSON type; nothing else can be wrong.
	case v.CanInt():
		w.visit(sch, float64(v.Int()))
	case v.CanUint():
		w.visit(sch, float64(v.Uint()))
	case v.CanFloat():
		w.visit(sch, v.Float())
	case v.Kind() == reflect.String:
		w.visit(sch, v.String())
	case v.Kind() == reflect.Bool:
		w.visit(sch, v.Bool())
	default:
		w.add("has a Go type the spec cannot check: " + v.Type().String())
	}
}

// constrained reports whether a scalar schema says more than its type: a value of the right Go
// type can break it.
func constrained(s *openapi3.Schema) bool {
	return len(s.Enum) > 0 || s.Pattern != "" || s.Format != "" || s.Min != nil || s.Max != nil ||
		s.MinLength > 0 || s.MaxLength != nil || s.MultipleOf != nil || s.Not != nil
}

// visit validates one JSON value against its schema with kin-openapi.
func (w *walk) visit(sch *openapi3.Schema, x any) {
	if err := sch.VisitJSON(x, w.s.visitOpts...); err != nil {
		w.out = append(w.out, violations(w.at(), err, false)...)
	}
}

// jsonField is a struct field with a JSON name: its index, its name, and whether a zero value
// is left out.
type jsonField struct {
	index int
	name  string
	omit  bool
}

// fieldsByType holds the jsonFields of each struct type walked (a reflect.Type's fields are
// read once, not on every check).
var fieldsByType sync.Map

// jsonFields are the fields of a struct type that have a JSON name, in order.
func jsonFields(t reflect.Type) []jsonField {
	if fs, ok := fieldsByType.Load(t); ok {
		return fs.([]jsonField)
	}
	var fs []jsonField
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Tag.Get("json") != "-" {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			fs = append(fs, jsonField{i, cmp.Or(name, f.Name), strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")})
		}
	}
	fieldsByType.Store(t, fs)
	return fs
}

// Repair reads a 2xx body of op as the generated models will, and returns it with every value
// they could not read left empty: each value whose JSON type (or date-time format) breaks the
// schema, and that is not known drift of the real API, becomes null (a number with a fraction
// where a whole number belongs becomes its whole part), and a note names it. So one odd field
// never fails the decoding of a generated call's answer. The body comes back unchanged when
// nothing needs repair; an error means it is no JSON, or not of the schema's kind at its root.
func (s *Spec) Repair(op *Operation, status int, body []byte) ([]byte, []codec.Note, error) {
	sch := op.Schema(status)
	if sch == nil {
		return body, nil, nil
	}
	var doc any
	if err := codec.Unmarshal(body, &doc); err != nil {
		return nil, nil, err
	}
	err := sch.VisitJSON(doc, s.visitOpts...)
	var errs openapi3.MultiError
	if err != nil && !errors.As(err, &errs) {
		errs = openapi3.MultiError{err}
	}
	var notes []codec.Note
	for _, e := range errs {
		var se *openapi3.SchemaError
		if !errors.As(e, &se) || !slices.Contains([]string{"type", "format", "oneOf", "anyOf"}, se.SchemaField) {
			continue // a bound, a pattern, an enum value: the models read it all the same
		}
		raw, _ := codec.Marshal(se.Value)
		if drift(se.Schema, string(raw)) != nil {
			continue // the wire types read it
		}
		ptr := se.JSONPointer()
		if len(ptr) == 0 {
			return nil, nil, fmt.Errorf("the body is %s, not what the spec says", describeJSON(se.Value))
		}
		var fix any // null
		problem := fmt.Sprintf("%s breaks the spec (%s); left empty", describeJSON(se.Value), se.Reason)
		if f, ok := se.Value.(float64); ok && se.Schema.Type.Is(openapi3.TypeInteger) && math.Abs(f) <= 1<<53 {
			fix, problem = math.Trunc(f), fmt.Sprintf("%s is not a whole number; read as %d", raw, int64(math.Trunc(f)))
		}
		setAt(doc, ptr, fix)
		notes = append(notes, codec.Note{Pointer: "/" + strings.Join(ptr, "/"), Problem: problem})
	}
	if len(notes) == 0 {
		return body, nil, nil
	}
	fixed, err := codec.Marshal(doc)
	return fixed, notes, err
}

// setAt sets the value at a JSON pointer's tokens in a decoded document.
func setAt(doc any, ptr []string, v any) {
	for i, tok := range ptr {
		last := i == len(ptr)-1
		switch x := doc.(type) {
		case map[string]any:
			if last {
				x[tok] = v
			}
			doc = x[tok]
		case []any:
			n, err := strconv.Atoi(tok)
			if err != nil || n < 0 || n >= len(x) {
				return
			}
			if last {
				x[n] = v
			}
			doc = x[n]
		default:
			return
		}
	}
}

// describeJSON names a decoded JSON value without repeating text that could be personal.
func describeJSON(v any) string {
	switch x := v.(type) {
	case string:
		return "a string"
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case nil:
		return "null"
	default:
		return fmt.Sprint(x)
	}
}
