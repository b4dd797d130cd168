package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/spec"
)

// Obviously fake credentials. The secret scan in TestMain looks for these everywhere.
const (
	testClientID = "pk_test_harness0001"
	testAPIKey   = "sk_test_9f3c2a7b1e5d4c8a6b0f"
)

var testAuthValue = base64.StdEncoding.EncodeToString([]byte(testClientID + ":" + testAPIKey))

// seen collects every error string and log line the suite produces, for the secret scan.
var seen struct {
	sync.Mutex
	bytes.Buffer
}

func record(s string) {
	seen.Lock()
	defer seen.Unlock()
	seen.WriteString(s)
	seen.WriteByte('\n')
}

// recordErr keeps an error's text in every form a user might print it.
func recordErr(err error) {
	if err != nil {
		record(err.Error())
		record(fmt.Sprintf("%+v | %#v | %v", err, err, err))
	}
}

type scanWriter struct{}

func (scanWriter) Write(p []byte) (int, error) { record(string(p)); return len(p), nil }

// testLogger logs at debug level into the secret scan.
var testLogger = slog.New(slog.NewTextHandler(scanWriter{}, &slog.HandlerOptions{Level: slog.LevelDebug}))

func TestMain(m *testing.M) {
	code := m.Run()
	seen.Lock()
	all := seen.String()
	seen.Unlock()
	for _, secret := range []string{testAPIKey, testAuthValue, rotOldKey, rotNewKey,
		base64.StdEncoding.EncodeToString([]byte(rotClientID + ":" + rotOldKey)),
		base64.StdEncoding.EncodeToString([]byte(rotClientID + ":" + rotNewKey))} {
		if strings.Contains(all, secret) {
			// Name the kind of secret, never the secret itself.
			fmt.Fprintln(os.Stderr, "secret scan: a credential appears in the suite's errors or logs")
			code = 1
		}
	}
	// A full run must have recorded something, or the scan proves nothing; a -run or -fuzz
	// subset may not record at all.
	if all == "" && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.fuzz").Value.String() == "" {
		fmt.Fprintln(os.Stderr, "secret scan: nothing was recorded; the scan proves nothing")
		code = 1
	}
	os.Exit(code)
}

// harness is a loopback test server that validates every request it receives and every response
// it returns against openapi.yaml, failing the test on any violation that is not expected.
type harness struct {
	t         *testing.T
	srv       *httptest.Server
	mu        sync.Mutex
	requests  []seenRequest
	drift     bool // responses may carry known drift
	malformed bool // responses may break the spec on purpose (fault tests)
	badReq    bool // the test sends a request that breaks the spec on purpose
}

type seenRequest struct {
	Method, Path, Query string
	Header              http.Header
	Body                []byte
}

type harnessOption func(*harness)

// allowDrift lets responses carry the real API's known drift (zone-less times, 5000.0, new enums).
func allowDrift(h *harness) { h.drift = true }

// allowMalformed lets responses break the spec (truncated, non-JSON, undocumented statuses).
func allowMalformed(h *harness) { h.malformed = true }

// allowBadRequests lets the SDK send requests that break the spec (contract report mode tests).
func allowBadRequests(h *harness) { h.badReq = true }

func newHarness(t *testing.T, handler http.Handler, opts ...harnessOption) *harness {
	t.Helper()
	sp, err := spec.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t}
	for _, o := range opts {
		o(h)
	}
	validated := sp.Middleware(handler, spec.MiddlewareOptions{
		BasePath: "/api",
		Refuse: func(_ http.ResponseWriter, _ *http.Request, _ *spec.Operation, vs []spec.Violation) bool {
			if !h.badReq {
				t.Errorf("harness: the SDK sent a request that breaks the spec: %v", vs)
			}
			return false // served all the same
		},
		Answered: func(_ *http.Request, _ *spec.Operation, status int, vs []spec.Violation) {
			for _, vi := range vs {
				if !(h.malformed || (h.drift && vi.Drift)) {
					t.Errorf("harness: the test server answered %d breaking the spec: %v", status, vi)
				}
			}
		},
		NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("harness: %s %s is no operation of the spec", r.Method, r.URL.Path)
			handler.ServeHTTP(w, r)
		}),
	})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.requests = append(h.requests, seenRequest{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), body})
		h.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		validated.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// baseURL is what the client is given: the server under /api, as the real API is.
func (h *harness) baseURL() string { return h.srv.URL + "/api" }

// client makes a client with the fake credentials, no real sleeps, and the scanning logger.
func (h *harness) client(opts ...api.Option) *api.Client {
	h.t.Helper()
	return newTestClient(h.t, h.baseURL(), opts...)
}

func newTestClient(t *testing.T, base string, opts ...api.Option) *api.Client {
	t.Helper()
	all := append([]api.Option{api.WithBaseURL(base), api.WithLogger(testLogger)}, opts...)
	c, err := api.NewClient(testClientID, testAPIKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	api.SetClock(c, func(ctx context.Context, d time.Duration) error { return ctx.Err() }, nil, 0.5)
	return c
}

func (h *harness) seen() []seenRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]seenRequest(nil), h.requests...)
}

func (h *harness) count() int { return len(h.seen()) }

// jsonHandler answers every request with status and body as JSON.
func jsonHandler(status int, body string, header ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// sequence answers the n-th request with the n-th handler (the last one repeats).
func sequence(hs ...http.Handler) http.Handler {
	var mu sync.Mutex
	n := 0
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i := min(n, len(hs)-1)
		n++
		mu.Unlock()
		hs[i].ServeHTTP(w, r)
	})
}

// A realistic link with every field, as the spec describes it.
const linkJSON = `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","created":"2024-07-11T12:31:33.479437Z",
"link":"https://my-sandbox.dots.dev/flow/3c90c3cc-0d44-4b50-8888-8dd25736052a","amount":1250,"status":"sent",
"payee":{"first_name":"Jane","last_name":"Smith","email":"jsmith@example.com","country_code":null,"phone_number":null},
"delivery":{"method":"email","email":"jsmith@example.com"},"tax_exempt":false,"claimed_user_id":null,
"flow_id":"9b2f7c1e-3a4d-4e5f-8a6b-7c8d9e0f1a2b","transfer_id":null,"memo":"March invoice","description":null,
"metadata":{"order_id":"A-1001"},"accounting_data":{"quickbooks_account_id":null,"quickbooks_class_id":null},
"funding_source":"dots_balance"}`

const linkID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
