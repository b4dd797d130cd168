package api_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// firstDialOnly is an http.Client whose first dial reaches addr and every later dial is refused,
// with keep-alives off so that each attempt dials.
func firstDialOnly(dials *atomic.Int32) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) == 1 {
				return d.DialContext(ctx, network, addr)
			}
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}}}
}

// TestOutcomeUnknownIsSticky: once an attempt may have been acted on, the call's error reports an
// unknown outcome whatever later attempts say, keeps the last answer reachable with errors.As, and
// keeps the idempotency key learnable.
func TestOutcomeUnknownIsSticky(t *testing.T) {
	tests := []struct {
		name   string
		faults []mock.Fault // FailNext, one request each, in order
		// wantStatus is the status of the last answer (*api.Error); 0 means a *api.RequestError.
		wantStatus int
		attempts   int
		linkMade   bool
	}{
		{"503 with the link stored, then 429 until the retries run out",
			[]mock.Fault{{Status: 503, ApplyFirst: true}, {Status: 429}, {Status: 429}}, 429, 3, true},
		{"503 before applying, then 429s", []mock.Fault{{Status: 503}, {Status: 429}, {Status: 429}}, 429, 3, false},
		{"dropped after applying, then a 400", []mock.Fault{{Drop: mock.DropAfterApply}, {Status: 400}}, 400, 2, true},
		{"409 resource-busy every time", []mock.Fault{{Status: 409}, {Status: 409}, {Status: 409}}, 409, 3, false},
		{"broken success body, then 429s", []mock.Fault{{Body: mock.TruncatedBody}, {Status: 429}, {Status: 429}}, 429, 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, srv := withMock(t)
			for _, f := range tt.faults {
				srv.FailNext(1, f)
			}
			h.malformed = true // injected faults are answered outside the spec on purpose
			_, used, err := h.client().CreatePayoutLinkWithKey(context.Background(), createBody())
			recordErr(err)
			if !errors.Is(err, api.ErrOutcomeUnknown) {
				t.Fatalf("err = %v; want it to match ErrOutcomeUnknown", err)
			}
			if key, ok := api.IdempotencyKeyOf(err); !ok || key != used {
				t.Fatalf("IdempotencyKeyOf = %q %v, the call used %q", key, ok, used)
			}
			var e *api.Error
			if errors.As(err, &e) != (tt.wantStatus != 0) || (e != nil && e.StatusCode != tt.wantStatus) {
				t.Fatalf("err = %v; want the last answer, status %d", err, tt.wantStatus)
			}
			if h.count() != tt.attempts {
				t.Fatalf("%d attempts, want %d", h.count(), tt.attempts)
			}
			if _, made := srv.LinkByIdempotencyKey(used); made != tt.linkMade {
				t.Fatalf("link made = %v, want %v", made, tt.linkMade)
			}
		})
	}

	t.Run("reset after the request was written, then connection refused", func(t *testing.T) {
		h := newHarness(t, drop, allowMalformed)
		var dials atomic.Int32
		_, used, err := h.client(api.WithHTTPClient(firstDialOnly(&dials))).CreatePayoutLinkWithKey(context.Background(), createBody())
		recordErr(err)
		if dials.Load() != 3 || h.count() != 1 {
			t.Fatalf("%d dials, %d reached the server; want 3 and 1", dials.Load(), h.count())
		}
		var re *api.RequestError
		if !errors.Is(err, api.ErrOutcomeUnknown) || !errors.As(err, &re) || !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("err = %v; want an unknown outcome whose last cause is the refused connection", err)
		}
		if key, ok := api.IdempotencyKeyOf(err); !ok || key != used {
			t.Fatalf("IdempotencyKeyOf = %q %v, the call used %q", key, ok, used)
		}
	})

	t.Run("a later success wins", func(t *testing.T) {
		h, srv := withMock(t)
		h.malformed = true
		srv.FailNext(1, mock.Fault{Status: 503, ApplyFirst: true})
		srv.FailNext(1, mock.Fault{Status: 429})
		if _, err := h.client().CreatePayoutLink(context.Background(), createBody()); err != nil {
			t.Fatalf("err = %v; the third attempt answered the link", err)
		}
	})
}

