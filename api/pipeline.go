package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
)

// pipeline is what every call goes through, typed or generated: it checks the request against
// the spec, sets the headers, checks the contract, sends with retries, reads the body with a cap,
// turns non-2xx answers into *Error, decodes success bodies and logs one line per attempt. Its
// credentials are in a closure, out of reach of fmt and reflection.
type pipeline struct {
	settings  // the client's; a call's options change a copy
	client    *http.Client
	creds     func(context.Context) (*credentials, error) // a closure: no fmt verb nor reflection reaches them
	appID     string
	userAgent string
	maxBody   int64
	logger    *slog.Logger
	base      string // the base URL's path, such as "/api": where the spec's paths start
	rt        func() (*spec.Router, error)
	hooks     []CallHook
	contract  ContractMode
	report    func(ContractFinding)
	warnings  func(context.Context, Warning)

	// Seams for tests: how to wait, what time it is, and the jitter in [0, 1).
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func() float64
}

// requestKind says how safe a request is to repeat: kindIdempotent ones (GET, HEAD, OPTIONS, PUT,
// DELETE, and a POST with an idempotency key) may be; kindUnsafe ones (a POST without a key, such
// as redeliver) only when they surely were not acted on; kindNever ones (an operation that takes
// an idempotency key, sent without one) never.
type requestKind int

const (
	kindIdempotent requestKind = iota
	kindUnsafe
	kindNever
)

// operation is what the pipeline knows of the operation of a call.
type operation struct {
	id, path    string // the operationId and the path template ("" when unknown)
	keyed       bool   // its body takes an idempotency_key
	successBody bool   // its 2xx answers have a JSON body
}

// call is one call through the pipeline. A typed method fills it; a generated call gets it from
// the spec's router (Do).
type call struct {
	op       operation
	params   map[string]string // the path parameters
	key      string            // the idempotency key, or ""
	body     []byte            // the request body, when the caller has it at hand
	out      any               // where a success body is decoded (typed calls), or nil
	checked  bool              // the typed method checked the request already
	notes    []codec.Note      // what was odd in the success body, read leniently
	opts     []Option          // the call's options
	set      *settings         // the call's settings, when its typed method has them already
	attempts int               // how many attempts were made
}

// Do sends a request of the generated client (Generated()) through the pipeline: its operation is
// found with the spec's router, then it is a call like any typed one.
func (p *pipeline) Do(req *http.Request) (*http.Response, error) {
	c := &call{}
	if rt, err := p.rt(); err == nil {
		if op, params, ok := rt.Match(req); ok {
			c.op = operation{id: op.ID, path: op.Path, keyed: op.TakesIdempotencyKey(), successBody: op.HasSuccessBody()}
			c.params = params
		}
	}
	return p.send(req, c)
}

