package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

func TestHeaders(t *testing.T) {
	tests := []struct {
		name      string
		opts      []api.Option
		wantAppID string
		wantUA    string
	}{
		{"defaults", nil, "", "dots-go/" + api.Version},
		{"app id and user agent", []api.Option{api.WithAppID("app_test_42"), api.WithUserAgent("payroll/2.1")}, "app_test_42", "dots-go/" + api.Version + " payroll/2.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(200, linkJSON))
			if _, err := h.client(tt.opts...).GetPayoutLink(context.Background(), linkID); err != nil {
				t.Fatal(err)
			}
			got := h.seen()[0].Header
			// Basic base64("pk_test_harness0001:sk_test_9f3c2a7b1e5d4c8a6b0f"), byte for byte.
			if got.Get("Authorization") != "Basic cGtfdGVzdF9oYXJuZXNzMDAwMTpza190ZXN0XzlmM2MyYTdiMWU1ZDRjOGE2YjBm" {
				t.Error("the Authorization header is not Basic base64(client_id:api_key)")
			}
			if got.Get("Api-App-Id") != tt.wantAppID {
				t.Errorf("Api-App-Id = %q, want %q", got.Get("Api-App-Id"), tt.wantAppID)
			}
			if got.Get("User-Agent") != tt.wantUA {
				t.Errorf("User-Agent = %q, want %q", got.Get("User-Agent"), tt.wantUA)
			}
		})
	}
}

