package dots

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/payoutkit/dots-go/internal/jsonscan"
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

// formatOptions turns on the string formats kin-openapi leaves unchecked by default: uuid and
// email, as kin-openapi's own FormatOfStringForUUIDOfRFC9562 and FormatOfStringForEmail regular
// expressions define them. They are checked by hand-written matchers of exactly those
// expressions (a regular expression costs more than the rest of a string's validation), which
// fail with the error text kin-openapi's regexp validator gives, so messages stay the same. The
// map is shared by every validation and never written.
var formatOptions = []openapi3.SchemaValidationOption{
	openapi3.WithStringFormatValidators(map[string]openapi3.StringFormatValidator{
		"uuid":  formatMatcher(openapi3.FormatOfStringForUUIDOfRFC9562, isUUIDOfRFC9562),
		"email": formatMatcher(openapi3.FormatOfStringForEmail, isLooseEmail),
	}),
}

// formatMatcher is a validator that fails as openapi3.NewRegexpFormatValidator(pattern) does.
func formatMatcher(pattern string, match func(string) bool) openapi3.StringFormatValidator {
	fail := fmt.Errorf(`string doesn't match pattern "%s"`, regexp.MustCompile(pattern).String())
	return openapi3.NewCallbackValidator(func(s string) error {
		if match(s) {
			return nil
		}
		return fail
	})
}

// isUUIDOfRFC9562 matches openapi3.FormatOfStringForUUIDOfRFC9562: a version 1 to 8 UUID with the
// RFC 9562 variant, the nil UUID, or the max UUID; hex digits in either case.
func isUUIDOfRFC9562(s string) bool {
	if len(s) != 36 {
		return false
	}
	zeros, fs := true, true
	for i := 0; i < 36; i++ {
		c := s[i]
		if i == 8 || i == 13 || i == 18 || i == 23 {
			if c != '-' {
				return false
			}
			continue
		}
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
		zeros = zeros && c == '0'
		fs = fs && (c == 'f' || c == 'F')
	}
	return zeros || fs || ('1' <= s[14] && s[14] <= '8' && strings.IndexByte("89abAB", s[19]) >= 0)
}

// isLooseEmail matches openapi3.FormatOfStringForEmail, ^[^@]+@[^@<>",\s]+$: one "@" with
// something before it, and after it something without "<", ">", '"', ",", or RE2's \s
// (tab, newline, form feed, carriage return, space). Those are all ASCII, which no byte of a
// multi-byte UTF-8 sequence is, so bytes can be checked one by one.
func isLooseEmail(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	for i := at + 1; i < len(s); i++ {
		switch s[i] {
		case '@', '<', '>', '"', ',', '\t', '\n', '\f', '\r', ' ':
			return false
		}
	}
	return true
}

// Violation is one way a request or a response departs from the spec.
type Violation struct {
	// Path says where: a JSON path into the body ("$.payee.email"), "header NAME", "query NAME",
	// "path NAME" or "status".
	Path string `json:"path"`
	// Message says what is wrong, without echoing the value.
	Message string `json:"message"`
	// Drift marks what the real API is known to send although the spec forbids it: zone-less
	// timestamps, whole amounts written as floats, and enum values the spec does not list yet.
	Drift bool `json:"drift,omitempty"`
}

// String reads like "$.amount: must be at least 1".
func (v Violation) String() string {
	s := v.Path + ": " + v.Message
	if v.Drift {
		s += " (known drift)"
	}
	return s
}

