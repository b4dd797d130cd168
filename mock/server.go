package mock

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/spec"
)

// Server is an in-memory Dots. Make one listening on 127.0.0.1 with NewServer, or one that
// only serves through Handler with New. All methods are safe for concurrent use.
type Server struct {
	// URL is the server's root, such as http://127.0.0.1:41234, without a trailing slash; it is
	// empty for a Server made with New.
	URL string

	ts             *httptest.Server
	v              *spec.Spec
	handler        http.Handler         // the routes
	handlers       map[string]opHandler // by operationId
	links          *linkSchema
	now            func() time.Time
	logger         *slog.Logger
	creds          func(r *http.Request) bool // WithCredentials'; a closure, out of reach of fmt and reflection
	events         *eventQueue
	webhooks       *webhookSender
	chaos          *chaos
	maxLinks       int
	maxReqs        int
	timeouts       Timeouts
	noAnswerChecks bool
	busy           counter // requests being handled
	closeOnce      sync.Once

	servedMu sync.Mutex // guards what follows
	served   []*http.Server
	done     chan struct{} // closed by Close and Shutdown: delays end
	closed   bool

	mu sync.Mutex // guards st
	st state

	logMu       sync.Mutex // guards what follows
	reqs        requestLog
	violations  []string
	moreViolate int // violations past maxViolations
	failNext    []queuedFault
	chooser     func(*http.Request) *Fault
}

type queuedFault struct {
	n int
	f Fault
}

// Option configures a Server.
type Option func(*Server)

// WithMaxLinks keeps at most n links (DefaultMaxLinks without it; n <= 0 keeps all): a create
// beyond it forgets the oldest link, with its id and idempotency key. A link takes about 1 KiB.
func WithMaxLinks(n int) Option { return func(s *Server) { s.maxLinks = n } }

// WithMaxRequests keeps at most the n most recent requests for Requests (DefaultMaxRequests
// without it; n <= 0 keeps all), and counts attempts (Request.Attempt) among those only.
func WithMaxRequests(n int) Option { return func(s *Server) { s.maxReqs = n } }

// WithAnswerChecks turns the check of every answer against the spec (Violations) on, the
// default, or off; it costs about a third of a create's time. Requests are always checked.
func WithAnswerChecks(on bool) Option { return func(s *Server) { s.noAnswerChecks = !on } }

// WithClock makes the server read the time from now, which must be safe for concurrent use:
// it stamps created and expires idempotency keys.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// WithCredentials makes the server answer 401 unless a request's Basic credentials are exactly
// clientID and apiKey, on the API and the /_mock endpoints alike; without it any Basic
// credentials with a client id pass. No fmt verb prints them (see Format).
func WithCredentials(clientID, apiKey string) Option {
	id, key := []byte(clientID), []byte(apiKey)
	return func(s *Server) {
		s.creds = func(r *http.Request) bool {
			gotID, gotKey, ok := r.BasicAuth()
			// Both compared in constant time, whichever is wrong.
			return ok && subtle.ConstantTimeCompare([]byte(gotID), id)&subtle.ConstantTimeCompare([]byte(gotKey), key) == 1
		}
	}
}

// WithLogger logs a line per request: request id, method, path, status (or "dropped",
// "canceled"), duration and injected fault; at Warn for an error status, a drop, a cancel or a
// fault, else at Info. An answer that departs from the spec is logged at Error. Headers and
// bodies are never logged.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithEventHook calls hook after each change with the event type (EventSent, EventUpdated,
// EventClaimed, EventPaidOut) and the link right after it, on a goroutine of the server's, one
// event at a time, in order. An event is queued before the answer that caused it is written:
// WaitEvents then waits for the hook. It replaces WithWebhooks given before it.
func WithEventHook(hook func(eventType string, link gen.PayoutLink)) Option {
	return func(s *Server) {
		s.events = &eventQueue{hook: func(typ string, body []byte) { hook(typ, decodeLink(body)) }}
	}
}

