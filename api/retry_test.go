package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// drop closes the connection without an answer, after the request was read.
var drop = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		_ = conn.Close()
	}
})

func createBody() gen.CreatePayoutLinkRequest {
	return gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}
}

// operations the retry matrix runs, each as a user would call it.
var retryOps = map[string]func(c *api.Client) error{
	"get": func(c *api.Client) error { _, err := c.GetPayoutLink(context.Background(), linkID); return err },
	"cancel": func(c *api.Client) error {
		_, err := c.CancelPayoutLink(context.Background(), linkID)
		return err
	},
	"create": func(c *api.Client) error {
		_, err := c.CreatePayoutLink(context.Background(), createBody())
		return err
	},
	"create without key (generated)": func(c *api.Client) error {
		_, err := c.Generated().CreatePayoutLinkWithResponse(context.Background(), createBody())
		return err
	},
	"create with key (generated)": func(c *api.Client) error {
		b := createBody()
		b.IdempotencyKey = api.Ptr(api.NewIdempotencyKey())
		_, err := c.Generated().CreatePayoutLinkWithResponse(context.Background(), b)
		return err
	},
	"redeliver": func(c *api.Client) error {
		_, err := c.RedeliverPayoutLink(context.Background(), linkID)
		return err
	},
}

func TestRetryMatrix(t *testing.T) {
	status := func(code int) http.Handler {
		return jsonHandler(code, `{"success":false,"message":"injected","error_code":"injected"}`)
	}
	tests := []struct {
		op       string
		fault    string
		handler  http.Handler
		attempts int
	}{
		{"get", "503", status(503), 3},
		{"get", "500", status(500), 3},
		{"get", "502", status(502), 3},
		{"get", "504", status(504), 3},
		{"get", "408", status(408), 3},
		{"get", "429", status(429), 3},
		{"get", "400", status(400), 1},
		{"get", "404", status(404), 1},
		{"get", "409", status(409), 1},
		{"get", "401", status(401), 1},
		{"get", "drop", drop, 3},
		{"cancel", "503", status(503), 3},
		{"cancel", "drop", drop, 3},
		{"cancel", "404", status(404), 1},
		{"create", "503", status(503), 3},
		{"create", "429", status(429), 3},
		{"create", "drop", drop, 3},
		{"create", "400", status(400), 1},
		{"create with key (generated)", "503", status(503), 3},
		{"create without key (generated)", "503", status(503), 1},
		{"create without key (generated)", "429", status(429), 1},
		{"create without key (generated)", "drop", drop, 1},
		{"redeliver", "503", status(503), 1},
		{"redeliver", "500", status(500), 1},
		{"redeliver", "drop", drop, 1},
		{"redeliver", "429", status(429), 3},
		{"redeliver", "400", status(400), 1},
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.fault, func(t *testing.T) {
			h := newHarness(t, tt.handler, allowMalformed)
			err := retryOps[tt.op](h.client())
			recordErr(err)
			if err == nil {
				t.Fatal("want an error")
			}
			if n := h.count(); n != tt.attempts {
				t.Fatalf("server saw %d attempts, want %d (err: %v)", n, tt.attempts, err)
			}
		})
	}
}

func TestRetriesThenSucceeds(t *testing.T) {
	for _, op := range []string{"get", "cancel", "create", "create with key (generated)"} {
		t.Run(op, func(t *testing.T) {
			h := newHarness(t, sequence(jsonHandler(503, `{}`), drop, jsonHandler(200, linkJSON)), allowMalformed)
			if err := retryOps[op](h.client()); err != nil {
				t.Fatal(err)
			}
			if h.count() != 3 {
				t.Fatalf("%d attempts", h.count())
			}
		})
	}
}

// refusingClient is an http.Client whose every dial is refused, counting the dials.
func refusingClient(dials *atomic.Int32) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
	}}}
}