// Operation is one operation of the spec, with what a validator needs to check its traffic.
type Operation struct {
	// ID is the operationId, such as "create-payout-link".
	ID string
	// Method is the HTTP method.
	Method string
	// Path is the path template, such as "/v2/payout-links/{payout_link_id}".
	Path string

	segments      []string
	route         *routers.Route
	keyed         bool
	hasPathParams bool
	successBody   bool
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
	doc  *openapi3.T
	ops  []*Operation
	byID map[string]*Operation
	opts openapi3filter.Options

	// The schema validation options openapi3filter builds from opts for a request body and for
	// a response body, built once.
	requestBodyOpts, responseBodyOpts []openapi3.SchemaValidationOption
	// jsonDecoderIsKins says the body decoder registered for application/json is still
	// kin-openapi's own, so decoding a body here gives what openapi3filter would.
	jsonDecoderIsKins bool
}

// NewValidator builds a validator over the embedded spec.
func NewValidator() (*Validator, error) {
	doc, err := Document()
	if err != nil {
		return nil, err
	}
	v := &Validator{doc: doc, byID: map[string]*Operation{}}
	v.opts = openapi3filter.Options{
		MultiError:              true,
		IncludeResponseStatus:   true,
		SkipSettingDefaults:     true,
		AuthenticationFunc:      checkAuth,
		SchemaValidationOptions: append([]openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()}, formatOptions...),
	}
	// As openapi3filter.ValidateRequestBody and ValidateResponse build them for these options
	// (MultiError on, SkipSettingDefaults on, nothing else).
	v.requestBodyOpts = append([]openapi3.SchemaValidationOption{openapi3.VisitAsRequest(), openapi3.MultiErrors()}, v.opts.SchemaValidationOptions...)
	v.responseBodyOpts = append([]openapi3.SchemaValidationOption{openapi3.MultiErrors()}, v.opts.SchemaValidationOptions...)
	if doc.IsOpenAPI31OrLater() {
		v.requestBodyOpts = append(v.requestBodyOpts, openapi3.EnableJSONSchema2020())
		v.responseBodyOpts = append(v.responseBodyOpts, openapi3.EnableJSONSchema2020())
	}
	v.responseBodyOpts = append(v.responseBodyOpts, openapi3.VisitAsResponse())
	if d := openapi3filter.RegisteredBodyDecoder("application/json"); d != nil {
		v.jsonDecoderIsKins = reflect.ValueOf(d).Pointer() == reflect.ValueOf(openapi3filter.BodyDecoder(openapi3filter.JSONBodyDecoder)).Pointer()
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &Operation{
				ID: op.OperationID, Method: method, Path: path,
				segments:      strings.Split(strings.Trim(path, "/"), "/"),
				hasPathParams: strings.Contains(path, "{"),
				route:         &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op},
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
	return v, nil
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
	op, params := v.match(method, path, true)
	return op, params, op != nil
}

// MatchOperation is Match without the path parameters: it finds the operation without
// allocating, for callers on a hot path that need only the operation (nil for none).
func (v *Validator) MatchOperation(method, path string) *Operation {
	op, _ := v.match(method, path, false)
	return op
}

func (v *Validator) match(method, path string, withParams bool) (*Operation, map[string]string) {
	trimmed := strings.Trim(path, "/")
	for _, o := range v.ops {
		if o.Method != method {
			continue
		}
		tail, ok := lastSegments(trimmed, len(o.segments))
		if !ok {
			continue
		}
		if params, ok := matchSegments(o.segments, tail, withParams); ok {
			return o, params
		}
	}
	return nil, nil
}

// lastSegments returns the part of p (a path without leading and trailing slashes) that holds
// its last n segments, or false when p has fewer.
func lastSegments(p string, n int) (string, bool) {
	end := len(p)
	for k := 1; k < n; k++ {
		j := strings.LastIndexByte(p[:end], '/')
		if j < 0 {
			return "", false
		}
		end = j
	}
	if j := strings.LastIndexByte(p[:end], '/'); j >= 0 {
		return p[j+1:], true
	}
	return p, true
}

