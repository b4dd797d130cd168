// Package dotsvcr records the client's exchanges with Dots into cassettes (YAML files) and replays
// them in tests without a network. It is go-vcr (gopkg.in/dnaeon/go-vcr.v4) set up for Dots:
//
//   - Credentials and personal data are redacted from each exchange as soon as it is captured, and
//     again before a cassette is saved, so a cassette is safe to commit (see New).
//   - A request matches a recorded one by method, path, query and JSON body, whatever the host, the
//     credentials or the idempotency key the SDK made for the call.
//   - Every answer, recorded or replayed, is checked against openapi.yaml: one that breaks it fails
//     the call with a *SpecError naming each field, and Stop returns it again. What the real API is
//     known to send differently (spec.Violation.Drift) is allowed.
//
// Plug it into the client with api.WithHTTPClient(rec.GetDefaultClient()).
package dotsvcr

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"gopkg.in/dnaeon/go-vcr.v4/pkg/cassette"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/recorder"

	"github.com/payoutkit/dots-go/spec"
)

// Recorder is go-vcr's recorder with Dots' redaction, matching and spec checks. Use it as an
// http.RoundTripper, or its GetDefaultClient, and Stop it when the test is done.
type Recorder struct {
	*recorder.Recorder
	file   string
	spec   *spec.Spec
	router *spec.Router

	mu      sync.Mutex
	secrets []string // learned: credentials (in every encoding) and personal values of requests
	errs    []error  // answers that broke the spec
}

// New starts a recorder on the cassette file cassette+".yaml" in a mode of go-vcr's:
// recorder.ModeRecordOnly records against the server the client is given (the sandbox) and
// overwrites the file on Stop; recorder.ModeReplayOnly replays it and never touches the network.
// opts are go-vcr's own options, applied after dotsvcr's (recorder.WithRealTransport, say). go-vcr's
// debug log is off, since it prints request headers: recorder.WithDebugWriter turns it on.
//
// Redacted before anything is kept: the Authorization, Proxy-Authorization, Cookie and Set-Cookie
// headers; the credentials of any Authorization header seen, wherever they are echoed (raw, URL-
// or base64-encoded, alone or as "id:key"), and anything shaped like a Basic or Bearer value or a
// pk_/sk_ key; the JSON fields first_name, last_name, email and phone_number (their values become
// null, which the spec allows in answers), the values those fields had in the request wherever
// they are echoed (those of four characters or more), and every e-mail address and international
// phone number (+1 202 555 0139) in any text. A replay therefore reads those fields as empty, as
// the recording run did.
func New(cassette string, mode recorder.Mode, opts ...recorder.Option) (*Recorder, error) {
	sp, err := spec.Embedded()
	if err != nil {
		return nil, err
	}
	base := "/api"
	if servers := sp.Document().Servers; len(servers) > 0 {
		if u, err := url.Parse(servers[0].URL); err == nil {
			base = u.Path
		}
	}
	r := &Recorder{file: cassette + ".yaml", spec: sp, router: sp.Router(base)}
	own := []recorder.Option{
		recorder.WithMode(mode),
		recorder.WithSkipRequestLatency(true),
		recorder.WithMatcher(r.match),
		recorder.WithHook(r.redact, recorder.AfterCaptureHook),
		recorder.WithHook(r.redact, recorder.BeforeSaveHook),
		recorder.WithHook(r.check, recorder.BeforeResponseReplayHook),
		// go-vcr's debug log (on with VCR_DEBUG unless a writer is given) prints the requests
		// it matches, Authorization included: it is off.
		recorder.WithDebugWriter(discard{}),
	}
	r.Recorder, err = recorder.New(cassette, append(own, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("dotsvcr: %w", err)
	}
	return r, nil
}

// discard is io.Discard under another name, which go-vcr does not replace with os.Stderr.
type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }

// Stop saves the cassette when recording, and returns go-vcr's error joined with a *SpecError for
// every answer that broke the spec.
func (r *Recorder) Stop() error {
	err := r.Recorder.Stop()
	r.mu.Lock()
	defer r.mu.Unlock()
	return errors.Join(append(slices.Clone(r.errs), err)...)
}

// SpecError is an answer, recorded or replayed, that breaks openapi.yaml.
type SpecError struct {
	Cassette    string           // the cassette's file
	Interaction int              // the interaction's id in it
	Operation   string           // the operationId, or "" for a request to no operation of the spec
	Method      string           // the request's method
	Path        string           // the request's path
	Status      int              // the answer's status
	Violations  []spec.Violation // what breaks the spec, by JSON path; never known drift
}

func (e *SpecError) Error() string {
	if e.Operation == "" {
		return fmt.Sprintf("dotsvcr: %s, interaction %d: %s %s is no operation of openapi.yaml", e.Cassette, e.Interaction, e.Method, e.Path)
	}
	vs := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		vs[i] = v.String()
	}
	return fmt.Sprintf("dotsvcr: %s, interaction %d: the %d answer of %s breaks openapi.yaml: %s",
		e.Cassette, e.Interaction, e.Status, e.Operation, strings.Join(vs, "; "))
}

// check validates an answer before the client gets it, recorded or replayed.
func (r *Recorder) check(i *cassette.Interaction) error {
	req, err := http.NewRequest(i.Request.Method, i.Request.URL, nil)
	if err != nil {
		return fmt.Errorf("dotsvcr: %s, interaction %d: %w", r.file, i.ID, err)
	}
	e := &SpecError{Cassette: r.file, Interaction: i.ID, Method: req.Method, Path: req.URL.Path, Status: i.Response.Code}
	if op, _, ok := r.router.Match(req); ok {
		e.Operation = op.ID
		vs := r.spec.ValidateResponse(req.Context(), op, req, i.Response.Code, i.Response.Headers, []byte(i.Response.Body))
		e.Violations = slices.DeleteFunc(vs, func(v spec.Violation) bool { return v.Drift })
		if len(e.Violations) == 0 {
			return nil
		}
	}
	r.mu.Lock()
	r.errs = append(r.errs, e)
	r.mu.Unlock()
	return e
}