// send is the pipeline: check, send with retries, read, decode.
func (p *pipeline) send(req *http.Request, c *call) (*http.Response, error) {
	ctx := req.Context()
	s := c.set
	if s == nil {
		var err error
		if s, err = p.callSettings(ctx, c.op, c.opts); err != nil {
			return nil, err
		}
	}
	info := callInfo{op: c.op.id, method: req.Method, path: cmp.Or(c.op.path, req.URL.Path)}
	body := c.body
	if body == nil && req.Body != nil && req.Body != http.NoBody {
		b, err := readBody(req.Body, req.ContentLength, -1)
		_ = req.Body.Close()
		if err != nil {
			return nil, info.requestError(0, false, fmt.Errorf("reading the request body: %w", err))
		}
		body = b
	}
	info.key = c.key
	if c.out == nil {
		info.key = idempotencyKeyOf(req.Method, body)
	}
	if fields := p.check(ctx, c, req, body); len(fields) > 0 {
		return nil, &InvalidRequestError{Call: Call{Operation: c.op.id, IdempotencyKey: info.key}, Fields: fields}
	}
	kind := kindUnsafe
	switch {
	case slices.Contains([]string{"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}, req.Method) || info.key != "":
		kind = kindIdempotent
	case c.op.keyed:
		kind = kindNever
	}
	if len(p.hooks) == 0 {
		return p.deliver(ctx, req, c, s, info, body, kind)
	}
	ci := CallInfo{Operation: c.op.id, Method: req.Method, Path: c.op.path}
	ends := make([]func(int, error), len(p.hooks))
	for i, h := range p.hooks {
		ctx, ends[i] = h(ctx, ci)
	}
	resp, err := p.deliver(ctx, req, c, s, info, body, kind)
	for _, end := range slices.Backward(ends) {
		end(c.attempts, err)
	}
	return resp, err
}

// deliver sends a checked call: it gets the credentials, sets the headers, checks the contract,
// and makes attempts until one succeeds or no retry is left.
func (p *pipeline) deliver(ctx context.Context, req *http.Request, c *call, s *settings, info callInfo, body []byte, kind requestKind) (_ *http.Response, err error) {
	if info.creds, err = p.creds(ctx); err != nil {
		return nil, info.requestError(0, false, fmt.Errorf("the credential source: %w", err))
	}
	p.setHeaders(req.Header, s, info.creds.auth)
	if err := p.validate(ctx, info, c, req, nil, body); err != nil {
		return nil, err
	}

	// mayHaveApplied turns true once any attempt may have reached Dots and been acted on, and
	// stays true: whatever a later attempt says, the call's outcome is unknown unless one succeeds.
	mayHaveApplied := false
	for attempt := 1; ; attempt++ {
		c.attempts = attempt
		start := p.now()
		resp, respBody, err := p.attempt(ctx, req, attempt, body, s)
		elapsed := p.now().Sub(start)
		var (
			out   error
			retry bool
			after time.Duration
		)
		if err == nil {
			if err := p.validate(ctx, info, c, req, resp, respBody); err != nil {
				return nil, err
			}
		}
		switch {
		case err != nil:
			sent := !surelyNotSent(err)
			mayHaveApplied = mayHaveApplied || sent
			out = info.requestError(attempt, mayHaveApplied, err)
			if errors.Is(err, ErrResponseTooLarge) {
				break
			}
			retry = ctx.Err() == nil && (kind == kindIdempotent || (kind == kindUnsafe && !sent))
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			read, err := p.checkSuccess(c, resp, respBody)
			if err != nil {
				mayHaveApplied = true
				out = info.requestError(attempt, true, err)
				// A body that is no JSON at all may be a proxy's hiccup: worth another attempt.
				retry = kind == kindIdempotent && !json.Valid(respBody)
				break
			}
			respBody = read
			p.log(ctx, info, attempt, resp, elapsed, nil)
			if s.into != nil {
				*s.into = resp
			}
			p.warn(ctx, info.op, c.notes)
			if c.out != nil {
				resp.Body = http.NoBody // decoded into call.out already
			} else {
				resp.Body = io.NopCloser(bytes.NewReader(respBody))
			}
			return resp, nil
		default:
			e := info.apiError(attempt, resp, respBody)
			mayHaveApplied = mayHaveApplied || e.mayHaveApplied()
			e.OutcomeUnknown = mayHaveApplied
			out = e
			retry = (slices.Contains([]int{408, 429, 500, 502, 503, 504}, resp.StatusCode) || e.busy()) &&
				(kind == kindIdempotent || (kind == kindUnsafe && resp.StatusCode == http.StatusTooManyRequests && !e.busy()))
			after, _ = ParseRetryAfter(resp.Header.Get("Retry-After"), p.now())
		}
		p.log(ctx, info, attempt, resp, elapsed, out)
		if !retry || attempt > s.policy.MaxRetries {
			return nil, out
		}
		wait := s.policy.backoff(attempt, p.jitter())
		if after > 0 {
			wait = min(after, s.policy.MaxDelay)
		}
		if dl, ok := ctx.Deadline(); ok && p.now().Add(wait).After(dl) {
			return nil, out
		}
		if err := p.sleep(ctx, wait); err != nil {
			return nil, out
		}
	}
}

// checkSuccess reports a 2xx body that cannot be the answer: empty where the operation documents
// a JSON body, or labelled JSON and not valid. A typed call's body is decoded into its value on
// the way, so it is read once; one that does not decode is an error too.
func (p *pipeline) checkSuccess(c *call, resp *http.Response, body []byte) ([]byte, error) {
	switch {
	case len(body) == 0:
		if c.op.successBody || c.out != nil {
			return nil, errors.New("the success response body is empty")
		}
	case c.out != nil:
		if codec.Unmarshal(body, c.out) == nil {
			return body, nil
		}
		// One odd field must not hide the answer: read it again leniently, and say what was odd.
		reflect.ValueOf(c.out).Elem().SetZero()
		notes, err := codec.UnmarshalLenient(body, c.out)
		if err != nil {
			return nil, fmt.Errorf("decoding the success response body: %w", err)
		}
		c.notes = notes
	case c.op.successBody:
		// A generated call decodes the body itself: the same rule, by the spec's schema.
		sp, op := specOperation(c.op.id)
		fixed, notes, err := sp.Repair(op, resp.StatusCode, body)
		if err != nil {
			return nil, fmt.Errorf("decoding the success response body: %w", err)
		}
		body, c.notes = fixed, notes
	case strings.Contains(resp.Header.Get("Content-Type"), "json") && !json.Valid(body):
		return nil, errors.New("the success response body is not valid JSON")
	}
	return body, nil
}

// setHeaders sets the headers of every request: WithHeader's, then the SDK's own. The values of
// the SDK's share one backing array, so the four headers cost one allocation.
func (p *pipeline) setHeaders(h http.Header, s *settings, auth string) {
	for i := 0; i+1 < len(s.header); i += 2 {
		h[s.header[i]] = s.header[i+1 : i+2 : i+2]
	}
	vals := make([]string, 4)
	vals[0] = auth
	h["Authorization"] = vals[0:1:1]
	vals[1] = p.userAgent
	h["User-Agent"] = vals[1:2:2]
	if p.appID != "" {
		vals[2] = p.appID
		h["Api-App-Id"] = vals[2:3:3]
	}
	if len(h["Accept"]) == 0 || h["Accept"][0] == "" {
		vals[3] = "application/json"
		h["Accept"] = vals[3:4:4]
	}
}

// attempt sends the request once and reads the whole body (up to the cap). The first attempt
// sends req itself; later ones, and attempts with their own timeout, send a copy with their own
// context, so nothing a transport may still hold from an earlier attempt is changed under it.
// Each attempt gets a fresh reader over the same body bytes, also through GetBody (for
// redirects and the transport's own retries). A *bytes.Reader in a NopCloser on purpose: net/http
// knows it as in-memory and writes headers and body in one go.
func (p *pipeline) attempt(ctx context.Context, req *http.Request, n int, body []byte, s *settings) (*http.Response, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, notSentError{err} // the caller's context is done: nothing goes out
	}
	actx := ctx
	if s.attemptTO > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeout(ctx, s.attemptTO)
		defer cancel()
	}
	// The trace tells an attempt that never got a connection (nothing was sent) from one that
	// may have reached Dots, whatever ended it.
	var ct connTrace
	r := req.WithContext(httptrace.WithClientTrace(actx, ct.trace()))
	if body != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		r.ContentLength = int64(len(body))
	}
	resp, reached, err := p.roundTrip(r, s.middleware)
	if err != nil {
		err = cleanTransportError(err)
		if !reached || ct.asked.Load() && !ct.got.Load() {
			err = notSentError{err}
		}
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := readBody(resp.Body, resp.ContentLength, p.maxBody)
	return resp, b, err
}

