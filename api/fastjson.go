package api

// fastjson.go holds the SDK's own JSON decoder and encoder for the generated models. They exist
// for speed alone (BENCHMARKS.md) and never decide anything encoding/json would decide
// differently: on anything unusual they hand the value to encoding/json. FuzzDecodeLikeEncodingJSON
// and FuzzEncodeLikeEncodingJSON (bench_test.go) hold them to encoding/json through the public API.

import (
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/oapi-codegen/nullable"
	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/internal/jsonscan"
)

// ---- Decoding success bodies without encoding/json's reflection per value ----
//
// encoding/json is about half of the client's CPU: it scans every body twice (checkValid, then
// the decode), and each nullable.Nullable field runs a nested json.Unmarshal of its own. The
// decoder below walks the body once, with a plan per Go type built once by reflection, and
// handles the field types the generated models use (strings, enums, bools, int64s, pointers to
// them, nested structs and slices of them, nullable.Nullable[string|int64|dots.Metadata],
// dots.Amount, dots.Timestamp, and any json.Unmarshaler).
//
// It never decides anything encoding/json would decide differently: it only finishes when the
// body is plain (valid JSON, keys matched exactly, no duplicate keys, no key that matches a field
// only case-insensitively, no value of the wrong type). On anything else it gives up, zeroes the
// target, and the caller decodes with encoding/json, which then produces the result or the error
// it always did. A value it does not know how to read fast (an escaped string, a type it has no
// case for) goes to encoding/json on its own, which reads it exactly as it would in place.

// fastUnmarshal decodes data into v, a pointer to a zero value of a struct type, and reports
// whether it did. When it reports false, *v is zero and the caller must use json.Unmarshal.
func fastUnmarshal(data []byte, v any) bool {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return false
	}
	p := planOf(rv.Type().Elem())
	if p == nil {
		return false
	}
	ev := rv.Elem()
	d := fastDecoder{data: data}
	d.space()
	ok := d.pos < len(d.data) && d.data[d.pos] == '{' && d.object(p, ev)
	if ok {
		d.space()
		ok = d.pos == len(d.data)
	}
	if !ok {
		ev.SetZero()
	}
	return ok
}

type fieldKind uint8

const (
	fkJSON        fieldKind = iota // anything else: json.Unmarshal into the field, value by value
	fkUnmarshaler                  // the field's pointer is a json.Unmarshaler
	fkString                       // a string kind (enums included)
	fkBool
	fkInt64
	fkPtrString
	fkPtrBool
	fkPtrInt64
	fkStruct
	fkPtrStruct
	fkSliceStruct
	fkNullString
	fkNullInt64
	fkNullMetadata
	fkAmount
	fkTimestamp
)

type fieldPlan struct {
	index int
	kind  fieldKind
	elem  *structPlan // for fkStruct, fkPtrStruct, fkSliceStruct
}

type structPlan struct {
	bad    bool // the type turned out unsupported while a recursive plan pointed to it
	fields []fieldPlan
	byName map[string]int      // JSON name -> index into fields
	folded map[string]struct{} // lower-cased JSON names, to spot case-insensitive matches
}

var (
	decPlans          planCache[structPlan]
	unmarshalerType   = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
	numberType        = reflect.TypeFor[json.Number]()
	nullStringType    = reflect.TypeFor[nullable.Nullable[string]]()
	nullInt64Type     = reflect.TypeFor[nullable.Nullable[int64]]()
	nullMetadataType  = reflect.TypeFor[nullable.Nullable[dots.Metadata]]()
	amountType        = reflect.TypeFor[dots.Amount]()
	timestampType     = reflect.TypeFor[dots.Timestamp]()
)

// planOf returns the plan of struct type t, or nil when t has something encoding/json treats in
// a way the fast path does not copy (embedded fields, ",string" options, odd or clashing names).
func planOf(t reflect.Type) *structPlan {
	return decPlans.of(t, buildPlan, func(p *structPlan) bool { return p.bad })
}

