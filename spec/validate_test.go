package spec_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/payoutkit/dots-go/spec"
)

func newValidator(t *testing.T) *spec.Spec {
	t.Helper()
	v, err := spec.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRouterMatch(t *testing.T) {
	t.Parallel()
	rt := newValidator(t).Router("/api")
	tests := []struct {
		method, path, wantOp, wantID string
	}{
		{"POST", "/api/v2/payout-links", "create-payout-link", ""},
		{"GET", "/api/v2/payout-links", "list-payout-links", ""},
		{"GET", "/api/v2/payout-links/abc", "get-payout-link", "abc"},
		{"DELETE", "/api/v2/payout-links/a%2Fb", "cancel-payout-link", "a/b"},
		{"GET", "/v2/payout-links/abc", "", ""}, // without the base path
		{"GET", "/api/v2/payout-links/", "", ""},
		{"POST", "/api/v2/payout-links/abc/redeliver", "redeliver-payout-link", "abc"},
		{"PUT", "/api/v2/payout-links", "", ""},
		{"GET", "/api/v3/other", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			t.Parallel()
			op, params, ok := rt.Match(httptest.NewRequest(tt.method, tt.path, nil))
			if tt.wantOp == "" {
				if ok {
					t.Fatalf("matched %s", op.ID)
				}
				return
			}
			if !ok || op.ID != tt.wantOp || params["payout_link_id"] != tt.wantID {
				t.Fatalf("got %v %v %v", op, params, ok)
			}
		})
	}
}

func TestValidatorRequest(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	op, _ := v.Operation("create-payout-link")
	tests := []struct {
		name, auth, body string
		wantPaths        []string
	}{
		{"valid", "Basic cGtfdGVzdF8xOnNrX3Rlc3RfMQ==", `{"amount":1250,"payee":{"email":"a@example.com"},"delivery":{"method":"email"}}`, nil},
		{"no auth", "", `{"amount":1250}`, []string{"header Authorization"}},
		{"amount zero", "Basic cGtfdGVzdF8xOnNrX3Rlc3RfMQ==", `{"amount":0}`, []string{"$.amount"}},
		{"missing amount", "Basic cGtfdGVzdF8xOnNrX3Rlc3RfMQ==", `{}`, []string{"$.amount"}},
		{"unknown field", "Basic cGtfdGVzdF8xOnNrX3Rlc3RfMQ==", `{"amount":1,"foo":1}`, []string{"$"}},
		{"bad uuid and email", "Basic cGtfdGVzdF8xOnNrX3Rlc3RfMQ==", `{"amount":1,"user_id":"x","payee":{"email":"nope"}}`, []string{"$.payee.email", "$.user_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("POST", "/api/v2/payout-links", strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			got := v.ValidateRequest(context.Background(), op, req, nil, []byte(tt.body))
			var paths []string
			for _, g := range got {
				paths = append(paths, g.Path)
			}
			if strings.Join(sortStrings(paths), ",") != strings.Join(tt.wantPaths, ",") {
				t.Fatalf("violations %v, want paths %v", got, tt.wantPaths)
			}
		})
	}
}

func TestValidatorQuery(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	op, _ := v.Operation("list-payout-links")
	tests := []struct{ query, want string }{
		{"limit=10", ""},
		{"limit=0", "query limit"},
		{"limit=101", "query limit"},
		{"limit=ten", "query limit"},
		{"starting_after=abc", "query starting_after"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequest("GET", "/api/v2/payout-links?"+tt.query, nil)
			req.Header.Set("Authorization", "Basic cGtfdGVzdF8xOnNrX3Rlc3RfMQ==")
			got := v.ValidateRequest(context.Background(), op, req, nil, nil)
			if tt.want == "" {
				if len(got) > 0 {
					t.Fatalf("violations %v", got)
				}
				return
			}
			if len(got) != 1 || got[0].Path != tt.want {
				t.Fatalf("violations %v, want one at %q", got, tt.want)
			}
			if strings.Contains(got[0].Message, "ten") {
				t.Fatalf("the message echoes the value: %q", got[0].Message)
			}
		})
	}
}

func TestValidatorResponseDrift(t *testing.T) {
	t.Parallel()
	v := newValidator(t)
	op, _ := v.Operation("get-payout-link")
	req := httptest.NewRequest("GET", "/api/v2/payout-links/3c90c3cc-0d44-4b50-8888-8dd25736052a", nil)
	h := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
	}{
		{"valid", 200, `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","amount":5000,"status":"sent","created":"2024-07-11T12:31:33Z","memo":null,"metadata":null}`, nil},
		{"zone-less created", 200, `{"created":"2024-07-11T12:31:33.479437"}`, []string{"$.created (drift)"}},
		{"float amount", 200, `{"amount":5000.0}`, []string{"$.amount (drift)"}},
		{"new status", 200, `{"status":"funds_pending"}`, []string{"$.status (drift)"}},
		{"wrong type", 200, `{"amount":"lots"}`, []string{"$.amount"}},
		{"every violation, not the first", 200, `{"created":"2024-07-11T12:31:33","status":"funds_pending","amount":5000.0,"claimed_user_id":"x"}`,
			[]string{"$.amount (drift)", "$.claimed_user_id", "$.created (drift)", "$.status (drift)"}},
		{"undocumented status", 302, ``, []string{"status"}},
		{"error body", 404, `{"message":"Not found","error_code":"not-found"}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := v.ValidateResponse(context.Background(), op, req, tt.status, h, []byte(tt.body))
			var paths []string
			for _, g := range got {
				p := g.Path
				if g.Drift {
					p += " (drift)"
				}
				paths = append(paths, p)
			}
			if strings.Join(sortStrings(paths), ",") != strings.Join(tt.want, ",") {
				t.Fatalf("violations %v, want %v", got, tt.want)
			}
		})
	}
}

func sortStrings(s []string) []string {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s
}
