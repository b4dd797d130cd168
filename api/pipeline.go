package api

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	dots "github.com/payoutkit/dots-go"
)

// pipeline is the HTTP doer under every generated operation: it sets the headers, checks the
// contract, sends with retries, reads the body with a cap, turns non-2xx answers into *Error and
// logs one line per attempt. It holds the credentials, so it never prints itself.
type pipeline struct {
	client    *http.Client
	auth      func() string   // the Authorization value, kept in a closure so no fmt verb can reach it
	secrets   func() []string // the credentials to redact from error bodies, likewise
	appID     string
	userAgent string
	policy    RetryPolicy
	attemptTO time.Duration
	maxBody   int64
	logger    *slog.Logger
	validator *dots.Validator
	contract  ContractMode
	report    func(ContractFinding)

	// Seams for tests: how to wait, what time it is, and the jitter in [0, 1).
	sleep  func(ctx context.Context, d time.Duration) error
	now    func() time.Time
	jitter func() float64
}

// Format keeps the credentials out of every fmt verb.
func (p *pipeline) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "api.pipeline{credentials redacted}")
}

// requestKind says how safe a request is to repeat.
type requestKind int

const (
	// kindIdempotent requests may be repeated: GET, HEAD, OPTIONS, PUT, DELETE, and a POST whose
	// body carries an idempotency key.
	kindIdempotent requestKind = iota
	// kindUnsafe requests (a POST without a key, such as redeliver) are repeated only when they
	// surely were not acted on.
	kindUnsafe
	// kindNever requests are never repeated: an operation that takes an idempotency key, sent
	// without one.
	kindNever
)

type ctxKey int

const (
	ctxTypedCall ctxKey = iota
	ctxRetryPolicy
)

// ContextWithRetryPolicy returns a context that overrides the client's retry policy for the calls made
// with it: the per-call override. Zero fields keep the client's values; MaxRetries < 0 disables
// retries for the call.
func ContextWithRetryPolicy(ctx context.Context, p RetryPolicy) context.Context {
	return context.WithValue(ctx, ctxRetryPolicy, p)
}