func buildPlan(t reflect.Type, building map[reflect.Type]*structPlan) *structPlan {
	if p, ok := decPlans.load(t); ok {
		return p
	}
	if p, ok := building[t]; ok {
		return p // a recursive type: the plan is being filled in
	}
	if t.Kind() != reflect.Struct || t.NumField() > 64 || hasUnmarshaler(t) {
		building[t] = nil
		return nil
	}
	p := &structPlan{byName: map[string]int{}, folded: map[string]struct{}{}}
	building[t] = p
	fail := func() *structPlan {
		p.bad = true
		return nil
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			return fail()
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(","+opts+",", ",string,") {
			return fail()
		}
		if name == "" {
			name = f.Name
		}
		if !plainName(name) {
			return fail()
		}
		lower := strings.ToLower(name)
		if _, dup := p.folded[lower]; dup {
			return fail() // two fields whose names fold together: leave it to encoding/json
		}
		p.folded[lower] = struct{}{}
		p.byName[name] = len(p.fields)
		p.fields = append(p.fields, fieldPlanOf(i, f.Type, building))
	}
	return p
}

// plainName accepts the JSON names the fast path matches byte for byte: ASCII letters, digits,
// '_', '-' and '.'.
func plainName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return s != ""
}

func hasUnmarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(unmarshalerType) || pt.Implements(textUnmarshalType)
}

func fieldPlanOf(index int, t reflect.Type, building map[reflect.Type]*structPlan) fieldPlan {
	fp := fieldPlan{index: index, kind: fkJSON}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		switch t {
		case nullStringType:
			fp.kind = fkNullString
		case nullInt64Type:
			fp.kind = fkNullInt64
		case nullMetadataType:
			fp.kind = fkNullMetadata
		case amountType:
			fp.kind = fkAmount
		case timestampType:
			fp.kind = fkTimestamp
		default:
			fp.kind = fkUnmarshaler
		}
		return fp
	}
	if hasUnmarshaler(t) || t == numberType {
		return fp
	}
	switch t.Kind() {
	case reflect.String:
		fp.kind = fkString
	case reflect.Bool:
		fp.kind = fkBool
	case reflect.Int64:
		fp.kind = fkInt64
	case reflect.Struct:
		if fp.elem = buildPlan(t, building); fp.elem != nil {
			fp.kind = fkStruct
		}
	case reflect.Pointer:
		e := t.Elem()
		if t.Implements(unmarshalerType) || t.Implements(textUnmarshalType) || hasUnmarshaler(e) || e == numberType {
			return fp
		}
		switch e.Kind() {
		case reflect.String:
			fp.kind = fkPtrString
		case reflect.Bool:
			fp.kind = fkPtrBool
		case reflect.Int64:
			fp.kind = fkPtrInt64
		case reflect.Struct:
			if fp.elem = buildPlan(e, building); fp.elem != nil {
				fp.kind = fkPtrStruct
			}
		}
	case reflect.Slice:
		if e := t.Elem(); e.Kind() == reflect.Struct && !hasUnmarshaler(e) {
			if fp.elem = buildPlan(e, building); fp.elem != nil {
				fp.kind = fkSliceStruct
			}
		}
	}
	return fp
}

// maxDepth is encoding/json's nesting limit; deeper documents go to encoding/json for its error.
const maxDepth = 10000

type fastDecoder struct {
	data  []byte
	pos   int
	depth int
}

func (d *fastDecoder) space() { d.pos = jsonscan.Space(d.data, d.pos) }

func (d *fastDecoder) peek() byte {
	if d.pos < len(d.data) {
		return d.data[d.pos]
	}
	return 0
}

