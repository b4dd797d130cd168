package api_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// findings collects what report mode hands over.
type findings struct {
	mu  sync.Mutex
	all []api.ContractFinding
}

func (f *findings) add(x api.ContractFinding) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.all = append(f.all, x)
}

func TestContractValidation(t *testing.T) {
	const zoneless = `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","created":"2024-07-11T12:31:33.479437","amount":5000.0,"status":"funds_pending"}`
	const badFormat = `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","claimed_user_id":"not-a-uuid"}`
	get := func(c *api.Client) error { _, err := c.GetPayoutLink(context.Background(), linkID); return err }
	tests := []struct {
		name       string
		mode       api.ContractMode
		status     int
		body       string
		call       func(*api.Client) error
		wantErr    bool   // the call fails with *api.ContractError
		wantDir    string // its direction, or the finding's
		wantPaths  []string
		wantDrift  bool // every violation is known drift
		wantSent   int
		wantReport int
	}{
		{"off ignores drift", api.ContractOff, 200, zoneless, get, false, "", nil, false, 1, 0},
		{"report: known drift goes on", api.ContractReport, 200, zoneless, get, false, "response", []string{"$.amount", "$.created", "$.status"}, true, 1, 1},
		{"report: a real violation goes on", api.ContractReport, 200, badFormat, get, false, "response", []string{"$.claimed_user_id"}, false, 1, 1},
		{"report: error body", api.ContractReport, 404, `{"message":5}`, get, false, "response", []string{"$.message"}, false, 1, 1},
		{"strict: drift is an error", api.ContractStrict, 200, zoneless, get, true, "response", []string{"$.amount", "$.created", "$.status"}, true, 1, 0},
		{"strict: clean traffic passes", api.ContractStrict, 200, linkJSON, get, false, "", nil, false, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []harnessOption{allowDrift, allowMalformed}
			if tt.call != nil && tt.wantDir == "request" {
				opts = append(opts, allowBadRequests) // report mode sends it on purpose
			}
			h := newHarness(t, jsonHandler(tt.status, tt.body), opts...)
			var f findings
			c := h.client(api.WithContractValidation(tt.mode), api.WithContractReporter(f.add))
			err := tt.call(c)
			recordErr(err)
			if h.count() != tt.wantSent {
				t.Fatalf("%d requests sent, want %d", h.count(), tt.wantSent)
			}
			if len(f.all) != tt.wantReport {
				t.Fatalf("%d findings reported, want %d: %+v", len(f.all), tt.wantReport, f.all)
			}
			var violations []string
			var drift bool
			var ce *api.ContractError
			switch {
			case tt.wantErr:
				if !errors.As(err, &ce) {
					t.Fatalf("err = %v, want *api.ContractError", err)
				}
				if ce.Direction != tt.wantDir || ce.Operation == "" {
					t.Fatalf("direction %q operation %q", ce.Direction, ce.Operation)
				}
				for _, v := range ce.Violations {
					violations = append(violations, v.Path)
				}
				drift = api.ContractFinding{Violations: ce.Violations}.OnlyDrift()
				if !strings.Contains(ce.Error(), "breaks the contract") {
					t.Fatalf("Error() = %q", ce.Error())
				}
			case tt.wantReport > 0:
				if tt.status < 300 && err != nil {
					t.Fatalf("report mode failed the call: %v", err)
				}
				if f.all[0].Direction != tt.wantDir {
					t.Fatalf("direction %q", f.all[0].Direction)
				}
				for _, v := range f.all[0].Violations {
					violations = append(violations, v.Path)
				}
				drift = f.all[0].OnlyDrift()
			default:
				var e *api.Error
				if err != nil && !errors.As(err, &e) {
					t.Fatalf("err = %v", err)
				}
			}
			if strings.Join(sortStrings(violations), ",") != strings.Join(tt.wantPaths, ",") {
				t.Fatalf("violations at %v, want %v", violations, tt.wantPaths)
			}
			if len(violations) > 0 && drift != tt.wantDrift {
				t.Fatalf("only drift = %v, want %v", drift, tt.wantDrift)
			}
		})
	}
}

func TestStrictContractErrorCarriesTheKey(t *testing.T) {
	h := newHarness(t, jsonHandler(201, `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","created":"2024-07-11T12:31:33"}`), allowDrift)
	_, key, err := h.client(api.WithContractValidation(api.ContractStrict)).CreatePayoutLinkWithKey(context.Background(), createBody())
	var ce *api.ContractError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if k, ok := api.IdempotencyKeyOf(err); !ok || k != key {
		t.Fatalf("IdempotencyKeyOf = %q %v, want %q", k, ok, key)
	}
	if !errors.Is(err, api.ErrOutcomeUnknown) {
		t.Fatal("a create whose answer breaks the contract may have made a link: its outcome is unknown")
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

// TestGeneratedCallsAreChecked: the input check is the pipeline's, derived from the spec, so a
// generated call that breaks it is refused before sending in every contract mode, as a typed one.
func TestGeneratedCallsAreChecked(t *testing.T) {
	for _, mode := range []api.ContractMode{api.ContractOff, api.ContractReport, api.ContractStrict} {
		h := newHarness(t, jsonHandler(201, linkJSON))
		c := h.client(api.WithContractValidation(mode))
		_, err := c.Generated().CreatePayoutLinkWithResponse(context.Background(), gen.CreatePayoutLinkRequest{Amount: 0})
		recordErr(err)
		var ie *api.InvalidRequestError
		if !errors.As(err, &ie) || ie.Operation != "create-payout-link" {
			t.Fatalf("mode %v: err = %v; want an *api.InvalidRequestError", mode, err)
		}
		if _, ok := ie.Field("amount"); !ok || h.count() != 0 {
			t.Fatalf("mode %v: %v, %d sent; want amount named and nothing sent", mode, err, h.count())
		}
	}
}
