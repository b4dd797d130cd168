package dots

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/go-json-experiment/json/jsontext"
)

// Document returns the parsed and validated spec. It is parsed once and shared: do not modify it.
func Document() (*openapi3.T, error) { return loadDocument() }

var loadDocument = sync.OnceValues(func() (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(Spec)
	if err != nil {
		return nil, fmt.Errorf("dots: loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("dots: openapi.yaml is not valid: %w", err)
	}
	return doc, nil
})

// formatOptions turns on the string formats kin-openapi leaves unchecked by default, with its
// own patterns: uuid (RFC 9562) and email.
var formatOptions = []openapi3.SchemaValidationOption{
	openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
		"uuid":  openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562),
		"email": openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForEmail),
	}),
}

// Violation is one way a request or a response departs from the spec.
type Violation struct {
	// Path says where: a JSON path into the body ("$.payee.email"), "header NAME", "query NAME",
	// "path NAME" or "status".
	Path string `json:"path"`
	// Message says what is wrong, without echoing the value.
	Message string `json:"message"`
	// Drift marks what the real API is known to send although the spec forbids it (KnownDrift).
	Drift bool `json:"drift,omitempty"`
}

// String reads like "$.amount: must be at least 1".
func (v Violation) String() string {
	if v.Drift {
		return v.Path + ": " + v.Message + " (known drift)"
	}
	return v.Path + ": " + v.Message
}

// Operation is one operation of the spec, with what a validator needs to check its traffic.
type Operation struct {
	// ID is the operationId, such as "create-payout-link".
	ID string
	// Method is the HTTP method.
	Method string
	// Path is the path template, such as "/v2/payout-links/{payout_link_id}".
	Path string

	segments    []string
	route       *routers.Route
	keyed       bool
	successBody bool
}

// HasSuccessBody reports whether the spec documents a JSON body for the operation's 2xx answers,
// so that an empty one is broken.
func (o *Operation) HasSuccessBody() bool { return o.successBody }

// TakesIdempotencyKey reports whether the operation's JSON body has an idempotency_key field, so
// a request without one must never be repeated.
func (o *Operation) TakesIdempotencyKey() bool { return o.keyed }

// Validator checks HTTP traffic against the spec with kin-openapi. Operations are found by their
// path template without a router, so a base URL of any shape works. It is safe for concurrent use.
type Validator struct {
	ops  []*Operation
	byID map[string]*Operation
	opts openapi3filter.Options
}

// NewValidator builds a validator over the embedded spec.
func NewValidator() (*Validator, error) {
	doc, err := Document()
	if err != nil {
		return nil, err
	}
	return newValidator(doc), nil
}

// newValidator builds a validator over a loaded and valid spec.
func newValidator(doc *openapi3.T) *Validator {
	v := &Validator{byID: map[string]*Operation{}}
	v.opts = openapi3filter.Options{
		MultiError:              true,
		IncludeResponseStatus:   true,
		SkipSettingDefaults:     true, // validation must never change what is sent
		AuthenticationFunc:      checkAuth,
		SchemaValidationOptions: append([]openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}, formatOptions...),
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &Operation{
				ID: op.OperationID, Method: method, Path: path,
				segments: strings.Split(strings.Trim(path, "/"), "/"),
				route:    &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
			}
			if rb := op.RequestBody; rb != nil && rb.Value != nil {
				if mt := rb.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
					_, o.keyed = mt.Schema.Value.Properties["idempotency_key"]
				}
			}
			for code, r := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") && r.Value != nil && r.Value.Content.Get("application/json") != nil {
					o.successBody = true
				}
			}
			v.ops = append(v.ops, o)
			v.byID[o.ID] = o
		}
	}
	// Literal segments first, so /x/redeliver wins over /x/{id} where both could match.
	sort.Slice(v.ops, func(i, j int) bool { return literalCount(v.ops[i]) > literalCount(v.ops[j]) })
	return v
}

func literalCount(o *Operation) int {
	n := 0
	for _, s := range o.segments {
		if !strings.HasPrefix(s, "{") {
			n++
		}
	}
	return n*100 + len(o.segments)
}

// Operations lists the spec's operations.
func (v *Validator) Operations() []*Operation { return append([]*Operation(nil), v.ops...) }

// Operation returns the operation with this operationId.
func (v *Validator) Operation(id string) (*Operation, bool) {
	o, ok := v.byID[id]
	return o, ok
}

// Match finds the operation a request goes to from its method and path. The path may carry any
// prefix before the spec's paths (such as the base URL's "/api"). It also returns the path
// parameters, unescaped.
func (v *Validator) Match(method, path string) (*Operation, map[string]string, bool) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, o := range v.ops {
		if o.Method != method || len(segs) < len(o.segments) {
			continue
		}
		if params, ok := matchSegments(o.segments, segs[len(segs)-len(o.segments):]); ok {
			return o, params, true
		}
	}
	return nil, nil, false
}