func TestEmptyAPIKeyIsAClientToken(t *testing.T) {
	h := newHarness(t, jsonHandler(200, linkJSON))
	c, err := api.NewClient("pk_test_only", "", api.WithBaseURL(h.baseURL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetPayoutLink(context.Background(), linkID); err != nil {
		t.Fatal(err)
	}
	if got := h.seen()[0].Header.Get("Authorization"); got != "Basic cGtfdGVzdF9vbmx5Og==" { // pk_test_only:
		t.Errorf("Authorization = %q", got)
	}
}

func TestNewClientOptions(t *testing.T) {
	tests := []struct {
		name     string
		id       string
		opts     []api.Option
		wantBase string
		wantErr  string
	}{
		{"sandbox by default", "pk_test_1", nil, "https://api.senddotssandbox.com/api", ""},
		{"production when asked", "pk_test_1", []api.Option{api.WithEnvironment(api.Production)}, "https://api.dots.dev/api", ""},
		{"base URL wins", "pk_test_1", []api.Option{api.WithEnvironment(api.Sandbox), api.WithBaseURL("http://127.0.0.1:9/api")}, "http://127.0.0.1:9/api", ""},
		{"localhost http", "pk_test_1", []api.Option{api.WithBaseURL("http://localhost:9/api")}, "http://localhost:9/api", ""},
		{"ipv6 loopback http", "pk_test_1", []api.Option{api.WithBaseURL("http://[::1]:9/api")}, "http://[::1]:9/api", ""},
		{"empty client id", "", nil, "", "client id"},
		{"plain http elsewhere", "pk_test_1", []api.Option{api.WithBaseURL("http://api.example.com/api")}, "", "loopback"},
		{"credentials in URL", "pk_test_1", []api.Option{api.WithBaseURL("https://u:p@api.example.com/api")}, "", "credentials"},
		{"relative URL", "pk_test_1", []api.Option{api.WithBaseURL("/api")}, "", "absolute"},
		{"key in a URL without host", "pk_test_1", []api.Option{api.WithBaseURL("https://pk_test_1:" + testAPIKey + "@/api")}, "", "credentials"},
		{"key in an unparseable URL", "pk_test_1", []api.Option{api.WithBaseURL("https://pk_test_1:" + testAPIKey + "@api.example.com:port/api")}, "", "credentials"},
		{"key in a loopback URL", "pk_test_1", []api.Option{api.WithBaseURL("http://pk_test_1:" + testAPIKey + "@127.0.0.1:9/api")}, "", "credentials"},
		{"key in a URL with one slash", "pk_test_1", []api.Option{api.WithBaseURL("https:/pk_test_1:" + testAPIKey + "@api.example.com/api")}, "", "credentials"},
		{"key in a URL without a scheme", "pk_test_1", []api.Option{api.WithBaseURL("pk_test_1:" + testAPIKey + "@api.example.com/api")}, "", "credentials"},
		{"key in a URL without a scheme or user", "pk_test_1", []api.Option{api.WithBaseURL(testAPIKey + "@api.example.com")}, "", "credentials"},
		{"key as a URL's password with a bad port", "pk_test_1", []api.Option{api.WithBaseURL("https://pk:" + testAPIKey + "@h:p/api")}, "", "credentials"},
		{"a key-like URL that does not parse", "pk_test_1", []api.Option{api.WithBaseURL("https://" + testAPIKey + ":%zz/api")}, "", "absolute"},
		{"an opaque URL", "pk_test_1", []api.Option{api.WithBaseURL("https:" + testAPIKey)}, "", "absolute"},
		{"unknown environment", "pk_test_1", []api.Option{api.WithEnvironment("staging")}, "", "unknown environment"},
		{"nil http client", "pk_test_1", []api.Option{api.WithHTTPClient(nil)}, "", "nil"},
		{"negative retries", "pk_test_1", []api.Option{api.WithMaxRetries(-1)}, "", "n >= 0"},
		{"bad retry policy", "pk_test_1", []api.Option{api.WithRetryPolicy(api.RetryPolicy{BaseDelay: 2 * time.Second, MaxDelay: time.Second})}, "", "BaseDelay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := api.NewClient(tt.id, testAPIKey, tt.opts...)
			recordErr(err)
			if err != nil && strings.Contains(err.Error(), testAPIKey) {
				t.Fatal("the error repeats the API key it was given in the base URL")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to mention %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.BaseURL() != tt.wantBase {
				t.Fatalf("base = %s, want %s", c.BaseURL(), tt.wantBase)
			}
		})
	}
}

func TestNewClientFromEnv(t *testing.T) {
	// unset marks a variable that is not set at all; "" is set but empty.
	const unset = "\x00unset"
	tests := []struct {
		name, id, key, env, base string
		wantBase, wantErr        string
	}{
		{"sandbox unless asked", "pk_test_1", testAPIKey, unset, unset, "https://api.senddotssandbox.com/api", ""},
		{"production when asked", "pk_test_1", testAPIKey, "production", unset, "https://api.dots.dev/api", ""},
		{"upper case env", "pk_test_1", testAPIKey, "SANDBOX", unset, "https://api.senddotssandbox.com/api", ""},
		{"base URL wins", "pk_test_1", testAPIKey, "production", "http://127.0.0.1:1/api", "http://127.0.0.1:1/api", ""},
		{"no client id", unset, testAPIKey, unset, unset, "", "DOTS_CLIENT_ID is not set"},
		{"no API key", "pk_test_1", unset, unset, unset, "", "DOTS_API_KEY is not set"},
		{"empty client id", "", testAPIKey, unset, unset, "", "DOTS_CLIENT_ID is set but empty"},
		{"empty API key", "pk_test_1", "", unset, unset, "", "DOTS_API_KEY is set but empty"},
		{"blank API key", "pk_test_1", "  ", unset, unset, "", "DOTS_API_KEY is set but empty"},
		{"empty env", "pk_test_1", testAPIKey, "", unset, "", "DOTS_ENV is set but empty"},
		{"empty base URL", "pk_test_1", testAPIKey, unset, "", "", "DOTS_BASE_URL is set but empty"},
		{"bad env", "pk_test_1", testAPIKey, "moon", unset, "", "DOTS_ENV is \"moon\""},
		{"key in the base URL", "pk_test_1", testAPIKey, unset, "https://pk_test_1:" + testAPIKey + "@api.example.com/api", "", "credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars := map[string]string{"DOTS_CLIENT_ID": tt.id, "DOTS_API_KEY": tt.key, "DOTS_ENV": tt.env, "DOTS_BASE_URL": tt.base}
			for k, v := range vars {
				if v == unset {
					// t.Setenv restores the variable afterwards; then unset it for this test.
					t.Setenv(k, "")
					os.Unsetenv(k)
				} else {
					t.Setenv(k, v)
				}
			}
			c, err := api.NewClientFromEnv()
			recordErr(err)
			if err != nil && strings.Contains(err.Error(), testAPIKey) {
				t.Fatal("the error repeats the API key")
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || c.BaseURL() != tt.wantBase {
				t.Fatalf("base = %v, err = %v; want %s", c, err, tt.wantBase)
			}
		})
	}
}

func TestReadEnvNamesWhatIsSet(t *testing.T) {
	lookup := func(vars map[string]string) func(string) (string, bool) {
		return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	}
	if set := api.EnvSet(lookup(nil)); len(set) != 0 {
		t.Fatalf("EnvSet of nothing = %v", set)
	}
	e, err := api.ReadEnv(lookup(map[string]string{"DOTS_API_KEY": testAPIKey, "DOTS_CLIENT_ID": "pk_test_1"}))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"DOTS_CLIENT_ID", "DOTS_API_KEY"}; !slices.Equal(e.Set, want) || e.Environment != api.Sandbox {
		t.Fatalf("Set = %v, environment %s; want %v and the sandbox", e.Set, e.Environment, want)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(verb, e)
		record(out)
		if strings.Contains(out, testAPIKey) {
			t.Fatalf("%s of an Env shows the API key", verb)
		}
	}
	_, err = api.ReadEnv(lookup(map[string]string{"DOTS_CLIENT_ID": ""}))
	var envErr *api.EnvError
	if !errors.As(err, &envErr) || envErr.Var != "DOTS_CLIENT_ID" {
		t.Fatalf("err = %v; want an *api.EnvError naming DOTS_CLIENT_ID", err)
	}
}

func TestClientNeverPrintsCredentials(t *testing.T) {
	c := newTestClient(t, "http://127.0.0.1:1/api")
	g := c.Generated()
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, v := range []any{c, *c, g, g.ClientInterface} {
			out := fmt.Sprintf(verb, v)
			record(out)
			if strings.Contains(out, testAPIKey) || strings.Contains(out, testAuthValue) {
				t.Errorf("fmt %s of %T shows a credential", verb, v)
			}
		}
	}
}

