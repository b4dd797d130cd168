package mock

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/spec"
	"github.com/payoutkit/dots-go/webhook"
)

// Server is an in-memory Dots, safe for concurrent use.
type Server struct {
	URL string // the root, such as http://127.0.0.1:41234; empty for a Server from New

	ts                  *httptest.Server
	hs                  *http.Server // what Serve serves
	v                   *spec.Spec
	handler             http.Handler           // the routes
	handlers            map[string]func(*call) // by operationId
	links               *linkSchema
	now                 func() time.Time
	logger              *slog.Logger
	creds               func(r *http.Request) bool              // a closure, out of reach of fmt and reflection
	hook                func(eventType, id string, link []byte) // WithEventHook's or WithWebhooks'
	maxLinks, maxReqs   int
	timeouts            Timeouts
	noAnswerChecks      bool
	busy, events        counter       // requests being handled, events queued
	lastEvent           chan struct{} // closed once the last event was handled; mu guards it
	done                chan struct{} // closed by Close and Shutdown: delays end
	stopOnce, closeOnce sync.Once

	mu             sync.Mutex // guards st
	st             state
	keysInProgress sync.Map // of creates, in lower case (Reset leaves them)

	logMu       sync.Mutex // guards what follows
	reqs        requestLog
	violations  []string
	moreViolate int // violations past the first 1,000
	failNext    []Fault
	failCounts  []int // how many requests each of failNext is for
	chooser     func(*http.Request) *Fault
	deliveries  []Delivery
	rng         *mrand.Rand // chaos mode's, with its rate, seed and faults
	chaosRate   float64
	chaosSeed   uint64
	chaosFaults []Fault
}

// Option configures a Server.
type Option func(*Server)

// WithMaxLinks keeps n links (n <= 0: all), forgetting the oldest and its key; each ~1 KiB.
func WithMaxLinks(n int) Option { return func(s *Server) { s.maxLinks = n } }

// WithMaxRequests keeps the n most recent requests (n <= 0: all) for Requests and attempts.
func WithMaxRequests(n int) Option { return func(s *Server) { s.maxReqs = n } }

// WithAnswerChecks turns the check of answers against the spec (Violations) on or off.
func WithAnswerChecks(on bool) Option { return func(s *Server) { s.noAnswerChecks = !on } }

// WithClock stamps links and expires idempotency keys by now instead of time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Server) {
		if now != nil {
			s.now = now
		}
	}
}

// WithCredentials takes only these Basic credentials (else any with a client id), never printed.
func WithCredentials(clientID, apiKey string) Option {
	id, key := []byte(clientID), []byte(apiKey)
	return func(s *Server) {
		s.creds = func(r *http.Request) bool {
			gotID, gotKey, ok := r.BasicAuth() // both compared in constant time, whichever is wrong
			return ok && subtle.ConstantTimeCompare([]byte(gotID), id)&subtle.ConstantTimeCompare([]byte(gotKey), key) == 1
		}
	}
}

// WithLogger logs each request (errors and faults at Warn) and violation (Error), no headers or bodies.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithEventHook calls hook after each change, in order, on a goroutine of the server's.
func WithEventHook(hook func(eventType string, link gen.PayoutLink)) Option {
	return func(s *Server) { s.hook = func(typ, _ string, body []byte) { hook(typ, decodeLink(body)) } }
}

// WithHandler serves operationID with h (instead of the mock, or of 501): requests reach it
// validated, recorded and past the faults before applying; its answer gets the others, as JSON,
// checked against the spec. It panics on an operationId the spec does not have (give WithSpec
// first when it is a spec of your own).
func WithHandler(operationID string, h http.Handler) Option {
	return func(s *Server) {
		if _, ok := s.v.Operation(operationID); !ok {
			panic("mock: WithHandler: the spec has no operation " + operationID)
		}
		s.handlers[operationID] = func(c *call) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, c.r)
			maps.Copy(c.w.Header(), w.Header())
			c.applied(w.Code)(w.Body.Bytes(), nil)
		}
	}
}

// WithSpec serves sp instead of the embedded openapi.yaml: an edited copy of it, say, to try a
// change of the spec before regenerating. What the mock stores and answers follows sp's schemas.
func WithSpec(sp *spec.Spec) Option { return func(s *Server) { s.v = sp } }

// New returns a Server that does not listen (BaseURL is "/api"): serve its Handler, or Serve.
func New(opts ...Option) *Server {
	s := &Server{v: spec.MustEmbedded(), handlers: maps.Clone(builtin), now: time.Now, st: newState(),
		maxLinks: DefaultMaxLinks, maxReqs: DefaultMaxRequests, timeouts: DefaultTimeouts, done: make(chan struct{})}
	for _, o := range opts {
		o(s)
	}
	links, err := newLinkSchema(s.v, "create-payout-link")
	if err != nil {
		panic("mock: " + err.Error())
	}
	s.links = links
	s.reqs = requestLog{max: s.maxReqs, attempts: map[callKey][2]int{}}
	s.handler = s.routes()
	s.hs = &http.Server{Handler: s.Handler()}
	s.timeouts.set(s.hs)
	return s
}

