package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/payoutkit/dots-go/gen"
)

// cannedServer answers every create the way a static mock does (Prism serving Dots' spec): 201
// with one canned link, whatever was asked, with edit applied to its JSON. It counts the creates.
func cannedServer(t *testing.T, edit func(map[string]any)) (baseURL string, creates *atomic.Int64) {
	t.Helper()
	b, err := json.Marshal(gen.PayoutLink{
		ID: "497f6eca-6276-4993-bfeb-53cbbbba6f08", Amount: 999, Status: gen.PayoutLinkStatusCreated,
		Link: "https://pay.example.com/497f6eca", Delivery: gen.PayoutLinkDelivery{Method: gen.DeliveryMethodLink},
	})
	if err != nil {
		t.Fatal(err)
	}
	var link map[string]any
	if err := json.Unmarshal(b, &link); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(link)
	}
	creates = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != opCreate.method || r.URL.Path != "/api"+opCreate.path {
			http.NotFound(w, r)
			return
		}
		creates.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(link)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api", creates
}

// TestWarningsAreShown: a create answered with an odd field ("amount": 1250.5) succeeds (exit 0,
// the link on stdout) and says what was odd on stderr.
func TestWarningsAreShown(t *testing.T) {
	base, creates := cannedServer(t, func(l map[string]any) { l["amount"] = 1250.5 })
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": base}
	code, out, errOut := runWith(t, env, "create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email")
	if code != 0 || creates.Load() != 1 {
		t.Fatalf("exit %d after %d creates; stderr:\n%s", code, creates.Load(), errOut)
	}
	if l := decode[gen.PayoutLink](t, out); l.ID != "497f6eca-6276-4993-bfeb-53cbbbba6f08" || l.Link == "" {
		t.Errorf("stdout does not show the link: %s", out)
	}
	if !strings.Contains(errOut, "warning: create-payout-link answer: amount: ") || !strings.Contains(errOut, "1250.5") {
		t.Errorf("stderr does not warn about the amount:\n%s", errOut)
	}
}

// TestCreateAgainstAStaticMock: a static mock answers every create with one canned link of
// another amount. A create without --idempotency-key succeeds (its key was new, so the answer
// cannot be an earlier payout); with a key it is reported as reused, unless --no-reuse-check.
func TestCreateAgainstAStaticMock(t *testing.T) {
	const key = "0b5b4a0e-7c39-4b8e-9f3a-4f7c1b2d9e10"
	create := []string{"create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email"}
	tests := []struct {
		name string
		args []string
		code int
		want string // on stderr
	}{
		{"no key", nil, 0, "idempotency key: "},
		{"no key, --no-reuse-check", []string{"--no-reuse-check"}, 0, "idempotency key: "},
		{"a key", []string{"--idempotency-key", key}, 1, "idempotency key reused"},
		{"a key, --no-reuse-check", []string{"--idempotency-key", key, "--no-reuse-check"}, 0, "idempotency key: " + key},
		{"a key, --no-reuse-check=false", []string{"--idempotency-key", key, "--no-reuse-check=false"}, 1, "idempotency key reused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, creates := cannedServer(t, nil)
			env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": base}
			code, out, errOut := runWith(t, env, append(create, tt.args...)...)
			if code != tt.code || !strings.Contains(errOut, tt.want) || creates.Load() != 1 {
				t.Fatalf("exit %d (want %d) after %d creates; stderr lacks %q:\n%s", code, tt.code, creates.Load(), tt.want, errOut)
			}
			if l := decode[gen.PayoutLink](t, out); l.ID != "497f6eca-6276-4993-bfeb-53cbbbba6f08" || l.Amount != 999 {
				t.Errorf("stdout is not the canned link: %s", out)
			}
		})
	}
}

// TestFlagsAfterTheID: every API command takes its flags after its arguments too, as in
// "get ID --env sandbox"; "--" ends the flags, and a "--" that is a flag's value does not.
func TestFlagsAfterTheID(t *testing.T) {
	tests := []struct {
		name string
		args []string // "ID" is replaced by a link's id
		want func(t *testing.T, out string)
	}{
		{"get ID --env sandbox", []string{"get", "ID", "--env", "sandbox"}, nil},
		{"cancel ID --env sandbox", []string{"cancel", "ID", "--env", "sandbox"}, nil},
		{"redeliver ID --env=sandbox", []string{"redeliver", "ID", "--env=sandbox"}, nil},
		{"get --env sandbox ID", []string{"get", "--env", "sandbox", "ID"}, nil},
		{"get -- ID", []string{"get", "--env", "sandbox", "--", "ID"}, nil},
		{"a flag whose value is --", []string{"create", "--amount", "100", "--method", "link", "--memo", "--", "--description", "x"},
			func(t *testing.T, out string) {
				if l := decode[gen.PayoutLink](t, out); l.Memo != "--" || l.Description != "x" {
					t.Errorf("memo %q, description %q; want \"--\" and \"x\"", l.Memo, l.Description)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "ID" {
					args[i] = c.create("--amount", "1250", "--method", "link").ID
				}
			}
			code, out, errOut := c.run(args...)
			if code != 0 {
				t.Fatalf("exit %d; stderr:\n%s", code, errOut)
			}
			if tt.want != nil {
				tt.want(t, out)
			}
		})
	}
}

// TestHelpPlaceholders: no flag in any command's help shows a Go type (int, string, ...) where
// its value goes; each names what to give (N, CENTS, KEY, ...).
func TestHelpPlaceholders(t *testing.T) {
	goType := regexp.MustCompile(`(?m)^  --[a-z-]+ (int|int64|uint|uint64|float|float64|string|duration|value)$`)
	for _, name := range []string{"", "create", "get", "list", "cancel", "redeliver", "mock", "batch", "version"} {
		code, out, errOut := runWith(t, nil, "help", name)
		if name == "" {
			code, out, errOut = runWith(t, nil, "--help")
		}
		if code != 0 {
			t.Fatalf("help %s: exit %d: %s", name, code, errOut)
		}
		if m := goType.FindAllString(out, -1); len(m) > 0 {
			t.Errorf("help %s shows Go types for values: %q", name, m)
		}
	}
}
