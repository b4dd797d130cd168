package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
)

// recorded keeps what the handler's function was called with.
type recorded struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorded) fn(err error) func(context.Context, Event) error {
	return func(_ context.Context, ev Event) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.events = append(r.events, ev)
		return err
	}
}

func (r *recorded) got() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.events...)
}

// signed returns headers for body signed with the test key at the test clock's time.
func signed(id string, body []byte) http.Header {
	return headers("svix", id, testNow.Unix(), "v1,"+refSig(testKey, id, testNow.Unix(), body))
}

func TestHandler(t *testing.T) {
	t.Parallel()
	claimed := []byte(withEvent("payout_link.claimed", factsLink))
	noEvent := []byte(factsLink)
	unknown := []byte(`{"event":"payout_link.expired","id":"` + linkID + `"}`)
	big := []byte(`{"event":"payout_link.updated","payout_link_id":"` + linkID + `","pad":"` + strings.Repeat("x", 200) + `"}`)
	exact := []byte(`{"pad":"` + strings.Repeat("x", 64-10) + `"}`)
	if len(exact) != 64 {
		t.Fatalf("exact body is %d bytes", len(exact))
	}
	fnErr := errors.New("database on fire: dsn=postgres://user:hunter2@db")
	stale := func(body []byte) http.Header {
		u := testNow.Add(-DefaultTolerance - time.Second).Unix()
		return headers("svix", testMessageID, u, "v1,"+refSig(testKey, testMessageID, u, body))
	}

	tests := []struct {
		name    string
		method  string
		header  http.Header
		body    []byte
		chunked bool // send without Content-Length
		opts    []HandlerOption
		fnErr   error
		status  int
		called  bool
		check   func(t *testing.T, ev Event)
	}{
		{name: "claimed", header: signed(testMessageID, claimed), body: claimed, status: 204, called: true,
			check: func(t *testing.T, ev Event) {
				if ev.Type != gen.WebhookEventTypePayoutLinkClaimed || ev.PayoutLink == nil || ev.PayoutLink.Amount != 5000 ||
					ev.PayoutLinkID != linkID || ev.MessageID != testMessageID || !bytes.Equal(ev.Raw, claimed) {
					t.Errorf("event = %+v", ev)
				}
			}},
		{name: "updated", header: signed("msg_2", testUpdated), body: testUpdated, status: 204, called: true,
			check: func(t *testing.T, ev Event) {
				if ev.Type != gen.WebhookEventTypePayoutLinkUpdated || ev.PayoutLink != nil || ev.PayoutLinkID != linkID || ev.MessageID != "msg_2" {
					t.Errorf("event = %+v", ev)
				}
			}},
		{name: "standard webhooks headers", body: testUpdated, status: 204, called: true,
			header: headers("webhook", "msg_3", testNow.Unix(), "v1,"+refSig(testKey, "msg_3", testNow.Unix(), testUpdated)),
			check: func(t *testing.T, ev Event) {
				if ev.MessageID != "msg_3" {
					t.Errorf("MessageID = %q", ev.MessageID)
				}
			}},
		{name: "unknown event type delivered", header: signed(testMessageID, unknown), body: unknown, status: 204, called: true,
			check: func(t *testing.T, ev Event) {
				if ev.Type != "payout_link.expired" || ev.Known() || ev.PayoutLink != nil || ev.PayoutLinkID != "" || !bytes.Equal(ev.Raw, unknown) {
					t.Errorf("event = %+v", ev)
				}
			}},
		{name: "no event field, no option", header: signed(testMessageID, noEvent), body: noEvent, status: 204, called: true,
			check: func(t *testing.T, ev Event) {
				if ev.Type != "" || ev.Known() || ev.PayoutLink != nil {
					t.Errorf("event = %+v", ev)
				}
			}},
		{name: "no event field, WithEventType", header: signed(testMessageID, noEvent), body: noEvent, status: 204, called: true,
			opts: []HandlerOption{WithEventType(gen.WebhookEventTypePayoutLinkSent)},
			check: func(t *testing.T, ev Event) {
				if ev.Type != gen.WebhookEventTypePayoutLinkSent || ev.PayoutLink == nil || ev.PayoutLinkID != linkID {
					t.Errorf("event = %+v", ev)
				}
			}},
		{name: "callback error", header: signed(testMessageID, claimed), body: claimed, fnErr: fnErr, status: 500, called: true},
		{name: "GET", method: http.MethodGet, header: signed(testMessageID, nil), status: 405},
		{name: "PUT", method: http.MethodPut, header: signed(testMessageID, claimed), body: claimed, status: 405},
		{name: "oversized with length", header: signed(testMessageID, big), body: big, status: 413,
			opts: []HandlerOption{WithMaxBodyBytes(64)}},
		{name: "oversized chunked", header: signed(testMessageID, big), body: big, chunked: true, status: 413,
			opts: []HandlerOption{WithMaxBodyBytes(64)}},
		{name: "default limit", header: signed(testMessageID, make([]byte, DefaultMaxBodyBytes+1)), body: make([]byte, DefaultMaxBodyBytes+1), status: 413},
		{name: "exactly at limit", header: signed(testMessageID, exact), body: exact, chunked: true, status: 204, called: true,
			opts: []HandlerOption{WithMaxBodyBytes(64)}},
		{name: "non-positive limit keeps default", header: signed(testMessageID, big), body: big, status: 204, called: true,
			opts: []HandlerOption{WithMaxBodyBytes(-1)}},
		{name: "missing headers", header: http.Header{}, body: claimed, status: 400},
		{name: "missing signature", header: without(signed(testMessageID, claimed), "svix-signature"), body: claimed, status: 400},
		{name: "bad signature", header: signed(testMessageID, claimed), body: []byte(strings.Replace(string(claimed), "5000.0", "9000.0", 1)), status: 400},
		{name: "wrong secret", body: claimed, status: 400,
			header: headers("svix", testMessageID, testNow.Unix(), "v1,"+refSig([]byte("other-secret-not-real"), testMessageID, testNow.Unix(), claimed))},
		{name: "stale", header: stale(claimed), body: claimed, status: 400},
		{name: "signed garbage", header: signed(testMessageID, []byte("not json")), body: []byte("not json"), status: 400},
		{name: "signed bad field", header: signed(testMessageID, []byte(`{"event":"payout_link.sent","amount":1.5}`)),
			body: []byte(`{"event":"payout_link.sent","amount":1.5}`), status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			var logMu sync.Mutex
			logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
			rec := &recorded{}
			h := Handler(newTestVerifier(t), rec.fn(tt.fnErr), append([]HandlerOption{WithLogger(logger)}, tt.opts...)...)
			srv := httptest.NewServer(h)
			defer srv.Close()

			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			var body io.Reader = bytes.NewReader(tt.body)
			if tt.chunked {
				body = io.MultiReader(bytes.NewReader(tt.body)) // hides the length
			}
			req, err := http.NewRequest(method, srv.URL, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tt.header.Clone()
			req.Header.Set("Content-Type", "application/json")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()

			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d (%s), want %d", resp.StatusCode, respBody, tt.status)
			}
			if tt.status == 405 && resp.Header.Get("Allow") != http.MethodPost {
				t.Errorf("Allow = %q", resp.Header.Get("Allow"))
			}
			if tt.status == 204 && len(respBody) != 0 {
				t.Errorf("204 with body %q", respBody)
			}
			if tt.fnErr != nil && strings.Contains(string(respBody), "hunter2") {
				t.Errorf("response echoes the error: %q", respBody)
			}
			leaks := []string{tt.header.Get("svix-signature"), tt.header.Get("webhook-signature")}
			assertNoSecrets(t, string(respBody), leaks...)
			logMu.Lock()
			assertNoSecrets(t, logs.String(), leaks...)
			logMu.Unlock()

			got := rec.got()
			if called := len(got) == 1; called != tt.called || len(got) > 1 {
				t.Fatalf("called %d times, want called %v", len(got), tt.called)
			}
			if tt.check != nil {
				tt.check(t, got[0])
			}
		})
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type ctxKey struct{}

func TestHandlerPassesRequestContext(t *testing.T) {
	t.Parallel()
	var got any
	h := Handler(newTestVerifier(t), func(ctx context.Context, _ Event) error {
		got = ctx.Value(ctxKey{})
		return nil
	})
	req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(testUpdated))
	req.Header = signed(testMessageID, testUpdated)
	req = req.WithContext(context.WithValue(req.Context(), ctxKey{}, "marker"))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusNoContent || got != "marker" {
		t.Fatalf("status %d, context value %v", w.Code, got)
	}
}