// New returns a Server that does not listen: serve its Handler on a listener of your own. URL
// is empty and BaseURL is "/api". Close it when done.
func New(opts ...Option) *Server {
	sp := spec.MustEmbedded() // the module's own tests load it
	links, err := newLinkSchema(sp, "create-payout-link")
	if err != nil {
		panic("mock: " + err.Error())
	}
	s := &Server{v: sp, handlers: maps.Clone(builtin), links: links, now: time.Now, events: &eventQueue{}, st: newState(),
		maxLinks: DefaultMaxLinks, maxReqs: DefaultMaxRequests, timeouts: DefaultTimeouts, done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	s.reqs = newRequestLog(s.maxReqs)
	s.handler = s.routes()
	return s
}

// NewServer starts a Server on a loopback port, with its Timeouts. Close it when done.
func NewServer(opts ...Option) *Server {
	s := New(opts...)
	s.ts = httptest.NewUnstartedServer(s.Handler())
	s.timeouts.configure(s.ts.Config)
	s.ts.Start()
	s.URL = s.ts.URL
	return s
}

// BaseURL is the base URL a client uses: URL + "/api".
func (s *Server) BaseURL() string { return s.URL + "/api" }

// Handler returns the server's HTTP handler, for any listener: the spec's operations under
// /api, and the test triggers under /_mock (also under /api).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Client returns an HTTP client for the server (http.DefaultClient for a Server made with New).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Close stops the server: delays in progress end at once, for a Server from NewServer the
// listener closes and Close waits for requests in flight, and what Serve serves closes at once.
// It does not wait for the event hook (see WaitEvents). Calling Close again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		for _, hs := range s.stop() {
			_ = hs.Close()
		}
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// WaitEvents blocks until the event hook has handled every event queued so far.
func (s *Server) WaitEvents() { s.events.pending.waitZero() }

// WaitIdle blocks until no request is being handled, such as one still in the delay of a late
// fault. Requests that arrive meanwhile are waited for too.
func (s *Server) WaitIdle() { s.busy.waitZero() }

// counter is a number that can be waited on to reach zero.
type counter struct {
	mu   sync.Mutex
	zero *sync.Cond
	n    int
}

func (c *counter) add(d int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n += d; c.n == 0 && c.zero != nil {
		c.zero.Broadcast()
	}
}

func (c *counter) waitZero() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 {
		if c.zero == nil {
			c.zero = sync.NewCond(&c.mu)
		}
		c.zero.Wait()
	}
}

// FailNext makes the next n requests to the spec's operations get f; calls queue up. A request
// that scripts its own fault in its headers takes that one instead, and leaves the queue alone.
func (s *Server) FailNext(n int, f Fault) {
	if n > 0 {
		s.logMu.Lock()
		s.failNext = append(s.failNext, queuedFault{n, f})
		s.logMu.Unlock()
	}
}

// SetFaults installs a chooser asked for every request to the spec's operations that neither
// scripts a fault in its headers nor is taken by FailNext; it returns the fault to inject, or
// nil. It runs concurrently, outside the server's locks, and must not read the request's body.
// nil removes it.
func (s *Server) SetFaults(fn func(r *http.Request) *Fault) {
	s.logMu.Lock()
	s.chooser = fn
	s.logMu.Unlock()
}

// pickFault decides the fault of one request: its headers ("none" included), then FailNext,
// then the chooser, then chaos mode's draw.
func (s *Server) pickFault(r *http.Request, drawn *Fault) (*Fault, error) {
	if f, err := headerFault(r.Header); f != nil || err != nil {
		if f != nil && f.IsZero() {
			return nil, err // X-Mock-Fault: none
		}
		return f, err
	}
	s.logMu.Lock()
	if len(s.failNext) > 0 {
		f := s.failNext[0].f
		if s.failNext[0].n--; s.failNext[0].n == 0 {
			s.failNext = s.failNext[1:]
		}
		s.logMu.Unlock()
		return &f, nil
	}
	fn := s.chooser
	s.logMu.Unlock()
	if fn != nil {
		if f := fn(r); f != nil && !f.IsZero() {
			c := *f
			return &c, nil
		}
	}
	return drawn, nil
}

// Requests returns copies of the requests received since New or Reset, in arrival order: the
// most recent ones, as many as WithMaxRequests keeps.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return s.reqs.list()
}

// Violations lists every way an answer departed from the spec (injected faults are not
// checked); tests assert it is empty. The first 1,000 are kept, and a last line counts the rest.
func (s *Server) Violations() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := append([]string(nil), s.violations...)
	if s.moreViolate > 0 {
		out = append(out, fmt.Sprintf("... and %d more", s.moreViolate))
	}
	return out
}