// TestBusyErrorCodesAreRetried: Dots' resource-busy and service-unavailable codes mean "still
// processing, try later" whatever the status: requests safe to repeat are retried with the same
// bytes, and the outcome is unknown if they never succeed; a keyless POST is not repeated.
func TestBusyErrorCodesAreRetried(t *testing.T) {
	tests := []struct {
		op       string
		status   int
		code     string
		attempts int
		unknown  bool
	}{
		{"create", 409, "resource-busy", 3, true},
		{"create", 400, "service-unavailable", 3, true},
		{"create with key (generated)", 409, "resource-busy", 3, true},
		{"get", 409, "resource-busy", 3, true},
		{"create without key (generated)", 409, "resource-busy", 1, true},
		{"redeliver", 409, "resource-busy", 1, true},
		{"create", 409, "invalid-state", 1, false}, // another 409: a definite refusal
	}
	for _, tt := range tests {
		t.Run(tt.op+"/"+tt.code, func(t *testing.T) {
			body := `{"success":false,"message":"busy","error_code":"` + tt.code + `"}`
			h := newHarness(t, jsonHandler(tt.status, body))
			err := retryOps[tt.op](h.client())
			recordErr(err)
			if h.count() != tt.attempts {
				t.Fatalf("%d attempts, want %d (%v)", h.count(), tt.attempts, err)
			}
			if errors.Is(err, api.ErrOutcomeUnknown) != tt.unknown {
				t.Fatalf("outcome unknown = %v, want %v (%v)", !tt.unknown, tt.unknown, err)
			}
			reqs := h.seen()
			for _, r := range reqs[1:] {
				if string(r.Body) != string(reqs[0].Body) {
					t.Fatalf("a retry sent other bytes")
				}
			}
		})
	}
}

