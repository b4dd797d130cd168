package mock

import (
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
)

// Server is an in-memory Dots. Make one listening on 127.0.0.1 with NewServer, or one that
// only serves through Handler with New. All methods are safe for concurrent use.
type Server struct {
	// URL is the server's root, such as http://127.0.0.1:41234, without a trailing slash; it is
	// empty for a Server made with New.
	URL string

	ts        *httptest.Server
	v         *dots.Validator
	now       func() time.Time
	logger    *slog.Logger
	creds     *credentials
	events    *eventQueue
	webhooks  *webhookSender // set by WithWebhooks
	done      chan struct{}
	closeOnce sync.Once
	busy      counter // requests being handled

	mu sync.Mutex // guards st
	st state

	logMu      sync.Mutex // guards what follows
	requests   []*Request
	attempts   map[string]int
	violations []string
	failNext   []queuedFault
	chooser    func(*http.Request) *Fault
	chaos      *chaos // set by WithChaos
}

type credentials struct{ id, key string }

type queuedFault struct {
	n int
	f Fault
}

// Option configures a Server.
type Option func(*Server)

// WithClock makes the server read the time from now instead of time.Now: it stamps created
// and expires idempotency keys (after IdempotencyTTL). now must be safe for concurrent use.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// WithCredentials makes the server answer 401 unless a request's Basic credentials are
// exactly clientID and apiKey. Without it any Basic credentials with a client id pass.
func WithCredentials(clientID, apiKey string) Option {
	return func(s *Server) { s.creds = &credentials{clientID, apiKey} }
}

// WithLogger logs one line per request: request id, method, path, status (or "dropped",
// "canceled"), duration and injected fault; at Info when answered below 400, at Warn for an error
// status, a drop, a cancel or an injected fault. An answer that departs from the spec is logged at
// Error. Headers and bodies are never logged. The logger's level filters the lines.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) { s.logger = l }
}

// WithEventHook calls hook after each state change with the event type (EventSent,
// EventUpdated, EventClaimed) and the link as it was right after the change.
//
// The hook runs on a goroutine of the server's, never under its lock, and no response waits
// for it; events reach it one at a time, in the order the changes happened. An event is queued
// before the response that caused it is written, so after a response arrives, WaitEvents
// returns once the hook has seen that event: call it in tests before looking at what the hook
// recorded.
func WithEventHook(hook func(eventType string, link gen.PayoutLink)) Option {
	return func(s *Server) { s.events = newEventQueue(hook) }
}

// New returns a Server that does not listen: serve its Handler on a listener of your own.
// URL is empty and BaseURL is "/api". Close it when done.
func New(opts ...Option) *Server {
	v, err := dots.NewValidator()
	if err != nil {
		// The spec is embedded and checked by the root package's tests.
		panic(fmt.Sprintf("mock: %v", err))
	}
	s := &Server{
		v:        v,
		now:      time.Now,
		done:     make(chan struct{}),
		st:       newState(),
		attempts: map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	if s.events == nil {
		s.events = newEventQueue(nil)
	}
	return s
}

// NewServer starts a Server on a loopback port. Close it when done.
func NewServer(opts ...Option) *Server {
	s := New(opts...)
	s.ts = httptest.NewServer(s.Handler())
	s.URL = s.ts.URL
	return s
}

// BaseURL is the base URL a client uses: URL + "/api".
func (s *Server) BaseURL() string { return s.URL + "/api" }

// Handler returns the server's HTTP handler. It serves the spec's operations under
// /api/v2/payout-links and the test trigger POST /_mock/payout-links/{id}/claim (also under
// /api), and works on any listener.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Client returns an HTTP client for the server (http.DefaultClient for a Server made with New).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Close stops the server: delays in progress end at once, and for a Server from NewServer the
// listener closes and Close waits for requests in flight. It does not wait for the event hook
// (see WaitEvents). Calling Close again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// WaitEvents blocks until the event hook has handled every event queued so far.
func (s *Server) WaitEvents() { s.events.wait() }

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
	if c.zero == nil {
		c.zero = sync.NewCond(&c.mu)
	}
	if c.n += d; c.n == 0 {
		c.zero.Broadcast()
	}
}

func (c *counter) waitZero() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n > 0 {
		c.zero.Wait()
	}
}

// FailNext makes the next n requests to the spec's operations get f. Calls queue up:
// FailNext(2, a) then FailNext(1, b) fails three requests, a, a, b. A request that scripts its
// own fault with the X-Mock-Fault or X-Mock-Retry-After header takes that fault instead and
// leaves the queue alone; requests to /_mock and to unknown paths never fault.
func (s *Server) FailNext(n int, f Fault) {
	if n <= 0 {
		return
	}
	s.logMu.Lock()
	s.failNext = append(s.failNext, queuedFault{n, f})
	s.logMu.Unlock()
}