func TestErrorResponses(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		header     []string
		wantCode   string
		wantMsg    string
		wantReqID  string
		wantString string
		unknown    bool
	}{
		{"400 json", 400, `{"success":false,"message":"Invalid phone number","error_code":"invalid-phone-number"}`, []string{"X-Request-Id", "req_123"},
			"invalid-phone-number", "Invalid phone number", "req_123", "dots: 400 invalid-phone-number: Invalid phone number", false},
		{"401 json", 401, `{"message":"Unauthorized"}`, nil, "", "Unauthorized", "", "dots: 401: Unauthorized", false},
		{"404 non-json", 404, `Not Found`, []string{"Content-Type", "text/plain", "Request-Id", "rq-9"}, "", "", "rq-9", "dots: 404 Not Found", false},
		{"409 extra fields", 409, `{"error_code":"invalid-state","message":"Already claimed","detail":{"x":1}}`, nil, "invalid-state", "Already claimed", "", "dots: 409 invalid-state: Already claimed", false},
		{"429 empty body", 429, ``, []string{"Retry-After", "1"}, "", "", "", "dots: 429 Too Many Requests (after 3 attempts)", false},
		{"500 html", 500, `<html>oops</html>`, []string{"Content-Type", "text/html"}, "", "", "", "dots: 500 Internal Server Error (after 3 attempts)", true},
		{"503 json", 503, `{"error_code":"service-unavailable","message":"Try later"}`, nil, "service-unavailable", "Try later", "", "dots: 503 service-unavailable: Try later (after 3 attempts)", true},
		{"400 odd json shape", 400, `{"message":{"nested":true},"error_code":42}`, nil, "42", "", "", "dots: 400 42", false},
		{"400 json array", 400, `["bad"]`, nil, "", "", "", "dots: 400 Bad Request", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(tt.status, tt.body, tt.header...), allowMalformed)
			_, err := h.client().GetPayoutLink(context.Background(), linkID)
			recordErr(err)
			var e *api.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %T %v, want *api.Error", err, err)
			}
			if e.StatusCode != tt.status || e.Code != tt.wantCode || e.Message != tt.wantMsg || e.RequestID != tt.wantReqID {
				t.Errorf("got status %d code %q message %q request id %q", e.StatusCode, e.Code, e.Message, e.RequestID)
			}
			if string(e.Body) != tt.body {
				t.Errorf("body = %q, want %q", e.Body, tt.body)
			}
			if e.Error() != tt.wantString {
				t.Errorf("Error() = %q, want %q", e.Error(), tt.wantString)
			}
			if errors.Is(err, api.ErrOutcomeUnknown) != tt.unknown {
				t.Errorf("outcome unknown = %v, want %v", !tt.unknown, tt.unknown)
			}
			if e.Operation != "get-payout-link" || e.Attempts != h.count() {
				t.Errorf("operation %q attempts %d, server saw %d", e.Operation, e.Attempts, h.count())
			}
		})
	}
}