// TestKeyReuseIsCaught: Dots answers a known key with the link it made first, whatever the body.
// The SDK compares that link with the request and reports a mismatch, with the link.
func TestKeyReuseIsCaught(t *testing.T) {
	email := func(b gen.CreatePayoutLinkRequest, e string) gen.CreatePayoutLinkRequest {
		b.Payee.Email = &e
		return b
	}
	first := createBody() // 1250 cents by email to jsmith@example.com
	tests := []struct {
		name   string
		second func(gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest
		fields []string // nil: no error
	}{
		{"the same request", func(b gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest { return b }, nil},
		{"another amount", func(b gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest { b.Amount = 999; return b }, []string{"amount"}},
		{"another payee", func(b gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest { return email(b, "other@example.com") }, []string{"payee.email"}},
		{"the email in other case", func(b gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest { return email(b, "JSmith@Example.com") }, nil},
		{"another method and amount", func(b gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest {
			b.Amount, b.Delivery = 1, gen.Delivery{Method: gen.DeliveryMethodLink}
			return b
		}, []string{"amount", "delivery.method"}},
		{"no payee or delivery given", func(b gen.CreatePayoutLinkRequest) gen.CreatePayoutLinkRequest {
			return gen.CreatePayoutLinkRequest{Amount: b.Amount, IdempotencyKey: b.IdempotencyKey}
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, srv := withMock(t)
			c := h.client()
			made, key, err := c.CreatePayoutLinkWithKey(context.Background(), first)
			if err != nil {
				t.Fatal(err)
			}
			second := tt.second(first)
			second.IdempotencyKey = api.Ptr(key)
			link, _, err := c.CreatePayoutLinkWithKey(context.Background(), second)
			recordErr(err)
			if link == nil || link.ID != made.ID || srv.LinkCount() != 1 {
				t.Fatalf("link %v, %d links; want the first link back and no new one", link, srv.LinkCount())
			}
			if tt.fields == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			var kr *api.KeyReusedError
			if !errors.Is(err, api.ErrIdempotencyKeyReused) || !errors.As(err, &kr) {
				t.Fatalf("err = %v; want ErrIdempotencyKeyReused", err)
			}
			if strings.Join(kr.Fields, ",") != strings.Join(tt.fields, ",") {
				t.Fatalf("fields %v, want %v", kr.Fields, tt.fields)
			}
			if k, ok := api.IdempotencyKeyOf(err); !ok || k != key {
				t.Fatalf("IdempotencyKeyOf = %q", k)
			}
			if errors.Is(err, api.ErrOutcomeUnknown) {
				t.Fatal("a reused key is a known outcome: the link exists, made by the earlier request")
			}
		})
	}
}

// TestKeyReuseCheckOnlyWhereReuseIsPossible serves every create one canned link, as a static mock
// (Prism serving a spec's example) does: its amount differs from every request's. A key the SDK
// made in the call cannot have been used before, so only a key the caller supplied is checked,
// and WithKeyReuseCheck(false) turns the check off for such a mock.
func TestKeyReuseCheckOnlyWhereReuseIsPossible(t *testing.T) {
	canned := strings.Replace(linkJSON, `"amount":1250`, `"amount":123`, 1)
	tests := []struct {
		name      string
		supplied  bool
		opts      []api.Option
		wantReuse bool
	}{
		{"key made by the SDK", false, nil, false},
		{"key supplied by the caller", true, nil, true},
		{"key supplied, check turned off", true, []api.Option{api.WithKeyReuseCheck(false)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(201, canned))
			body := createBody()
			body.IdempotencyKey = nil
			if tt.supplied {
				body.IdempotencyKey = api.Ptr(api.NewIdempotencyKey())
			}
			link, _, err := h.client(tt.opts...).CreatePayoutLinkWithKey(context.Background(), body)
			recordErr(err)
			if link == nil || link.Amount != 123 {
				t.Fatalf("link %v; want the canned link", link)
			}
			if errors.Is(err, api.ErrIdempotencyKeyReused) != tt.wantReuse || (err != nil) != tt.wantReuse {
				t.Fatalf("err = %v; want key reused: %v", err, tt.wantReuse)
			}
		})
	}
}

// TestOneOddFieldNeverHidesTheAnswer: Dots' own spec types amount as a number. A link answered
// with a fraction of a cent is still the link: the call succeeds (a paid link must not read as
// "outcome unknown", which a retry with the same key would repeat forever), the amount reads as
// its whole cents, and a Warning names the field.
func TestOneOddFieldNeverHidesTheAnswer(t *testing.T) {
	odd := strings.Replace(linkJSON, `"amount":1250`, `"amount":1250.5`, 1)
	other := strings.Replace(linkJSON, linkID, "9b2f7c1e-3a4d-4e5f-8a6b-7c8d9e0f1a2b", 1)
	tests := []struct {
		name   string
		answer string
		call   func(c *api.Client) (int, error) // returns how many links the answer held
		field  string
	}{
		{"create answered 201 with 1250.5", odd, func(c *api.Client) (int, error) {
			l, err := c.CreatePayoutLink(context.Background(), createBody())
			if l == nil || l.Amount != 1250 || l.ID != linkID {
				return 0, fmt.Errorf("link %+v", l)
			}
			return 1, err
		}, "amount"},
		{"a list page with one link at 99.5", `{"has_more":false,"data":[` + other + `,` + strings.Replace(odd, "1250.5", "99.5", 1) + `]}`, func(c *api.Client) (int, error) {
			page, err := c.ListPayoutLinks(context.Background(), nil)
			if page == nil || len(page.Data) != 2 || page.Data[0].Amount != 1250 || page.Data[1].Amount != 99 {
				return 0, fmt.Errorf("page %+v", page)
			}
			return len(page.Data), err
		}, "data[1].amount"},
		{"a created time that cannot be read", strings.Replace(linkJSON, `"2024-07-11T12:31:33.479437Z"`, `"last tuesday"`, 1), func(c *api.Client) (int, error) {
			l, err := c.GetPayoutLink(context.Background(), linkID)
			if l == nil || l.Amount != 1250 || !l.Created.IsZero() {
				return 0, fmt.Errorf("link %+v", l)
			}
			return 1, err
		}, "created"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(201, tt.answer), allowMalformed)
			var got []api.Warning
			c := h.client(api.WithWarnings(func(_ context.Context, w api.Warning) { got = append(got, w) }))
			n, err := tt.call(c)
			recordErr(err)
			if err != nil || n == 0 {
				t.Fatalf("err = %v, %d links; want the answer and no error", err, n)
			}
			if len(got) != 1 || got[0].Field != tt.field || got[0].Operation == "" {
				t.Fatalf("warnings %v; want one naming %s", got, tt.field)
			}
			record(got[0].String())
		})
	}
}

// TestNothingSentIsNeverUnknown: a context that is done before any byte of the request left
// (cancelled before the call, expired before it, or ended while the request waited for a
// connection) gives a definite "not sent", with the context's error wrapped. Nothing reached
// the server, so nothing can have been paid.
func TestNothingSentIsNeverUnknown(t *testing.T) {
	release := make(chan struct{})
	holding := make(chan struct{})
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			close(holding)
			<-release
			jsonHandler(200, linkJSON).ServeHTTP(w, r)
			return
		}
		jsonHandler(201, linkJSON).ServeHTTP(w, r)
	}))
	defer close(release)
	// One connection at most, so a second request waits for the first.
	c := h.client(api.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}), api.WithMaxRetries(0))
	tests := []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"cancelled before the call", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"expired before the call", func() (context.Context, context.CancelFunc) {
			return context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
		}, context.DeadlineExceeded},
		{"cancelled while waiting for a connection", func() (context.Context, context.CancelFunc) {
			// A get holds the only connection until the test ends; the create waits for one,
			// and its context ends the moment net/http starts waiting.
			go func() { _, _ = c.GetPayoutLink(context.Background(), linkID) }()
			<-holding
			ctx, cancel := context.WithCancel(context.Background())
			return httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GetConn: func(string) { cancel() }}), cancel
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := tt.ctx()
			defer cancel()
			before := len(h.seenCreates())
			_, _, err := c.CreatePayoutLinkWithKey(ctx, createBody())
			recordErr(err)
			if errors.Is(err, api.ErrOutcomeUnknown) || !errors.Is(err, tt.want) {
				t.Fatalf("err = %v; want %v and not an unknown outcome", err, tt.want)
			}
			var re *api.RequestError
			if !errors.As(err, &re) || re.OutcomeUnknown {
				t.Fatalf("err = %#v; want a *api.RequestError with OutcomeUnknown false", err)
			}
			if n := len(h.seenCreates()) - before; n != 0 {
				t.Fatalf("the server received %d creates; want none", n)
			}
		})
	}
}