func (p *pipeline) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	call, _ := ctx.Value(ctxTypedCall).(*typedCall)
	if call != nil {
		// Only the request the typed method made is its call: a request made with the same
		// context from further down (say, by a transport that calls the API itself) is not.
		if call.claimed {
			call = nil
		} else {
			call.claimed = true
		}
	}
	op := p.validator.MatchOperation(req.Method, req.URL.Path)
	info := callInfo{method: req.Method, path: req.URL.Path}
	if op != nil {
		info.op, info.path = op.ID, op.Path
	}

	var body []byte
	// sendAsIs: the first attempt can send req as the generated client built it, because a
	// typed call handed over the bytes of its body (and the body is still unread).
	sendAsIs := false
	switch {
	case call != nil && call.body != nil:
		body, sendAsIs = call.body, true
	case req.Body != nil && req.Body != http.NoBody:
		b, err := readAllSized(req.Body, req.ContentLength)
		_ = req.Body.Close()
		if err != nil {
			return nil, info.requestError(0, false, fmt.Errorf("reading the request body: %w", err))
		}
		body = b
	}
	info.key = idempotencyKeyOf(call, req.Method, body)
	kind := kindIdempotent
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
	default:
		switch {
		case info.key != "":
		case op != nil && op.TakesIdempotencyKey():
			kind = kindNever
		default:
			kind = kindUnsafe
		}
	}
	policy := p.policy
	if o, ok := ctx.Value(ctxRetryPolicy).(RetryPolicy); ok {
		policy = policy.merge(o)
	}

	p.setHeaders(req.Header)
	if p.contract != ContractOff && op != nil {
		if v := p.validator.ValidateRequest(ctx, op, req, body); len(v) > 0 {
			if err := p.contractFound(ctx, info, "request", 0, v); err != nil {
				return nil, err
			}
		}
	}

	var getBody func() (io.ReadCloser, error)
	// mayHaveApplied turns true once any attempt may have reached Dots and been acted on, and
	// stays true: whatever a later attempt says, the call's outcome is unknown unless one succeeds.
	mayHaveApplied := false
	for attempt := 1; ; attempt++ {
		var start time.Time
		if p.logger != nil {
			start = p.now()
		}
		if body != nil && getBody == nil && !(attempt == 1 && sendAsIs && p.attemptTO == 0) {
			getBody = func() (io.ReadCloser, error) { return newReplayBody(body), nil }
		}
		resp, respBody, buf, err := p.attempt(ctx, req, attempt, call, body, getBody)
		var elapsed time.Duration
		if p.logger != nil {
			elapsed = p.now().Sub(start)
		}
		var (
			out   error
			retry bool
			after time.Duration
		)
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
			if brokenSuccess(op, resp.Header, respBody, func() bool { return p.decodeOrValid(call, respBody) }) {
				mayHaveApplied = true
				out = info.requestError(attempt, true, errors.New("the success response body is empty or not valid JSON"))
				retry = kind == kindIdempotent
				break
			}
			p.log(ctx, info, attempt, resp, elapsed, nil)
			if p.contract != ContractOff && op != nil {
				if v := p.validator.ValidateResponse(ctx, op, req, resp.StatusCode, resp.Header, respBody); len(v) > 0 {
					if err := p.contractFound(ctx, info, "response", resp.StatusCode, v); err != nil {
						return nil, err
					}
				}
			}
			if call != nil && call.decoded && buf != nil {
				// The value holds copies of what it needs: the buffer can serve another call.
				buf.release()
				resp.Body = http.NoBody
			} else {
				resp.Body = newBufferedBody(respBody)
			}
			if call != nil {
				call.attempts, call.path = attempt, info.path
			}
			return resp, nil
		default:
			if p.contract != ContractOff && op != nil {
				if v := p.validator.ValidateResponse(ctx, op, req, resp.StatusCode, resp.Header, respBody); len(v) > 0 {
					if err := p.contractFound(ctx, info, "response", resp.StatusCode, v); err != nil {
						return nil, err
					}
				}
			}
			e := info.apiError(attempt, resp, redact(respBody, p.secrets()))
			mayHaveApplied = mayHaveApplied || e.mayHaveApplied()
			e.OutcomeUnknown = mayHaveApplied
			out = e
			retry = (retryableStatus(resp.StatusCode) || e.busy()) &&
				(kind == kindIdempotent || (kind == kindUnsafe && resp.StatusCode == http.StatusTooManyRequests && !e.busy()))
			after, _ = retryAfter(resp.Header.Get("Retry-After"), p.now())
		}
		p.log(ctx, info, attempt, resp, elapsed, out)
		if !retry || attempt > policy.MaxRetries {
			return nil, out
		}
		wait := policy.backoff(attempt, p.jitter())
		if after > 0 {
			wait = min(after, policy.MaxDelay)
		}
		if dl, ok := ctx.Deadline(); ok && p.now().Add(wait).After(dl) {
			return nil, out
		}
		if err := p.sleep(ctx, wait); err != nil {
			return nil, out
		}
	}
}

// decodeOrValid reports whether a success body is valid JSON. For a typed call it decodes the
// body into the call's value on the way, so the body is scanned once, not twice; a body the fast
// decoder leaves alone is checked with json.Valid as before, and decoded by decodeBody.
func (p *pipeline) decodeOrValid(call *typedCall, body []byte) bool {
	if call != nil && call.out != nil {
		call.tried = true
		if call.decoded = fastUnmarshal(body, call.out); call.decoded {
			return true
		}
	}
	return json.Valid(body)
}