// Links returns copies of the links kept, oldest first.
func (s *Server) Links() []gen.PayoutLink {
	s.mu.Lock()
	live := s.st.live()
	bodies := make([][]byte, len(live))
	for i, e := range live {
		bodies[i] = e.body
	}
	s.mu.Unlock()
	out := make([]gen.PayoutLink, len(bodies))
	for i, b := range bodies {
		out[i] = decodeLink(b)
	}
	return out
}

// Link returns a copy of the link with this id.
func (s *Server) Link(id string) (gen.PayoutLink, bool) {
	b, aerr := s.get(id)
	if aerr != nil {
		return gen.PayoutLink{}, false
	}
	return decodeLink(b), true
}

// LinkJSON returns the link with this id as the server writes it, byte for byte.
func (s *Server) LinkJSON(id string) ([]byte, bool) {
	b, aerr := s.get(id)
	return append([]byte(nil), b...), aerr == nil
}

// LinkCount is how many links are kept.
func (s *Server) LinkCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.st.live())
}

// LinkByIdempotencyKey returns a copy of the newest link a create with key made, whether the
// key has expired or not (but not once the link was forgotten: see WithMaxLinks).
func (s *Server) LinkByIdempotencyKey(key string) (gen.PayoutLink, bool) {
	k, ok := parseUUID(key)
	s.mu.Lock()
	e := s.st.byKey[k]
	s.mu.Unlock()
	if !ok || e == nil {
		return gen.PayoutLink{}, false
	}
	return decodeLink(e.body), true
}

// Claim marks a link claimed, as if its payee finished the flow: status "claimed" and a new
// claimed_user_id, with EventClaimed. A claimed link is returned unchanged; a canceled or expired
// one gives ErrInvalidState, an unknown id ErrNotFound.
func (s *Server) Claim(id string) (gen.PayoutLink, error) { return lifecycle(s.claim(id)) }

// PayOut pays a link out, as Dots does once the payee has chosen how to be paid: a transfer_id,
// with EventPaidOut, and the status "claimed" (the spec has no paid-out status), claiming it
// first if nobody had. A paid-out link is returned unchanged; a canceled or expired one gives
// ErrInvalidState, an unknown id ErrNotFound.
func (s *Server) PayOut(id string) (gen.PayoutLink, error) { return lifecycle(s.payOut(id)) }

// Expire lets a link expire, as Dots does with a link nobody claims: status "expired", with
// EventUpdated; it can no longer be redelivered, claimed, paid out or canceled. An expired link
// is returned unchanged; a claimed or canceled one gives ErrInvalidState, an unknown id
// ErrNotFound.
func (s *Server) Expire(id string) (gen.PayoutLink, error) { return lifecycle(s.expire(id)) }

func lifecycle(body []byte, aerr *apiError) (gen.PayoutLink, error) {
	switch {
	case aerr == nil:
		return decodeLink(body), nil
	case aerr.status == http.StatusNotFound:
		return gen.PayoutLink{}, ErrNotFound
	}
	return gen.PayoutLink{}, fmt.Errorf("%w: %s", ErrInvalidState, aerr.message)
}

// Reset forgets all links, idempotency keys, recorded requests, violations and pending faults
// (FailNext and SetFaults), and restarts chaos mode's sequence; POST /_mock/reset does the same.
// Options stay; events already queued are still delivered. Creates in progress hold on to their
// idempotency keys until they end.
func (s *Server) Reset() {
	s.mu.Lock()
	inProgress := s.st.inProgress
	s.st = newState()
	s.st.inProgress = inProgress
	s.mu.Unlock()
	s.logMu.Lock()
	s.reqs = newRequestLog(s.maxReqs)
	s.violations, s.moreViolate, s.failNext, s.chooser = nil, 0, nil, nil
	if s.chaos != nil {
		s.chaos.reset()
	}
	s.logMu.Unlock()
}

// Format prints the server as its base URL, for every verb: never the credentials of
// WithCredentials or the webhook secret of WithWebhooks, which the server keeps in closures, out
// of reach of fmt and of reflection, also when a Server is printed as part of another value.
func (s *Server) Format(f fmt.State, _ rune) {
	creds := "any credentials"
	if s.creds != nil {
		creds = "credentials redacted"
	}
	_, _ = fmt.Fprintf(f, "mock.Server{%s, %s}", s.BaseURL(), creds)
}