// matchSegments compares the segments of tail with the template's: literals exactly, and
// parameters unescaped and not empty.
func matchSegments(tmpl []string, tail string, withParams bool) (map[string]string, bool) {
	var params map[string]string
	for _, t := range tmpl {
		seg, rest, _ := strings.Cut(tail, "/")
		tail = rest
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			val, err := url.PathUnescape(seg)
			if err != nil || val == "" {
				return nil, false
			}
			if withParams {
				if params == nil {
					params = map[string]string{}
				}
				params[t[1:len(t)-1]] = val
			}
			continue
		}
		if t != seg {
			return nil, false
		}
	}
	return params, true
}

// ValidateRequest checks a request bound for op. body is the request body (nil for none); the
// request's own Body is not read. It returns no violations when the request conforms.
func (v *Validator) ValidateRequest(ctx context.Context, op *Operation, req *http.Request, body []byte) []Violation {
	if ok, err := v.validateRequest(ctx, op, req, body); ok {
		return v.violations(err, false, body)
	}
	in := v.requestInput(op, req, body)
	return v.violations(openapi3filter.ValidateRequest(ctx, in), false, body)
}

// ValidateResponse checks a response to a request bound for op. body is the response body.
func (v *Validator) ValidateResponse(ctx context.Context, op *Operation, req *http.Request, status int, header http.Header, body []byte) []Violation {
	value, decoded, ok, err := v.validateResponse(op, req, status, header, body)
	if !ok {
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: v.requestInput(op, req, nil),
			Status:                 status,
			Header:                 header,
			Options:                &v.opts,
		}
		in.SetBodyBytes(body)
		err, decoded = openapi3filter.ValidateResponse(ctx, in), false
	}
	out := v.violations(err, true, body)
	if status >= 200 && status < 300 {
		if decoded {
			out = append(out, floatIntegersIn(op, status, body, value)...)
		} else {
			out = append(out, floatIntegers(op, status, body)...)
		}
	}
	return out
}

func (v *Validator) requestInput(op *Operation, req *http.Request, body []byte) *openapi3filter.RequestValidationInput {
	r := req.Clone(req.Context())
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		r.Body = http.NoBody
	}
	_, params, _ := v.Match(op.Method, req.URL.Path)
	return &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: op.route, Options: &v.opts}
}

// The route of every call is known, so the validators below do what openapi3filter's
// ValidateRequest and ValidateResponse do for this validator's options, without their costs:
// the request is not cloned (only the body validation reads it, and it reads body instead),
// the body is decoded once (and the same decoded value serves floatIntegers), and the schema
// options are built once. They return the same errors, built the same way, so violations reads
// them as before. Where openapi3filter would take a road these do not copy (a content type
// other than JSON, response headers in the spec, a body that does not decode, ...), they report
// false and the caller runs openapi3filter itself.