// setHeaders sets the headers of every request. The values share one backing array, so the
// four headers cost one allocation.
func (p *pipeline) setHeaders(h http.Header) {
	vals := make([]string, 4)
	vals[0] = p.auth()
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

// newReplayBody makes a fresh body for an attempt (and, through GetBody, for redirects and the
// transport's own retries). It is a NopCloser around a *bytes.Reader on purpose: net/http knows
// that type as in-memory and writes headers and body in one go, where for any other type it
// flushes the headers first, which costs a round of delayed ACKs on a keep-alive connection.
func newReplayBody(b []byte) io.ReadCloser { return io.NopCloser(bytes.NewReader(b)) }

// readAllSized is io.ReadAll with a first buffer sized for a body of the given length (when
// known), so a body of that length costs one allocation.
func readAllSized(r io.Reader, size int64) ([]byte, error) {
	if size <= 0 || size > 1<<26 {
		return io.ReadAll(r)
	}
	b := make([]byte, 0, size+1)
	for {
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return b, err
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
	}
}

// attempt sends the request once and reads the whole body (up to the cap). The first attempt
// sends req itself; later ones, and attempts with their own timeout, send a copy with their own
// context, so nothing a transport may still hold from an earlier attempt is changed under it.
//
// A typed call's success body is read into a pooled buffer (buf, nil otherwise), which Do
// releases once the body is decoded.
func (p *pipeline) attempt(ctx context.Context, req *http.Request, n int, call *typedCall, body []byte, getBody func() (io.ReadCloser, error)) (*http.Response, []byte, *bodyBuf, error) {
	r := req
	switch {
	case p.attemptTO > 0:
		actx, cancel := context.WithTimeout(ctx, p.attemptTO)
		defer cancel()
		r = req.WithContext(actx)
	case n > 1:
		r = req.WithContext(ctx)
	}
	if body != nil && getBody != nil {
		r.Body = newReplayBody(body)
		r.GetBody = getBody
		r.ContentLength = int64(len(body))
	}
	resp, err := p.client.Do(r)
	if err != nil {
		return nil, nil, nil, cleanTransportError(err)
	}
	defer resp.Body.Close()
	var buf *bodyBuf
	if call != nil && call.out != nil && resp.StatusCode >= 200 && resp.StatusCode < 300 &&
		resp.ContentLength > 0 && resp.ContentLength <= p.maxBody {
		buf = newBodyBuf(int(resp.ContentLength))
	}
	b, err := readCapped(resp.Body, resp.ContentLength, p.maxBody, buf)
	if err != nil {
		return resp, nil, nil, err
	}
	return resp, b, buf, nil
}

// bodyBufs recycles the buffers of the success bodies that typed calls decode: the decoded value
// holds copies of its strings, so once it is decoded (and validated) nothing refers to the
// buffer. Class k holds buffers of capacity 1 KiB << k, up to 1 MiB.
var bodyBufs [11]sync.Pool

type bodyBuf struct{ b []byte }

func newBodyBuf(n int) *bodyBuf {
	for k := range bodyBufs {
		if size := 1024 << k; n <= size {
			if bb, ok := bodyBufs[k].Get().(*bodyBuf); ok {
				bb.b = bb.b[:n]
				return bb
			}
			return &bodyBuf{b: make([]byte, n, size)}
		}
	}
	return &bodyBuf{b: make([]byte, n)}
}

func (bb *bodyBuf) release() {
	for k := range bodyBufs {
		if cap(bb.b) == 1024<<k {
			clear(bb.b)
			bb.b = bb.b[:0]
			bodyBufs[k].Put(bb)
			return
		}
	}
}

// readCapped reads a body of at most max bytes into a buffer sized by Content-Length (buf's,
// when given).
func readCapped(r io.Reader, contentLength, max int64, into *bodyBuf) ([]byte, error) {
	if contentLength > max {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", ErrResponseTooLarge, contentLength, max)
	}
	if contentLength >= 0 {
		var buf []byte
		if into != nil {
			buf = into.b
		} else {
			buf = make([]byte, contentLength)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("reading the response body: %w", err)
		}
		return buf, nil
	}
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("reading the response body: %w", err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
	}
	return b, nil
}

// callInfo names a call in errors and logs, without secrets.
type callInfo struct {
	op, method, path, key string
}

func (c callInfo) requestError(attempts int, sent bool, err error) *RequestError {
	return &RequestError{Operation: c.op, Method: c.method, Path: c.path, Attempts: attempts,
		IdempotencyKey: c.key, OutcomeUnknown: sent, Err: err}
}

// redact replaces every credential in body with "[redacted]": an answer may echo the request
// (a proxy's error page, a debugging endpoint), and *Error keeps the body.
func redact(body []byte, secrets []string) []byte {
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) {
			body = bytes.ReplaceAll(body, []byte(s), []byte("[redacted]"))
		}
	}
	return body
}

// maxErrorBody is how much of an error body *Error keeps.
const maxErrorBody = 8 << 10

