package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// newMock starts mock.NewServer and a client for it with the fake credentials, no real sleeps
// and the scanning logger.
func newMock(t *testing.T, opts ...api.Option) (*mock.Server, *api.Client) {
	t.Helper()
	srv := mock.NewServer()
	t.Cleanup(func() {
		srv.Close()
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("the mock answered outside the spec: %v", v)
		}
	})
	return srv, newTestClient(t, srv.BaseURL(), opts...)
}

// headerRecorder keeps the headers of every request it sends on to the mock.
type headerRecorder struct {
	mu   sync.Mutex
	seen []http.Header
}

func (r *headerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.Header.Clone())
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *headerRecorder) last() http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[len(r.seen)-1]
}

func TestIdempotencyKeyOption(t *testing.T) {
	ctx := context.Background()
	mine, other := api.NewIdempotencyKey(), api.NewIdempotencyKey()
	tests := []struct {
		name     string
		bodyKey  *string
		fail     int    // 503s the mock answers first
		wantKey  string // the key sent and returned; "" when refused
		wantErr  string // the field an *InvalidRequestError names
		wantSent int
	}{
		{"the option's key is sent", nil, 0, mine, "", 1},
		{"the body may carry the same key", api.Ptr(mine), 0, mine, "", 1},
		{"an empty body key is no conflict", api.Ptr(""), 0, mine, "", 1},
		{"a create with the option's key is retried", nil, 2, mine, "", 3},
		{"another key in the body is refused", api.Ptr(other), 0, "", "idempotency_key", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newMock(t)
			srv.FailNext(tt.fail, mock.Fault{Status: 503})
			body := createBody()
			body.IdempotencyKey = tt.bodyKey
			link, key, err := c.CreatePayoutLinkWithKey(ctx, body, api.WithIdempotencyKey(mine))
			recordErr(err)
			if n := len(srv.Requests()); n != tt.wantSent {
				t.Fatalf("%d requests reached the mock, want %d", n, tt.wantSent)
			}
			if tt.wantErr != "" {
				var ire *api.InvalidRequestError
				if !errors.As(err, &ire) {
					t.Fatalf("err = %v, want an *InvalidRequestError", err)
				}
				if _, ok := ire.Field(tt.wantErr); !ok {
					t.Fatalf("err = %v, want it to name %s", err, tt.wantErr)
				}
				// Nothing was sent, and the key the request would have carried is still learnable.
				if k, ok := api.IdempotencyKeyOf(err); !ok || k != other || key != other {
					t.Fatalf("IdempotencyKeyOf = %q, returned key %q; want the body's %q", k, key, other)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if key != tt.wantKey {
				t.Fatalf("returned key %q, want %q", key, tt.wantKey)
			}
			if stored, ok := srv.LinkByIdempotencyKey(mine); !ok || stored.ID != link.ID || srv.LinkCount() != 1 {
				t.Fatalf("the mock holds %d links; the one under the option's key: %v", srv.LinkCount(), ok)
			}
		})
	}
	t.Run("the option's key is checked for reuse", func(t *testing.T) {
		_, c := newMock(t)
		if _, err := c.CreatePayoutLink(ctx, createBody(), api.WithIdempotencyKey(mine)); err != nil {
			t.Fatal(err)
		}
		body := createBody()
		body.Amount = 999
		_, err := c.CreatePayoutLink(ctx, body, api.WithIdempotencyKey(mine))
		recordErr(err)
		if !errors.Is(err, api.ErrIdempotencyKeyReused) {
			t.Fatalf("err = %v, want ErrIdempotencyKeyReused", err)
		}
	})
}

// TestOptionsApplyWhereTheySay: an option given where it cannot apply is refused, by NewClient
// or by the call, naming the option, and the call sends nothing.
func TestOptionsApplyWhereTheySay(t *testing.T) {
	ctx := context.Background()
	var resp *http.Response
	calls := []struct {
		name   string
		option api.Option
		call   func(*api.Client, api.Option) error
	}{
		{"WithBaseURL", api.WithBaseURL("http://127.0.0.1:9/api"), func(c *api.Client, o api.Option) error { _, err := c.GetPayoutLink(ctx, linkID, o); return err }},
		{"WithLogger", api.WithLogger(testLogger), func(c *api.Client, o api.Option) error { _, err := c.ListPayoutLinks(ctx, nil, o); return err }},
		{"WithIdempotencyKey", api.WithIdempotencyKey(api.NewIdempotencyKey()), func(c *api.Client, o api.Option) error { _, err := c.CancelPayoutLink(ctx, linkID, o); return err }},
		{"WithIdempotencyKey", api.WithIdempotencyKey(""), func(c *api.Client, o api.Option) error {
			_, err := c.CreatePayoutLink(ctx, createBody(), o)
			return err
		}},
		{"WithHeader", api.WithHeader("Authorization", "Basic cGs6c2s="), func(c *api.Client, o api.Option) error { _, err := c.RedeliverPayoutLink(ctx, linkID, o); return err }},
		{"WithHeader", api.WithHeader("X-Trace\r\nX-Other", "1"), func(c *api.Client, o api.Option) error { _, err := c.GetPayoutLink(ctx, linkID, o); return err }},
		{"WithHeader", api.WithHeader("X-Trace", "a\nb"), func(c *api.Client, o api.Option) error { _, err := c.GetPayoutLink(ctx, linkID, o); return err }},
		{"WithMaxRetries", api.WithMaxRetries(-1), func(c *api.Client, o api.Option) error {
			for _, err := range c.PayoutLinks(ctx, nil, o) {
				return err
			}
			return nil
		}},
		{"WithResponseInto", api.WithResponseInto(nil), func(c *api.Client, o api.Option) error { _, err := c.GetPayoutLink(ctx, linkID, o); return err }},
	}
	for _, tt := range calls {
		t.Run("call "+tt.name, func(t *testing.T) {
			srv, c := newMock(t)
			err := tt.call(c, tt.option)
			recordErr(err)
			var ire *api.InvalidRequestError
			if !errors.As(err, &ire) {
				t.Fatalf("err = %v, want an *InvalidRequestError", err)
			}
			if _, ok := ire.Field(tt.name); !ok {
				t.Fatalf("err = %v, want it to name %s", err, tt.name)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Fatalf("%d requests were sent", n)
			}
		})
	}
	for _, o := range []struct {
		name   string
		option api.Option
	}{
		{"WithResponseInto", api.WithResponseInto(&resp)},
		{"WithIdempotencyKey", api.WithIdempotencyKey(api.NewIdempotencyKey())},
		{"WithHeader", api.WithHeader("User-Agent", "mine")},
		{"WithOptions", api.WithOptions(api.WithAppID("app_test_1"), api.WithResponseInto(&resp))},
	} {
		t.Run("NewClient "+o.name, func(t *testing.T) {
			_, err := api.NewClient(testClientID, testAPIKey, o.option)
			recordErr(err)
			if err == nil || !strings.Contains(err.Error(), strings.TrimPrefix(o.name, "WithOptions")) {
				t.Fatalf("err = %v, want it to name the option", err)
			}
		})
	}
}

func TestHeaderOption(t *testing.T) {
	srv := mock.NewServer()
	defer srv.Close()
	rec := &headerRecorder{}
	c := newTestClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: rec}), api.WithHeader("x-team", "payouts"))
	ctx := context.Background()
	link, err := c.CreatePayoutLink(ctx, createBody(), api.WithHeader("X-Trace", "t-1"), api.WithHeader("X-Team", "treasury"))
	if err != nil {
		t.Fatal(err)
	}
	h := rec.last()
	if h.Get("X-Trace") != "t-1" || h.Values("X-Team")[0] != "treasury" || len(h.Values("X-Team")) != 1 {
		t.Fatalf("the call's headers: X-Trace %q, X-Team %q", h.Get("X-Trace"), h.Values("X-Team"))
	}
	if h.Get("Authorization") == "" || !strings.HasPrefix(h.Get("User-Agent"), "dots-go/") {
		t.Fatal("the SDK's own headers are missing")
	}
	if _, err := c.GetPayoutLink(ctx, link.ID); err != nil {
		t.Fatal(err)
	}
	if h := rec.last(); h.Get("X-Trace") != "" || h.Get("X-Team") != "payouts" {
		t.Fatalf("the next call's headers: X-Trace %q, X-Team %q; want only the client's", h.Get("X-Trace"), h.Get("X-Team"))
	}

	// Calls at once, each with a header of its own, on a client whose list of headers has room
	// to grow: no call's header may land in another's (the race detector watches too).
	rec = &headerRecorder{}
	c = newTestClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: rec}),
		api.WithHeader("X-A", "1"), api.WithHeader("X-B", "2"), api.WithHeader("X-C", "3"))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			if _, err := c.GetPayoutLink(ctx, link.ID, api.WithHeader("X-Trace", fmt.Sprint(i))); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, h := range rec.seen {
		seen[h.Get("X-Trace")] = true
	}
	if len(seen) != 8 {
		t.Fatalf("8 calls sent the X-Trace values %v", seen)
	}
}