// NewServer starts a Server on a loopback port, with its Timeouts.
func NewServer(opts ...Option) *Server {
	s := New(opts...)
	s.ts = httptest.NewUnstartedServer(s.Handler())
	s.timeouts.set(s.ts.Config)
	s.ts.Start()
	s.URL = s.ts.URL
	return s
}

// BaseURL is the base URL a client uses: URL + "/api".
func (s *Server) BaseURL() string { return s.URL + "/api" }

// Handler serves the operations under /api, the triggers under /_mock and /api/_mock.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Client returns an HTTP client for the server (http.DefaultClient for a Server from New).
func (s *Server) Client() *http.Client {
	if s.ts == nil {
		return http.DefaultClient
	}
	return s.ts.Client()
}

// Timeouts limit each connection: headers, whole request (else 408), answer (plus any delay), idle.
type Timeouts struct{ ReadHeader, Read, Write, Idle time.Duration }

// DefaultTimeouts are the timeouts of a server without WithTimeouts.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: time.Minute}

// WithTimeouts sets the Timeouts.
func WithTimeouts(t Timeouts) Option { return func(s *Server) { s.timeouts = t } }

func (t Timeouts) set(hs *http.Server) {
	hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout = t.ReadHeader, t.Read, t.Write, t.Idle
}

// Serve serves on ln until Shutdown or Close (then it returns http.ErrServerClosed).
func (s *Server) Serve(ln net.Listener) error { return s.hs.Serve(ln) }

// Shutdown ends delays, waits for the other requests until ctx ends, and closes the server.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopOnce.Do(func() { close(s.done) })
	defer s.Close()
	return s.hs.Shutdown(ctx)
}

// Close stops the server; NewServer's waits for its requests in flight, not for events.
func (s *Server) Close() {
	s.stopOnce.Do(func() { close(s.done) })
	s.closeOnce.Do(func() {
		_ = s.hs.Close()
		if s.ts != nil {
			s.ts.Close()
		}
	})
}

// WaitEvents blocks until the event hook has handled every event queued so far.
func (s *Server) WaitEvents() { s.events.waitZero() }

// emit hands an event to the hook once the one before is done (s.mu, held, orders them).
func (s *Server) emit(typ string, e *entry) {
	if s.hook == nil {
		return
	}
	id, link := e.id.String(), e.body
	s.events.add(1)
	prev, done := s.lastEvent, make(chan struct{})
	s.lastEvent = done
	go func() {
		if prev != nil {
			<-prev
		}
		s.hook(typ, id, link)
		s.events.add(-1)
		close(done)
	}()
}

// WaitIdle blocks until no request is being handled (say, in a late fault's delay).
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

// FailNext makes the next n requests to the operations without their own fault get f (queued).
func (s *Server) FailNext(n int, f Fault) {
	if n > 0 {
		s.logMu.Lock()
		s.failNext, s.failCounts = append(s.failNext, f), append(s.failCounts, n)
		s.logMu.Unlock()
	}
}

// SetFaults has fn choose the fault (or nil) of requests without another; not reading bodies.
func (s *Server) SetFaults(fn func(r *http.Request) *Fault) {
	s.logMu.Lock()
	s.chooser = fn
	s.logMu.Unlock()
}

// pickFault decides a request's fault; chaos mode draws in any case, to keep its sequence.
func (s *Server) pickFault(r *http.Request) (Fault, error) {
	var f *Fault // the request's own, from its headers ("none": zero)
	var err error
	fv, hasFault := r.Header[FaultHeader]
	if rv, hasRetry := r.Header[RetryAfterHeader]; hasFault || hasRetry {
		value := strings.Join(fv, ";")
		if hasRetry {
			value += "; retry-after=" + strings.Join(rv, ",")
		}
		hf, perr := ParseFault(value)
		if f, err = &hf, perr; err != nil {
			f, err = nil, fmt.Errorf("header %s: %w", FaultHeader, err)
		}
	}
	s.logMu.Lock()
	var drawn *Fault
	if s.rng != nil {
		if x, i := s.rng.Float64(), s.rng.IntN(len(s.chaosFaults)); x < s.chaosRate {
			drawn = &s.chaosFaults[i]
		}
	}
	fn := s.chooser
	if f == nil && err == nil && len(s.failNext) > 0 {
		f = &s.failNext[0]
		if s.failCounts[0]--; s.failCounts[0] == 0 {
			s.failNext, s.failCounts = s.failNext[1:], s.failCounts[1:]
		}
	}
	s.logMu.Unlock()
	if f == nil && err == nil && fn != nil {
		if f = fn(r); f != nil && f.IsZero() {
			f = nil
		}
	}
	return *cmp.Or(f, drawn, &Fault{}), err
}

// Requests returns copies of the requests since New or Reset (WithMaxRequests), oldest first.
func (s *Server) Requests() []Request {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := make([]Request, len(s.reqs.reqs))
	for i, r := range s.reqs.reqs {
		out[i] = *r
	}
	return out
}