// object reads the object at d.pos (a '{') into v with plan p.
func (d *fastDecoder) object(p *structPlan, v reflect.Value) bool {
	if p.bad {
		return false
	}
	if d.depth++; d.depth > maxDepth {
		return false
	}
	d.pos++
	d.space()
	if d.peek() == '}' {
		d.pos++
		d.depth--
		return true
	}
	var seen uint64
	for {
		if d.peek() != '"' {
			return false
		}
		start, end, plain, ok := d.str()
		if !ok || !plain {
			return false // an escaped or non-UTF-8 key: encoding/json unescapes and folds it
		}
		d.space()
		if d.peek() != ':' {
			return false
		}
		d.pos++
		d.space()
		key := d.data[start:end]
		if i, found := p.byName[string(key)]; found {
			if seen&(1<<i) != 0 {
				return false // a repeated key: encoding/json merges, leave it to it
			}
			seen |= 1 << i
			f := &p.fields[i]
			if !d.field(f, v.Field(f.index)) {
				return false
			}
		} else {
			if p.foldsTo(key) {
				return false
			}
			if _, ok := d.skip(); !ok {
				return false
			}
		}
		d.space()
		switch d.peek() {
		case ',':
			d.pos++
			d.space()
		case '}':
			d.pos++
			d.depth--
			return true
		default:
			return false
		}
	}
}