// validateRequest is openapi3filter.ValidateRequest for op.
func (v *Validator) validateRequest(ctx context.Context, op *Operation, req *http.Request, body []byte) (ok bool, err error) {
	route := op.route
	operation := route.Operation
	rb := operation.RequestBody
	var (
		mediaType *openapi3.MediaType
		value     any
	)
	// The body first: where it needs openapi3filter, nothing else was done in vain.
	if rb != nil {
		if rb.Value == nil {
			return false, nil
		}
		if len(body) > 0 && len(rb.Value.Content) > 0 {
			if mediaType = rb.Value.Content.Get(req.Header.Get("Content-Type")); mediaType == nil {
				return false, nil
			}
			if mediaType.Schema != nil {
				if !v.decodesAsJSON(req.Header, mediaType) {
					return false, nil
				}
				var decoded bool
				if value, _, decoded = decodeJSONValue(body); !decoded {
					return false, nil
				}
			}
		}
	}

	in := &openapi3filter.RequestValidationInput{Request: req, Route: route, Options: &v.opts}
	if op.hasPathParams {
		_, in.PathParams, _ = v.Match(op.Method, req.URL.Path)
	}
	var me openapi3.MultiError
	security := operation.Security
	if security == nil {
		security = &route.Spec.Security
	}
	if err := openapi3filter.ValidateSecurityRequirements(ctx, in, *security); err != nil {
		me = append(me, err)
	}
	for _, parameterRef := range route.PathItem.Parameters {
		parameter := parameterRef.Value
		if operation.Parameters != nil && operation.Parameters.GetByInAndName(parameter.In, parameter.Name) != nil {
			continue
		}
		if err := openapi3filter.ValidateParameter(ctx, in, parameter); err != nil {
			me = append(me, err)
		}
	}
	for _, parameter := range operation.Parameters {
		if err := openapi3filter.ValidateParameter(ctx, in, parameter.Value); err != nil {
			me = append(me, err)
		}
	}
	if rb != nil {
		switch {
		case len(body) == 0:
			if rb.Value.Required {
				me = append(me, &openapi3filter.RequestError{Input: in, RequestBody: rb.Value, Err: openapi3filter.ErrInvalidRequired})
			}
		case mediaType == nil || mediaType.Schema == nil:
		default:
			if err := mediaType.Schema.Value.VisitJSON(value, v.requestBodyOpts...); err != nil {
				me = append(me, &openapi3filter.RequestError{Input: in, RequestBody: rb.Value,
					Reason: "doesn't match schema" + schemaIdentifier(mediaType.Schema), Err: err})
			}
		}
	}
	if len(me) > 0 {
		return true, me
	}
	return true, nil
}

// validateResponse is openapi3filter.ValidateResponse for op; it also returns the decoded body.
func (v *Validator) validateResponse(op *Operation, req *http.Request, status int, header http.Header, body []byte) (value any, decoded, ok bool, err error) {
	if req.Method == http.MethodHead {
		return nil, false, true, nil
	}
	switch status {
	case http.StatusNotModified, http.StatusPermanentRedirect, http.StatusTemporaryRedirect, http.StatusMovedPermanently:
		return nil, false, true, nil
	}
	responses := op.route.Operation.Responses
	if responses.Len() == 0 {
		return nil, false, true, nil
	}
	ref := responses.Status(status)
	if ref == nil {
		ref = responses.Default()
	}
	if ref == nil {
		return nil, false, true, &openapi3filter.ResponseError{Reason: "status is not supported"}
	}
	response := ref.Value
	if response == nil {
		return nil, false, false, nil
	}
	for name := range response.Headers {
		if name != "Content-Type" {
			return nil, false, false, nil
		}
	}
	if len(response.Content) == 0 {
		return nil, false, true, nil
	}
	mt := response.Content.Get(header.Get("Content-Type"))
	if mt == nil {
		return nil, false, false, nil
	}
	if mt.Schema == nil {
		return nil, false, true, nil
	}
	if !v.decodesAsJSON(header, mt) {
		return nil, false, false, nil
	}
	value, floats, ok := decodeJSONValue(body)
	if !ok {
		return nil, false, false, nil
	}
	err = mt.Schema.Value.VisitJSON(value, v.responseBodyOpts...)
	if err != nil {
		err = &openapi3filter.ResponseError{Reason: "response body doesn't match schema" + schemaIdentifier(mt.Schema), Err: err}
	}
	if !floats {
		value = noFloats{} // floatIntegers has nothing to find
	}
	return value, true, true, err
}

// noFloats stands for a decoded body without a number that has a fraction or an exponent.
type noFloats struct{}

// decodesAsJSON reports whether openapi3filter would decode a body with these headers for mt
// with its own JSON decoder (and so as decodeJSONValue does).
func (v *Validator) decodesAsJSON(header http.Header, mt *openapi3.MediaType) bool {
	if !v.jsonDecoderIsKins || len(mt.Encoding) > 0 {
		return false
	}
	s := mt.Schema.Value
	if s == nil || (s.Type.Is("string") && s.Format == "binary") {
		return false
	}
	mediaType, _, _ := strings.Cut(header.Get("Content-Type"), ";")
	return strings.EqualFold(strings.TrimSpace(mediaType), "application/json")
}