// Violations lists how answers (not faults) broke the spec: the first 1,000, then a count.
func (s *Server) Violations() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	out := slices.Clone(s.violations)
	if s.moreViolate > 0 {
		out = append(out, fmt.Sprintf("... and %d more", s.moreViolate))
	}
	return out
}

// Links returns copies of the links kept, oldest first.
func (s *Server) Links() []gen.PayoutLink {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]gen.PayoutLink, 0, len(s.st.links))
	for _, e := range s.st.links {
		out = append(out, decodeLink(e.body))
	}
	return out
}

// Link returns a copy of the link with this id.
func (s *Server) Link(id string) (gen.PayoutLink, bool) {
	b, aerr := s.update(id, nil)
	if aerr != nil {
		return gen.PayoutLink{}, false
	}
	return decodeLink(b), true
}

// LinkJSON returns the link with this id as the server writes it, byte for byte.
func (s *Server) LinkJSON(id string) ([]byte, bool) {
	b, aerr := s.update(id, nil)
	return slices.Clone(b), aerr == nil
}

// LinkCount is how many links are kept.
func (s *Server) LinkCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.st.links)
}

// LinkByIdempotencyKey returns a copy of the newest link key made, expired or not.
func (s *Server) LinkByIdempotencyKey(key string) (gen.PayoutLink, bool) {
	k, ok := parseUUID(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.st.byKey[k]; ok && e != nil {
		return decodeLink(e.body), true
	}
	return gen.PayoutLink{}, false
}

// Claim marks a link claimed, as if its payee finished the flow.
func (s *Server) Claim(id string) (gen.PayoutLink, error) { return lifecycle(s.change("claim", id)) }

// PayOut pays a link out: a transfer_id, and status "claimed", claiming it first if need be.
func (s *Server) PayOut(id string) (gen.PayoutLink, error) { return lifecycle(s.change("pay-out", id)) }

// Expire lets a link nobody claimed expire.
func (s *Server) Expire(id string) (gen.PayoutLink, error) { return lifecycle(s.change("expire", id)) }

func lifecycle(body []byte, aerr *apiError) (gen.PayoutLink, error) {
	switch {
	case aerr == nil:
		return decodeLink(body), nil
	case aerr.status == http.StatusNotFound:
		return gen.PayoutLink{}, ErrNotFound
	}
	return gen.PayoutLink{}, fmt.Errorf("%w: %s", ErrInvalidState, aerr.message)
}

// Reset forgets links, keys (not in progress), requests, violations and faults, and restarts chaos.
func (s *Server) Reset() {
	s.mu.Lock()
	s.st = newState()
	s.mu.Unlock()
	s.logMu.Lock()
	defer s.logMu.Unlock()
	s.reqs = requestLog{max: s.maxReqs, attempts: map[callKey][2]int{}}
	s.violations, s.moreViolate, s.failNext, s.failCounts, s.chooser = nil, 0, nil, nil, nil
	if s.rng != nil {
		s.rng = chaosRNG(s.chaosSeed)
	}
}

// Format prints the server's base URL, never its secrets (kept in closures, out of fmt's reach).
func (s *Server) Format(f fmt.State, _ rune) {
	creds := "any credentials"
	if s.creds != nil {
		creds = "credentials redacted"
	}
	_, _ = fmt.Fprintf(f, "mock.Server{%s, %s}", s.BaseURL(), creds)
}

// Delivery is a webhook sent: svix-id, event type, link id, and the receiver's status or error.
type Delivery struct {
	MessageID, Event, PayoutLinkID string
	Status                         int
	Err                            string
}

// WithWebhooks POSTs each event to url, signed with secret (whsec_...) as Svix does, in order. It
// panics on a malformed secret.
func WithWebhooks(url, secret string) Option {
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		panic(fmt.Sprintf("mock: WithWebhooks: %v", err))
	}
	client := &http.Client{Timeout: 5 * time.Second}
	return func(s *Server) {
		s.hook = func(eventType, id string, link []byte) {
			d := Delivery{MessageID: "msg_" + randomHex(12), Event: eventType, PayoutLinkID: id}
			body := append([]byte(`{"event":"`+eventType+`",`), link[1:]...)
			if eventType == EventUpdated {
				body, _ = json.Marshal(gen.PayoutLinkUpdatedEvent{Event: gen.WebhookEventType(eventType), PayoutLinkID: id})
			}
			req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
			if err == nil {
				req.Header = signer.Headers(d.MessageID, s.now(), body)
				req.Header.Set("Content-Type", "application/json")
				var resp *http.Response
				if resp, err = client.Do(req); err == nil {
					_ = resp.Body.Close()
					d.Status = resp.StatusCode
				}
			}
			if err != nil {
				d.Err = err.Error()
			}
			s.logMu.Lock()
			defer s.logMu.Unlock()
			if s.deliveries = append(s.deliveries, d); len(s.deliveries) > 20_000 {
				s.deliveries = slices.Clone(s.deliveries[10_000:])
			}
		}
	}
}

// Deliveries lists the webhooks sent (the most recent 10,000 at least), in order.
func (s *Server) Deliveries() []Delivery {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return slices.Clone(s.deliveries)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
