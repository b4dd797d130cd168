package mock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

func TestParseFault(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    mock.Fault
		wantErr string
	}{
		{"", mock.Fault{}, ""},
		{"none", mock.Fault{}, ""},
		{"503", mock.Fault{Status: 503}, ""},
		{" 500 ; APPLY-FIRST ", mock.Fault{Status: 500, ApplyFirst: true}, ""},
		{"429; retry-after=2", mock.Fault{Status: 429, RetryAfter: "2"}, ""},
		{"retry-after=Wed, 21 Oct 2026 07:28:00 GMT", mock.Fault{RetryAfter: "Wed, 21 Oct 2026 07:28:00 GMT"}, ""},
		{"drop-before", mock.Fault{Drop: mock.DropBeforeApply}, ""},
		{"drop-after", mock.Fault{Drop: mock.DropAfterApply}, ""},
		{"delay=250ms", mock.Fault{Delay: 250 * time.Millisecond}, ""},
		{"delay=1s; 503", mock.Fault{Delay: time.Second, Status: 503}, ""},
		{"truncated", mock.Fault{Body: mock.TruncatedBody}, ""},
		{"non-json", mock.Fault{Body: mock.NonJSONBody}, ""},
		{"empty", mock.Fault{Body: mock.EmptyBody}, ""},
		{"delay=200ms; late", mock.Fault{Delay: 200 * time.Millisecond, Late: true}, ""},
		{"late", mock.Fault{}, "needs a delay"},
		{"empty; non-json", mock.Fault{}, "repeats"},
		{"delay=10ms; drop-after", mock.Fault{Delay: 10 * time.Millisecond, Drop: mock.DropAfterApply}, ""},
		{"explode", mock.Fault{}, "unknown fault"},
		{"200", mock.Fault{}, "between 400 and 599"},
		{"600", mock.Fault{}, "between 400 and 599"},
		{"503; 500", mock.Fault{}, "repeats"},
		{"apply-first", mock.Fault{}, "needs a status"},
		{"503; drop-before", mock.Fault{}, "exclude"},
		{"drop-before; drop-after", mock.Fault{}, "repeats"},
		{"truncated; 500", mock.Fault{}, "exclude"},
		{"delay=soon", mock.Fault{}, "duration"},
		{"delay=-1s", mock.Fault{}, "duration"},
		{"delay", mock.Fault{}, "needs a value"},
		{"drop-after=1", mock.Fault{}, "takes no value"},
		{"retry-after=later", mock.Fault{}, "HTTP-date"},
		{"drop-after; retry-after=1", mock.Fault{}, "goes with a status"},
		{"none; 503", mock.Fault{}, "cannot be combined"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := mock.ParseFault(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
			// String writes what ParseFault reads.
			if back, err := mock.ParseFault(got.String()); err != nil || back != got {
				t.Errorf("round trip of %q: %+v, %v", got.String(), back, err)
			}
		})
	}
}