// schemaIdentifier is how openapi3filter names a schema in its errors.
func schemaIdentifier(s *openapi3.SchemaRef) string {
	id := strings.TrimSpace(s.Ref)
	if id == "" && s.Value != nil {
		id = strings.TrimSpace(s.Value.Title)
	}
	if id != "" {
		id = " " + id
	}
	return id
}

// decodeJSONValue decodes body as openapi3filter's JSON body decoder does (encoding/json's
// Decoder with UseNumber, first value only), and reports false where it would fail. floats is
// false only when no number in the value has a fraction or an exponent.
func decodeJSONValue(body []byte) (value any, floats, ok bool) {
	if v, floats, ok := fastJSONValue(body); ok {
		return v, floats, true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&value) != nil {
		return nil, false, false
	}
	return value, true, true
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
func (v *Validator) violations(err error, response bool, body []byte) []Violation {
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
			out = append(out, Violation{Path: orDollar(p), Message: e.Reason})
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
			out = append(out, Violation{Path: orDollar(prefix), Message: msg})
		case *openapi3.SchemaError:
			path := orDollar(prefix)
			for _, p := range e.JSONPointer() {
				path += "." + p
			}
			vi := Violation{Path: path, Message: e.Reason}
			if response {
				vi.Drift = isKnownDrift(e)
			}
			out = append(out, vi)
		default:
			if u := errors.Unwrap(err); u != nil {
				walk(prefix, u)
				return
			}
			out = append(out, Violation{Path: orDollar(prefix), Message: err.Error()})
		}
	}
	walk("", err)
	return out
}

func orDollar(p string) string {
	if p == "" {
		return "$"
	}
	return p
}

// isKnownDrift tells the deviations FACTS.md documents for the real API: enum values the spec
// does not list yet, and date-times without a zone.
func isKnownDrift(se *openapi3.SchemaError) bool {
	switch se.SchemaField {
	case "enum":
		return true
	case "format":
		if se.Schema != nil && se.Schema.Format == "date-time" {
			if s, ok := se.Value.(string); ok {
				_, err := ParseTimestamp(s)
				return err == nil
			}
		}
	}
	return false
}