// seenCreates lists the creates the harness received.
func (h *harness) seenCreates() []seenRequest {
	var out []seenRequest
	for _, r := range h.seen() {
		if r.Method == http.MethodPost {
			out = append(out, r)
		}
	}
	return out
}

// TestGeneratedCallsFollowTheSameRules: a call through Generated() gets the rules of a typed call
// from the pipeline. An answer with odd fields is read (each left empty, an amount at its whole
// cents) with a Warning naming them, also through CreatePayoutLinkWithResponse; an answer that
// is no JSON, or not an object, is a broken answer: an error naming the operation that matches
// ErrOutcomeUnknown, never the generated decoder's bare error.
func TestGeneratedCallsFollowTheSameRules(t *testing.T) {
	odd := strings.NewReplacer(`"amount":1250`, `"amount":1250.5`, `"2024-07-11T12:31:33.479437Z"`, `"yesterday"`, `"tax_exempt":false`, `"tax_exempt":"no"`).Replace(linkJSON)
	tests := []struct {
		name     string
		status   int
		answer   string
		call     func(g *gen.ClientWithResponses) (*gen.PayoutLink, error)
		warnings []string // the fields named
		broken   bool
	}{
		{"create with odd fields", 201, odd, func(g *gen.ClientWithResponses) (*gen.PayoutLink, error) {
			r, err := g.CreatePayoutLinkWithResponse(context.Background(), createBody())
			if r == nil {
				return nil, err
			}
			return r.JSON201, err
		}, []string{"amount", "created", "tax_exempt"}, false},
		{"get with odd fields", 200, odd, func(g *gen.ClientWithResponses) (*gen.PayoutLink, error) {
			r, err := g.GetPayoutLinkWithResponse(context.Background(), linkID)
			if r == nil {
				return nil, err
			}
			return r.JSON200, err
		}, []string{"amount", "created", "tax_exempt"}, false},
		{"create answered with an array", 201, `[1,2]`, func(g *gen.ClientWithResponses) (*gen.PayoutLink, error) {
			_, err := g.CreatePayoutLinkWithResponse(context.Background(), createBody())
			return nil, err
		}, nil, true},
		{"get answered with no JSON", 200, `{"id":`, func(g *gen.ClientWithResponses) (*gen.PayoutLink, error) {
			_, err := g.GetPayoutLinkWithResponse(context.Background(), linkID)
			return nil, err
		}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(tt.status, tt.answer), allowMalformed)
			var got []string
			c := h.client(api.WithMaxRetries(0), api.WithWarnings(func(_ context.Context, w api.Warning) {
				record(w.String())
				got = append(got, w.Field)
			}))
			link, err := tt.call(c.Generated())
			recordErr(err)
			if tt.broken {
				var re *api.RequestError
				if !errors.Is(err, api.ErrOutcomeUnknown) || !errors.As(err, &re) || re.Operation == "" {
					t.Fatalf("err = %v; want an unknown outcome naming the operation", err)
				}
				return
			}
			if err != nil || link == nil || link.ID != linkID || link.Amount != 1250 || !link.Created.IsZero() || link.TaxExempt {
				t.Fatalf("link %+v, err %v; want the answer read, odd fields empty and 1250 cents", link, err)
			}
			slices.Sort(got)
			if !slices.Equal(got, tt.warnings) {
				t.Fatalf("warnings for %v, want %v", got, tt.warnings)
			}
		})
	}
}