func TestRefusedConnectionsAreSurelyNotSent(t *testing.T) {
	tests := []struct {
		op       string
		attempts int32
	}{
		{"get", 3},
		{"redeliver", 3}, // surely not acted on, so even a keyless POST is retried
		{"create", 3},
		{"create without key (generated)", 1}, // never, whatever the error
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			var dials atomic.Int32
			c := newTestClient(t, "http://127.0.0.1:9/api", api.WithHTTPClient(refusingClient(&dials)))
			err := retryOps[tt.op](c)
			recordErr(err)
			if dials.Load() != tt.attempts {
				t.Fatalf("%d dials, want %d", dials.Load(), tt.attempts)
			}
			if errors.Is(err, api.ErrOutcomeUnknown) {
				t.Fatalf("a refused connection is no unknown outcome: %v", err)
			}
			var re *api.RequestError
			if !errors.As(err, &re) || !errors.Is(err, syscall.ECONNREFUSED) {
				t.Fatalf("err = %v, want a *RequestError wrapping ECONNREFUSED", err)
			}
		})
	}
}

func TestIdempotencyKeyIsFilledOnceAndKept(t *testing.T) {
	caller := api.NewIdempotencyKey()
	tests := []struct {
		name    string
		key     *string
		wantKey string // "" means a fresh v4 key
	}{
		{"unset", nil, ""},
		{"empty", api.Ptr(""), ""},
		{"set by caller", api.Ptr(caller), caller},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, sequence(jsonHandler(503, `{}`), jsonHandler(502, `{}`), jsonHandler(201, linkJSON)), allowMalformed)
			b := createBody()
			b.IdempotencyKey = tt.key
			link, key, err := h.client().CreatePayoutLinkWithKey(context.Background(), b)
			if err != nil || link.ID != linkID {
				t.Fatalf("link %v err %v", link, err)
			}
			reqs := h.seen()
			if len(reqs) != 3 {
				t.Fatalf("%d attempts", len(reqs))
			}
			for _, r := range reqs[1:] {
				if !bytes.Equal(r.Body, reqs[0].Body) {
					t.Fatalf("a retry sent other bytes:\n%s\n%s", reqs[0].Body, r.Body)
				}
			}
			var sent struct {
				Key string `json:"idempotency_key"`
			}
			if err := json.Unmarshal(reqs[0].Body, &sent); err != nil {
				t.Fatal(err)
			}
			if sent.Key != key {
				t.Fatalf("sent key %q, returned key %q", sent.Key, key)
			}
			if tt.wantKey != "" && key != tt.wantKey {
				t.Fatalf("the caller's key %q was replaced by %q", tt.wantKey, key)
			}
			if u, err := uuid.Parse(key); err != nil || u.Version() != 4 {
				t.Fatalf("key %q is not a v4 UUID", key)
			}
		})
	}
}

func TestIdempotencyKeyOfEveryFailure(t *testing.T) {
	tests := []struct {
		name    string
		handler http.Handler
		body    func() gen.CreatePayoutLinkRequest
		unknown bool
	}{
		{"bad input", jsonHandler(201, linkJSON), func() gen.CreatePayoutLinkRequest { b := createBody(); b.Amount = 0; return b }, false},
		{"400", jsonHandler(400, `{"error_code":"invalid-input"}`), createBody, false},
		{"503 exhausted", jsonHandler(503, `{}`), createBody, true},
		{"dropped", drop, createBody, true},
		{"broken success body", jsonHandler(201, `{"id":`), createBody, true},
		{"empty success body", jsonHandler(201, ``), createBody, true},
		{"success body of the wrong kind", jsonHandler(201, `["not","a","link"]`), createBody, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.handler, allowMalformed)
			_, used, err := h.client().CreatePayoutLinkWithKey(context.Background(), tt.body())
			recordErr(err)
			if err == nil {
				t.Fatal("want an error")
			}
			key, ok := api.IdempotencyKeyOf(err)
			if !ok || key != used || key == "" {
				t.Fatalf("IdempotencyKeyOf = %q, %v; the call used %q", key, ok, used)
			}
			if errors.Is(err, api.ErrOutcomeUnknown) != tt.unknown {
				t.Fatalf("outcome unknown = %v, want %v (%v)", !tt.unknown, tt.unknown, err)
			}
			var re *api.RequestError
			if errors.As(err, &re) && (re.Method != "POST" || re.Path != "/v2/payout-links" || re.Attempts < 1 || re.Operation != "create-payout-link") {
				t.Fatalf("the error names %s %s (%s) after %d attempts", re.Method, re.Path, re.Operation, re.Attempts)
			}
		})
	}
	if _, ok := api.IdempotencyKeyOf(errors.New("other")); ok {
		t.Fatal("a foreign error has no key")
	}
}

