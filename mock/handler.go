package mock

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payoutkit/dots-go/spec"
)

// maxBody is the largest request body the server reads.
const maxBody = 1 << 20

// call is one request on its way through the server.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	rec   *Request
	start time.Time
	body  []byte
	in    object // the body of an operation that takes an idempotency key
	drawn *Fault // chaos mode's draw
	// check is the operation the answer is validated against; nil for none.
	check *spec.Operation
	// broken is how a body fault breaks the answer.
	broken BodyFault
	// key is the idempotency key the call holds in progress, released before the client hears
	// anything (an answer or a dropped connection), so that its retry finds the key free.
	key string
}

type ctxKey struct{}

func callOf(r *http.Request) *call { return r.Context().Value(ctxKey{}).(*call) }

// opHandler carries out one operation of the spec on a request that passed the spec: it returns
// the status and body of the answer, or an error.
type opHandler func(c *call) (int, any, *apiError)

// builtin are the handlers of the spec's operations, by operationId.
var builtin = map[string]opHandler{
	"create-payout-link": func(c *call) (int, any, *apiError) {
		if c.in == nil {
			return 0, nil, errInput("$: the body is not a JSON object")
		}
		b, aerr := c.s.create(c.in)
		return http.StatusCreated, json.RawMessage(b), aerr
	},
	"get-payout-link":    func(c *call) (int, any, *apiError) { return linkAnswer(c.s.get(c.linkID())) },
	"cancel-payout-link": func(c *call) (int, any, *apiError) { return linkAnswer(c.s.cancel(c.linkID())) },
	"redeliver-payout-link": func(c *call) (int, any, *apiError) {
		res, aerr := c.s.redeliver(c.linkID())
		return http.StatusOK, res, aerr
	},
	"list-payout-links": func(c *call) (int, any, *apiError) {
		q := c.r.URL.Query()
		limit, err := strconv.Atoi(q.Get("limit")) // the spec's bounds are checked
		if err != nil {
			limit = DefaultLimit
		}
		page, aerr := c.s.list(limit, q.Get("starting_after"), q.Get("ending_before"))
		return http.StatusOK, page, aerr
	},
}

func linkAnswer(b []byte, aerr *apiError) (int, any, *apiError) {
	return http.StatusOK, json.RawMessage(b), aerr
}

func (c *call) linkID() string { return c.r.PathValue("payout_link_id") }

// routes registers the test triggers on mux and returns the server's handler: the spec's
// operations behind spec.Middleware, which routes and validates them.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	triggers := map[string]func(*Server, string) ([]byte, *apiError){
		"reset": nil, "claim": (*Server).claim, "pay-out": (*Server).payOut, "expire": (*Server).expire}
	for _, base := range []string{"", "/api"} {
		for name, do := range triggers {
			path := base + "/_mock/payout-links/{id}/" + name
			if do == nil {
				path = base + "/_mock/" + name
			}
			mux.HandleFunc("POST "+path, func(_ http.ResponseWriter, r *http.Request) { s.trigger(r, name, do) })
		}
	}
	return s.v.Middleware(http.HandlerFunc(s.serveOp), spec.MiddlewareOptions{
		BasePath: "/api", Mux: mux, Refuse: s.refuse, NotFound: http.HandlerFunc(s.notFound)})
}

// serveHTTP records the request, reads its body and hands it to the routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.busy.add(1)
	defer s.busy.add(-1)
	c := &call{s: s, w: w, start: time.Now(), rec: &Request{RequestID: "req_" + randomHex(12), Method: r.Method, Path: r.URL.Path}}
	s.logMu.Lock()
	c.rec.Received = time.Now() // under the lock: Received and Seq agree on the order
	s.reqs.add(c.rec)
	s.logMu.Unlock()
	defer c.finish()
	c.r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case err == nil:
	case errors.As(err, &mbe):
		c.route(nil, "")
		c.fail(&apiError{http.StatusRequestEntityTooLarge, "invalid-input", "$: the request body is larger than 1 MiB"})
		return
	case errors.As(err, &ne) && ne.Timeout():
		c.route(nil, "")
		c.fail(&apiError{http.StatusRequestTimeout, "request-timeout", "$: the request body did not arrive in time"})
		return
	default:
		c.route(nil, "")
		c.fail(errInput("$: the request body could not be read"))
		return
	}
	c.body, c.r.Body = body, http.NoBody
	if len(body) > 0 {
		c.r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.handler.ServeHTTP(w, c.r)
}

