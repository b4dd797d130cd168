package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/spec"
)

// TestWithHandler serves get-payout-link with a handler of the test's: it gets only requests
// the middleware routed and validated, with the operation and the path parameters, after the
// faults that act before applying; its answer gets the others, and is checked against the spec.
func TestWithHandler(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var calls []string
	answer := func(memo string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			op, _ := spec.OperationOf(r.Context())
			id := r.PathValue("payout_link_id")
			mu.Lock()
			calls = append(calls, op.ID+" "+id)
			mu.Unlock()
			w.Header().Set("X-From", "handler")
			b, _ := json.Marshal(gen.PayoutLink{ID: id, Amount: 1, Created: dots.Timestamp{Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)},
				Status: gen.PayoutLinkStatusCreated, Link: mock.LinkBase + id, Delivery: gen.PayoutLinkDelivery{Method: gen.DeliveryMethodLink}, Memo: memo})
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b)
		})
	}
	s := newServer(t, mock.WithHandler("get-payout-link", answer("from the handler")))
	const id = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
	get := route(gen.NewGetPayoutLinkRequest(genBase, id))
	tests := []struct {
		name   string
		opts   []opt
		status int
		calls  int    // handler calls so far
		body   string // what the body holds
	}{
		{"served by the handler", nil, 200, 1, `"memo":"from the handler"`},
		{"no credentials: refused first", []opt{noAuth()}, 401, 1, `"unauthorized"`},
		{"fault before applying", []opt{header("X-Mock-Fault", "503")}, 503, 1, `"service-unavailable"`},
		{"fault after applying", []opt{header("X-Mock-Fault", "500; apply-first")}, 500, 2, `"internal-error"`},
		{"broken body", []opt{header("X-Mock-Fault", "empty")}, 200, 3, ``},
	}
	for _, tt := range tests {
		r := call(t, s, get, nil, tt.opts...)
		mu.Lock()
		n := len(calls)
		mu.Unlock()
		if r.status != tt.status || n != tt.calls || !strings.Contains(string(r.body), tt.body) {
			t.Errorf("%s: %d %s after %d handler calls; want %d with %s after %d", tt.name, r.status, r.body, n, tt.status, tt.body, tt.calls)
		}
		if r.header.Get("Request-Id") == "" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: headers %v", tt.name, r.header)
		}
	}
	if want := "get-payout-link " + id; fmt.Sprint(calls) != fmt.Sprint([]string{want, want, want}) {
		t.Errorf("the handler saw %q, want the operation and the path parameter", calls)
	}
	if r := call(t, s, get, nil); r.header.Get("X-From") != "handler" || r.link(t).Memo != "from the handler" {
		t.Errorf("the handler's headers and body did not come through: %v %s", r.header, r.body)
	}
	// The mock's other operations are its own.
	if l := create(t, s, gen.CreatePayoutLinkRequest{Amount: 100}); s.LinkCount() != 1 || l.Amount != 100 {
		t.Errorf("create beside the handler: %+v, %d links", l, s.LinkCount())
	}
	if rs := s.Requests(); rs[0].Operation != "get-payout-link" || rs[0].Status != 200 {
		t.Errorf("recorded %+v", rs[0])
	}

	// An answer that breaks the spec is reported, as the mock's own would be.
	bad := mock.New(mock.WithHandler("get-payout-link", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"amount":"twelve"}`)) // written out: a type gen.PayoutLink cannot hold
	})))
	defer bad.Close()
	req := httptest.NewRequest(get.method, bad.BaseURL()+get.path, nil)
	req.SetBasicAuth(testClientID, testAPIKey)
	w := httptest.NewRecorder()
	bad.Handler().ServeHTTP(w, req)
	if v := bad.Violations(); w.Code != 200 || len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), "$.amount") {
		t.Errorf("%d, violations %v; want the broken answer reported", w.Code, v)
	}

	defer func() {
		if p := recover(); p == nil || !strings.Contains(fmt.Sprint(p), "no-such-operation") {
			t.Errorf("WithHandler of an unknown operation: panic %v, want one naming it", p)
		}
	}()
	mock.New(mock.WithHandler("no-such-operation", http.NotFoundHandler()))
}
