package spec_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/payoutkit/dots-go/spec"
)

// TestMiddlewareRoutes checks where Middleware sends each request: a conforming request to its
// operation, a route of the caller's own Mux to that route unvalidated, and what matches no
// pattern to NotFound, with ServeMux's Allow header set where ServeMux would answer 405.
func TestMiddlewareRoutes(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /_own/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got", "own "+r.PathValue("name"))
	})
	h := newValidator(t).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op, _ := spec.OperationOf(r.Context())
		w.Header().Set("X-Got", op.ID+" "+r.PathValue("payout_link_id"))
	}), spec.MiddlewareOptions{BasePath: "/api", Mux: mux, NotFound: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Got", "not found, allow "+w.Header().Get("Allow"))
	})})
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/api/v2/payout-links/3c90c3cc-0d44-4b50-8888-8dd25736052a", "get-payout-link 3c90c3cc-0d44-4b50-8888-8dd25736052a"},
		{"POST", "/_own/x", "own x"}, // no credentials: not validated
		{"PUT", "/api/v2/payout-links/3c90c3cc-0d44-4b50-8888-8dd25736052a", "not found, allow DELETE, GET, HEAD"},
		{"GET", "/_own/x", "not found, allow POST"},
		{"GET", "/v2/payout-links", "not found, allow "},
		{"GET", "/api/v2/nothing", "not found, allow "},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		r.SetBasicAuth("pk_test_router", "sk_test_router")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("X-Got"); got != tt.want {
			t.Errorf("%s %s went to %q, want %q", tt.method, tt.path, got, tt.want)
		}
	}
}
