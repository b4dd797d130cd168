// Package ci holds the contract check of the CI kit (github-actions.yml; make contract).
package ci

import (
	"context"
	"errors"
	"flag"
	"maps"
	"os"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// fromEnv lets TestSandboxContract read the DOTS_* variables: make contract sets it, so that a
// plain go test ./... never reaches Dots, whatever the shell has set.
var fromEnv = flag.Bool("contract.env", false, "check against Dots as the DOTS_* variables say (the mock when none is set)")

// TestSandboxContract makes a payout link, reads it, lists links and cancels it, with contract
// validation on: a request or an answer that departs from openapi.yaml fails it, naming the
// field (known drift of the real API is logged). With DOTS_CLIENT_ID and DOTS_API_KEY set it
// runs against Dots, the sandbox unless DOTS_BASE_URL names another server; production is
// refused, since it makes a link. With no DOTS_* variable set at all, or without the flag
// -contract.env, it runs against the mock.
// The link is delivered by "link" to no payee, so nobody is sent anything.
func TestSandboxContract(t *testing.T) {
	lookup := os.LookupEnv
	if !*fromEnv {
		lookup = func(string) (string, bool) { return "", false }
	}
	env, useMock, err := contractEnv(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if useMock {
		srv := mock.NewServer()
		defer srv.Close()
		t.Log("checking the mock (make contract with DOTS_CLIENT_ID and DOTS_API_KEY set checks the sandbox)")
		env.BaseURL = srv.BaseURL()
	}
	client, err := api.NewClient(env.ClientID, env.APIKey, append(env.Options(),
		api.WithContractValidation(api.ContractReport),
		api.WithContractReporter(func(f api.ContractFinding) {
			if f.OnlyDrift() {
				t.Logf("%s %s: known drift: %v", f.Operation, f.Direction, f.Violations)
			} else {
				t.Errorf("%s %s breaks openapi.yaml: %v", f.Operation, f.Direction, f.Violations)
			}
		}))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	made, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{
		Amount:   100,
		Delivery: gen.Delivery{Method: gen.DeliveryMethodLink},
		Memo:     api.Ptr("dots-go contract check"),
		Metadata: dots.Metadata{"source": "dots-go contract check"},
	})
	if err != nil {
		t.Fatal("create:", err)
	}
	t.Logf("made payout link %s against %s", made.ID, client.BaseURL())
	if got, err := client.GetPayoutLink(ctx, made.ID); err != nil {
		t.Error("get:", err)
	} else if got.ID != made.ID {
		t.Errorf("get: id %q, want %q", got.ID, made.ID)
	}
	limit := 1
	if _, err := client.ListPayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: &limit}); err != nil {
		t.Error("list:", err)
	}
	if canceled, err := client.CancelPayoutLink(ctx, made.ID); err != nil {
		t.Error("cancel:", err)
	} else if canceled.Status != gen.PayoutLinkStatusCanceled {
		t.Errorf("cancel: status %q, want %q", canceled.Status, gen.PayoutLinkStatusCanceled)
	}
}

// contractEnv reads where the check runs from the DOTS_* variables (through lookup): the mock
// when none is set (the caller starts it and sets BaseURL), else Dots as api.ReadEnv reads them,
// never production.
func contractEnv(lookup func(string) (string, bool)) (env api.Env, useMock bool, err error) {
	if len(api.EnvSet(lookup)) == 0 {
		return api.Env{ClientID: "pk_test_contract", APIKey: "sk_test_contract", Environment: api.Sandbox}, true, nil
	}
	env, err = api.ReadEnv(lookup)
	if err == nil && (strings.TrimSuffix(env.BaseURL, "/") == api.Production.BaseURL() || env.BaseURL == "" && env.Environment == api.Production) {
		err = errors.New("this check makes a payout link: run it against the sandbox (DOTS_ENV=sandbox), never production")
	}
	return env, false, err
}

// TestContractEnv: the check runs against the mock only when no DOTS_* variable is set, so a
// CI job whose secret is missing fails, naming it; production is refused.
func TestContractEnv(t *testing.T) {
	keys := map[string]string{"DOTS_CLIENT_ID": "pk_test_ci", "DOTS_API_KEY": "sk_test_ci"}
	with := func(extra map[string]string) map[string]string {
		m := maps.Clone(keys)
		maps.Copy(m, extra)
		return m
	}
	tests := []struct {
		name    string
		vars    map[string]string
		useMock bool
		wantErr string // in the error; "" for none
		base    string // the base URL the client gets
	}{
		{"nothing set", nil, true, "", ""},
		{"sandbox keys", keys, false, "", api.Sandbox.BaseURL()},
		{"sandbox asked for", with(map[string]string{"DOTS_ENV": "sandbox"}), false, "", api.Sandbox.BaseURL()},
		{"a local server", with(map[string]string{"DOTS_BASE_URL": "http://127.0.0.1:12111/api"}), false, "", "http://127.0.0.1:12111/api"},
		{"a missing secret", with(map[string]string{"DOTS_API_KEY": ""}), false, "DOTS_API_KEY is set but empty", ""},
		{"no client id", map[string]string{"DOTS_API_KEY": "sk_test_ci"}, false, "DOTS_CLIENT_ID is not set", ""},
		{"production", with(map[string]string{"DOTS_ENV": "production"}), false, "never production", ""},
		{"production's URL", with(map[string]string{"DOTS_BASE_URL": api.Production.BaseURL() + "/"}), false, "never production", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, useMock, err := contractEnv(func(k string) (string, bool) { v, ok := tt.vars[k]; return v, ok })
			if useMock != tt.useMock || (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("mock %v, error %v; want mock %v, error %q", useMock, err, tt.useMock, tt.wantErr)
			}
			if err != nil || useMock {
				return
			}
			client, err := api.NewClient(env.ClientID, env.APIKey, env.Options()...)
			if err != nil {
				t.Fatal(err)
			}
			if client.BaseURL() != tt.base {
				t.Errorf("client on %q, want %q", client.BaseURL(), tt.base)
			}
		})
	}
}
