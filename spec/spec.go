// Package spec is openapi.yaml at run time: the parsed document, its operations, one router (Go's
// http.ServeMux, one method+path pattern per operation), and kin-openapi's validation of requests
// and responses, as a client-side check and as server middleware. The api package's input checks,
// contract validation and Generated() calls use it, and so do the mock and the test servers.
//
// The embedded spec is parsed on first use, never at import: a program that only builds requests
// with package gen, or only verifies webhooks, does not link this package at all.
package spec

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	dots "github.com/payoutkit/dots-go"
)

// Spec is a loaded, valid OpenAPI document with what the SDK needs of it. It is safe for
// concurrent use; do not modify its document.
type Spec struct {
	doc  *openapi3.T
	ops  []*Operation
	byID map[string]*Operation
	// opts validate traffic; check validates a request before it has credentials.
	opts, check openapi3filter.Options
	visitOpts   []openapi3.SchemaValidationOption // for one value (CheckBody)
}

// Embedded returns openapi.yaml as embedded in the module (dots.Spec), parsed and validated once,
// on the first call.
func Embedded() (*Spec, error) { return loadEmbedded() }

var loadEmbedded = sync.OnceValues(func() (*Spec, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(dots.Spec)
	if err != nil {
		return nil, fmt.Errorf("dots: loading openapi.yaml: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("dots: openapi.yaml is not valid: %w", err)
	}
	return New(doc), nil
})

// MustEmbedded is Embedded for code that cannot go on without the spec (the mock, tools): it
// panics if the embedded spec does not load, which the module's own tests rule out.
func MustEmbedded() *Spec {
	s, err := Embedded()
	if err != nil {
		panic(err)
	}
	return s
}

// formats are the string formats checked besides kin-openapi's defaults (date-time and the
// like): uuid (RFC 9562), email (one bare address, as Dots takes it: no display name, no list, a
// domain with an inner dot) and uri (absolute, with a host).
var formats = map[string]openapi3.StringFormatValidator{
	"uuid": openapi3.NewCallbackValidator(func(v string) error {
		if !uuidPattern.MatchString(v) {
			return formatProblem("must be a UUID such as 3c90c3cc-0d44-4b50-8888-8dd25736052a")
		}
		return nil
	}),
	"email": openapi3.NewCallbackValidator(func(v string) error {
		at := strings.IndexByte(v, '@')
		domain := v[at+1:]
		if at < 1 || strings.Count(v, "@") != 1 || strings.ContainsAny(v, " \t\r\n<>\",;:()[]\\") ||
			!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
			return formatProblem("must be an email address such as jsmith@example.com")
		}
		return nil
	}),
	"uri": openapi3.NewCallbackValidator(func(v string) error {
		if u, err := url.Parse(v); err != nil || !u.IsAbs() || u.Host == "" {
			return formatProblem("must be an absolute URL such as https://example.com/thanks")
		}
		return nil
	}),
}

// formatProblem is what a format of ours says is wrong; it is the violation's whole message.
type formatProblem string

func (p formatProblem) Error() string { return string(p) }

var uuidPattern = regexp.MustCompile(openapi3.FormatOfStringForUUIDOfRFC9562)

// New makes a Spec of a loaded and valid document of your own (tests, tools).
func New(doc *openapi3.T) *Spec {
	s := &Spec{doc: doc, byID: map[string]*Operation{}}
	s.opts = openapi3filter.Options{
		MultiError:            true,
		IncludeResponseStatus: true,
		SkipSettingDefaults:   true, // validation must never change what is sent
		AuthenticationFunc:    checkAuth,
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails(),
			openapi3.WithStringFormatValidators(formats)},
	}
	s.visitOpts = append([]openapi3.SchemaValidationOption{openapi3.MultiErrors()}, s.opts.SchemaValidationOptions...)
	s.check = s.opts
	s.check.AuthenticationFunc = openapi3filter.NoopAuthenticationFunc
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			o := &Operation{ID: op.OperationID, Method: method, Path: path,
				route: &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}}
			for _, p := range append(slices.Clone(item.Parameters), op.Parameters...) {
				if p.Value != nil && p.Value.In == openapi3.ParameterInPath && !slices.Contains(o.params, p.Value.Name) {
					o.params = append(o.params, p.Value.Name)
				}
			}
			if mt := jsonContent(op.RequestBody); mt != nil && mt.Schema != nil && mt.Schema.Value != nil {
				_, o.keyed = mt.Schema.Value.Properties["idempotency_key"]
			}
			for code, r := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") && r.Value != nil && r.Value.Content.Get("application/json") != nil {
					o.successBody = true
				}
			}
			s.ops = append(s.ops, o)
			s.byID[o.ID] = o
		}
	}
	slices.SortFunc(s.ops, func(a, b *Operation) int { return cmp.Compare(a.ID, b.ID) })
	return s
}

func jsonContent(rb *openapi3.RequestBodyRef) *openapi3.MediaType {
	if rb == nil || rb.Value == nil {
		return nil
	}
	return rb.Value.Content.Get("application/json")
}

// Document returns the parsed document. Do not modify it.
func (s *Spec) Document() *openapi3.T { return s.doc }

// Operations lists the spec's operations, by operationId.
func (s *Spec) Operations() []*Operation { return slices.Clone(s.ops) }

// Operation returns the operation with this operationId.
func (s *Spec) Operation(id string) (*Operation, bool) {
	o, ok := s.byID[id]
	return o, ok
}

// Operation is one operation of the spec.
type Operation struct {
	// ID is the operationId, such as "create-payout-link".
	ID string
	// Method is the HTTP method, such as "POST".
	Method string
	// Path is the path template, such as "/v2/payout-links/{payout_link_id}".
	Path string

	route       *routers.Route
	params      []string // the names of its path parameters
	keyed       bool
	successBody bool
}

// TakesIdempotencyKey reports whether the operation's JSON body has an idempotency_key field, so
// a request without one must never be repeated.
func (o *Operation) TakesIdempotencyKey() bool { return o.keyed }

// HasSuccessBody reports whether the spec documents a JSON body for the operation's 2xx answers,
// so that an empty one is broken.
func (o *Operation) HasSuccessBody() bool { return o.successBody }

// Schema returns the schema of the operation's JSON answer with this status (2xx answers share
// theirs), or nil.
func (o *Operation) Schema(status int) *openapi3.Schema {
	if r := o.route.Operation.Responses.Status(status); r != nil && r.Value != nil {
		if mt := r.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
			return mt.Schema.Value
		}
	}
	return nil
}

// RequestSchema returns the schema of the operation's JSON request body, or nil.
func (o *Operation) RequestSchema() *openapi3.Schema {
	if mt := jsonContent(o.route.Operation.RequestBody); mt != nil && mt.Schema != nil {
		return mt.Schema.Value
	}
	return nil
}

// Raw returns kin-openapi's operation. Do not modify it.
func (o *Operation) Raw() *openapi3.Operation { return o.route.Operation }

// Check validates a request the way Dots would before it has credentials: path and query
// parameters and the JSON body (body; nil for none) against the spec, with uuid and email
// formats checked. It is the input check of package api, so a constraint added to openapi.yaml
// is checked with no code. params are the path parameters.
func (s *Spec) Check(ctx context.Context, op *Operation, req *http.Request, params map[string]string, body []byte) []Violation {
	return s.validateRequest(ctx, &s.check, op, req, params, body)
}
