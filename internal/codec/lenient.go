package codec

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Note is a value that UnmarshalLenient could not read as its type asks, and how it read it.
type Note struct {
	// Pointer is where the value is, as a JSON pointer ("/data/3/amount").
	Pointer string
	// Problem says what was wrong and what was kept.
	Problem string
}

// Field is the Note's place written as a field path: "amount", "data[3].amount", or "" for the
// whole document.
func (n Note) Field() string {
	var b strings.Builder
	for i, tok := range strings.Split(strings.TrimPrefix(n.Pointer, "/"), "/") {
		if tok == "" && i == 0 {
			continue
		}
		tok = strings.NewReplacer("~1", "/", "~0", "~").Replace(tok)
		if _, err := strconv.Atoi(tok); err == nil && b.Len() > 0 {
			b.WriteString("[" + tok + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// UnmarshalLenient decodes data into v as Unmarshal does, except that a value that does not fit
// its place (a string where a number belongs, a timestamp that cannot be read, a number with a
// fraction where a whole number belongs) does not fail the document: the value is left at its
// zero value (a number with a fraction at its whole part, toward zero), a Note says what
// happened, and the rest is read. Only JSON that is not well formed, or a document of the wrong
// kind as a whole (an array for a struct), is an error. Callers use it
// after Unmarshal failed, so that one odd field never hides a good answer.
func UnmarshalLenient(data []byte, v any) ([]Note, error) {
	var notes []Note
	fn := func(dec *jsontext.Decoder, v any) error {
		rv := reflect.ValueOf(v)
		if rv.Kind() != reflect.Pointer || rv.IsNil() {
			return errors.ErrUnsupported
		}
		target := rv.Elem()
		kind := dec.PeekKind()
		if container(kind, target) {
			return errors.ErrUnsupported // read it as usual; its members come back here one by one
		}
		raw, err := dec.ReadValue()
		if err != nil {
			return err
		}
		// The value on its own, without this function: its type's own rules, strictly.
		fresh := reflect.New(target.Type())
		if err := json.Unmarshal(raw, fresh.Interface(), options); err == nil {
			target.Set(fresh.Elem())
			return nil
		}
		target.SetZero()
		pointer := string(dec.StackPointer())
		if whole, ok := wholePart(raw, target); ok {
			notes = append(notes, Note{pointer, fmt.Sprintf("%s is not a whole number; read as %d", raw, whole)})
			return nil
		}
		notes = append(notes, Note{pointer, fmt.Sprintf("%s cannot be read as %s; left empty", describe(raw), typeName(target.Type()))})
		return nil
	}
	if err := json.Unmarshal(data, v, options, json.WithUnmarshalers(json.UnmarshalFromFunc(fn))); err != nil {
		return notes, err
	}
	for _, n := range notes {
		if n.Pointer == "" {
			return notes, errors.New(n.Problem) // the document itself: nothing was read
		}
	}
	return notes, nil
}

// container reports whether a JSON object or array goes into a Go value that holds members
// (a struct, a map, a slice), so it is read member by member rather than as one value.
func container(kind jsontext.Kind, target reflect.Value) bool {
	t := target.Type()
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.UnmarshalerFrom]()) ||
		reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return false // a type with its own reading: one value
	}
	switch kind {
	case '{':
		return t.Kind() == reflect.Struct || t.Kind() == reflect.Map
	case '[':
		return t.Kind() == reflect.Slice || t.Kind() == reflect.Array
	}
	return false
}

// wholePart sets an integer target to the whole part of a number with a fraction.
func wholePart(raw jsontext.Value, target reflect.Value) (int64, bool) {
	if raw.Kind() != '0' || !target.CanInt() {
		return 0, false
	}
	f, err := strconv.ParseFloat(string(raw), 64)
	if err != nil || math.IsInf(f, 0) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	whole := int64(math.Trunc(f))
	if target.OverflowInt(whole) {
		return 0, false
	}
	target.SetInt(whole)
	return whole, true
}

// describe names a JSON value without repeating text that could be personal: numbers, booleans
// and null are shown, strings, objects and arrays only by kind.
func describe(raw jsontext.Value) string {
	switch raw.Kind() {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	}
	if len(raw) > 40 {
		return string(raw[:40]) + "…"
	}
	return string(raw)
}

func typeName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "text"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	if t.Name() != "" {
		return "a " + t.Name()
	}
	return t.String()
}