// floatIntegers reports integer fields of a success body written with a fraction or an exponent
// (5000.0): kin-openapi reads JSON numbers as float64 and so cannot see them.
func floatIntegers(op *Operation, status int, body []byte) []Violation {
	resp := op.route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || !bytes.ContainsAny(body, ".eE") {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var val any
	if dec.Decode(&val) != nil {
		return nil
	}
	var out []Violation
	walkIntegers("$", mt.Schema.Value, val, &out)
	return out
}

// floatIntegersIn is floatIntegers for a body already decoded as floatIntegers decodes it.
func floatIntegersIn(op *Operation, status int, body []byte, val any) []Violation {
	if _, none := val.(noFloats); none {
		return nil
	}
	resp := op.route.Operation.Responses.Status(status)
	if resp == nil || resp.Value == nil {
		return nil
	}
	mt := resp.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || !bytes.ContainsAny(body, ".eE") {
		return nil
	}
	var out []Violation
	walkIntegers("$", mt.Schema.Value, val, &out)
	return out
}

func walkIntegers(path string, s *openapi3.Schema, val any, out *[]Violation) {
	if s == nil {
		return
	}
	for _, sub := range s.AllOf {
		walkIntegers(path, sub.Value, val, out)
	}
	switch x := val.(type) {
	case json.Number:
		if s.Type.Is("integer") && strings.ContainsAny(string(x), ".eE") {
			*out = append(*out, Violation{Path: path, Message: "a whole number written as a float", Drift: true})
		}
	case map[string]any:
		for k, sub := range s.Properties {
			if child, ok := x[k]; ok && sub != nil {
				walkIntegers(path+"."+k, sub.Value, child, out)
			}
		}
	case []any:
		if s.Items != nil {
			for i, child := range x {
				walkIntegers(fmt.Sprintf("%s.%d", path, i), s.Items.Value, child, out)
			}
		}
	}
}

// fastJSONValue decodes the JSON value in data as encoding/json's Decoder with UseNumber does
// (objects as map[string]any, arrays as []any, numbers as json.Number), in one pass. It reports
// false for anything it does not copy exactly (such as text after the value, or a key or string
// with escapes it leaves to encoding/json), and the caller then decodes with encoding/json.
//
// Its strings are cut from one copy of data: the value only lives while it is validated. floats
// says whether a number has a fraction or an exponent.
func fastJSONValue(data []byte) (v any, floats, ok bool) {
	d := anyDecoder{data: data, text: string(data)}
	d.space()
	if v, ok = d.value(0); !ok {
		return nil, false, false
	}
	d.space()
	return v, d.floats, d.pos == len(d.data)
}

type anyDecoder struct {
	data   []byte
	text   string // data as a string, which strings and numbers are cut from
	pos    int
	floats bool
}

func (d *anyDecoder) space() { d.pos = jsonscan.Space(d.data, d.pos) }

func (d *anyDecoder) value(depth int) (any, bool) {
	if d.pos >= len(d.data) {
		return nil, false
	}
	switch c := d.data[d.pos]; c {
	case '{':
		if depth >= 10000 {
			return nil, false
		}
		d.pos++
		m := map[string]any{}
		d.space()
		if d.pos < len(d.data) && d.data[d.pos] == '}' {
			d.pos++
			return m, true
		}
		for {
			if d.pos >= len(d.data) || d.data[d.pos] != '"' {
				return nil, false
			}
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			d.space()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return nil, false
			}
			d.pos++
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			m[k] = v // a repeated key keeps its last value, as in encoding/json
			d.space()
			if d.pos >= len(d.data) {
				return nil, false
			}
			switch d.data[d.pos] {
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
	case '[':
		if depth >= 10000 {
			return nil, false
		}
		d.pos++
		a := make([]any, 0)
		d.space()
		if d.pos < len(d.data) && d.data[d.pos] == ']' {
			d.pos++
			return a, true
		}
		for {
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			a = append(a, v)
			d.space()
			if d.pos >= len(d.data) {
				return nil, false
			}
			switch d.data[d.pos] {
			case ',':
				d.pos++
				d.space()
			case ']':
				d.pos++
				return a, true
			default:
				return nil, false
			}
		}
	case '"':
		return d.str()
	case 't':
		return true, d.literal("true")
	case 'f':
		return false, d.literal("false")
	case 'n':
		return nil, d.literal("null")
	default:
		start := d.pos
		if !d.number() {
			return nil, false
		}
		return json.Number(d.text[start:d.pos]), true
	}
}

func (d *anyDecoder) literal(lit string) bool {
	end, ok := jsonscan.Literal(d.data, d.pos, lit)
	d.pos = end
	return ok
}

// str reads a string without escapes or invalid UTF-8; any other string is left to
// encoding/json (reported false).
func (d *anyDecoder) str() (string, bool) {
	d.pos++
	start := d.pos
	ascii := true
	for d.pos < len(d.data) {
		c := d.data[d.pos]
		switch {
		case c == '"':
			end := d.pos
			d.pos++
			if !ascii && !utf8.Valid(d.data[start:end]) {
				return "", false
			}
			return d.text[start:end], true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		d.pos++
	}
	return "", false
}

// number scans a JSON number.
func (d *anyDecoder) number() bool {
	end, float, ok := jsonscan.Number(d.data, d.pos)
	if !ok {
		return false
	}
	d.floats = d.floats || float
	d.pos = end
	return true
}
