package mock

import (
	"context"
	"crypto/rand"

	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payoutkit/dots-go/spec"
)

// maxBody is the largest request body the server reads.
const maxBody = 1 << 20

// call is one request on its way through the handler.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	rec   *Request
	start time.Time
	// check is the operation the answer is validated against; nil for none.
	check *spec.Operation
	// body is how to break the body of the answer.
	body BodyFault
	// in is the body of a create, read.
	in *createInput
	// key is the idempotency key this call holds in progress, released before the client hears
	// anything (an answer or a dropped connection), so that its retry finds the key free.
	key string
}

// release ends the call's hold on its idempotency key.
func (c *call) release() {
	if c.key != "" {
		c.s.releaseKey(c.key)
		c.key = ""
	}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.busy.add(1)
	defer s.busy.add(-1)
	start := time.Now()
	c := &call{s: s, w: w, r: r, start: start, rec: &Request{
		RequestID: newRequestID(), Method: r.Method, Path: r.URL.Path,
	}}
	rt := s.route(r)
	c.rec.Operation = rt.opID()
	// Seq and chaos mode's draw follow the order of arrival, before the body is read.
	var drawn *Fault
	s.logMu.Lock()
	c.rec.Received = time.Now() // under the lock: Received and Seq agree on the order
	s.reqs.add(c.rec)
	if rt.op != nil && s.chaos != nil {
		drawn = s.chaos.draw()
	}
	s.logMu.Unlock()
	defer c.finish()

	body, readErr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	key := ""
	if rt.op != nil && rt.op.ID == "create-payout-link" && readErr == nil {
		if in, err := parseCreate(body); err == nil {
			c.in = &in
			key = in.str("idempotency_key")
		}
	}
	s.count(c.rec, r, key, body)

	if readErr != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(readErr, &mbe):
			c.writeError(http.StatusRequestEntityTooLarge, "invalid-input", "$: the request body is larger than 1 MiB")
		case errors.As(readErr, &ne) && ne.Timeout():
			c.writeError(http.StatusRequestTimeout, "request-timeout", "$: the request body did not arrive in time")
		default:
			c.writeError(http.StatusBadRequest, "invalid-input", "$: the request body could not be read")
		}
		return
	}
	switch {
	case rt.trigger != nil:
		c.trigger(rt)
		return
	case rt.allow != "":
		w.Header().Set("Allow", rt.allow)
		c.writeError(http.StatusMethodNotAllowed, "method-not-allowed", "this path does not take "+r.Method+"; it takes "+rt.allow)
		return
	case rt.op == nil:
		c.writeError(http.StatusNotFound, "not-found", "no operation has this path; the base URL ends in /api")
		return
	}
	c.check = rt.op

	// A create whose key another request is still working on is answered 409 resource-busy, as
	// Dots does, and applies nothing.
	if key := strings.ToLower(c.rec.IdempotencyKey); key != "" {
		if !s.claimKey(key) {
			c.writeError(http.StatusConflict, "resource-busy", "a request with this idempotency key is still in progress")
			return
		}
		c.key = key
		defer c.release()
	}

	f, err := s.pickFault(r, drawn)
	if err != nil {
		c.writeError(http.StatusBadRequest, "invalid-input", err.Error())
		return
	}
	if f != nil {
		c.s.logMu.Lock()
		c.rec.Fault = f.String()
		c.s.logMu.Unlock()
		if f.Delay > 0 && !c.wait(f.Delay, f.Late) {
			return
		}
		if f.Drop == DropBeforeApply {
			c.drop()
			return
		}
		if st := f.status(); st != 0 && !f.ApplyFirst && f.Drop == NoDrop {
			c.fault(st, f.RetryAfter)
			return
		}
	}
	status, payload, aerr := s.apply(r, rt, body, c.in)
	switch {
	case r.Context().Err() != nil:
		// A late fault applied the request after the client gave up: nobody reads an answer.
		c.s.logMu.Lock()
		c.rec.Canceled = true
		c.s.logMu.Unlock()
		return
	case f == nil:
	case f.Drop == DropAfterApply:
		c.drop()
		return
	case f.status() != 0:
		c.fault(f.status(), f.RetryAfter)
		return
	default:
		c.body = f.Body
	}
	c.answer(status, payload, aerr)
}

