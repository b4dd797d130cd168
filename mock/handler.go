package mock

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payoutkit/dots-go/spec"
)

// call is one request on its way.
type call struct {
	s      *Server
	w      http.ResponseWriter
	r      *http.Request
	rec    *Request
	body   []byte
	in     object          // the body of an operation that takes an idempotency key
	after  *Fault          // the fault, which acts once the request is applied
	check  *spec.Operation // the answer is checked against it; nil for none
	broken BodyFault       // how a body fault breaks the answer
	key    string          // the idempotency key held in progress, released before any answer
}

type ctxKey struct{}

func callOf(r *http.Request) *call { return r.Context().Value(ctxKey{}).(*call) }

// builtin are the handlers of the spec's operations: they apply a request, and answer (applied).
var builtin = map[string]func(c *call){
	"create-payout-link":    func(c *call) { c.applied(http.StatusCreated)(c.s.create(c.in)) },
	"get-payout-link":       func(c *call) { c.applied(http.StatusOK)(c.s.update(c.r.PathValue("payout_link_id"), nil)) },
	"cancel-payout-link":    func(c *call) { c.applied(http.StatusOK)(c.s.change("cancel", c.r.PathValue("payout_link_id"))) },
	"redeliver-payout-link": func(c *call) { c.applied(http.StatusOK)(c.s.redeliver(c.r.PathValue("payout_link_id"))) },
	"list-payout-links": func(c *call) {
		q := c.r.URL.Query()
		limit, _ := strconv.Atoi(q.Get("limit")) // the middleware checked it
		op, _ := spec.OperationOf(c.r.Context())
		keep, aerr := c.s.filter(op, q)
		if aerr != nil {
			c.answer(0, nil, aerr)
			return
		}
		c.applied(http.StatusOK)(c.s.list(cmp.Or(limit, DefaultLimit), q.Get("starting_after"), q.Get("ending_before"), keep))
	},
}

// routes are the test triggers and, routed and validated by spec.Middleware, the operations.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, base := range []string{"", "/api"} {
		for _, name := range []string{"reset", "claim", "pay-out", "expire"} {
			path := base + "/_mock/payout-links/{id}/" + name
			if name == "reset" {
				path = base + "/_mock/reset"
			}
			mux.HandleFunc("POST "+path, func(_ http.ResponseWriter, r *http.Request) { s.trigger(r, name) })
		}
	}
	return s.v.Middleware(http.HandlerFunc(s.serveOp), spec.MiddlewareOptions{
		BasePath: "/api", Mux: mux, Refuse: s.refuse, NotFound: http.HandlerFunc(s.notFound)})
}

// serveHTTP records the request, reads its body (1 MiB at most) and hands it to the routes.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	s.busy.add(1)
	defer s.busy.add(-1)
	c := &call{s: s, w: w, rec: &Request{RequestID: "req_" + randomHex(12), Method: r.Method, Path: r.URL.Path}}
	s.logMu.Lock()
	c.rec.Received = time.Now() // under the lock: Received and Seq agree on the order
	s.reqs.add(c.rec)
	s.logMu.Unlock()
	defer c.finish()
	c.r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, c))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		c.body, c.r.Body = body, io.NopCloser(bytes.NewReader(body))
		s.handler.ServeHTTP(w, c.r)
		return
	}
	aerr, ne := errInput("$: the request body could not be read"), net.Error(nil)
	if errors.As(err, new(*http.MaxBytesError)) {
		aerr = &apiError{http.StatusRequestEntityTooLarge, "invalid-input", "$: the request body is larger than 1 MiB"}
	} else if errors.As(err, &ne) && ne.Timeout() {
		aerr = &apiError{http.StatusRequestTimeout, "request-timeout", "$: the request body did not arrive in time"}
	}
	c.route(nil, "")
	c.answer(0, nil, aerr)
}