// roundTrip sends r through the middleware mw to the HTTP client, and says whether it reached it.
func (p *pipeline) roundTrip(r *http.Request, mw []Middleware) (*http.Response, bool, error) {
	if len(mw) == 0 {
		resp, err := p.client.Do(r)
		return resp, true, err
	}
	return p.throughMiddleware(r, mw)
}

func (p *pipeline) throughMiddleware(r *http.Request, mw []Middleware) (resp *http.Response, reached bool, err error) {
	r.Header = r.Header.Clone() // the attempt's own, for the middleware to change
	next := Next(func(r *http.Request) (*http.Response, error) { reached = true; return p.client.Do(r) })
	for _, m := range slices.Backward(mw) {
		inner := next
		next = func(r *http.Request) (*http.Response, error) { return m(r, inner) }
	}
	if resp, err = next(r); err == nil && resp == nil {
		err = errors.New("a middleware returned no response and no error")
	}
	return resp, reached, err
}

// readBody reads a whole body into one buffer sized by its length when known; with max >= 0, a
// body over max bytes is an error wrapping ErrResponseTooLarge.
func readBody(r io.Reader, length, max int64) ([]byte, error) {
	if max >= 0 && length > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrResponseTooLarge, length, max)
	}
	if length >= 0 {
		b := make([]byte, length)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, fmt.Errorf("reading the body: %w", err)
		}
		return b, nil
	}
	if max >= 0 {
		r = io.LimitReader(r, max+1)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if max >= 0 && int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
	}
	return b, nil
}