// opHandler carries out one operation of the spec on a request that passed the spec: it returns
// the status and body of the answer, or an error. in is the parsed body of a create.
type opHandler func(r *http.Request, params map[string]string, in *createInput) (int, any, *apiError)

// operations are the handlers of the spec's operations, by operationId. An operation of the
// spec without one answers 501 not-implemented.
func (s *Server) operations() map[string]opHandler {
	link := func(fn func(string) ([]byte, *apiError)) opHandler {
		return func(_ *http.Request, p map[string]string, _ *createInput) (int, any, *apiError) {
			b, aerr := fn(p["payout_link_id"])
			return http.StatusOK, json.RawMessage(b), aerr
		}
	}
	return map[string]opHandler{
		"create-payout-link": func(_ *http.Request, _ map[string]string, in *createInput) (int, any, *apiError) {
			if in == nil {
				return 0, nil, errInput("$: the body is not a JSON object")
			}
			b, aerr := s.create(in, strings.ToLower(in.str("idempotency_key")))
			return http.StatusCreated, json.RawMessage(b), aerr
		},
		"get-payout-link":    link(s.get),
		"cancel-payout-link": link(s.cancel),
		"redeliver-payout-link": func(_ *http.Request, p map[string]string, _ *createInput) (int, any, *apiError) {
			res, aerr := s.redeliver(p["payout_link_id"])
			return http.StatusOK, res, aerr
		},
		"list-payout-links": func(r *http.Request, _ map[string]string, _ *createInput) (int, any, *apiError) {
			q := r.URL.Query()
			limit := DefaultLimit
			if v := q.Get("limit"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil {
					return 0, nil, errInput("query limit: not a whole number")
				}
				limit = n
			}
			page, aerr := s.list(limit, q.Get("starting_after"), q.Get("ending_before"))
			return http.StatusOK, page, aerr
		},
	}
}

// apply validates a request to one of the spec's operations and carries it out.
func (s *Server) apply(r *http.Request, rt route, body []byte, in *createInput) (int, any, *apiError) {
	if aerr := s.validate(r, rt.op, rt.params, body); aerr != nil {
		return 0, nil, aerr
	}
	h := s.handlers[rt.op.ID]
	if h == nil {
		return 0, nil, &apiError{http.StatusNotImplemented, "not-implemented", "the mock does not serve " + rt.op.ID + " (" + rt.op.Method + " " + rt.op.Path + ")"}
	}
	return h(r, rt.params, in)
}

// validate checks a request against the spec, and its credentials against WithCredentials.
func (s *Server) validate(r *http.Request, op *spec.Operation, params map[string]string, body []byte) *apiError {
	var vs []spec.Violation
	if len(body) > 0 {
		vs = s.v.ValidateRequest(r.Context(), op, r, params, body)
	} else {
		vs = s.v.ValidateRequest(r.Context(), op, r, params, nil)
	}
	var auth, other []string
	for _, v := range vs {
		if v.Path == "header Authorization" {
			auth = append(auth, v.String())
		} else {
			other = append(other, v.String())
		}
	}
	switch {
	case len(auth) > 0:
		return &apiError{http.StatusUnauthorized, "unauthorized", strings.Join(auth, "; ")}
	case !s.checkCredentials(r):
		return errBadCredentials
	case len(other) > 0:
		return errInput(strings.Join(other, "; "))
	}
	return nil
}

// authorize checks the credentials of a request to a /_mock endpoint as validate checks those of
// the API's: Basic credentials with a client id, and exactly WithCredentials' when it was given.
func (s *Server) authorize(r *http.Request) *apiError {
	if id, _, ok := r.BasicAuth(); !ok || id == "" {
		return &apiError{http.StatusUnauthorized, "unauthorized", "header Authorization: Basic credentials with a client id are needed"}
	}
	if !s.checkCredentials(r) {
		return errBadCredentials
	}
	return nil
}

// errBadCredentials answers credentials that are not WithCredentials'.
var errBadCredentials = &apiError{http.StatusUnauthorized, "unauthorized", "header Authorization: the client id or API key is not valid"}

// route is where a request goes.
type route struct {
	op      *spec.Operation
	params  map[string]string
	trigger *trigger // a test trigger under /_mock
	id      string   // the trigger's payout link id
	allow   string   // the path exists, with these methods only
}

func (rt route) opID() string {
	switch {
	case rt.trigger != nil:
		return rt.trigger.op
	case rt.op != nil:
		return rt.op.ID
	}
	return ""
}