func TestErrorBodyIsCapped(t *testing.T) {
	big := `{"message":"` + strings.Repeat("x", 20000) + `"}`
	h := newHarness(t, jsonHandler(400, big))
	_, err := h.client().GetPayoutLink(context.Background(), linkID)
	var e *api.Error
	if !errors.As(err, &e) || len(e.Body) != 8<<10 {
		t.Fatalf("err = %v, body %d bytes", err != nil, len(e.Body))
	}
}

// FACTS.md's sample of what the real API sends: zone-less created, 5000.0, nulls, {} metadata,
// a status the spec does not list, and a field nobody documented.
const realWorldLink = `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","created":"2024-07-11T12:31:33.479437",
"amount":5000.0,"status":"funds_pending","claimed_user_id":null,"memo":null,"metadata":{},
"payee":{"first_name":null,"last_name":null,"email":null,"country_code":"1","phone_number":"2025550139"},
"delivery":{"method":"sms","email":null,"country_code":"1","phone_number":"2025550139"},
"link":"https://my.dots.dev/flow/3c90c3cc-0d44-4b50-8888-8dd25736052a","brand_new_field":{"a":[1,2]},
"transfer_id":null,"flow_id":null,"description":null,"accounting_data":{"quickbooks_account_id":null}}`

func TestDecodeWhatTheRealAPISends(t *testing.T) {
	tests := []struct {
		name  string
		body  string
		check func(t *testing.T, l *gen.PayoutLink)
		// offSpec marks bodies that break the spec beyond the known drift on purpose.
		offSpec bool
	}{
		{"FACTS sample", realWorldLink, func(t *testing.T, l *gen.PayoutLink) {
			if l.Amount != 5000 {
				t.Errorf("amount = %d", l.Amount)
			}
			if want := time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC); !l.Created.Equal(want) {
				t.Errorf("created = %v", l.Created)
			}
			if l.Status != "funds_pending" || l.Status.Valid() {
				t.Errorf("status = %q valid=%v; want an unknown value that decodes", l.Status, l.Status.Valid())
			}
			if l.ClaimedUserID != "" || l.Memo != "" || l.Payee.Email != "" || l.Description != "" || l.AccountingData.QuickbooksAccountID != 0 {
				t.Error("nulls should read as zero values")
			}
			if l.Payee.CountryCode != "1" || l.Delivery.PhoneNumber != "2025550139" || l.Delivery.Method != gen.DeliveryMethodSms {
				t.Errorf("payee %+v, delivery %+v", l.Payee, l.Delivery)
			}
			if l.Metadata == nil || len(l.Metadata) != 0 {
				t.Errorf("metadata = %#v; want an empty object", l.Metadata)
			}
		}, false},
		{"RFC 3339 and string metadata", `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","created":"2023-11-07T05:31:56Z","amount":123,"status":"sent","metadata":"A-1001"}`, func(t *testing.T, l *gen.PayoutLink) {
			if !l.Created.Equal(time.Date(2023, 11, 7, 5, 31, 56, 0, time.UTC)) || l.Amount != 123 || !l.Status.Valid() {
				t.Errorf("got %+v", l)
			}
			if l.Metadata.Text() != "A-1001" {
				t.Errorf("metadata = %#v", l.Metadata)
			}
		}, false},
		{"absent reads as zero, nested objects too", `{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a"}`, func(t *testing.T, l *gen.PayoutLink) {
			if l.Memo != "" || l.Metadata != nil || l.Payee.Email != "" || l.Delivery.Method != "" || l.TaxExempt {
				t.Errorf("got %+v", l)
			}
		}, false},
		{"every field", linkJSON, func(t *testing.T, l *gen.PayoutLink) {
			var memo string = l.Memo // plain values, assignable as they are
			var email string = l.Payee.Email
			var exempt bool = l.TaxExempt
			if memo != "March invoice" || email != "jsmith@example.com" || exempt || l.Metadata["order_id"] != "A-1001" {
				t.Errorf("memo %q email %q tax_exempt %v metadata %v", memo, email, exempt, l.Metadata)
			}
			out := fmt.Sprintf("%v", *l)
			for _, want := range []string{"March invoice", "jsmith@example.com", "1250", "order_id:A-1001", "2024-07-11 12:31:33.479437 +0000 UTC"} {
				if !strings.Contains(out, want) {
					t.Errorf("%%v shows %s; want it to show %q", out, want)
				}
			}
			if strings.Contains(out, "map[false:") || strings.Contains(out, "map[true:") {
				t.Errorf("%%v shows optional-value maps: %s", out)
			}
		}, false},
		{"nested objects left out", `{"id":"` + linkID + `","amount":5}`, func(t *testing.T, l *gen.PayoutLink) {
			if l.Payee.Email != "" || l.Delivery.Method != "" || l.AccountingData.QuickbooksAccountID != 0 || l.Metadata["x"] != nil {
				t.Errorf("got %+v", l)
			}
		}, false},
		{"nested objects null", `{"id":"` + linkID + `","payee":null,"delivery":null,"metadata":null,"memo":null}`, func(t *testing.T, l *gen.PayoutLink) {
			if l.Payee.Email != "" || l.Delivery.Email != "" || l.Metadata != nil || l.Memo != "" {
				t.Errorf("got %+v", l)
			}
		}, true},
		{"everything null", `{"id":null,"created":null,"amount":null,"status":null,"payee":null,"delivery":null,"link":null}`, func(t *testing.T, l *gen.PayoutLink) {
			if l.ID != "" || !l.Created.IsZero() || l.Amount != 0 || l.Payee != (gen.PayoutLinkPayee{}) {
				t.Errorf("got %+v", l)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := []harnessOption{allowDrift}
			if tt.offSpec {
				opts = append(opts, allowMalformed)
			}
			h := newHarness(t, jsonHandler(200, tt.body), opts...)
			l, err := h.client().GetPayoutLink(context.Background(), linkID)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, l)
		})
	}
}