func TestBackoffFormula(t *testing.T) {
	p := api.DefaultRetryPolicy
	tests := []struct {
		retry  int
		jitter float64
		want   time.Duration
	}{
		{1, 0, 250 * time.Millisecond},
		{1, 0.999999999, 500 * time.Millisecond},
		{2, 0, 500 * time.Millisecond},
		{3, 0.5, 1500 * time.Millisecond},
		{5, 0, 4 * time.Second},
		{6, 1, 8 * time.Second},
		{60, 0, 4 * time.Second}, // capped, no overflow
	}
	for _, tt := range tests {
		if got := p.Backoff(tt.retry, tt.jitter).Round(time.Millisecond); got != tt.want {
			t.Errorf("Backoff(%d, %v) = %v, want %v", tt.retry, tt.jitter, got, tt.want)
		}
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{"-1", 0, false},
		{"Wed, 25 Nov 2026 12:00:05 GMT", 5 * time.Second, true},
		{"Wed, 25 Nov 2026 11:00:00 GMT", 0, true},
		{"soon", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := api.ParseRetryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("RetryAfter(%q) = %v %v, want %v %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// sleeps records the waits a client asks for, without waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func TestWaitsBetweenAttempts(t *testing.T) {
	fixed := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		retryAfter string
		ctxTimeout bool
		want       []time.Duration
		attempts   int
	}{
		{"backoff", "", false, []time.Duration{375 * time.Millisecond, 750 * time.Millisecond}, 3},
		{"retry-after seconds", "3", false, []time.Duration{3 * time.Second, 3 * time.Second}, 3},
		{"retry-after clamped to the cap", "100", false, []time.Duration{8 * time.Second, 8 * time.Second}, 3},
		{"retry-after date", "Wed, 25 Nov 2026 12:00:02 GMT", false, []time.Duration{2 * time.Second, 2 * time.Second}, 3},
		{"wait past the deadline is not started", "5", true, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(429, `{}`, "Retry-After", tt.retryAfter), allowMalformed)
			c := h.client()
			var s sleeps
			api.SetClock(c, s.sleep, func() time.Time { return fixed }, 0.5)
			ctx := context.Background()
			if tt.ctxTimeout {
				// The deadline is 4 s after the fixed clock's now: too soon for a 5 s wait.
				ctx = deadlineOnly{ctx, fixed.Add(4 * time.Second)}
			}
			_, err := c.GetPayoutLink(ctx, linkID)
			var e *api.Error
			if !errors.As(err, &e) || e.StatusCode != 429 {
				t.Fatalf("err = %v", err)
			}
			if h.count() != tt.attempts || len(s.d) != len(tt.want) {
				t.Fatalf("%d attempts, waits %v; want %d, %v", h.count(), s.d, tt.attempts, tt.want)
			}
			for i := range tt.want {
				if s.d[i] != tt.want[i] {
					t.Fatalf("waits %v, want %v", s.d, tt.want)
				}
			}
		})
	}
}

// deadlineOnly reports a deadline (on the test's fixed clock) without ever expiring.
type deadlineOnly struct {
	context.Context
	d time.Time
}

func (c deadlineOnly) Deadline() (time.Time, bool) { return c.d, true }
func (c deadlineOnly) Done() <-chan struct{}       { return nil }
func (c deadlineOnly) Err() error                  { return nil }

