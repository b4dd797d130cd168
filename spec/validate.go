package spec

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
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/go-json-experiment/json/jsontext"

	dots "github.com/payoutkit/dots-go"
)

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

// ValidateRequest checks a request bound for op with kin-openapi's openapi3filter: credentials,
// parameters (params are its path parameters, as a Router found them) and body (nil for none;
// the request's own Body is not read). It returns no violations when the request conforms.
func (s *Spec) ValidateRequest(ctx context.Context, op *Operation, req *http.Request, params map[string]string, body []byte) []Violation {
	return s.validateRequest(ctx, &s.opts, op, req, params, body)
}

func (s *Spec) validateRequest(ctx context.Context, opts *openapi3filter.Options, op *Operation, req *http.Request, params map[string]string, body []byte) []Violation {
	r := req.Clone(ctx)
	r.Body = http.NoBody
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: op.route, Options: opts}
	return violations("", openapi3filter.ValidateRequest(ctx, in), false)
}

// ValidateResponse checks a response to a request bound for op. body is the response body. Known
// drift of the real API is marked (Violation.Drift).
func (s *Spec) ValidateResponse(ctx context.Context, op *Operation, req *http.Request, status int, header http.Header, body []byte) []Violation {
	in := &openapi3filter.ResponseValidationInput{
		// The request is only read for its route: no copy, no path parameters.
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, Route: op.route, Options: &s.opts},
		Status:                 status,
		Header:                 header,
		Options:                &s.opts,
	}
	in.SetBodyBytes(body)
	out := violations("", openapi3filter.ValidateResponse(ctx, in), true)
	if status >= 200 && status < 300 {
		out = append(out, floatNumbers(op, status, body)...)
	}
	return out
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
func violations(prefix string, err error, response bool) []Violation {
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
			// A value that matches no alternative of a oneOf: say what is wrong with it in the
			// alternatives of its own type (a step name that is not one, an object's bad field).
			if causes := oneOfCauses(e); len(causes) > 0 {
				for _, c := range causes {
					walk(prefix, c) // their pointers start at the document, as e's does
				}
				return
			}
			// Only the form of a value can be drift: a broken bound or pattern never is.
			raw, _ := json.Marshal(e.Value)
			form := e.Schema != nil && slices.Contains([]string{"type", "format", "enum"}, e.SchemaField)
			msg := e.Reason
			var own formatProblem
			if errors.As(e.Origin, &own) {
				msg = string(own)
			}
			out = append(out, Violation{Path: path, Message: msg, Drift: response && form && drift(e.Schema, string(raw)) != nil})
		default:
			if u := errors.Unwrap(err); u != nil {
				walk(prefix, u)
				return
			}
			out = append(out, Violation{Path: cmp.Or(prefix, "$"), Message: err.Error()})
		}
	}
	walk(prefix, err)
	return out
}

// oneOfCauses are the failures of e's oneOf alternatives whose type the value has; none when e is
// no oneOf failure, or when the value has the type of no alternative.
func oneOfCauses(e *openapi3.SchemaError) []error {
	var alts openapi3.MultiError
	if e.SchemaField != "oneOf" || !errors.As(e.Origin, &alts) {
		return nil
	}
	var out []error
	for _, alt := range alts {
		var se *openapi3.SchemaError
		if errors.As(alt, &se) && se.SchemaField == "type" && slices.Equal(se.JSONPointer(), e.JSONPointer()) {
			continue // the value is not of this alternative's type at all
		}
		out = append(out, alt)
	}
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
		Examples: []string{"5000.0", "5e3"}, Recognise: func(raw string) bool { _, err := dots.ParseWholeNumber(raw); return err == nil }},
	{Name: "a date-time without a zone (UTC)", Schema: "string date-time", GoTypes: []string{"dots.Timestamp"},
		Examples: []string{`"2024-07-11T12:31:33.479437"`, `"2024-07-11 12:31:33"`}, Recognise: func(raw string) bool {
			var t dots.Timestamp
			return json.Unmarshal([]byte(raw), &t) == nil && !t.IsZero()
		}},
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