func TestBadInputSendsNothing(t *testing.T) {
	valid := func() gen.CreatePayoutLinkRequest {
		return gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}
	}
	step := func(name gen.StepName) gen.AdditionalStep {
		var s gen.AdditionalStep
		_ = s.FromStepName(name)
		return s
	}
	stepOpts := func(o gen.AdditionalStepOptions) gen.AdditionalStep {
		var s gen.AdditionalStep
		_ = s.FromAdditionalStepOptions(o)
		return s
	}
	type call func(c *api.Client) error
	create := func(mod func(b *gen.CreatePayoutLinkRequest)) call {
		return func(c *api.Client) error {
			b := valid()
			mod(&b)
			_, err := c.CreatePayoutLink(context.Background(), b)
			return err
		}
	}
	list := func(p gen.ListPayoutLinksParams) call {
		return func(c *api.Client) error { _, err := c.ListPayoutLinks(context.Background(), &p); return err }
	}
	tests := []struct {
		name      string
		call      call
		wantField string
		wantText  string
	}{
		{"amount zero", create(func(b *gen.CreatePayoutLinkRequest) { b.Amount = 0 }), "amount", "amount: number must be at least 1"},
		{"amount negative", create(func(b *gen.CreatePayoutLinkRequest) { b.Amount = -5 }), "amount", "at least 1"},
		{"user id not a uuid", create(func(b *gen.CreatePayoutLinkRequest) { b.UserID = api.Ptr("user-1") }), "user_id", "UUID"},
		{"user id uuid without dashes", create(func(b *gen.CreatePayoutLinkRequest) { b.UserID = api.Ptr("3c90c3cc0d444b5088888dd25736052a") }), "user_id", "UUID"},
		{"idempotency key not a uuid", create(func(b *gen.CreatePayoutLinkRequest) { b.IdempotencyKey = api.Ptr("abc") }), "idempotency_key", "UUID"},
		{"payee email no at", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("jsmith.example.com") }), "payee.email", "email"},
		{"payee email no domain dot", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("jsmith@localhost") }), "payee.email", "email"},
		{"payee email with name", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("Jane <j@example.com>") }), "payee.email", "email"},
		{"payee email empty", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("") }), "payee.email", "email"},
		{"payee email two ats", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("j@s@example.com") }), "payee.email", "email"},
		{"payee email list", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("a@example.com,b@example.com") }), "payee.email", "email"},
		{"payee email domain dot first", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("j@.example.com") }), "payee.email", "email"},
		{"payee email domain dot last", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("j@example.com.") }), "payee.email", "email"},
		{"payee email nothing before at", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.Email = api.Ptr("@example.com") }), "payee.email", "email"},
		{"country code with plus", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.CountryCode = api.Ptr("+1") }), "payee.country_code", "regular expression"},
		{"country code too long", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.CountryCode = api.Ptr("12345") }), "payee.country_code", "regular expression"},
		{"phone with dashes", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.PhoneNumber = api.Ptr("202-555-0139") }), "payee.phone_number", "regular expression"},
		{"phone too short", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee.PhoneNumber = api.Ptr("12") }), "payee.phone_number", "regular expression"},
		{"unknown delivery method", create(func(b *gen.CreatePayoutLinkRequest) { b.Delivery.Method = "pigeon" }), "delivery.method", `"sms","link","email","all"`},
		{"sms without phone", create(func(b *gen.CreatePayoutLinkRequest) { b.Delivery.Method = gen.DeliveryMethodSms }), "payee.phone_number", "needs payee.country_code"},
		{"sms without country code", create(func(b *gen.CreatePayoutLinkRequest) {
			b.Delivery.Method = gen.DeliveryMethodSms
			b.Payee.PhoneNumber = api.Ptr("2025550139")
		}), "payee.phone_number", "needs payee.country_code"},
		{"email without email", create(func(b *gen.CreatePayoutLinkRequest) { b.Payee = gen.Payee{} }), "payee.email", "needs payee.email"},
		{"unknown fee party", create(func(b *gen.CreatePayoutLinkRequest) {
			b.PayoutFeeParty = gen.PayoutFeeParty("nobody")
		}), "payout_fee_party", `"user","platform"`},
		{"unknown funding source", create(func(b *gen.CreatePayoutLinkRequest) { b.FundingSource = "cash" }), "funding_source", `"dots_balance","ach"`},
		{"unknown step name", create(func(b *gen.CreatePayoutLinkRequest) { b.AdditionalSteps = []gen.AdditionalStep{step("dance")} }), "additional_steps[0]", `"compliance"`},
		{"repeated step", create(func(b *gen.CreatePayoutLinkRequest) {
			b.AdditionalSteps = []gen.AdditionalStep{step(gen.StepNameCompliance), step(gen.StepNameCompliance)}
		}), "additional_steps", "duplicate"},
		{"empty step", create(func(b *gen.CreatePayoutLinkRequest) { b.AdditionalSteps = []gen.AdditionalStep{{}} }), "additional_steps[0]", "allowed values"},
		{"step object unknown name", create(func(b *gen.CreatePayoutLinkRequest) {
			b.AdditionalSteps = []gen.AdditionalStep{stepOpts(gen.AdditionalStepOptions{Name: "dance"})}
		}), "additional_steps[0].name", `"redirect"`},
		{"step redirect not absolute", create(func(b *gen.CreatePayoutLinkRequest) {
			b.AdditionalSteps = []gen.AdditionalStep{stepOpts(gen.AdditionalStepOptions{Name: gen.StepNameRedirect, RedirectURL: api.Ptr("/thanks")})}
		}), "additional_steps[0].redirect_url", "absolute URL"},
		{"metadata empty key", create(func(b *gen.CreatePayoutLinkRequest) { b.Metadata = dots.Metadata{"": "x", "a": "b"} }), "metadata", "empty"},
		{"limit zero", list(gen.ListPayoutLinksParams{Limit: api.Ptr(0)}), "limit", "at least 1"},
		{"limit 101", list(gen.ListPayoutLinksParams{Limit: api.Ptr(101)}), "limit", "at most 100"},
		{"cursor not a uuid", list(gen.ListPayoutLinksParams{StartingAfter: api.Ptr("abc")}), "starting_after", "UUID"},
		{"both cursors", list(gen.ListPayoutLinksParams{StartingAfter: api.Ptr(linkID), EndingBefore: api.Ptr(linkID)}), "ending_before", "together"},
		{"get empty id", func(c *api.Client) error { _, err := c.GetPayoutLink(context.Background(), ""); return err }, "payout_link_id", "required"},
		{"cancel empty id", func(c *api.Client) error { _, err := c.CancelPayoutLink(context.Background(), ""); return err }, "payout_link_id", "required"},
		{"redeliver empty id", func(c *api.Client) error { _, err := c.RedeliverPayoutLink(context.Background(), ""); return err }, "payout_link_id", "required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, jsonHandler(201, linkJSON))
			err := tt.call(h.client())
			recordErr(err)
			var ie *api.InvalidRequestError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *api.InvalidRequestError", err)
			}
			f, ok := ie.Field(tt.wantField)
			if !ok {
				t.Fatalf("no problem named %q in %v", tt.wantField, err)
			}
			if !strings.Contains(f.Error(), tt.wantText) || !strings.Contains(err.Error(), f.Error()) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
			if n := h.count(); n != 0 {
				t.Fatalf("%d requests were sent for bad input", n)
			}
		})
	}
}