// TestFaults drives each kind of fault at a create, scripted by header and by FailNext, and
// checks what the client sees and what the server did.
func TestFaults(t *testing.T) {
	t.Parallel()
	type outcome struct {
		status     int    // 0: the transport fails
		retryAfter string // the Retry-After header
		code       string // the error_code, for an injected status
		links      int    // links made
		bodyOK     bool   // the body is a payout link
		result     string // Request.Result
	}
	tests := []struct {
		name   string
		header map[string]string
		fault  mock.Fault
		want   outcome
	}{
		{"503", map[string]string{"X-Mock-Fault": "503"}, mock.Fault{Status: 503},
			outcome{status: 503, code: "service-unavailable", result: "503"}},
		{"500 apply-first", map[string]string{"X-Mock-Fault": "500; apply-first"}, mock.Fault{Status: 500, ApplyFirst: true},
			outcome{status: 500, code: "internal-error", links: 1, result: "500"}},
		{"429 retry-after", map[string]string{"X-Mock-Fault": "429", "X-Mock-Retry-After": "2"}, mock.Fault{Status: 429, RetryAfter: "2"},
			outcome{status: 429, retryAfter: "2", code: "rate-limited", result: "429"}},
		{"retry-after alone", map[string]string{"X-Mock-Retry-After": "7"}, mock.Fault{RetryAfter: "7"},
			outcome{status: 429, retryAfter: "7", code: "rate-limited", result: "429"}},
		{"503 retry-after inline", map[string]string{"X-Mock-Fault": "503; retry-after=1"}, mock.Fault{Status: 503, RetryAfter: "1"},
			outcome{status: 503, retryAfter: "1", code: "service-unavailable", result: "503"}},
		{"drop-before", map[string]string{"X-Mock-Fault": "drop-before"}, mock.Fault{Drop: mock.DropBeforeApply},
			outcome{result: "dropped"}},
		{"drop-after", map[string]string{"X-Mock-Fault": "drop-after"}, mock.Fault{Drop: mock.DropAfterApply},
			outcome{links: 1, result: "dropped"}},
		{"truncated", map[string]string{"X-Mock-Fault": "truncated"}, mock.Fault{Body: mock.TruncatedBody},
			outcome{status: 201, links: 1, result: "201"}},
		{"non-json", map[string]string{"X-Mock-Fault": "non-json"}, mock.Fault{Body: mock.NonJSONBody},
			outcome{status: 201, links: 1, result: "201"}},
		{"short delay", map[string]string{"X-Mock-Fault": "delay=20ms"}, mock.Fault{Delay: 20 * time.Millisecond},
			outcome{status: 201, links: 1, bodyOK: true, result: "201"}},
		{"delay then 502", map[string]string{"X-Mock-Fault": "delay=5ms; 502"}, mock.Fault{Delay: 5 * time.Millisecond, Status: 502},
			outcome{status: 502, code: "bad-gateway", result: "502"}},
	}
	const key = "5d6e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
	body := gen.CreatePayoutLinkRequest{Amount: 700, IdempotencyKey: api.Ptr(key)}
	for _, tt := range tests {
		for _, how := range []string{"header", "FailNext"} {
			t.Run(tt.name+" by "+how, func(t *testing.T) {
				s := newServer(t)
				var opts []opt
				if how == "header" {
					for k, v := range tt.header {
						opts = append(opts, header(k, v))
					}
				} else {
					s.FailNext(1, tt.fault)
				}
				start := time.Now()
				r, err := tryCall(t.Context(), freshClient(), s, opCreate, body, opts...)
				if tt.fault.Delay > 0 && time.Since(start) < tt.fault.Delay {
					t.Errorf("answered after %v, before the delay of %v", time.Since(start), tt.fault.Delay)
				}
				if tt.want.status == 0 {
					if err == nil {
						t.Fatalf("got %d %s, want a transport error", r.status, r.body)
					}
				} else {
					if err != nil {
						t.Fatal(err)
					}
					if r.status != tt.want.status || r.header.Get("Retry-After") != tt.want.retryAfter {
						t.Errorf("status %d Retry-After %q, want %d %q", r.status, r.header.Get("Retry-After"), tt.want.status, tt.want.retryAfter)
					}
					if tt.want.code != "" {
						if code, _ := r.errorBody(t); code != tt.want.code {
							t.Errorf("error_code %q, want %q", code, tt.want.code)
						}
					}
					var l gen.PayoutLink
					if ok := json.Unmarshal(r.body, &l) == nil && l.ID != ""; ok != tt.want.bodyOK && tt.want.code == "" {
						t.Errorf("body %q decodes as a link: %v, want %v", r.body, ok, tt.want.bodyOK)
					}
					if r.header.Get("Request-Id") == "" || r.header.Get("Content-Type") != "application/json" {
						t.Errorf("headers %v", r.header)
					}
				}
				if s.LinkCount() != tt.want.links {
					t.Errorf("%d links, want %d", s.LinkCount(), tt.want.links)
				}
				rs := s.Requests()
				if len(rs) != 1 || rs[0].Result() != tt.want.result || rs[0].Fault == "" || rs[0].IdempotencyKey == "" {
					t.Fatalf("requests %+v", rs)
				}
				// A retry with the same key gets the one link, whatever the fault did.
				again := create(t, s, body)
				if s.LinkCount() != 1 {
					t.Errorf("%d links after the retry", s.LinkCount())
				}
				if l, ok := s.LinkByIdempotencyKey(key); !ok || l.ID != again.ID {
					t.Errorf("key names %s, retry got %s", l.ID, again.ID)
				}
				if rs := s.Requests(); rs[1].Attempt != 2 || rs[1].Fault != "" {
					t.Errorf("retry recorded as %+v", rs[1])
				}
			})
		}
	}
}

func TestTruncatedAndNonJSONBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	full := call(t, s, opList, nil)
	trunc := call(t, s, opList, nil, header("X-Mock-Fault", "truncated"))
	if trunc.status != 200 || len(trunc.body) != len(full.body)/2 || !strings.HasPrefix(string(full.body), string(trunc.body)) || json.Valid(trunc.body) {
		t.Errorf("truncated: %d %q of %q", trunc.status, trunc.body, full.body)
	}
	html := call(t, s, opList, nil, header("X-Mock-Fault", "non-json"))
	if html.status != 200 || json.Valid(html.body) || !strings.HasPrefix(string(html.body), "<!DOCTYPE html>") || html.header.Get("Content-Type") != "application/json" {
		t.Errorf("non-json: %d %q %v", html.status, html.body, html.header)
	}
	empty := call(t, s, opCreate, gen.CreatePayoutLinkRequest{Amount: 1}, header("X-Mock-Fault", "empty"))
	if empty.status != 201 || len(empty.body) != 0 || empty.header.Get("Content-Type") != "application/json" || s.LinkCount() != 1 {
		t.Errorf("empty: %d %q %v, %d links", empty.status, empty.body, empty.header, s.LinkCount())
	}
}

// TestLateFaultAppliesAfterTheClientLeft: with "late", the server acts after the client gave up.
func TestLateFaultAppliesAfterTheClientLeft(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := tryCall(ctx, freshClient(), s, opCreate, gen.CreatePayoutLinkRequest{Amount: 7}, header("X-Mock-Fault", "delay=1s; late"))
		done <- err
	}()
	waitFor(t, "the request to arrive", func() bool { return len(s.Requests()) == 1 })
	cancel() // the client gives up during the delay
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want the client's cancel", err)
	}
	s.WaitIdle()
	rs := s.Requests()
	if s.LinkCount() != 1 || !rs[0].Canceled || rs[0].Fault != "delay=1s; late" {
		t.Fatalf("%d links, request %+v; want the link made after the client left", s.LinkCount(), rs[0])
	}
}

// TestBusyKey: a create whose key another request is still handling is answered 409
// resource-busy and applies nothing; once the first is done, the key works again.
func TestBusyKey(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	body := gen.CreatePayoutLinkRequest{Amount: 9, IdempotencyKey: api.Ptr("5d7e3f6a-1c2d-4e5f-9a8b-7c6d5e4f3a2b")}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = tryCall(ctx, freshClient(), s, opCreate, body, header("X-Mock-Fault", "delay=1m"))
	}()
	waitFor(t, "the first request to arrive", func() bool { return len(s.Requests()) == 1 })
	busy := call(t, s, opCreate, body)
	if code, _ := busy.errorBody(t); busy.status != http.StatusConflict || code != "resource-busy" {
		t.Fatalf("second create: %d %s, want 409 resource-busy", busy.status, code)
	}
	cancel()
	<-done
	s.WaitIdle()
	if s.LinkCount() != 0 {
		t.Fatalf("%d links; neither request applied", s.LinkCount())
	}
	if r := call(t, s, opCreate, body); r.status != http.StatusCreated || s.LinkCount() != 1 {
		t.Fatalf("third create: %d, %d links", r.status, s.LinkCount())
	}
}