// route records where the request went (operation, or name) and counts its attempt.
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
	c.note(func(rec *Request) {
		rec.Operation, rec.IdempotencyKey = name, key
		c.s.reqs.count(rec, d)
	})
}

// refuse answers a request that breaks the spec: 401 for credentials, else 400.
func (s *Server) refuse(_ http.ResponseWriter, r *http.Request, op *spec.Operation, vs []spec.Violation) bool {
	callOf(r).route(op, "")
	callOf(r).answer(0, nil, s.authorize(r, vs))
	return true
}

// authorize refuses 401 without Basic credentials with a client id (WithCredentials'), then 400.
func (s *Server) authorize(r *http.Request, vs []spec.Violation) *apiError {
	var other []string
	for _, v := range vs {
		if v.Path == "header Authorization" {
			return &apiError{http.StatusUnauthorized, "unauthorized", v.String()}
		}
		other = append(other, v.String())
	}
	switch id, _, ok := r.BasicAuth(); {
	case !ok || id == "":
		return &apiError{http.StatusUnauthorized, "unauthorized", "header Authorization: Basic credentials with a client id are needed"}
	case s.creds != nil && !s.creds(r):
		return &apiError{http.StatusUnauthorized, "unauthorized", "header Authorization: the client id or API key is not valid"}
	case len(other) > 0:
		return errInput(strings.Join(other, "; "))
	}
	return nil
}

// notFound answers 405 where ServeMux knows the path with other methods (Allow), else 404.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	aerr := &apiError{http.StatusNotFound, "not-found", "no operation has this path; the base URL ends in /api"}
	if allow := w.Header().Get("Allow"); allow != "" {
		aerr = &apiError{http.StatusMethodNotAllowed, "method-not-allowed", "this path does not take " + r.Method + "; it takes " + allow}
	}
	callOf(r).route(nil, "")
	callOf(r).answer(0, nil, aerr)
}

// trigger answers a test trigger: 204 for reset, else the link as the change left it.
func (s *Server) trigger(r *http.Request, name string) {
	c := callOf(r)
	c.route(nil, "mock-"+name)
	switch aerr := s.authorize(r, nil); {
	case aerr != nil:
		c.answer(0, nil, aerr)
	case name == "reset":
		s.Reset()
		c.answer(http.StatusNoContent, nil, nil)
	default:
		c.check, _ = s.v.Operation("get-payout-link")
		b, aerr := s.change(name, r.PathValue("id"))
		c.answer(http.StatusOK, b, aerr)
	}
}

// serveOp serves a valid request: credentials, idempotency key (409 resource-busy), faults, handler.
func (s *Server) serveOp(_ http.ResponseWriter, r *http.Request) {
	op, _ := spec.OperationOf(r.Context())
	c := callOf(r)
	c.r = r
	c.route(op, "")
	if aerr := s.authorize(r, nil); aerr != nil {
		c.answer(0, nil, aerr)
		return
	}
	if key := strings.ToLower(c.rec.IdempotencyKey); key != "" {
		if _, held := s.keysInProgress.LoadOrStore(key, true); held {
			c.answer(0, nil, &apiError{http.StatusConflict, "resource-busy", "a request with this idempotency key is still in progress"})
			return
		}
		c.key = key
		defer c.release()
	}
	f, err := s.pickFault(r)
	if err != nil {
		c.answer(0, nil, errInput(err.Error()))
		return
	}
	if !f.IsZero() {
		c.note(func(rec *Request) { rec.Fault = f.String() })
	}
	c.after = &f
	switch h := s.handlers[op.ID]; {
	case f.Delay > 0 && !c.wait(f.Delay, f.Late):
	case f.Drop == DropBeforeApply:
		c.hangUp(func(rec *Request) { rec.Dropped = true })
	case f.status() != 0 && !f.ApplyFirst && f.Drop == NoDrop:
		c.fault(&f)
	case h == nil:
		c.answer(0, nil, &apiError{http.StatusNotImplemented, "not-implemented", "the mock does not serve " + op.ID + " (" + op.Method + " " + op.Path + ")"})
	default:
		h(c)
	}
}