func TestValidInputPasses(t *testing.T) {
	var steps []gen.AdditionalStep
	var s1, s2 gen.AdditionalStep
	_ = s1.FromStepName(gen.StepNameCompliance)
	_ = s2.FromAdditionalStepOptions(gen.AdditionalStepOptions{Name: gen.StepNameRedirect, RedirectURL: api.Ptr("https://example.com/done")})
	steps = append(steps, s1, s2)
	body := gen.CreatePayoutLinkRequest{
		Amount: 1250, UserID: api.Ptr("3c90c3cc-0d44-4b50-8888-8dd25736052a"),
		Payee:           gen.Payee{CountryCode: api.Ptr("1"), PhoneNumber: api.Ptr("2025550139"), Email: api.Ptr("jsmith@example.com")},
		Delivery:        gen.Delivery{Method: gen.DeliveryMethodSms, Message: api.Ptr("Your payout")},
		Metadata:        dots.Metadata{"order": "A-1"},
		PayoutFeeParty:  gen.PayoutFeePartyPlatform,
		AdditionalSteps: steps, FundingSource: gen.FundingSourceAch,
		AccountingData: gen.AccountingData{QuickbooksAccountID: api.Ptr(dots.Int(42))},
	}
	h, _ := withMock(t) // answers what was asked, so the key-reuse check passes
	if _, err := h.client().CreatePayoutLink(context.Background(), body); err != nil {
		t.Fatal(err)
	}
	if h.count() != 1 {
		t.Fatalf("sent %d requests", h.count())
	}
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	// The other host is no Dots server, so it is a plain recorder rather than a harness.
	var got []http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Clone())
		jsonHandler(200, linkJSON).ServeHTTP(w, r)
	}))
	defer other.Close()
	h := newHarness(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}), allowMalformed)
	_, err := h.client(api.WithAppID("app_test_1")).GetPayoutLink(context.Background(), linkID)
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusTemporaryRedirect || errors.Is(err, api.ErrOutcomeUnknown) {
		t.Fatalf("err = %v; want the 307 as a definite *api.Error", err)
	}
	if len(got) != 0 {
		t.Fatalf("the other host saw %d requests", len(got))
	}
}