// callInfo names a call in errors and logs, without secrets.
type callInfo struct {
	op, method, path, key string
	creds                 *credentials
}

func (c callInfo) requestError(attempts int, sent bool, err error) *RequestError {
	return &RequestError{Call: Call{Operation: c.op, Attempts: attempts, IdempotencyKey: c.key, OutcomeUnknown: sent},
		Method: c.method, Path: c.path, Err: err}
}

// maxErrorBody is how much of an error body *Error keeps.
const maxErrorBody = 8 << 10

// apiError is the *Error of a non-2xx answer, with every credential redacted from what it keeps.
func (c callInfo) apiError(attempts int, resp *http.Response, body []byte) *Error {
	e := &Error{Call: Call{Operation: c.op, Attempts: attempts, IdempotencyKey: c.key},
		StatusCode: resp.StatusCode, RequestID: c.creds.redact(requestID(resp.Header))}
	// Any JSON shape may come: a string is taken as it is, a number or a bool as its text. The
	// decoded text is redacted too: JSON may have escaped a credential's characters in the body.
	var parsed struct {
		Message   any `json:"message"`
		Error     any `json:"error"`
		ErrorCode any `json:"error_code"`
		Code      any `json:"code"`
	}
	if codec.Unmarshal(body, &parsed) == nil {
		e.Message = c.creds.redact(cmp.Or(scalar(parsed.Message), scalar(parsed.Error)))
		e.Code = c.creds.redact(cmp.Or(scalar(parsed.ErrorCode), scalar(parsed.Code)))
	}
	body = c.creds.secret().ReplaceAllLiteral(body, []byte("[redacted]"))
	e.Body = bytes.Clone(body[:min(len(body), maxErrorBody)])
	// The model, decoded and written again by the codec (which spells every escape one way), is
	// redacted once more and read back: no escaped form of a credential survives in its text.
	if _, err := codec.UnmarshalLenient(body, &e.Model); err != nil {
		e.Model = gen.Error{}
	} else if b, err := codec.Marshal(e.Model); err == nil {
		e.Model = gen.Error{}
		_, _ = codec.UnmarshalLenient(c.creds.secret().ReplaceAllLiteral(b, []byte("[redacted]")), &e.Model)
	}
	return e
}

// scalar is a decoded JSON string, number or bool as text; "" for anything else.
func scalar(v any) string {
	switch v.(type) {
	case string, float64, bool:
		return fmt.Sprint(v)
	}
	return ""
}

func requestID(h http.Header) string {
	return cmp.Or(h.Get("X-Request-Id"), h.Get("Request-Id"), h.Get("Dots-Request-Id"))
}

// connTrace records whether net/http began to get a connection for an attempt and whether it
// got one. A transport that fires no trace events leaves both false.
type connTrace struct {
	asked, got atomic.Bool
}

func (t *connTrace) trace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		GetConn: func(string) { t.asked.Store(true) },
		GotConn: func(httptrace.GotConnInfo) { t.got.Store(true) },
	}
}

// notSentError is the error of an attempt that surely sent nothing: the caller's context was
// done before it began, or net/http never got a connection for it.
type notSentError struct{ error }

func (e notSentError) Unwrap() error { return e.error }