// matchSegments compares path segments with a template's: literals exactly, and parameters
// unescaped and not empty.
func matchSegments(tmpl, segs []string) (map[string]string, bool) {
	var params map[string]string
	for i, t := range tmpl {
		name, isParam := strings.CutPrefix(t, "{")
		if !isParam {
			if t != segs[i] {
				return nil, false
			}
			continue
		}
		val, err := url.PathUnescape(segs[i])
		if err != nil || val == "" {
			return nil, false
		}
		if params == nil {
			params = map[string]string{}
		}
		params[strings.TrimSuffix(name, "}")] = val
	}
	return params, true
}

// ValidateRequest checks a request bound for op with kin-openapi's openapi3filter. body is the
// request body (nil for none); the request's own Body is not read. It returns no violations when
// the request conforms.
func (v *Validator) ValidateRequest(ctx context.Context, op *Operation, req *http.Request, body []byte) []Violation {
	return v.violations(openapi3filter.ValidateRequest(ctx, v.requestInput(op, req, body)), false)
}

// ValidateResponse checks a response to a request bound for op. body is the response body. Known
// drift of the real API is marked (Violation.Drift).
func (v *Validator) ValidateResponse(ctx context.Context, op *Operation, req *http.Request, status int, header http.Header, body []byte) []Violation {
	in := &openapi3filter.ResponseValidationInput{
		// The request is only read for its route: no copy, no path parameters.
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: op.route, Options: &v.opts},
		Status:                 status,
		Header:                 header,
		Options:                &v.opts,
	}
	in.SetBodyBytes(body)
	out := v.violations(openapi3filter.ValidateResponse(ctx, in), true)
	if status >= 200 && status < 300 {
		out = append(out, floatNumbers(op, status, body)...)
	}
	return out
}

// requestInput is what openapi3filter needs, with the route known: no router lookup.
func (v *Validator) requestInput(op *Operation, req *http.Request, body []byte) *openapi3filter.RequestValidationInput {
	r := req.Clone(req.Context())
	r.Body = http.NoBody
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	_, params, _ := v.Match(op.Method, req.URL.Path)
	return &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: op.route, Options: &v.opts}
}

// checkAuth accepts Basic credentials with a non-empty client id, and any Api-App-Id value.
func checkAuth(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	switch in.SecuritySchemeName {
	case "basicAuth":
		raw, ok := strings.CutPrefix(h.Get("Authorization"), "Basic ")
		if !ok {
			return errors.New("basic credentials are missing from the Authorization header")
		}
		dec, err := base64.StdEncoding.DecodeString(raw)
		if err != nil {
			return errors.New("basic credentials in the Authorization header are not base64")
		}
		id, _, ok := strings.Cut(string(dec), ":")
		if !ok || id == "" {
			return errors.New("basic credentials in the Authorization header have no client id")
		}
		return nil
	case "appId":
		if h.Get("Api-App-Id") == "" {
			return errors.New("Api-App-Id is missing")
		}
		return nil
	}
	return fmt.Errorf("unknown security scheme %q", in.SecuritySchemeName)
}

// violations flattens kin-openapi's errors into Violations.
func (v *Validator) violations(err error, response bool) []Violation {
	if err == nil {
		return nil
	}
	var out []Violation
	var walk func(prefix string, err error)
	walk = func(prefix string, err error) {
		// Concrete types first: errors.As would reach through a MultiError to its first member.
		switch e := err.(type) {
		case openapi3.MultiError:
			for _, m := range e {
				walk(prefix, m)
			}
		case *openapi3filter.RequestError:
			p := prefix
			if e.Parameter != nil {
				p = e.Parameter.In + " " + e.Parameter.Name
			}
			if e.Err != nil {
				walk(p, e.Err)
				return
			}
			out = append(out, Violation{Path: cmp.Or(p, "$"), Message: e.Reason})
		case *openapi3filter.ResponseError:
			if e.Err != nil {
				walk(prefix, e.Err)
				return
			}
			out = append(out, Violation{Path: "status", Message: e.Reason})
		case *openapi3filter.SecurityRequirementsError:
			// Every alternative needs Basic credentials; report the first failure only.
			msg := "no security requirement is met"
			if len(e.Errors) > 0 {
				msg = e.Errors[0].Error()
			}
			out = append(out, Violation{Path: "header Authorization", Message: msg})
		case *openapi3filter.ParseError:
			// ParseError's own text quotes the value; its Reason does not.
			msg := e.Reason
			if msg == "" {
				msg = "cannot be parsed"
			}
			out = append(out, Violation{Path: cmp.Or(prefix, "$"), Message: msg})
		case *openapi3.SchemaError:
			path := cmp.Or(prefix, "$")
			for _, p := range e.JSONPointer() {
				path += "." + p
			}
			// Only the form of a value can be drift: a broken bound or pattern never is.
			raw, _ := json.Marshal(e.Value)
			form := e.Schema != nil && slices.Contains([]string{"type", "format", "enum"}, e.SchemaField)
			out = append(out, Violation{Path: path, Message: e.Reason, Drift: response && form && drift(e.Schema, string(raw)) != nil})
		default:
			if u := errors.Unwrap(err); u != nil {
				walk(prefix, u)
				return
			}
			out = append(out, Violation{Path: cmp.Or(prefix, "$"), Message: err.Error()})
		}
	}
	walk("", err)
	return out
}