// foldsTo reports whether an unknown key would match a field case-insensitively in
// encoding/json (any key that is not ASCII is treated as if it might).
func (p *structPlan) foldsTo(key []byte) bool {
	var buf [64]byte
	if len(key) > len(buf) {
		return true
	}
	for i, c := range key {
		switch {
		case c >= utf8.RuneSelf:
			return true
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	_, ok := p.folded[string(buf[:len(key)])]
	return ok
}

// field reads one value at d.pos into the field v.
func (d *fastDecoder) field(f *fieldPlan, v reflect.Value) bool {
	c := d.peek()
	if c == 'n' {
		if !d.literal("null") {
			return false
		}
		switch f.kind {
		case fkString, fkBool, fkInt64, fkStruct:
			// null leaves a value as it is.
		case fkPtrString, fkPtrBool, fkPtrInt64, fkPtrStruct, fkSliceStruct:
			v.SetZero()
		case fkNullString:
			*v.Addr().Interface().(*nullable.Nullable[string]) = nullable.NewNullNullable[string]()
		case fkNullInt64:
			*v.Addr().Interface().(*nullable.Nullable[int64]) = nullable.NewNullNullable[int64]()
		case fkNullMetadata:
			*v.Addr().Interface().(*nullable.Nullable[dots.Metadata]) = nullable.NewNullNullable[dots.Metadata]()
		default:
			return d.slow(f, v, d.data[d.pos-4:d.pos])
		}
		return true
	}
	switch f.kind {
	case fkString, fkPtrString, fkNullString:
		if c != '"' {
			return false
		}
		s, ok := d.stringValue()
		if !ok {
			return false
		}
		switch f.kind {
		case fkString:
			v.SetString(s)
		case fkPtrString:
			setPtr(v, s)
		default:
			*v.Addr().Interface().(*nullable.Nullable[string]) = nullable.NewNullableWithValue(s)
		}
		return true
	case fkBool, fkPtrBool:
		var b bool
		switch {
		case c == 't' && d.literal("true"):
			b = true
		case c == 'f' && d.literal("false"):
		default:
			return false
		}
		if f.kind == fkBool {
			v.SetBool(b)
		} else {
			setPtr(v, b)
		}
		return true
	case fkInt64, fkPtrInt64, fkNullInt64:
		n, ok := d.int64Value()
		if !ok {
			return false
		}
		switch f.kind {
		case fkInt64:
			v.SetInt(n)
		case fkPtrInt64:
			setPtr(v, n)
		default:
			*v.Addr().Interface().(*nullable.Nullable[int64]) = nullable.NewNullableWithValue(n)
		}
		return true
	case fkStruct:
		return c == '{' && d.object(f.elem, v)
	case fkPtrStruct:
		if c != '{' {
			return false
		}
		n := reflect.New(v.Type().Elem())
		if !d.object(f.elem, n.Elem()) {
			return false
		}
		v.Set(n)
		return true
	case fkSliceStruct:
		return c == '[' && d.array(f.elem, v)
	case fkAmount:
		start := d.pos
		if n, ok := d.int64Value(); ok {
			v.SetInt(n)
			return true
		}
		d.pos = start
	case fkTimestamp:
		if c == '"' {
			start := d.pos
			s, e, plain, ok := d.str()
			if !ok {
				return false
			}
			if plain {
				if t, err := time.Parse(time.RFC3339Nano, string(d.data[s:e])); err == nil {
					*v.Addr().Interface().(*dots.Timestamp) = dots.Timestamp{Time: t}
					return true
				}
			}
			d.pos = start
		}
	case fkNullMetadata:
		if c == '{' {
			start := d.pos
			if m, ok := d.plainPairs(); ok {
				*v.Addr().Interface().(*nullable.Nullable[dots.Metadata]) = nullable.NewNullableWithValue(dots.Metadata{Pairs: m})
				return true
			}
			d.pos = start
		}
	}
	raw, ok := d.skip()
	if !ok {
		return false
	}
	return d.slow(f, v, raw)
}

// setPtr sets a pointer field to a new value; it is a function of its own so that only it moves
// the value to the heap. T is the field's underlying kind (string, bool, int64); a named type
// (an enum, say) is set through a conversion.
func setPtr[T any](v reflect.Value, x T) {
	if p, ok := v.Addr().Interface().(**T); ok {
		*p = &x
		return
	}
	n := reflect.New(v.Type().Elem())
	n.Elem().Set(reflect.ValueOf(x).Convert(v.Type().Elem()))
	v.Set(n)
}

// slow reads raw (one whole, valid JSON value) as encoding/json would in place: through the
// field's UnmarshalJSON, or json.Unmarshal into the field.
func (d *fastDecoder) slow(f *fieldPlan, v reflect.Value, raw []byte) bool {
	switch f.kind {
	case fkUnmarshaler, fkAmount, fkTimestamp, fkNullMetadata, fkNullString, fkNullInt64:
		return v.Addr().Interface().(json.Unmarshaler).UnmarshalJSON(raw) == nil
	}
	return json.Unmarshal(raw, v.Addr().Interface()) == nil
}

// array reads the array at d.pos into the slice v of structs with plan p.
func (d *fastDecoder) array(p *structPlan, v reflect.Value) bool {
	if d.depth++; d.depth > maxDepth {
		return false
	}
	d.pos++
	d.space()
	s := reflect.MakeSlice(v.Type(), 0, 0)
	if d.peek() == ']' {
		d.pos++
		d.depth--
		v.Set(s)
		return true
	}
	n := 0
	for {
		if n == s.Cap() {
			grown := reflect.MakeSlice(v.Type(), n, max(4, 2*n))
			reflect.Copy(grown, s)
			s = grown
		}
		s = s.Slice(0, n+1)
		switch d.peek() {
		case 'n':
			if !d.literal("null") {
				return false
			}
		case '{':
			if !d.object(p, s.Index(n)) {
				return false
			}
		default:
			return false
		}
		n++
		d.space()
		switch d.peek() {
		case ',':
			d.pos++
			d.space()
		case ']':
			d.pos++
			d.depth--
			v.Set(s)
			return true
		default:
			return false
		}
	}
}

// plainPairs reads an object whose keys and values are all plain strings, as dots.Metadata's
// UnmarshalJSON would (a repeated key keeps its last value). It reports false for anything else.
func (d *fastDecoder) plainPairs() (map[string]string, bool) {
	d.pos++
	d.space()
	m := map[string]string{}
	if d.peek() == '}' {
		d.pos++
		return m, true
	}
	for {
		if d.peek() != '"' {
			return nil, false
		}
		ks, ke, plain, ok := d.str()
		if !ok || !plain {
			return nil, false
		}
		d.space()
		if d.peek() != ':' {
			return nil, false
		}
		d.pos++
		d.space()
		if d.peek() != '"' {
			return nil, false
		}
		vs, ve, plain, ok := d.str()
		if !ok || !plain {
			return nil, false
		}
		m[string(d.data[ks:ke])] = string(d.data[vs:ve])
		d.space()
		switch d.peek() {
		case ',':
			d.pos++
			d.space()
		case '}':
			d.pos++
			return m, true
		default:
			return nil, false
		}
	}
}

// stringValue reads a JSON string as encoding/json would.
func (d *fastDecoder) stringValue() (string, bool) {
	begin := d.pos
	s, e, plain, ok := d.str()
	if !ok {
		return "", false
	}
	if plain {
		return string(d.data[s:e]), true
	}
	var out string
	if json.Unmarshal(d.data[begin:d.pos], &out) != nil {
		return "", false
	}
	return out, true
}

// int64Value reads a JSON number that is a whole int64 written without a fraction or exponent.
func (d *fastDecoder) int64Value() (int64, bool) {
	start := d.pos
	end, ok := d.number()
	if !ok {
		return 0, false
	}
	b := d.data[start:end]
	neg := b[0] == '-'
	if neg {
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// str scans the string at d.pos (a '"'), and returns the span of its contents; plain says it
// has no escapes and is valid UTF-8, so its bytes are its value.
func (d *fastDecoder) str() (start, end int, plain, ok bool) {
	d.pos++
	start = d.pos
	plain = true
	ascii := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			end = d.pos
			d.pos++
			if !ascii && !utf8.Valid(d.data[start:end]) {
				plain = false
			}
			return start, end, plain, true
		case c == '\\':
			plain = false
			d.pos++
			if d.pos >= len(d.data) {
				return 0, 0, false, false
			}
			switch d.data[d.pos] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.pos++
			case 'u':
				if d.pos+4 >= len(d.data) {
					return 0, 0, false, false
				}
				for _, h := range d.data[d.pos+1 : d.pos+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, 0, false, false
					}
				}
				d.pos += 5
			default:
				return 0, 0, false, false
			}
		case c < 0x20:
			return 0, 0, false, false
		default:
			if c >= utf8.RuneSelf {
				ascii = false
			}
			d.pos++
		}
	}
	return 0, 0, false, false
}