func (c callInfo) apiError(attempts int, resp *http.Response, body []byte) *Error {
	e := &Error{StatusCode: resp.StatusCode, RequestID: requestID(resp.Header), Operation: c.op,
		Attempts: attempts, IdempotencyKey: c.key}
	if len(body) > maxErrorBody {
		e.Body = append([]byte(nil), body[:maxErrorBody]...)
	} else {
		e.Body = body
	}
	var parsed struct {
		Message   json.RawMessage `json:"message"`
		ErrorCode json.RawMessage `json:"error_code"`
		Code      json.RawMessage `json:"code"`
		Error     json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &parsed) == nil {
		e.Message = looseString(parsed.Message)
		if e.Message == "" {
			e.Message = looseString(parsed.Error)
		}
		e.Code = looseString(parsed.ErrorCode)
		if e.Code == "" {
			e.Code = looseString(parsed.Code)
		}
	}
	return e
}

// looseString reads a JSON string, or keeps a number or other scalar as its text.
func looseString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	if raw[0] == '{' || raw[0] == '[' {
		return ""
	}
	return string(raw)
}

func requestID(h http.Header) string {
	for _, k := range []string{"X-Request-Id", "Request-Id", "Dots-Request-Id"} {
		if v := h.Get(k); v != "" {
			return v
		}
	}
	return ""
}

// brokenSuccess reports a 2xx body that cannot be the answer: empty where the operation documents
// a JSON body, or labelled JSON and not valid (valid checks that, decoding on the way).
func brokenSuccess(op *dots.Operation, h http.Header, body []byte, valid func() bool) bool {
	if len(body) == 0 {
		return op != nil && op.HasSuccessBody()
	}
	return isJSON(h) && !valid()
}

func isJSON(h http.Header) bool {
	ct := h.Get("Content-Type")
	return strings.HasPrefix(ct, "application/json") || strings.Contains(ct, "+json")
}

func retryableStatus(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// surelyNotSent reports errors raised before any byte of the request could reach Dots: DNS
// failures, refused or failed dials, and TLS handshake failures.
func surelyNotSent(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return true
	}
	var rh tls.RecordHeaderError
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	return errors.As(err, &rh) || errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn)
}

// cleanTransportError drops *url.Error's URL (harmless, but noisy) and keeps the cause.
func cleanTransportError(err error) error {
	var ue interface {
		Unwrap() error
		Timeout() bool
	}
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// idempotencyKeyOf finds the key of a request: set by CreatePayoutLink, or, for a generated call,
// in the JSON body.
func idempotencyKeyOf(call *typedCall, method string, body []byte) string {
	if call != nil && call.key != "" {
		return call.key
	}
	if method != http.MethodPost || !bytes.Contains(body, []byte(`"idempotency_key"`)) {
		return ""
	}
	var probe struct {
		Key *string `json:"idempotency_key"`
	}
	if json.Unmarshal(body, &probe) != nil || probe.Key == nil {
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
		attrs = append(attrs, slog.Int("status", resp.StatusCode), slog.String("request_id", requestID(resp.Header)))
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

// RetryPolicy says how often and how long to wait when a request is retried.
//
// The wait before retry n (1, 2, ...) is d/2 + rand[0, d/2) with d = min(MaxDelay, BaseDelay·2^(n-1))
// ("equal jitter"). A Retry-After answer (seconds or an HTTP date) replaces it, clamped to
// MaxDelay. A wait that would end after the context's deadline is not started.
type RetryPolicy struct {
	// MaxRetries is how many times a failed request is repeated (2 by default; 0 disables).
	MaxRetries int
	// BaseDelay is the first wait (0.5 s by default).
	BaseDelay time.Duration
	// MaxDelay caps every wait (8 s by default).
	MaxDelay time.Duration
}

// DefaultRetryPolicy is the policy a new client starts with.
var DefaultRetryPolicy = RetryPolicy{MaxRetries: 2, BaseDelay: 500 * time.Millisecond, MaxDelay: 8 * time.Second}

func (p RetryPolicy) merge(o RetryPolicy) RetryPolicy {
	switch {
	case o.MaxRetries < 0:
		p.MaxRetries = 0
	case o.MaxRetries > 0:
		p.MaxRetries = o.MaxRetries
	}
	if o.BaseDelay > 0 {
		p.BaseDelay = o.BaseDelay
	}
	if o.MaxDelay > 0 {
		p.MaxDelay = o.MaxDelay
	}
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

// retryAfter reads a Retry-After value: whole seconds or an HTTP date.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d, true
		}
		return 0, true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func defaultJitter() float64 { return rand.Float64() }