func TestCallerCancelStopsRetries(t *testing.T) {
	h := newHarness(t, jsonHandler(503, `{}`), allowMalformed)
	c := h.client()
	ctx, cancel := context.WithCancel(context.Background())
	api.SetClock(c, func(ctx context.Context, d time.Duration) error {
		cancel() // the caller gives up while the client waits
		<-ctx.Done()
		return ctx.Err()
	}, nil, 0.5)
	_, err := c.GetPayoutLink(ctx, linkID)
	if h.count() != 1 {
		t.Fatalf("%d attempts after the caller cancelled", h.count())
	}
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != 503 {
		t.Fatalf("err = %v; want the last answer", err)
	}
}

// TestRetryPolicyMeansOneThingEverywhere: a RetryPolicy gives the same number of attempts
// whether it is the client's (WithRetryPolicy) or one call's (WithRetryPolicy given to the call,
// or ContextWithRetryPolicy): MaxRetries 0 is one attempt, the zero policy too. The call's option
// wins over the context's.
func TestRetryPolicyMeansOneThingEverywhere(t *testing.T) {
	fast := func(n int) api.RetryPolicy { return api.RetryPolicy{MaxRetries: n, BaseDelay: time.Millisecond} }
	tests := []struct {
		name     string
		client   []api.Option
		perCall  *api.RetryPolicy
		callOpts []api.Option
		attempts int
	}{
		{"client default", nil, nil, nil, 3},
		{"WithMaxRetries(4)", []api.Option{api.WithMaxRetries(4)}, nil, nil, 5},
		{"WithMaxRetries(0)", []api.Option{api.WithMaxRetries(0)}, nil, nil, 1},
		{"WithRetryPolicy MaxRetries 0", []api.Option{api.WithRetryPolicy(fast(0))}, nil, nil, 1},
		{"WithRetryPolicy zero policy", []api.Option{api.WithRetryPolicy(api.RetryPolicy{})}, nil, nil, 1},
		{"WithRetryPolicy MaxRetries 1", []api.Option{api.WithRetryPolicy(fast(1))}, nil, nil, 2},
		{"per call MaxRetries 0", []api.Option{api.WithMaxRetries(4)}, &api.RetryPolicy{}, nil, 1},
		{"per call MaxRetries 0, delays set", []api.Option{api.WithMaxRetries(4)}, api.Ptr(fast(0)), nil, 1},
		{"per call negative", []api.Option{api.WithMaxRetries(4)}, api.Ptr(fast(-1)), nil, 1},
		{"per call MaxRetries 1", []api.Option{api.WithMaxRetries(4)}, api.Ptr(fast(1)), nil, 2},
		{"per call more than the client", []api.Option{api.WithMaxRetries(0)}, api.Ptr(fast(3)), nil, 4},
		{"call option MaxRetries 0", []api.Option{api.WithMaxRetries(4)}, nil, []api.Option{api.WithMaxRetries(0)}, 1},
		{"call option zero policy", []api.Option{api.WithMaxRetries(4)}, nil, []api.Option{api.WithRetryPolicy(api.RetryPolicy{})}, 1},
		{"call option more than the client", []api.Option{api.WithMaxRetries(0)}, nil, []api.Option{api.WithRetryPolicy(fast(3))}, 4},
		{"call option wins over the context", nil, api.Ptr(fast(0)), []api.Option{api.WithMaxRetries(1)}, 2},
		{"the last call option wins", nil, nil, []api.Option{api.WithMaxRetries(3), api.WithRetryPolicy(fast(0))}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(503, `{}`), allowMalformed)
			ctx := context.Background()
			if tt.perCall != nil {
				ctx = api.ContextWithRetryPolicy(ctx, *tt.perCall)
			}
			_, err := h.client(tt.client...).GetPayoutLink(ctx, linkID, tt.callOpts...)
			recordErr(err)
			if h.count() != tt.attempts {
				t.Fatalf("%d attempts, want %d", h.count(), tt.attempts)
			}
		})
	}
}