// number scans a JSON number at d.pos and returns where it ends.
func (d *fastDecoder) number() (int, bool) {
	end, _, ok := jsonscan.Number(d.data, d.pos)
	if !ok {
		return 0, false
	}
	d.pos = end
	return end, true
}

func (d *fastDecoder) literal(lit string) bool {
	end, ok := jsonscan.Literal(d.data, d.pos, lit)
	d.pos = end
	return ok
}

// skip scans one whole JSON value at d.pos, checking its syntax, and returns its bytes.
func (d *fastDecoder) skip() ([]byte, bool) {
	start := d.pos
	var small [32]byte
	open := small[:0] // the containers open, '{' or '['
	for {
		// One value.
		d.space()
		switch c := d.peek(); c {
		case '{', '[':
			if d.depth+len(open)+1 > maxDepth {
				return nil, false
			}
			d.pos++
			d.space()
			if d.peek() == c+2 { // '{'+2 is '}', '['+2 is ']'
				d.pos++
				break
			}
			open = append(open, c)
			if c == '{' && !d.skipKey() {
				return nil, false
			}
			continue
		case '"':
			if _, _, _, ok := d.str(); !ok {
				return nil, false
			}
		case 't':
			if !d.literal("true") {
				return nil, false
			}
		case 'f':
			if !d.literal("false") {
				return nil, false
			}
		case 'n':
			if !d.literal("null") {
				return nil, false
			}
		default:
			if _, ok := d.number(); !ok {
				return nil, false
			}
		}
		// After a value: close containers until one goes on with a comma.
		for {
			if len(open) == 0 {
				return d.data[start:d.pos], true
			}
			d.space()
			top := open[len(open)-1]
			c := d.peek()
			if c == top+2 {
				d.pos++
				open = open[:len(open)-1]
				continue
			}
			if c != ',' {
				return nil, false
			}
			d.pos++
			if top == '{' && !d.skipKey() {
				return nil, false
			}
			break
		}
	}
}