// DriftRule is one way the real API departs from the spec (see KnownDrift): Name says what it sends,
// Examples are such JSON texts, Schema names the schemas concerned as oapi-codegen.yaml's type-mapping
// does ("integer", "string date-time"; "enum" is every schema with an enum), GoTypes are the wire
// types the models read them with (Schema maps to the first; "string": every generated enum type),
// and Recognise is their decoder's own parser.
type DriftRule struct {
	Name, Schema      string
	GoTypes, Examples []string
	Recognise         func(raw string) bool
}

// KnownDrift lists what the real API is known to send although the spec forbids it. The validator
// marks a response value that breaks the spec as drift (Violation.Drift) exactly when a rule
// concerns its schema and recognises it, and a rule recognises what its wire types decode.
var KnownDrift = []DriftRule{
	{Name: "a whole number written as a float", Schema: "integer", GoTypes: []string{"dots.Int", "dots.Amount"},
		Examples: []string{"5000.0", "5e3"}, Recognise: func(raw string) bool { _, err := ParseWholeNumber(raw); return err == nil }},
	{Name: "a date-time without a zone (UTC)", Schema: "string date-time", GoTypes: []string{"dots.Timestamp"},
		Examples: []string{`"2024-07-11T12:31:33.479437"`, `"2024-07-11 12:31:33"`}, Recognise: func(raw string) bool { var t Timestamp; return json.Unmarshal([]byte(raw), &t) == nil && !t.IsZero() }},
	{Name: "an enum value the spec does not list yet", Schema: "enum", GoTypes: []string{"string"},
		Examples: []string{`"funds_pending"`}, Recognise: func(raw string) bool { return json.Unmarshal([]byte(raw), new(string)) == nil }},
}

// drift returns the rule of KnownDrift that explains raw, a JSON text breaking s, or nil.
func drift(s *openapi3.Schema, raw string) *DriftRule {
	for i, r := range KnownDrift {
		typ, format, _ := strings.Cut(r.Schema, " ")
		if (typ == "enum" && len(s.Enum) > 0 || s.Type.Is(typ) && (format == "" || format == s.Format)) && r.Recognise(raw) {
			return &KnownDrift[i]
		}
	}
	return nil
}

// floatNumbers reports the numbers of a success body that are known drift kin-openapi cannot see:
// it reads JSON numbers as float64, so 5000.0 passes as an integer.
func floatNumbers(op *Operation, status int, body []byte) []Violation {
	var mt *openapi3.MediaType
	if resp := op.route.Operation.Responses.Status(status); resp != nil && resp.Value != nil {
		mt = resp.Value.Content.Get("application/json")
	}
	if mt == nil || mt.Schema == nil || !hasFloats(body) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var val any
	if dec.Decode(&val) != nil {
		return nil
	}
	var out []Violation
	walkNumbers("$", mt.Schema.Value, val, &out)
	return out
}

// hasFloats reports whether a JSON text holds a number written with a fraction or an exponent,
// asking the codec's tokenizer (most bodies hold none, and then nothing more is decoded).
func hasFloats(body []byte) bool {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for tok, err := dec.ReadToken(); err == nil; tok, err = dec.ReadToken() {
		if tok.Kind() == '0' && strings.ContainsAny(tok.String(), ".eE") {
			return true
		}
	}
	return false
}

func walkNumbers(path string, s *openapi3.Schema, val any, out *[]Violation) {
	if s == nil {
		return
	}
	for _, sub := range s.AllOf {
		walkNumbers(path, sub.Value, val, out)
	}
	switch x := val.(type) {
	case json.Number: // kin-openapi read it as a float64: only its text can break an integer schema
		if r := drift(s, string(x)); r != nil && strings.ContainsAny(string(x), ".eE") {
			*out = append(*out, Violation{Path: path, Message: r.Name, Drift: true})
		}
	case map[string]any:
		for k, sub := range s.Properties {
			if child, ok := x[k]; ok && sub != nil {
				walkNumbers(path+"."+k, sub.Value, child, out)
			}
		}
	case []any:
		if s.Items != nil {
			for i, child := range x {
				walkNumbers(fmt.Sprintf("%s.%d", path, i), s.Items.Value, child, out)
			}
		}
	}
}