// TestHandlerLogs checks that Handler logs only to the logger it is given.
func TestHandlerLogs(t *testing.T) {
	var global bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&global, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(old)

	fnErr := errors.New("boom")
	send := func(h http.Handler, header http.Header) int {
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(testUpdated))
		req.Header = header
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	quiet := Handler(newTestVerifier(t), func(context.Context, Event) error { return fnErr })
	if code := send(quiet, http.Header{}); code != 400 {
		t.Fatalf("status %d", code)
	}
	if code := send(quiet, signed(testMessageID, testUpdated)); code != 500 {
		t.Fatalf("status %d", code)
	}
	if global.Len() != 0 {
		t.Fatalf("logged without a logger: %s", global.String())
	}

	var logs bytes.Buffer
	loud := Handler(newTestVerifier(t), func(context.Context, Event) error { return fnErr },
		WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	bad := setHeader(signed(testMessageID, testUpdated), "svix-signature", "v1,"+refSig(testKey, "x", 1, nil))
	send(loud, bad)
	send(loud, signed(testMessageID, testUpdated))
	out := logs.String()
	for _, want := range []string{"webhook: rejected", "invalid signature", "webhook: handler failed", "boom", testMessageID} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
	assertNoSecrets(t, out, bad.Get("svix-signature"), signed(testMessageID, testUpdated).Get("svix-signature"))
	if global.Len() != 0 {
		t.Fatalf("logged to the default logger: %s", global.String())
	}
}

func TestHandlerPanicsOnNil(t *testing.T) {
	t.Parallel()
	v := newTestVerifier(t)
	for name, f := range map[string]func(){
		"nil verifier": func() { Handler(nil, func(context.Context, Event) error { return nil }) },
		"nil func":     func() { Handler(v, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			f()
		})
	}
}

// TestHandlerRecoversPanic checks that a panic in fn answers 500, is logged without the body,
// the secret or the signature, and leaves the handler serving the next delivery; and that
// http.ErrAbortHandler still reaches net/http.
func TestHandlerRecoversPanic(t *testing.T) {
	t.Parallel()
	body := []byte(`{"event":"payout_link.updated","payout_link_id":"` + linkID + `","memo":"body-marker-never-logged"}`)
	header := signed(testMessageID, body)
	serve := func(h http.Handler) (code int, panicked any) {
		defer func() { panicked = recover() }()
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header = header.Clone()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code, nil
	}

	tests := []struct {
		name  string
		panic func(ev Event)
		want  []string // in the log, besides the message id and the event type
	}{
		{name: "string built from the body", panic: func(ev Event) { panic("cannot handle " + string(ev.Raw)) },
			want: []string{"panic_type=string"}},
		{name: "error built from the body", panic: func(ev Event) { panic(fmt.Errorf("cannot handle %s", ev.Raw)) },
			want: []string{"panic_type=*errors.errorString"}},
		{name: "runtime error", panic: func(ev Event) { _ = ev.Raw[len(ev.Raw):][len(ev.Raw)] },
			want: []string{"panic_type=runtime.boundsError",
				fmt.Sprintf(`panic="runtime error: index out of range [%d] with length 0"`, len(body))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			calls := 0
			h := Handler(newTestVerifier(t), func(_ context.Context, ev Event) error {
				calls++
				if calls == 1 {
					tt.panic(ev)
				}
				return nil
			}, WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))

			for i, want := range []int{http.StatusInternalServerError, http.StatusNoContent} {
				code, panicked := serve(h)
				if panicked != nil {
					t.Fatalf("delivery %d: a %T panic escaped Handler", i+1, panicked)
				}
				if code != want {
					t.Fatalf("delivery %d: status %d, want %d", i+1, code, want)
				}
			}
			out := logs.String()
			for _, want := range append([]string{`msg="webhook: handler panicked"`, "message_id=" + testMessageID,
				"event=payout_link.updated"}, tt.want...) {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %s:\n%s", want, out)
				}
			}
			if strings.Contains(out, "body-marker") || strings.Contains(out, linkID) {
				t.Errorf("log shows the body:\n%s", out)
			}
			assertNoSecrets(t, out, header.Get("svix-signature"))
		})
	}

	t.Run("ErrAbortHandler", func(t *testing.T) {
		t.Parallel()
		h := Handler(newTestVerifier(t), func(context.Context, Event) error { panic(http.ErrAbortHandler) })
		if _, panicked := serve(h); panicked != http.ErrAbortHandler {
			t.Fatalf("panicked with %v, want http.ErrAbortHandler", panicked)
		}
	})
}
