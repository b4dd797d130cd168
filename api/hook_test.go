package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// observed is what a call hook saw of one call.
type observed struct {
	info     api.CallInfo
	attempts int
	err      error
	ended    int
}

type hookKey struct{}

// recorder is a call hook that records every call, and a middleware that checks each attempt
// runs in the context the hook returned.
type recorder struct {
	mu    sync.Mutex
	calls []*observed
	tr    *trail // where to say when the hook starts and ends, if anywhere
	name  string
}

func (r *recorder) hook(ctx context.Context, info api.CallInfo) (context.Context, func(int, error)) {
	o := &observed{info: info}
	r.mu.Lock()
	r.calls = append(r.calls, o)
	r.mu.Unlock()
	if r.tr != nil {
		r.tr.add("start " + r.name)
	}
	return context.WithValue(ctx, hookKey{}, o), func(attempts int, err error) {
		r.mu.Lock()
		defer r.mu.Unlock()
		o.attempts, o.err = attempts, err
		o.ended++
		if r.tr != nil {
			r.tr.add("end " + r.name)
		}
	}
}

func (r *recorder) sawContext(req *http.Request, next api.Next) (*http.Response, error) {
	if _, ok := req.Context().Value(hookKey{}).(*observed); !ok {
		return nil, errors.New("the attempt does not run in the hook's context")
	}
	return next(req)
}

func TestCallHookSeesEachCall(t *testing.T) {
	ctx := context.Background()
	const missing = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
	tests := []struct {
		name     string
		fail     int
		call     func(*api.Client) error
		want     api.CallInfo
		attempts int
		outcome  string // ok, refused or unknown
		observed bool
	}{
		{"a create retried twice", 2, func(c *api.Client) error { _, err := c.CreatePayoutLink(ctx, createBody()); return err },
			api.CallInfo{Operation: "create-payout-link", Method: "POST", Path: "/v2/payout-links"}, 3, "ok", true},
		{"a create that runs out of retries", 3, func(c *api.Client) error { _, err := c.CreatePayoutLink(ctx, createBody()); return err },
			api.CallInfo{Operation: "create-payout-link", Method: "POST", Path: "/v2/payout-links"}, 3, "unknown", true},
		{"a get Dots refuses", 0, func(c *api.Client) error { _, err := c.GetPayoutLink(ctx, missing); return err },
			api.CallInfo{Operation: "get-payout-link", Method: "GET", Path: "/v2/payout-links/{payout_link_id}"}, 1, "refused", true},
		{"a generated cancel", 0, func(c *api.Client) error {
			_, err := c.Generated().CancelPayoutLinkWithResponse(ctx, missing)
			return err
		},
			api.CallInfo{Operation: "cancel-payout-link", Method: "DELETE", Path: "/v2/payout-links/{payout_link_id}"}, 1, "refused", true},
		{"bad input is not observed", 0, func(c *api.Client) error { _, err := c.GetPayoutLink(ctx, ""); return err },
			api.CallInfo{}, 0, "refused", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			srv, c := newMock(t, api.WithCallHook(rec.hook), api.WithMiddleware(rec.sawContext))
			srv.FailNext(tt.fail, mock.Fault{Status: 503})
			err := tt.call(c)
			recordErr(err)
			if !tt.observed {
				if len(rec.calls) != 0 || err == nil {
					t.Fatalf("observed %d calls; err %v", len(rec.calls), err)
				}
				return
			}
			if len(rec.calls) != 1 {
				t.Fatalf("observed %d calls", len(rec.calls))
			}
			o := rec.calls[0]
			if o.info != tt.want || o.attempts != tt.attempts || o.ended != 1 || !errors.Is(o.err, err) {
				t.Fatalf("observed %+v after %d attempts, ended %d times, err %v; want %+v after %d attempts, err %v",
					o.info, o.attempts, o.ended, o.err, tt.want, tt.attempts, err)
			}
			outcome := "refused"
			switch {
			case o.err == nil:
				outcome = "ok"
			case errors.Is(o.err, api.ErrOutcomeUnknown):
				outcome = "unknown"
			}
			if outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s (%v)", outcome, tt.outcome, o.err)
			}
		})
	}
}

func TestCallHooksNestAndSeeCallsThatSendNothing(t *testing.T) {
	tr := &trail{}
	a, b := &recorder{name: "a", tr: tr}, &recorder{name: "b", tr: tr}
	shared := &recorder{}
	srv := mock.NewServer()
	defer srv.Close()
	failing := func(context.Context) (string, string, error) { return "", "", errors.New("vault sealed") }
	c, err := api.NewClient("", "", api.WithBaseURL(srv.BaseURL()), api.WithCredentialSource(failing),
		api.WithCallHook(a.hook), api.WithCallHook(b.hook), api.WithCallHook(shared.hook))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListPayoutLinks(context.Background(), nil)
	recordErr(err)
	if len(shared.calls) != 1 || shared.calls[0].attempts != 0 || !errors.Is(shared.calls[0].err, err) || err == nil {
		t.Fatalf("a call that sent nothing: observed %v", shared.calls)
	}
	if order := strings.Join(tr.steps, ", "); order != "start a, start b, end b, end a" {
		t.Fatalf("hooks ran: %s", order)
	}
	if _, err := api.NewClient(testClientID, testAPIKey, api.WithCallHook(nil)); err == nil || !strings.Contains(err.Error(), "WithCallHook") {
		t.Fatalf("a nil hook: %v", err)
	}
}