// applied answers a handler's result, unless a fault that acts after applying says otherwise.
func (c *call) applied(status int) func(v any, aerr *apiError) {
	return func(v any, aerr *apiError) {
		switch f := c.after; {
		case c.r.Context().Err() != nil: // a late fault applied it after the client gave up
			c.note(func(rec *Request) { rec.Canceled = true })
		case f.Drop == DropAfterApply:
			c.hangUp(func(rec *Request) { rec.Dropped = true })
		case f.status() != 0:
			c.fault(f)
		default:
			c.broken = f.Body
			c.answer(status, v, aerr)
		}
	}
}

func (c *call) release() {
	c.s.keysInProgress.Delete(c.key) // "" when the call holds none
	c.key = ""
}

func (c *call) note(fn func(*Request)) {
	c.s.logMu.Lock()
	defer c.s.logMu.Unlock()
	fn(c.rec)
}

// wait sleeps d, or hangs up if the client (unless late) or the server ends it first.
func (c *call) wait(d time.Duration, late bool) bool {
	if wt := c.s.timeouts.Write; wt > 0 { // the delay extends the write timeout
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
	c.hangUp(func(rec *Request) { rec.Canceled = true })
	return false
}

// hangUp closes the connection unanswered, or aborts the handler where it cannot (HTTP/2).
func (c *call) hangUp(how func(*Request)) {
	c.note(how)
	c.release()
	conn, _, err := http.NewResponseController(c.w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// fault answers an injected status, unchecked.
func (c *call) fault(f *Fault) {
	if c.check = nil; f.RetryAfter != "" {
		c.w.Header().Set("Retry-After", f.RetryAfter)
	}
	st := f.status()
	c.answer(0, nil, &apiError{st, cmp.Or(errorCodes[st], "injected-fault"), strings.TrimSpace("injected fault: " + strconv.Itoa(st) + " " + http.StatusText(st))})
}

// answer writes v (nil: no body) or aerr's Error body, checked against c.check, broken by c.broken.
func (c *call) answer(status int, v any, aerr *apiError) {
	c.release()
	h := c.w.Header()
	h.Set("Request-Id", c.rec.RequestID)
	if aerr != nil {
		status, v = aerr.status, map[string]any{"success": false, "message": aerr.message, "error_code": aerr.code}
		if status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", `Basic realm="dots"`)
		}
	}
	b, raw := v.([]byte) // JSON as is, or a value to encode
	if v != nil {
		if !raw {
			b, _ = json.Marshal(v) // the mock's own types, which always encode
		}
		h.Set("Content-Type", "application/json")
		if c.check != nil && !c.s.noAnswerChecks {
			for _, v := range c.s.v.ValidateResponse(c.r.Context(), c.check, c.r, status, h, b) {
				c.s.violate(c.rec, status, v.String())
			}
		}
		if c.broken > BodyIntact && c.broken <= EmptyBody {
			b = [][]byte{nil, b[:len(b)/2], []byte("<!DOCTYPE html>\n<html><head><title>Maintenance</title></head><body><h1>We'll be right back</h1></body></html>\n"), nil}[c.broken]
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
	if len(s.violations) < 1000 {
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
	c.s.logMu.Lock()
	c.rec.Duration = time.Since(c.rec.Received)
	rec := *c.rec
	c.s.logMu.Unlock()
	if c.s.logger == nil {
		return
	}
	level := slog.LevelInfo
	if rec.Status >= 400 || rec.Status == 0 || rec.Fault != "" {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{slog.String("request_id", rec.RequestID), slog.String("method", rec.Method), slog.String("path", rec.Path),
		slog.String("status", rec.Result()), slog.Duration("duration", rec.Duration.Round(time.Microsecond))}
	if rec.Fault != "" {
		attrs = append(attrs, slog.String("fault", rec.Fault))
	}
	c.s.logger.LogAttrs(context.Background(), level, "request", attrs...)
}

// DefaultMaxRequests is how many requests Requests keeps without WithMaxRequests.
const DefaultMaxRequests = 50_000

// Request is what the server recorded about one request it received.
type Request struct {
	Seq          int    // place in arrival order, from 1 (reset by Reset)
	RequestID    string // the answer's Request-Id header
	Method, Path string // the URL path, without the query
	// Operation is the operationId, "mock-claim", "mock-pay-out", "mock-expire" or "mock-reset",
	// or "" for a path the server does not serve or a body it could not read.
	Operation      string
	IdempotencyKey string // the create body's idempotency_key
	Attempt        int    // 1, 2, ...: the kept requests so far with its method, path, query and body, or key
	Fault          string // the injected fault in X-Mock-Fault syntax
	Status         int    // the status answered; 0 when dropped, canceled, or not answered yet
	Dropped        bool   // the connection was closed unanswered
	Canceled       bool   // the client left during an injected delay
	Received       time.Time
	Duration       time.Duration // how long the server took
	call           callKey       // the call it belongs to, once counted
}

// Result is the answered status as text, "dropped", "canceled" or "pending".
func (r Request) Result() string {
	switch {
	case r.Dropped:
		return "dropped"
	case r.Canceled:
		return "canceled"
	case r.Status == 0:
		return "pending"
	}
	return strconv.Itoa(r.Status)
}

// callKey names a call: a digest of the idempotency key, or of the method, path, query and body.
type callKey [sha256.Size]byte

func digest(r *http.Request, key string, body []byte) callKey {
	if key != "" {
		return sha256.Sum256([]byte("key " + strings.ToLower(key)))
	}
	return sha256.Sum256(fmt.Appendf(nil, "%s %s?%s %d\n%s", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, len(body), body))
}

// requestLog keeps the recent requests and, by call, their attempts and newest Seq (logMu).
type requestLog struct {
	max      int
	reqs     []*Request // oldest first
	seq      int        // requests so far
	attempts map[callKey][2]int
}

// add records rec as it arrives, forgetting the oldest request (and its call, if the newest).
func (l *requestLog) add(rec *Request) {
	l.seq++
	rec.Seq = l.seq
	if l.reqs = append(l.reqs, rec); l.max > 0 && len(l.reqs) > l.max {
		if old := l.reqs[0]; old.Attempt > 0 && l.attempts[old.call][1] == old.Seq {
			delete(l.attempts, old.call)
		}
		l.reqs[0], l.reqs = nil, l.reqs[1:]
	}
}

// count sets rec's Attempt, unless the log no longer keeps it (forgotten, or before a Reset).
func (l *requestLog) count(rec *Request, call callKey) {
	if i := rec.Seq - l.seq + len(l.reqs) - 1; i >= 0 && i < len(l.reqs) && l.reqs[i] == rec {
		a := l.attempts[call]
		l.attempts[call] = [2]int{a[0] + 1, max(a[1], rec.Seq)}
		rec.Attempt, rec.call = a[0]+1, call
	}
}

// Drop says whether, and when, a fault closes the connection instead of answering.
type Drop int

// Drops: none, before applying the request, or after (the client cannot tell it took effect).
const (
	NoDrop Drop = iota
	DropBeforeApply
	DropAfterApply
)

// BodyFault breaks an applied request's answer: half of it, an HTML page, or nothing, as JSON.
type BodyFault int

// Body faults.
const (
	BodyIntact BodyFault = iota
	TruncatedBody
	NonJSONBody
	EmptyBody
)

var dropNames, bodyNames = []string{"no-drop", "drop-before", "drop-after"}, []string{"intact", "truncated", "non-json", "empty"}

// String returns the X-Mock-Fault token of d ("drop-before", "drop-after"), or "no-drop".
func (d Drop) String() string { return token(dropNames, int(d)) }

// String returns the X-Mock-Fault token of b ("truncated", "non-json", "empty"), or "intact".
func (b BodyFault) String() string { return token(bodyNames, int(b)) }

func token(names []string, i int) string {
	if i < 0 || i >= len(names) {
		i = 0
	}
	return names[i]
}

// Fault is a failure injected into one request: Delay, then a Drop before applying or a Status
// without ApplyFirst; else the request is applied, and Drop, Status or Body decides the answer.
type Fault struct {
	Status     int    // answered with an Error body (503: "service-unavailable")
	RetryAfter string // sent as Retry-After (seconds or an HTTP-date); alone it answers 429
	ApplyFirst bool   // answer Status after applying the request
	Drop       Drop   // close the connection unanswered, before or after applying
	// Delay waits before the request is handled; if the client gives up first, nothing is
	// applied and the connection closes, unless Late is set.
	Delay time.Duration
	Late  bool
	Body  BodyFault // break the answer's body
}

// IsZero reports whether f injects nothing.
func (f Fault) IsZero() bool { return f == Fault{} }

func (f Fault) status() int {
	if f.Status == 0 && f.RetryAfter != "" && f.Drop == NoDrop && f.Body == BodyIntact {
		return http.StatusTooManyRequests
	}
	return f.Status
}

// String writes f as ParseFault reads it, such as "delay=1s; 500; apply-first", or "none".
func (f Fault) String() string {
	tokens := []string{"delay=" + f.Delay.String(), strconv.Itoa(f.Status), "apply-first", "late", "retry-after=" + f.RetryAfter, f.Drop.String(), f.Body.String()}
	var out []string
	for i, on := range []bool{f.Delay > 0, f.Status != 0, f.ApplyFirst, f.Late, f.RetryAfter != "", f.Drop != NoDrop, f.Body != BodyIntact} {
		if on {
			out = append(out, tokens[i])
		}
	}
	if out == nil {
		return "none"
	}
	return strings.Join(out, "; ")
}

// ParseFault reads an X-Mock-Fault header (the README's table): tokens separated by ";", in any
// order and case: a status (400-599), apply-first, retry-after=SECONDS or HTTP-date, drop-before,
// drop-after, delay=DURATION, late, truncated, non-json, empty, or none (as a header, it keeps
// FailNext, SetFaults and chaos mode away). It refuses combinations that make no sense.
func ParseFault(header string) (Fault, error) {
	var f Fault
	seen := map[string]bool{}
	for _, raw := range strings.Split(header, ";") {
		tok := strings.TrimSpace(raw)
		name, val, hasVal := strings.Cut(tok, "=")
		name, val = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(val)
		group, err := name, error(nil)
		switch drop, body := slices.Index(dropNames, name), slices.Index(bodyNames, name); {
		case tok == "":
			continue
		case hasVal && name != "delay" && name != "retry-after":
			return Fault{}, fmt.Errorf("%q takes no value", name)
		case !hasVal && (name == "delay" || name == "retry-after"):
			return Fault{}, fmt.Errorf("%q needs a value, as in %s=VALUE", name, name)
		case isDigits(name):
			group = "status"
			if f.Status, err = strconv.Atoi(name); err != nil || f.Status < 400 || f.Status > 599 {
				return Fault{}, fmt.Errorf("status %q is not between 400 and 599", name)
			}
		case name == "delay":
			if f.Delay, err = time.ParseDuration(val); err != nil || f.Delay < 0 {
				return Fault{}, fmt.Errorf("delay %q is not a duration such as 250ms", val)
			}
		case name == "retry-after":
			if _, err := http.ParseTime(val); err != nil && !isDigits(val) {
				return Fault{}, fmt.Errorf("retry-after %q is neither whole seconds nor an HTTP-date", val)
			}
			f.RetryAfter = val
		case name == "apply-first" || name == "late":
			f.ApplyFirst, f.Late = f.ApplyFirst || name == "apply-first", f.Late || name == "late"
		case drop > 0:
			f.Drop, group = Drop(drop), "drop"
		case body > 0:
			f.Body, group = BodyFault(body), "body"
		case name != "none":
			return Fault{}, fmt.Errorf("unknown fault %q", name)
		}
		if seen[group] {
			return Fault{}, fmt.Errorf("%q repeats or contradicts an earlier token", tok)
		}
		seen[group] = true
	}
	if seen["none"] && len(seen) > 1 {
		return Fault{}, errors.New(`"none" cannot be combined with other faults`)
	}
	if err := f.check(); err != nil {
		return Fault{}, err
	}
	return f, nil
}

func isDigits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

func (f Fault) check() error {
	switch {
	case (f.Status != 0 && (f.Drop != NoDrop || f.Body != BodyIntact)) || (f.Drop != NoDrop && f.Body != BodyIntact):
		return errors.New("a status, a drop and a broken body exclude one another")
	case f.ApplyFirst && f.Status == 0:
		return errors.New("apply-first needs a status, as in 500; apply-first")
	case f.Late && f.Delay == 0:
		return errors.New("late needs a delay, as in delay=200ms; late")
	case f.RetryAfter != "" && (f.Drop != NoDrop || f.Body != BodyIntact):
		return errors.New("retry-after goes with a status, not with a drop or a broken body")
	}
	return nil
}

// Headers that script a fault: X-Mock-Fault (ParseFault), X-Mock-Retry-After (alone, 429).
const (
	FaultHeader      = "X-Mock-Fault"
	RetryAfterHeader = "X-Mock-Retry-After"
)

var errorCodes = map[int]string{400: "invalid-input", 401: "unauthorized", 403: "forbidden", 404: "not-found",
	409: "resource-busy", 429: "rate-limited", 500: "internal-error", 502: "bad-gateway", 503: "service-unavailable",
	504: "gateway-timeout"}

var chaosFaults = []Fault{
	{Status: 500}, {Status: 503}, {Status: 500, ApplyFirst: true}, {Status: 502, ApplyFirst: true},
	{Status: 429, RetryAfter: "1"}, {Drop: DropBeforeApply}, {Drop: DropAfterApply},
	{Delay: 250 * time.Millisecond}, {Delay: 250 * time.Millisecond, Status: 503}, {Delay: 2 * time.Second, Late: true},
	{Body: TruncatedBody}, {Body: NonJSONBody}, {Body: EmptyBody},
}

// ChaosFaults returns chaos mode's default faults: one of each kind (delay=2s for late).
func ChaosFaults() []Fault { return slices.Clone(chaosFaults) }

// WithChaos faults requests that pass the spec with probability rate, with one of faults (or
// ChaosFaults) drawn from seed's sequence: the same requests get the same faults. Other faults
// win. It panics on a rate outside 0 to 1 or a fault ParseFault refuses.
func WithChaos(rate float64, seed uint64, faults ...Fault) Option {
	checkRate("WithChaos", rate)
	if len(faults) == 0 {
		faults = chaosFaults
	}
	for _, f := range faults {
		if err := f.check(); err != nil || f.IsZero() {
			panic(fmt.Sprintf("mock: WithChaos: fault %q: %v", f, err))
		}
	}
	return func(s *Server) {
		s.chaosRate, s.chaosSeed, s.chaosFaults, s.rng = rate, seed, slices.Clone(faults), chaosRNG(seed)
	}
}

// chaosRNG is chaos mode's generator: its stream is fixed, so the seed alone decides.
func chaosRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x646f7473)) }

func checkRate(fn string, rate float64) {
	if !(rate >= 0 && rate <= 1) {
		panic(fmt.Sprintf("mock: %s: the rate %v is not between 0 and 1", fn, rate))
	}
}

// SetChaosRate changes chaos mode's rate (0 lets the storm pass), keeping the seed's sequence.
func (s *Server) SetChaosRate(rate float64) {
	checkRate("SetChaosRate", rate)
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if s.rng != nil {
		s.chaosRate = rate
	}
}