// surelyNotSent reports errors raised before any byte of the request could reach Dots: an
// attempt that never got a connection, DNS failures, refused or failed dials, and TLS handshake
// failures.
func surelyNotSent(err error) bool {
	var op *net.OpError
	return errors.As(err, new(notSentError)) || errors.As(err, new(*net.DNSError)) || errors.As(err, &op) && op.Op == "dial" ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, new(tls.RecordHeaderError)) ||
		errors.As(err, new(*tls.CertificateVerificationError)) || errors.As(err, new(x509.UnknownAuthorityError)) ||
		errors.As(err, new(x509.HostnameError))
}

// cleanTransportError drops *url.Error's URL (harmless, but noisy) and keeps the cause.
func cleanTransportError(err error) error {
	if ue := (*url.Error)(nil); errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// idempotencyKeyOf finds the idempotency_key of a generated call's JSON body.
func idempotencyKeyOf(method string, body []byte) string {
	if method != http.MethodPost || !bytes.Contains(body, []byte(`"idempotency_key"`)) {
		return ""
	}
	var probe struct {
		Key *string `json:"idempotency_key"`
	}
	if codec.Unmarshal(body, &probe) != nil || probe.Key == nil {
		return ""
	}
	return *probe.Key
}

func (p *pipeline) log(ctx context.Context, c callInfo, attempt int, resp *http.Response, d time.Duration, err error) {
	if p.logger == nil {
		return
	}
	level := slog.LevelInfo
	attrs := []slog.Attr{
		slog.String("op", c.op), slog.String("method", c.method), slog.String("path", c.path),
		slog.Int("attempt", attempt), slog.Duration("duration", d),
	}
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", c.creds.redact(requestID(resp.Header))))
	}
	if c.key != "" {
		attrs = append(attrs, slog.String("idempotency_key", c.key))
	}
	if err != nil {
		level = slog.LevelWarn
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	p.logger.LogAttrs(ctx, level, "dots request", attrs...)
}

// RetryPolicy says how often and how long to wait when a request is retried. It means the same
// wherever it is given (WithRetryPolicy, ContextWithRetryPolicy): MaxRetries is the number of
// retries after the first attempt, so 0 (or less) means one attempt and no retries; a zero
// BaseDelay or MaxDelay means the default's (DefaultRetryPolicy). The zero RetryPolicy is
// "no retries".
//
// The wait before retry n (1, 2, ...) is d/2 + rand[0, d/2) with d = min(MaxDelay, BaseDelay·2^(n-1))
// ("equal jitter"). A Retry-After answer (seconds or an HTTP date) replaces it, clamped to
// MaxDelay. A wait that would end after the context's deadline is not started.
type RetryPolicy struct {
	// MaxRetries is how many times a failed request is repeated after its first attempt:
	// 0 (or less) never repeats it. DefaultRetryPolicy has 2.
	MaxRetries int
	// BaseDelay is the first wait (0: 0.5 s).
	BaseDelay time.Duration
	// MaxDelay caps every wait (0: 8 s; never below BaseDelay).
	MaxDelay time.Duration
}

// DefaultRetryPolicy is the policy a new client starts with.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 2, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second}

// normalized fills the zero delays with the defaults' and reads a negative MaxRetries as 0.
func (p RetryPolicy) normalized() RetryPolicy {
	p.MaxRetries = max(p.MaxRetries, 0)
	p.BaseDelay = cmp.Or(max(p.BaseDelay, 0), DefaultRetryPolicy.BaseDelay)
	p.MaxDelay = cmp.Or(max(p.MaxDelay, 0), max(DefaultRetryPolicy.MaxDelay, p.BaseDelay))
	return p
}

func (p RetryPolicy) backoff(retry int, jitter float64) time.Duration {
	d := p.MaxDelay
	if retry <= 30 {
		if b := p.BaseDelay << (retry - 1); b > 0 && b < d {
			d = b
		}
	}
	return d/2 + time.Duration(jitter*float64(d/2))
}

// ParseRetryAfter reads a Retry-After header value as of now: whole seconds or an HTTP date (a
// date in the past is 0). ok is false for an empty or unreadable value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		return time.Duration(max(s, 0)) * time.Second, s >= 0
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return ctx.Err()
	}
}