// skipKey scans an object key and its colon.
func (d *fastDecoder) skipKey() bool {
	d.space()
	if d.peek() != '"' {
		return false
	}
	if _, _, _, ok := d.str(); !ok {
		return false
	}
	d.space()
	if d.peek() != ':' {
		return false
	}
	d.pos++
	return true
}

// ---- Encoding request bodies ----
//
// fastMarshal is json.Marshal with a plan per type built once by reflection. It writes exactly
// the bytes json.Marshal writes: fields in order, the same omitempty rules, the same string
// escaping (HTML characters, U+2028 and U+2029 escaped, invalid UTF-8 replaced), and every value
// it has no case for (any json.Marshaler or encoding.TextMarshaler, maps, slices, interfaces)
// encoded by json.Marshal itself, on its own. A type it cannot copy exactly (embedded fields,
// omitzero, ",string") is left to json.Marshal whole.
func fastMarshal(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Struct {
		return json.Marshal(v)
	}
	p := encPlanOf(rv.Type())
	if p == nil {
		return json.Marshal(v)
	}
	return p.append(make([]byte, 0, 256), rv)
}

type encKind uint8

const (
	ekJSON encKind = iota // json.Marshal of the field's value
	ekString
	ekBool
	ekInt64
	ekPtrString
	ekPtrBool
	ekPtrInt64
	ekStruct
	ekPtrStruct
	ekNullString // nullable.Nullable[string]
)

type encField struct {
	index     int
	key       string // `"name":`
	omitEmpty bool
	kind      encKind
	elem      *encPlan
}

type encPlan struct {
	bad    bool
	fields []encField
}