// TestDelayEndsWithClient: a client that gives up during an injected delay ends it: the request
// is not applied, and the server stops waiting long before the delay of a minute is over (the
// wait for it gives up after 30 seconds).
func TestDelayEndsWithClient(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := tryCall(ctx, freshClient(), s, opCreate, gen.CreatePayoutLinkRequest{Amount: 1}, header("X-Mock-Fault", "delay=1m"))
		done <- err
	}()
	waitFor(t, "the request to arrive", func() bool { return len(s.Requests()) == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want the client's cancel", err)
	}
	waitFor(t, "the server to give up", func() bool {
		rs := s.Requests()
		return len(rs) == 1 && rs[0].Canceled && rs[0].Duration > 0
	})
	if s.LinkCount() != 0 {
		t.Errorf("%d links", s.LinkCount())
	}
	if got := s.Requests()[0].Result(); got != "canceled" {
		t.Errorf("result %q", got)
	}
}

func TestCloseEndsDelays(t *testing.T) {
	t.Parallel()
	s := mock.NewServer()
	done := make(chan error, 1)
	go func() {
		_, err := tryCall(context.Background(), freshClient(), s, opList, nil, header("X-Mock-Fault", "delay=1m"))
		done <- err
	}()
	waitFor(t, "the request to arrive", func() bool { return len(s.Requests()) == 1 })
	start := time.Now()
	s.Close()
	if err := <-done; err == nil || time.Since(start) > 30*time.Second { // the delay is a minute
		t.Errorf("err %v after %v", err, time.Since(start))
	}
}

func TestDropsOtherOperations(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	l := create(t, s, gen.CreatePayoutLinkRequest{Amount: 1})
	tests := []struct {
		to         endpoint
		drop       string
		wantStatus gen.PayoutLinkStatus
	}{
		{route(gen.NewCancelPayoutLinkRequest(genBase, l.ID)), "drop-before", gen.PayoutLinkStatusCreated},
		{route(gen.NewGetPayoutLinkRequest(genBase, l.ID)), "drop-before", gen.PayoutLinkStatusCreated},
		{opList, "drop-after", gen.PayoutLinkStatusCreated},
		{route(gen.NewCancelPayoutLinkRequest(genBase, l.ID)), "drop-after", gen.PayoutLinkStatusCanceled},
	}
	for _, tt := range tests {
		_, err := tryCall(t.Context(), freshClient(), s, tt.to, nil, header("X-Mock-Fault", tt.drop))
		if err == nil {
			t.Errorf("%s %s %s: got an answer", tt.drop, tt.to.method, tt.to.path)
		}
		if got, _ := s.Link(l.ID); got.Status != tt.wantStatus {
			t.Errorf("%s %s: status %s, want %s", tt.drop, tt.to.method, got.Status, tt.wantStatus)
		}
	}
	if n := len(s.Requests()); n != 1+len(tests) {
		t.Errorf("%d requests recorded; the transport retried on its own?", n)
	}
}

func TestFailNextQueue(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.FailNext(2, mock.Fault{Status: 503})
	s.FailNext(1, mock.Fault{Status: 500, ApplyFirst: true})
	s.FailNext(0, mock.Fault{Status: 400})
	var got []string
	for range 5 {
		r := call(t, s, opCreate, gen.CreatePayoutLinkRequest{Amount: 1})
		got = append(got, fmt.Sprint(r.status))
	}
	if strings.Join(got, " ") != "503 503 500 201 201" || s.LinkCount() != 3 {
		t.Errorf("statuses %v, %d links", got, s.LinkCount())
	}
	// A header fault leaves the queue alone; /_mock and unknown paths never fault.
	s.FailNext(1, mock.Fault{Status: 502})
	if r := call(t, s, opList, nil, header("X-Mock-Fault", "504")); r.status != 504 {
		t.Errorf("header fault: %d", r.status)
	}
	if r := send(t, s, "GET", "/v2/nothing", nil); r.status != 404 { // a path the spec has not
		t.Errorf("unknown path: %d", r.status)
	}
	if r := call(t, s, opList, nil); r.status != 502 {
		t.Errorf("queued fault: %d", r.status)
	}
	var faults []string
	for _, r := range s.Requests() {
		faults = append(faults, r.Fault)
	}
	if want := "503|503|500; apply-first|||504||502"; strings.Join(faults, "|") != want {
		t.Errorf("recorded faults %q, want %q", strings.Join(faults, "|"), want)
	}
}