func TestAttemptTimeoutIsRetriedCallerTimeoutIsNot(t *testing.T) {
	// The first attempt hangs until the client gives up on it (and says so); later ones answer.
	slowFirst := func(arrived chan<- struct{}) http.Handler {
		var n atomic.Int32
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				close(arrived)
				<-r.Context().Done()
				return
			}
			jsonHandler(200, linkJSON).ServeHTTP(w, r)
		})
	}
	t.Run("attempt timeout", func(t *testing.T) {
		h := newHarness(t, slowFirst(make(chan struct{})), allowMalformed)
		if _, err := h.client(api.WithAttemptTimeout(300*time.Millisecond)).GetPayoutLink(context.Background(), linkID); err != nil {
			t.Fatal(err)
		}
		// Two attempts, or more on a machine so loaded that an answer outlasts the timeout.
		if h.count() < 2 {
			t.Fatalf("%d attempts; the one that timed out was not retried", h.count())
		}
	})
	t.Run("caller gives up", func(t *testing.T) {
		arrived := make(chan struct{})
		h := newHarness(t, slowFirst(arrived), allowMalformed)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			<-arrived // the request reached the server: now the caller gives up
			cancel()
		}()
		_, err := h.client().GetPayoutLink(ctx, linkID)
		recordErr(err)
		if !errors.Is(err, context.Canceled) || !errors.Is(err, api.ErrOutcomeUnknown) {
			t.Fatalf("err = %v, want the caller's cancel with an unknown outcome", err)
		}
		if h.count() != 1 {
			t.Fatalf("%d attempts after the caller gave up", h.count())
		}
	})
}

func TestMalformedSuccessBodyIsRetriedWhenSafe(t *testing.T) {
	for name, broken := range map[string]string{"truncated": `{"id":"3c90`, "empty": ``} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, sequence(jsonHandler(200, broken), jsonHandler(200, linkJSON)), allowMalformed)
			l, err := h.client().GetPayoutLink(context.Background(), linkID)
			if err != nil || l.ID != linkID || h.count() != 2 {
				t.Fatalf("link %v err %v attempts %d", l, err, h.count())
			}
		})
	}
}

func TestResponseSizeCap(t *testing.T) {
	big := `{"id":"` + linkID + `","memo":"` + strings.Repeat("x", 5000) + `"}`
	chunked := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.(http.Flusher).Flush() // no Content-Length: the body streams
		_, _ = io.WriteString(w, big)
	})
	for name, hd := range map[string]http.Handler{"content-length": jsonHandler(200, big), "chunked": chunked} {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t, hd, allowMalformed)
			_, err := h.client(api.WithMaxResponseBytes(1000)).GetPayoutLink(context.Background(), linkID)
			recordErr(err)
			if !errors.Is(err, api.ErrResponseTooLarge) {
				t.Fatalf("err = %v", err)
			}
			if h.count() != 1 {
				t.Fatalf("an oversized answer was retried: %d attempts", h.count())
			}
		})
	}
}

func TestLogsOneLinePerAttempt(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		record(string(p))
		return buf.Write(p)
	}), nil))
	h := newHarness(t, sequence(jsonHandler(503, `{}`, "X-Request-Id", "req_a"), jsonHandler(201, linkJSON, "X-Request-Id", "req_b")), allowMalformed)
	if _, err := h.client(api.WithLogger(logger)).CreatePayoutLink(context.Background(), createBody()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d log lines:\n%s", len(lines), buf.String())
	}
	for i, want := range []struct {
		status  float64
		attempt float64
		reqID   string
	}{{503, 1, "req_a"}, {201, 2, "req_b"}} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["status"] != want.status || rec["attempt"] != want.attempt || rec["request_id"] != want.reqID ||
			rec["path"] != "/v2/payout-links" || rec["op"] != "create-payout-link" || rec["method"] != "POST" {
			t.Errorf("line %d = %v", i, rec)
		}
		if _, ok := rec["idempotency_key"]; !ok {
			t.Errorf("line %d has no idempotency key", i)
		}
	}
	if strings.Contains(buf.String(), "Basic") || strings.Contains(buf.String(), "jsmith@example.com") {
		t.Fatal("the log holds a header or body secret")
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