// SetFaults installs a chooser asked for every request to the spec's operations that neither
// scripts a fault in its headers nor is taken by FailNext; it returns the fault to inject, or
// nil for none. It runs concurrently with itself, outside the server's locks, and must not read
// the request's body. nil removes the chooser.
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
		q := &s.failNext[0]
		f := q.f
		if q.n--; q.n == 0 {
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

// Request is what the server recorded about one request it received.
type Request struct {
	// Seq is the request's place in arrival order, from 1 (reset by Reset).
	Seq int
	// RequestID is the Request-Id header of the answer.
	RequestID string
	// Method and Path are the request's method and URL path (without the query).
	Method string
	Path   string
	// Operation is the operationId ("create-payout-link"), "mock-claim" for the test trigger,
	// or "" for a path the server does not serve.
	Operation string
	// IdempotencyKey is the create body's idempotency_key, or "".
	IdempotencyKey string
	// Attempt counts the requests the server took for the same call, from 1: same method, path,
	// query and body, or, for a create with an idempotency key, same key. Retries read 1, 2, 3.
	Attempt int
	// Fault is the injected fault in X-Mock-Fault syntax, or "".
	Fault string
	// Status is the status answered; 0 when dropped, canceled, or not yet answered.
	Status int
	// Dropped is set when the connection was closed without an answer.
	Dropped bool
	// Canceled is set when the request's context ended during an injected delay.
	Canceled bool
	// Received is when the request arrived.
	Received time.Time
	// Duration is how long the server took with it.
	Duration time.Duration
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
	return fmt.Sprint(r.Status)
}

// Requests returns a copy of the requests received since New or Reset, in arrival order.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		out[i] = *r
	}
	return out
}

// Violations lists every way an answer the server wrote departed from the spec; tests assert
// it is empty. Injected faults are not checked.
func (s *Server) Violations() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return append([]string(nil), s.violations...)
}

// Links returns copies of all links, oldest first.
func (s *Server) Links() []gen.PayoutLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]gen.PayoutLink, len(s.st.links))
	for i, e := range s.st.links {
		out[i] = clone(e.link)
	}
	return out
}

// Link returns a copy of the link with this id.
func (s *Server) Link(id string) (gen.PayoutLink, bool) {
	l, err := s.get(id)
	return clone(l), err == nil
}

// LinkCount is how many links exist.
func (s *Server) LinkCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.st.links)
}

// LinkByIdempotencyKey returns a copy of the newest link a create with key made, whether the
// key has expired or not. Keys compare case-insensitively.
func (s *Server) LinkByIdempotencyKey(key string) (gen.PayoutLink, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.made[strings.ToLower(key)]
	if !ok {
		return gen.PayoutLink{}, false
	}
	return clone(e.link), true
}

// Claim marks a link claimed, as if its payee finished the flow: status "claimed" and a new
// claimed_user_id. Claiming a claimed link returns it unchanged; a canceled link gives
// ErrInvalidState and an unknown id ErrNotFound. The event hook gets EventClaimed.
func (s *Server) Claim(id string) (gen.PayoutLink, error) {
	l, aerr := s.claim(id)
	if aerr != nil {
		if aerr.status == http.StatusNotFound {
			return gen.PayoutLink{}, ErrNotFound
		}
		return gen.PayoutLink{}, fmt.Errorf("%w: %s", ErrInvalidState, aerr.message)
	}
	return l, nil
}

// Reset forgets all links, idempotency keys, recorded requests, violations and pending faults
// (FailNext and SetFaults), and restarts chaos mode's sequence from its seed. Options stay;
// events already queued are still delivered.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st = newState()
	s.mu.Unlock()
	s.logMu.Lock()
	s.requests = nil
	s.attempts = map[string]int{}
	s.violations = nil
	s.failNext = nil
	s.chooser = nil
	if s.chaos != nil {
		s.chaos.reset()
	}
	s.logMu.Unlock()
}

// checkCredentials compares the Basic credentials with WithCredentials', in constant time.
func (s *Server) checkCredentials(r *http.Request) bool {
	if s.creds == nil {
		return true
	}
	id, key, ok := r.BasicAuth()
	if !ok {
		return false
	}
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(s.creds.id))
	keyOK := subtle.ConstantTimeCompare([]byte(key), []byte(s.creds.key))
	return idOK&keyOK == 1
}