// jsonEscape is s as encoding/json writes it inside a string, without the quotes.
func jsonEscape(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// TestEchoedCredentialsAreRedacted: an answer that echoes the request (a proxy's error page, a
// debugging endpoint) carries no credential, in any encoding, into what the SDK keeps or prints:
// *Error's Body, Message and RequestID, the error's text, and the log line.
func TestEchoedCredentialsAreRedacted(t *testing.T) {
	const key = "sk_test_a/b+c=d&e f" // every character URL and JSON escaping change
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk_test_echo:"+key))
	forms := map[string]func(string) string{
		"as sent":            func(s string) string { return s },
		"query-escaped":      url.QueryEscape,
		"path-escaped":       url.PathEscape,
		"escaped, lowercase": func(s string) string { return strings.ToLower(url.QueryEscape(s)) },
		"JSON-escaped":       jsonEscape,
		"JSON-escaped slash": func(s string) string { return strings.ReplaceAll(jsonEscape(s), "/", `\/`) },
	}
	for name, form := range forms {
		t.Run(name, func(t *testing.T) {
			echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				auth := r.Header.Get("Authorization")
				w.Header().Set("X-Request-Id", "req_"+form(key))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusBadRequest)
				// The forms are written into the body as they are: each is valid inside a JSON string.
				_, _ = w.Write([]byte(`{"message":"proxy refused: Authorization: ` + form(auth) + ` key ` + form(key) + `"}`))
			})
			h := newHarness(t, echo, allowMalformed)
			var logged bytes.Buffer
			c, err := api.NewClient("pk_test_echo", key, api.WithBaseURL(h.baseURL()),
				api.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))), api.WithMaxRetries(0))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.GetPayoutLink(context.Background(), linkID)
			var e *api.Error
			if !errors.As(err, &e) || e.StatusCode != 400 {
				t.Fatalf("err = %v", err)
			}
			for what, text := range map[string]string{"Body": string(e.Body), "Message": e.Message, "RequestID": e.RequestID,
				"Error()": err.Error(), "%+v": fmt.Sprintf("%+v", e), "log": logged.String()} {
				for _, secret := range []string{key, basic[len("Basic "):]} {
					for _, f := range forms {
						if strings.Contains(strings.ToLower(text), strings.ToLower(f(secret))) {
							t.Errorf("%s keeps a credential the answer echoed", what)
						}
					}
				}
			}
			if !strings.HasPrefix(strings.ToLower(e.Message), "proxy refused: authorization: basic") || !strings.Contains(e.Message, "[redacted]") || e.RequestID != "req_[redacted]" {
				t.Fatalf("message %q, request id %q; want the echo kept, with the credential redacted", e.Message, e.RequestID)
			}
		})
	}
}