// TestRandomFaults runs many concurrent creates, each with its own key and retried until it
// gets an answer, against a chooser that faults about half of them, and checks that every key
// made exactly one link and that the answers match the spec.
func TestRandomFaults(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	faults := []*mock.Fault{
		nil, nil, nil,
		{Status: 503},
		{Status: 500, ApplyFirst: true},
		{Status: 429, RetryAfter: "1"},
		{Drop: mock.DropBeforeApply},
		{Drop: mock.DropAfterApply},
		{Body: mock.TruncatedBody},
		{Body: mock.NonJSONBody},
	}
	var n atomic.Int64
	s.SetFaults(func(*http.Request) *mock.Fault {
		return faults[(n.Add(1)*7)%int64(len(faults))]
	})
	const calls, workers = 300, 16
	client := freshClient()
	ids := make([]string, calls)
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= calls {
					return
				}
				key := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
				for attempt := 0; ; attempt++ {
					if attempt > 50 {
						t.Errorf("call %d never succeeded", i)
						return
					}
					r, err := tryCall(t.Context(), client, s, opCreate, gen.CreatePayoutLinkRequest{Amount: 1, IdempotencyKey: api.Ptr(key)})
					if err != nil || r.status != http.StatusCreated {
						continue
					}
					var l gen.PayoutLink
					if json.Unmarshal(r.body, &l) != nil || l.ID == "" {
						continue
					}
					ids[i] = l.ID
					break
				}
			}
		})
	}
	wg.Wait()
	s.SetFaults(nil)
	if s.LinkCount() != calls {
		t.Errorf("%d links for %d keys", s.LinkCount(), calls)
	}
	for i, id := range ids {
		if l, ok := s.LinkByIdempotencyKey(fmt.Sprintf("00000000-0000-4000-8000-%012d", i)); !ok || l.ID != id {
			t.Fatalf("call %d got %s, its key names %s", i, id, l.ID)
		}
	}
	var dropped, faulted int
	for _, r := range s.Requests() {
		if r.Dropped {
			dropped++
		}
		if r.Fault != "" {
			faulted++
		}
	}
	if dropped == 0 || faulted < calls/2 {
		t.Errorf("%d dropped, %d faulted of %d requests", dropped, faulted, len(s.Requests()))
	}
}

// TestFaultPrecedence checks what wins when a Fault (from FailNext, which does not refuse
// combinations as ParseFault does) sets several outcomes: Drop over Status over Body.
func TestFaultPrecedence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		fault  mock.Fault
		result string
		links  int
	}{
		{"drop-after over status", mock.Fault{Status: 503, Drop: mock.DropAfterApply}, "dropped", 1},
		{"drop-before over apply-first status", mock.Fault{Status: 500, ApplyFirst: true, Drop: mock.DropBeforeApply}, "dropped", 0},
		{"status over body", mock.Fault{Status: 502, Body: mock.TruncatedBody}, "502", 0},
		{"apply-first status over body", mock.Fault{Status: 500, ApplyFirst: true, Body: mock.NonJSONBody}, "500", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			s.FailNext(1, tt.fault)
			r, err := tryCall(t.Context(), freshClient(), s, opCreate, gen.CreatePayoutLinkRequest{Amount: 1})
			if err == nil && r.status >= 500 {
				r.errorBody(t)
			}
			if got := s.Requests()[0].Result(); got != tt.result || s.LinkCount() != tt.links {
				t.Errorf("result %s with %d links, want %s with %d", got, s.LinkCount(), tt.result, tt.links)
			}
		})
	}
}