// TestErrorModel: *api.Error carries its body decoded as the spec's Error, so a field the spec
// gives Error is readable without decoding Body by hand; odd values do not hide the rest, and a
// credential the body echoes is redacted there too.
func TestErrorModel(t *testing.T) {
	tests := []struct {
		name, body  string
		code, msg   string
		wantSuccess bool
	}{
		{"the spec's Error", `{"success":false,"message":"Invalid phone number","error_code":"invalid-phone-number"}`, "invalid-phone-number", "Invalid phone number", false},
		{"an odd field beside good ones", `{"success":"nope","message":"Busy","error_code":"resource-busy"}`, "resource-busy", "Busy", false},
		{"an echoed key", `{"message":"bad key ` + testAPIKey + `","error_code":"unauthorized"}`, "unauthorized", "bad key [redacted]", false},
		{"no JSON", `<html>oops</html>`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(400, tt.body, "Content-Type", "application/json"), allowMalformed)
			_, err := h.client().GetPayoutLink(context.Background(), linkID)
			recordErr(err)
			var e *api.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v", err)
			}
			if e.Model.ErrorCode != tt.code || e.Model.Message != tt.msg || e.Model.Success != tt.wantSuccess {
				t.Fatalf("model %+v; want code %q, message %q", e.Model, tt.code, tt.msg)
			}
		})
	}
}