// route finds the operation of a request. The spec's paths are served under /api exactly.
func (s *Server) route(r *http.Request) route {
	path := r.URL.EscapedPath()
	if t, id, ok := triggerPath(path); ok {
		if r.Method != http.MethodPost {
			return route{allow: http.MethodPost}
		}
		return route{trigger: t, id: id}
	}
	rest, ok := strings.CutPrefix(path, "/api/")
	if !ok {
		return route{}
	}
	rest = "/" + rest
	if op, params, ok := s.match(r.Method, rest); ok {
		return route{op: op, params: params}
	}
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		if _, _, ok := s.match(m, rest); ok {
			allow = append(allow, m)
		}
	}
	return route{allow: strings.Join(allow, ", ")}
}

// match finds the operation of a method and a path after /api, with the spec's router.
func (s *Server) match(method, path string) (*spec.Operation, map[string]string, bool) {
	r, err := http.NewRequest(method, path, nil)
	if err != nil {
		return nil, nil, false
	}
	return s.rt.Match(r)
}

// trigger is a test trigger: POST /_mock/reset, or POST /_mock/payout-links/{id}/NAME.
type trigger struct {
	name string // the last path segment
	op   string // Request.Operation
	// do changes the link with this id (nil for reset).
	do func(s *Server, id string) ([]byte, *apiError)
}

var triggers = []*trigger{
	{"reset", "mock-reset", nil},
	{"claim", "mock-claim", (*Server).claim},
	{"pay-out", "mock-pay-out", (*Server).payOut},
	{"expire", "mock-expire", (*Server).expire},
}

// triggerPath reads /_mock/reset and /_mock/payout-links/{id}/{claim,pay-out,expire}, with or
// without /api before them.
func triggerPath(path string) (*trigger, string, bool) {
	p := strings.TrimSuffix(strings.TrimPrefix(path, "/api"), "/")
	if p == "/_mock/reset" {
		return triggers[0], "", true
	}
	rest, ok := strings.CutPrefix(p, "/_mock/payout-links/")
	if !ok {
		return nil, "", false
	}
	id, name, ok := strings.Cut(rest, "/")
	if !ok || id == "" {
		return nil, "", false
	}
	for _, t := range triggers[1:] {
		if name == t.name {
			if uid, err := url.PathUnescape(id); err == nil {
				return t, uid, true
			}
		}
	}
	return nil, "", false
}

// trigger answers a test trigger: 401 without the credentials the API asks for, 204 for reset,
// else the link as the change left it (checked as a get-payout-link answer), 404 or 409
// invalid-state.
func (c *call) trigger(rt route) {
	if aerr := c.s.authorize(c.r); aerr != nil {
		c.answer(0, nil, aerr)
		return
	}
	if rt.trigger.do == nil {
		c.s.Reset()
		c.release()
		c.w.Header().Set("Request-Id", c.rec.RequestID)
		c.w.WriteHeader(http.StatusNoContent)
		c.s.logMu.Lock()
		c.rec.Status = http.StatusNoContent
		c.s.logMu.Unlock()
		return
	}
	c.check = c.s.mustOp("get-payout-link")
	b, aerr := rt.trigger.do(c.s, rt.id)
	c.answer(http.StatusOK, json.RawMessage(b), aerr)
}

func (s *Server) mustOp(id string) *spec.Operation {
	op, ok := s.v.Operation(id)
	if !ok {
		panic("mock: the spec has no operation " + id)
	}
	return op
}

// count records a request's idempotency key and counts its attempt once its body is read.
func (s *Server) count(rec *Request, r *http.Request, key string, body []byte) {
	call := callOf(r, key, body)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	rec.IdempotencyKey = key
	s.reqs.count(rec, call)
}

// wait sleeps d, and reports false (after closing the connection) when the request's context
// ends (unless late is set) or the server closes first.
func (c *call) wait(d time.Duration, late bool) bool {
	if wt := c.s.timeouts.Write; wt > 0 {
		// The answer may take the delay longer than the write timeout allows.
		_ = http.NewResponseController(c.w).SetWriteDeadline(time.Now().Add(d + wt))
	}
	t := time.NewTimer(d)
	defer t.Stop()
	clientGone := c.r.Context().Done()
	if late {
		clientGone = nil
	}
	select {
	case <-t.C:
		return true
	case <-clientGone:
	case <-c.s.done:
	}
	c.s.logMu.Lock()
	c.rec.Canceled = true
	c.s.logMu.Unlock()
	c.hangUp()
	return false
}