func TestResponseIntoOption(t *testing.T) {
	srv, c := newMock(t)
	ctx := context.Background()
	var resp *http.Response
	link, err := c.CreatePayoutLink(ctx, createBody(), api.WithResponseInto(&resp))
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if resp == nil || resp.StatusCode != http.StatusCreated || resp.Header.Get("Request-Id") != reqs[0].RequestID {
		t.Fatalf("resp = %v; want the 201 with the mock's request id %s", resp, reqs[0].RequestID)
	}
	// On failure the response is left alone.
	var failed *http.Response
	_, err = c.GetPayoutLink(ctx, "3c90c3cc-0d44-4b50-8888-8dd25736052a", api.WithResponseInto(&failed))
	recordErr(err)
	if err == nil || failed != nil {
		t.Fatalf("err %v, resp %v; want an error and no response", err, failed)
	}
	var got *http.Response
	if _, err := c.GetPayoutLink(ctx, link.ID, api.WithResponseInto(&got)); err != nil || got.StatusCode != 200 {
		t.Fatalf("get: %v %v", got, err)
	}
}

func TestAttemptTimeoutOption(t *testing.T) {
	srv, c := newMock(t)
	// The first attempt hangs until the client gives up on it; the mock then drops it unapplied.
	srv.FailNext(1, mock.Fault{Delay: time.Minute})
	link, err := c.CreatePayoutLink(context.Background(), createBody(), api.WithAttemptTimeout(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	// Two attempts, or more on a machine so loaded that an answer outlasts the timeout.
	if n := len(srv.Requests()); n < 2 || srv.LinkCount() != 1 || link.ID == "" {
		t.Fatalf("%d attempts, %d links; the one that timed out was not retried", n, srv.LinkCount())
	}
}