var (
	encPlans          planCache[encPlan]
	marshalerType     = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

func encPlanOf(t reflect.Type) *encPlan {
	return encPlans.of(t, buildEncPlan, func(p *encPlan) bool { return p.bad })
}

func hasMarshaler(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return t.Implements(marshalerType) || t.Implements(textMarshalerType) ||
		pt.Implements(marshalerType) || pt.Implements(textMarshalerType)
}

func buildEncPlan(t reflect.Type, building map[reflect.Type]*encPlan) *encPlan {
	if p, ok := encPlans.load(t); ok {
		return p
	}
	if p, ok := building[t]; ok {
		return p
	}
	if t.Kind() != reflect.Struct || hasMarshaler(t) {
		building[t] = nil
		return nil
	}
	p := &encPlan{}
	building[t] = p
	names := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous {
			p.bad = true
			return nil
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		o := "," + opts + ","
		if strings.Contains(o, ",string,") || strings.Contains(o, ",omitzero,") {
			p.bad = true
			return nil
		}
		if name == "" {
			name = f.Name
		}
		if !plainName(name) || names[name] {
			p.bad = true
			return nil
		}
		names[name] = true
		ef := encField{index: i, key: `"` + name + `":`, omitEmpty: strings.Contains(o, ",omitempty,"), kind: ekJSON}
		ft := f.Type
		switch {
		case ft == nullStringType:
			ef.kind = ekNullString
		case hasMarshaler(ft):
		case ft.Kind() == reflect.String:
			ef.kind = ekString
		case ft.Kind() == reflect.Bool:
			ef.kind = ekBool
		case ft.Kind() == reflect.Int64:
			ef.kind = ekInt64
		case ft.Kind() == reflect.Struct:
			if ef.elem = buildEncPlan(ft, building); ef.elem != nil {
				ef.kind = ekStruct
			}
		case ft.Kind() == reflect.Pointer && !hasMarshaler(ft.Elem()):
			switch ft.Elem().Kind() {
			case reflect.String:
				ef.kind = ekPtrString
			case reflect.Bool:
				ef.kind = ekPtrBool
			case reflect.Int64:
				ef.kind = ekPtrInt64
			case reflect.Struct:
				if ef.elem = buildEncPlan(ft.Elem(), building); ef.elem != nil {
					ef.kind = ekPtrStruct
				}
			}
		}
		p.fields = append(p.fields, ef)
	}
	return p
}

// isEmptyValue is encoding/json's test for omitempty.
func isEmptyValue(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

func (p *encPlan) append(b []byte, v reflect.Value) ([]byte, error) {
	if p.bad {
		return nil, errors.New("dots: internal error: an unsupported encoding plan was used")
	}
	b = append(b, '{')
	first := true
	for i := range p.fields {
		f := &p.fields[i]
		fv := v.Field(f.index)
		if f.omitEmpty && isEmptyValue(fv) {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, f.key...)
		var err error
		if b, err = f.append(b, fv); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func (f *encField) append(b []byte, v reflect.Value) ([]byte, error) {
	switch f.kind {
	case ekString:
		return appendJSONString(b, v.String()), nil
	case ekBool:
		return strconv.AppendBool(b, v.Bool()), nil
	case ekInt64:
		return strconv.AppendInt(b, v.Int(), 10), nil
	case ekPtrString, ekPtrBool, ekPtrInt64, ekPtrStruct:
		if v.IsNil() {
			return append(b, "null"...), nil
		}
		e := v.Elem()
		switch f.kind {
		case ekPtrString:
			return appendJSONString(b, e.String()), nil
		case ekPtrBool:
			return strconv.AppendBool(b, e.Bool()), nil
		case ekPtrInt64:
			return strconv.AppendInt(b, e.Int(), 10), nil
		}
		return f.elem.append(b, e)
	case ekStruct:
		return f.elem.append(b, v)
	case ekNullString:
		// nullable.Nullable's MarshalJSON: null when null, else the value (zero when unset).
		n := v.Interface().(nullable.Nullable[string])
		if n.IsNull() {
			return append(b, "null"...), nil
		}
		return appendJSONString(b, n[true]), nil
	}
	// As in place: through a pointer where encoding/json would have the value's address.
	var x any
	if v.CanAddr() {
		x = v.Addr().Interface()
	} else {
		x = v.Interface()
	}
	raw, err := json.Marshal(x)
	if err != nil {
		return nil, err
	}
	return append(b, raw...), nil
}

// appendJSONString is encoding/json's string encoding with HTML escaping (its default).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// planCache keeps the plan of each Go type, built once. Building a plan may build the plans of
// the types it refers to (recursive types included); all of them are stored, a bad one as nil,
// which means "use encoding/json".
type planCache[P any] struct {
	plans sync.Map // reflect.Type -> *P
	mu    sync.Mutex
}

func (c *planCache[P]) load(t reflect.Type) (*P, bool) {
	p, ok := c.plans.Load(t)
	if !ok {
		return nil, false
	}
	return p.(*P), true
}

// of returns the plan of t, building it (under the cache's lock) the first time.
func (c *planCache[P]) of(t reflect.Type, build func(reflect.Type, map[reflect.Type]*P) *P, bad func(*P) bool) *P {
	if p, ok := c.load(t); ok {
		return p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	building := map[reflect.Type]*P{}
	p := build(t, building)
	for typ, bp := range building {
		if bp != nil && bad(bp) {
			bp = nil
		}
		c.plans.LoadOrStore(typ, bp)
	}
	if p == nil || bad(p) {
		return nil
	}
	return p
}