// drop closes the connection without writing anything.
func (c *call) drop() {
	c.s.logMu.Lock()
	c.rec.Dropped = true
	c.s.logMu.Unlock()
	c.hangUp()
}

// hangUp closes the connection under the request. Where the connection cannot be hijacked
// (HTTP/2, a ResponseRecorder), it aborts the handler with http.ErrAbortHandler, which net/http
// turns into a reset without an answer.
func (c *call) hangUp() {
	c.release()
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// fault answers an injected status. Its body is not checked against the spec.
func (c *call) fault(status int, retryAfter string) {
	c.check = nil
	c.body = BodyIntact
	if retryAfter != "" {
		c.w.Header().Set("Retry-After", retryAfter)
	}
	msg := "injected fault: " + strconv.Itoa(status)
	if t := http.StatusText(status); t != "" {
		msg += " " + t
	}
	c.writeError(status, errorCode(status), msg)
}

// answer writes a handler's result: payload with status, or the error.
func (c *call) answer(status int, payload any, aerr *apiError) {
	if aerr != nil {
		if aerr.status == http.StatusUnauthorized {
			c.w.Header().Set("WWW-Authenticate", `Basic realm="dots"`)
		}
		c.writeError(aerr.status, aerr.code, aerr.message)
		return
	}
	c.writeJSON(status, payload)
}

// errorBody is the Error body Dots answers with, success false included.
type errorBody struct {
	Success   bool   `json:"success"`
	Message   string `json:"message"`
	ErrorCode string `json:"error_code"`
}

func (c *call) writeError(status int, code, msg string) {
	c.writeJSON(status, errorBody{Message: msg, ErrorCode: code})
}

// writeJSON writes v as the answer, after checking it against the spec when the request went
// to one of the spec's operations, and breaking it when a body fault says so.
func (c *call) writeJSON(status int, v any) {
	c.release()
	b, ok := v.(json.RawMessage)
	var err error
	if !ok {
		b, err = json.Marshal(v)
	}
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"success":false,"message":"the mock could not write its answer","error_code":"internal-error"}`)
		c.s.violate(c.rec, status, "$: "+err.Error())
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", c.rec.RequestID)
	if c.check != nil && !c.s.noAnswerChecks {
		for _, v := range c.s.v.ValidateResponse(c.r.Context(), c.check, c.r, status, h, b) {
			c.s.violate(c.rec, status, v.String())
		}
	}
	switch c.body {
	case TruncatedBody:
		b = b[:len(b)/2]
	case NonJSONBody:
		b = []byte("<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>We'll be right back</h1></body></html>\n")
	case EmptyBody:
		b = nil
	}
	h.Set("Content-Length", strconv.Itoa(len(b)))
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	c.s.logMu.Lock()
	c.rec.Status = status
	c.s.logMu.Unlock()
}

func (s *Server) violate(rec *Request, status int, msg string) {
	v := rec.Method + " " + rec.Path + " " + strconv.Itoa(status) + ": " + msg
	s.logMu.Lock()
	if len(s.violations) < maxViolations {
		s.violations = append(s.violations, v)
	} else {
		s.moreViolate++
	}
	s.logMu.Unlock()
	if s.logger != nil {
		s.logger.LogAttrs(context.Background(), slog.LevelError, "the mock's answer departs from the spec",
			slog.String("request_id", rec.RequestID), slog.String("violation", v))
	}
}

// finish records the duration and logs the request.
func (c *call) finish() {
	d := time.Since(c.start)
	c.s.logMu.Lock()
	c.rec.Duration = d
	rec := *c.rec
	c.s.logMu.Unlock()
	if c.s.logger == nil {
		return
	}
	level := slog.LevelInfo
	if rec.Status >= 400 || rec.Status == 0 || rec.Fault != "" {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !c.s.logger.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("request_id", rec.RequestID),
		slog.String("method", rec.Method),
		slog.String("path", rec.Path),
		slog.String("status", rec.Result()),
		slog.Duration("duration", d.Round(time.Microsecond)),
	}
	if rec.Fault != "" {
		attrs = append(attrs, slog.String("fault", rec.Fault))
	}
	c.s.logger.LogAttrs(ctx, level, "request", attrs...)
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}
