package api_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// trail records the order in which middleware ran.
type trail struct {
	mu    sync.Mutex
	steps []string
}

func (tr *trail) add(s string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.steps = append(tr.steps, s)
}

func (tr *trail) mw(name string) api.Middleware {
	return func(req *http.Request, next api.Next) (*http.Response, error) {
		tr.add(name + ">")
		resp, err := next(req)
		status := "error"
		if err == nil {
			status = fmt.Sprint(resp.StatusCode)
		}
		tr.add("<" + name + " " + status)
		return resp, err
	}
}

// TestMiddlewareRunsPerAttemptInOrder: the client's middleware, then the call's, wrap every
// attempt, retries included, and see each attempt's answer.
func TestMiddlewareRunsPerAttemptInOrder(t *testing.T) {
	tr := &trail{}
	srv, c := newMock(t, api.WithMiddleware(tr.mw("a")), api.WithMiddleware(tr.mw("b")))
	srv.FailNext(2, mock.Fault{Status: 503})
	if _, err := c.CreatePayoutLink(context.Background(), createBody(), api.WithMiddleware(tr.mw("call"))); err != nil {
		t.Fatal(err)
	}
	attempt := func(status string) string {
		return "a> b> call> <call " + status + " <b " + status + " <a " + status
	}
	want := strings.Join([]string{attempt("503"), attempt("503"), attempt("201")}, " ")
	if got := strings.Join(tr.steps, " "); got != want {
		t.Fatalf("middleware ran\n%s\nwant\n%s", got, want)
	}
	if srv.LinkCount() != 1 {
		t.Fatalf("%d links", srv.LinkCount())
	}
	// The call's middleware was for that call only.
	tr.steps = nil
	if _, err := c.ListPayoutLinks(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(tr.steps, " "); got != "a> b> <b 200 <a 200" {
		t.Fatalf("the next call's middleware: %s", got)
	}
}

// TestMiddlewareChangesEachAttempt: a middleware sees each attempt's own request with its body,
// and a header it sets goes out with that attempt only.
func TestMiddlewareChangesEachAttempt(t *testing.T) {
	srv := mock.NewServer()
	defer srv.Close()
	rec := &headerRecorder{}
	var n int
	var bodies []string
	sign := func(req *http.Request, next api.Next) (*http.Response, error) {
		n++
		if req.Header.Get("X-Attempt") != "" {
			return nil, errors.New("an earlier attempt's header leaked into this one")
		}
		body, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		b, _ := io.ReadAll(body)
		bodies = append(bodies, string(b))
		req.Header.Set("X-Attempt", fmt.Sprint(n))
		return next(req)
	}
	c := newTestClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: rec}), api.WithMiddleware(sign))
	srv.FailNext(1, mock.Fault{Status: 502})
	if _, err := c.CreatePayoutLink(context.Background(), createBody()); err != nil {
		t.Fatal(err)
	}
	if len(rec.seen) != 2 || rec.seen[0].Get("X-Attempt") != "1" || rec.seen[1].Get("X-Attempt") != "2" {
		t.Fatalf("sent %d attempts with X-Attempt %v", len(rec.seen), rec.seen)
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"idempotency_key"`) {
		t.Fatalf("the middleware read the bodies %q", bodies)
	}
}

// TestMiddlewareThatRefusesSendsNothing: an error a middleware returns without calling next is a
// *RequestError wrapping it, with nothing sent, so the outcome is known.
func TestMiddlewareThatRefusesSendsNothing(t *testing.T) {
	errNoSigner := errors.New("no signing key loaded")
	tests := []struct {
		name string
		mw   api.Middleware
		want error
	}{
		{"error", func(*http.Request, api.Next) (*http.Response, error) { return nil, errNoSigner }, errNoSigner},
		{"nothing at all", func(*http.Request, api.Next) (*http.Response, error) { return nil, nil }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newMock(t, api.WithMaxRetries(0))
			_, err := c.CreatePayoutLink(context.Background(), createBody(), api.WithMiddleware(tt.mw))
			recordErr(err)
			var re *api.RequestError
			if !errors.As(err, &re) || errors.Is(err, api.ErrOutcomeUnknown) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("err = %v, want a *RequestError with a known outcome wrapping %v", err, tt.want)
			}
			if _, ok := api.IdempotencyKeyOf(err); !ok || len(srv.Requests()) != 0 {
				t.Fatalf("key learnable: %v; %d requests sent", ok, len(srv.Requests()))
			}
		})
	}
}