// TestNewClientDoesNotParseTheSpec: parsing openapi.yaml allocates about a megabyte, so the
// first NewClient of a process, with validation off, must allocate far less. It runs in a
// process of its own (this test binary again), where nothing has parsed the spec yet.
func TestNewClientDoesNotParseTheSpec(t *testing.T) {
	if os.Getenv("DOTS_TEST_FIRST_NEWCLIENT") == "1" {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := api.NewClient("pk_test_1", testAPIKey, api.WithBaseURL("http://127.0.0.1:1/api"))
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Printf("allocated %d bytes\n", after.TotalAlloc-before.TotalAlloc)
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNewClientDoesNotParseTheSpec$", "-test.count=1")
	cmd.Env = append(os.Environ(), "DOTS_TEST_FIRST_NEWCLIENT=1")
	out, err := cmd.CombinedOutput()
	i := bytes.Index(out, []byte("allocated "))
	if err != nil || i < 0 {
		t.Fatalf("%v\n%s", err, out)
	}
	var n uint64
	if _, err := fmt.Sscanf(string(out[i:]), "allocated %d bytes", &n); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	const max = 100 << 10
	if n > max {
		t.Fatalf("the first NewClient allocated %d bytes; want at most %d (the spec is parsed on first use, not here)", n, max)
	}
	t.Logf("the first NewClient allocated %d bytes", n)
}