// route records where the request goes (Request.Operation: the operationId, or name) and counts
// its attempt; for an operation it reads the idempotency key, draws chaos mode's fault, and has
// the answer checked against the spec.
func (c *call) route(op *spec.Operation, name string) {
	key := ""
	if op != nil {
		name, c.check = op.ID, op
		if op.TakesIdempotencyKey() {
			c.in = parseObject(c.body)
			key = c.in.str("idempotency_key")
		}
	}
	d := digest(c.r, key, c.body)
	c.s.logMu.Lock()
	defer c.s.logMu.Unlock()
	c.rec.Operation, c.rec.IdempotencyKey = name, key
	c.s.reqs.count(c.rec, d)
	if op != nil && c.s.chaos != nil {
		c.drawn = c.s.chaos.draw()
	}
}

// refuse answers a request that breaks the spec: 401 for credentials, else 400.
func (s *Server) refuse(_ http.ResponseWriter, r *http.Request, op *spec.Operation, vs []spec.Violation) bool {
	c := callOf(r)
	c.route(op, "")
	c.fail(s.authorize(r, vs))
	return true
}

// authorize refuses a request 401 unless it has Basic credentials with a client id, exactly
// WithCredentials' when given; then 400 naming the violations of the spec vs, if any.
func (s *Server) authorize(r *http.Request, vs []spec.Violation) *apiError {
	var other []string
	for _, v := range vs {
		if v.Path == "header Authorization" {
			return &apiError{http.StatusUnauthorized, "unauthorized", v.String()}
		}
		other = append(other, v.String())
	}
	id, _, ok := r.BasicAuth()
	switch {
	case !ok || id == "":
		return &apiError{http.StatusUnauthorized, "unauthorized", "header Authorization: Basic credentials with a client id are needed"}
	case s.creds != nil && !s.creds(r):
		return &apiError{http.StatusUnauthorized, "unauthorized", "header Authorization: the client id or API key is not valid"}
	case len(other) > 0:
		return errInput(strings.Join(other, "; "))
	}
	return nil
}

// notFound answers a request for no route: 405 where ServeMux found the path with other methods
// (Allow is set), else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	c := callOf(r)
	c.route(nil, "")
	if allow := w.Header().Get("Allow"); allow != "" {
		c.fail(&apiError{http.StatusMethodNotAllowed, "method-not-allowed", "this path does not take " + r.Method + "; it takes " + allow})
		return
	}
	c.fail(&apiError{http.StatusNotFound, "not-found", "no operation has this path; the base URL ends in /api"})
}

// trigger answers a test trigger: 401 without the credentials the API asks for, 204 for reset,
// else the link as do left it (checked as a get-payout-link answer), 404 or 409 invalid-state.
func (s *Server) trigger(r *http.Request, name string, do func(*Server, string) ([]byte, *apiError)) {
	c := callOf(r)
	c.route(nil, "mock-"+name)
	if aerr := s.authorize(r, nil); aerr != nil {
		c.fail(aerr)
		return
	}
	if do == nil {
		s.Reset()
		c.writeJSON(http.StatusNoContent, nil)
		return
	}
	c.check, _ = s.v.Operation("get-payout-link")
	b, aerr := do(s, r.PathValue("id"))
	c.answer(http.StatusOK, json.RawMessage(b), aerr)
}

// serveOp serves a request to an operation that passed the spec: credentials, the idempotency
// key in progress, faults, then the operation's handler.
func (s *Server) serveOp(_ http.ResponseWriter, r *http.Request) {
	op, _ := spec.OperationOf(r.Context())
	c := callOf(r)
	c.r = r
	c.route(op, "")
	if aerr := s.authorize(r, nil); aerr != nil {
		c.fail(aerr)
		return
	}
	// A create whose key another request is still working on is answered 409 resource-busy, as
	// Dots does, and applies nothing.
	if key := strings.ToLower(c.rec.IdempotencyKey); key != "" {
		if !s.claimKey(key) {
			c.fail(&apiError{http.StatusConflict, "resource-busy", "a request with this idempotency key is still in progress"})
			return
		}
		c.key = key
		defer c.release()
	}
	f, err := s.pickFault(r, c.drawn)
	if err != nil {
		c.fail(errInput(err.Error()))
		return
	}
	if f != nil {
		c.note(func(rec *Request) { rec.Fault = f.String() })
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
	h := s.handlers[op.ID]
	if h == nil {
		c.fail(&apiError{http.StatusNotImplemented, "not-implemented", "the mock does not serve " + op.ID + " (" + op.Method + " " + op.Path + ")"})
		return
	}
	status, payload, aerr := h(c)
	switch {
	case r.Context().Err() != nil:
		// A late fault applied the request after the client gave up: nobody reads an answer.
		c.note(func(rec *Request) { rec.Canceled = true })
		return
	case f == nil:
	case f.Drop == DropAfterApply:
		c.drop()
		return
	case f.status() != 0:
		c.fault(f.status(), f.RetryAfter)
		return
	default:
		c.broken = f.Body
	}
	c.answer(status, payload, aerr)
}

// release ends the call's hold on its idempotency key.
func (c *call) release() {
	if c.key != "" {
		c.s.releaseKey(c.key)
		c.key = ""
	}
}

// note changes the request's record under the log's lock.
func (c *call) note(fn func(*Request)) {
	c.s.logMu.Lock()
	fn(c.rec)
	c.s.logMu.Unlock()
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
	c.note(func(rec *Request) { rec.Canceled = true })
	c.hangUp()
	return false
}

// drop closes the connection without writing anything.
func (c *call) drop() {
	c.note(func(rec *Request) { rec.Dropped = true })
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
	c.check, c.broken = nil, BodyIntact
	if retryAfter != "" {
		c.w.Header().Set("Retry-After", retryAfter)
	}
	c.fail(&apiError{status, errorCode(status), strings.TrimSpace("injected fault: " + strconv.Itoa(status) + " " + http.StatusText(status))})
}

// answer writes a handler's result: payload with status, or the error.
func (c *call) answer(status int, payload any, aerr *apiError) {
	if aerr != nil {
		c.fail(aerr)
		return
	}
	c.writeJSON(status, payload)
}

// fail writes an Error body, as Dots does.
func (c *call) fail(e *apiError) {
	if e.status == http.StatusUnauthorized {
		c.w.Header().Set("WWW-Authenticate", `Basic realm="dots"`)
	}
	c.writeJSON(e.status, struct {
		Success   bool   `json:"success"`
		Message   string `json:"message"`
		ErrorCode string `json:"error_code"`
	}{Message: e.message, ErrorCode: e.code})
}

// writeJSON writes v (nil for no body) as the answer, after checking it against the spec when
// c.check says so, and breaking it when a body fault says so.
func (c *call) writeJSON(status int, v any) {
	c.release()
	h := c.w.Header()
	h.Set("Request-Id", c.rec.RequestID)
	var b []byte
	if v != nil {
		var err error
		if raw, ok := v.(json.RawMessage); ok {
			b = raw
		} else {
			b, err = json.Marshal(v)
		}
		if err != nil {
			status = http.StatusInternalServerError
			b = []byte(`{"success":false,"message":"the mock could not write its answer","error_code":"internal-error"}`)
			c.s.violate(c.rec, status, "$: "+err.Error())
		}
		h.Set("Content-Type", "application/json")
		if c.check != nil && !c.s.noAnswerChecks {
			for _, v := range c.s.v.ValidateResponse(c.r.Context(), c.check, c.r, status, h, b) {
				c.s.violate(c.rec, status, v.String())
			}
		}
		switch c.broken {
		case TruncatedBody:
			b = b[:len(b)/2]
		case NonJSONBody:
			b = []byte("<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>We'll be right back</h1></body></html>\n")
		case EmptyBody:
			b = nil
		}
		h.Set("Content-Length", strconv.Itoa(len(b)))
	}
	c.w.WriteHeader(status)
	_, _ = c.w.Write(b)
	c.note(func(rec *Request) { rec.Status = status })
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
	level := slog.LevelInfo
	if rec.Status >= 400 || rec.Status == 0 || rec.Fault != "" {
		level = slog.LevelWarn
	}
	if c.s.logger == nil || !c.s.logger.Enabled(context.Background(), level) {
		return
	}
	attrs := []slog.Attr{slog.String("request_id", rec.RequestID), slog.String("method", rec.Method), slog.String("path", rec.Path),
		slog.String("status", rec.Result()), slog.Duration("duration", d.Round(time.Microsecond))}
	if rec.Fault != "" {
		attrs = append(attrs, slog.String("fault", rec.Fault))
	}
	c.s.logger.LogAttrs(context.Background(), level, "request", attrs...)
}
