package api_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// Create a payout link and deliver it by email. The mock server stands in for Dots here; in
// production, use api.NewClientFromEnv() or api.NewClient with your keys.
func ExampleClient_CreatePayoutLink() {
	srv := mock.NewServer()
	defer srv.Close()
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		log.Fatal(err)
	}

	link, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{
		Amount:   1250, // $12.50, in cents
		Payee:    gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
		Memo:     api.Ptr("March invoice"),
	})
	var apiErr *api.Error
	switch {
	case errors.As(err, &apiErr):
		log.Fatalf("Dots refused: %d %s (request id %s)", apiErr.StatusCode, apiErr.Code, apiErr.RequestID)
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println(link.Amount, link.Status)
	// Output: 1250 sent
}

// Store the idempotency key with your payout intent before calling, and retry with it after
// any failure: a repeat answers with the link the key made instead of paying twice.
func ExampleIdempotencyKeyOf() {
	srv := mock.NewServer()
	defer srv.Close()
	client, _ := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()), api.WithMaxRetries(0))

	// The network drops the answer after Dots made the link.
	srv.FailNext(1, mock.Fault{Drop: mock.DropAfterApply})
	intent := gen.CreatePayoutLinkRequest{Amount: 5000, Delivery: gen.Delivery{Method: gen.DeliveryMethodLink}}
	_, err := client.CreatePayoutLink(context.Background(), intent)
	if errors.Is(err, api.ErrOutcomeUnknown) {
		key, _ := api.IdempotencyKeyOf(err)
		intent.IdempotencyKey = api.Ptr(key)
		link, err := client.CreatePayoutLink(context.Background(), intent)
		fmt.Println(err == nil, link.Amount, srv.LinkCount())
	}
	// Output: true 5000 1
}

// Walk every payout link, page by page.
func ExampleClient_PayoutLinks() {
	srv := mock.NewServer()
	defer srv.Close()
	client, _ := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()))
	for i := 1; i <= 3; i++ {
		_, _ = client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: dots.Amount(i * 100)})
	}

	limit := 2
	for link, err := range client.PayoutLinks(context.Background(), &gen.ListPayoutLinksParams{Limit: &limit}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(link.Amount)
	}
	// Output:
	// 300
	// 200
	// 100
}

// Validate real traffic against openapi.yaml in CI: report mode lets calls go on and hands every
// departure to a callback; strict mode makes them errors.
func ExampleWithContractValidation() {
	srv := mock.NewServer()
	defer srv.Close()
	client, _ := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()),
		api.WithContractValidation(api.ContractReport),
		api.WithContractReporter(func(f api.ContractFinding) {
			fmt.Printf("%s %s: %v (only known drift: %v)\n", f.Operation, f.Direction, f.Violations, f.OnlyDrift())
		}))
	_, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 100})
	fmt.Println("error:", err)
	// Output: error: <nil>
}

// TestContractValidationInCI is the README's contract-validation snippet, run against the mock
// (in a real CI job, DOTS_ENV=sandbox and sandbox keys come from the CI's secrets).
func TestContractValidationInCI(t *testing.T) {
	srv := mock.NewServer()
	defer srv.Close()
	t.Setenv("DOTS_CLIENT_ID", "pk_test_ci")
	t.Setenv("DOTS_API_KEY", "sk_test_ci")
	t.Setenv("DOTS_BASE_URL", srv.BaseURL())

	client, err := api.NewClientFromEnv( // DOTS_ENV=sandbox and sandbox keys in CI secrets
		api.WithContractValidation(api.ContractReport), // or api.ContractStrict
		api.WithContractReporter(func(f api.ContractFinding) {
			if !f.OnlyDrift() {
				t.Errorf("%s %s breaks openapi.yaml: %v", f.Operation, f.Direction, f.Violations)
			}
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 100}); err != nil {
		t.Fatal(err)
	}
}

// Log every attempt of every call, retries included, with a middleware. Log what identifies the
// request, never its headers: they carry the Authorization header.
func ExampleWithMiddleware_logging() {
	srv := mock.NewServer()
	defer srv.Close()
	logger := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: withoutTime}))

	logAttempts := func(req *http.Request, next api.Next) (*http.Response, error) {
		resp, err := next(req)
		if err != nil {
			logger.Warn("dots attempt failed", "method", req.Method, "path", req.URL.Path, "error", err)
			return nil, err
		}
		logger.Info("dots attempt", "method", req.Method, "path", req.URL.Path, "status", resp.StatusCode)
		return resp, nil
	}
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()),
		api.WithMiddleware(logAttempts), api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}

	srv.FailNext(1, mock.Fault{Status: 503}) // the first attempt meets an outage
	_, err = client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250})
	fmt.Println("error:", err)
	// Output:
	// level=INFO msg="dots attempt" method=POST path=/api/v2/payout-links status=503
	// level=INFO msg="dots attempt" method=POST path=/api/v2/payout-links status=201
	// error: <nil>
}

// withoutTime drops the time from log lines, so that the examples' output is stable.
func withoutTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}

// Sign every attempt with an HMAC of its method, path and body, as a gateway in front of Dots
// may require. Each attempt has its own copy of the request to change; GetBody gives its body.
func ExampleWithMiddleware_signing() {
	srv := mock.NewServer()
	defer srv.Close()
	signingKey := []byte("gw_test_signing_key") // from your secret store
	sign := func(req *http.Request, next api.Next) (*http.Response, error) {
		mac := hmac.New(sha256.New, signingKey)
		mac.Write([]byte(req.Method + " " + req.URL.Path + "\n"))
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			if _, err := io.Copy(mac, body); err != nil {
				return nil, err
			}
		}
		req.Header.Set("X-Gateway-Signature", hex.EncodeToString(mac.Sum(nil)))
		return next(req)
	}
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()), api.WithMiddleware(sign))
	if err != nil {
		log.Fatal(err)
	}

	var resp *http.Response
	link, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250}, api.WithResponseInto(&resp))
	fmt.Println(err, link.Amount, len(resp.Request.Header.Get("X-Gateway-Signature")))
	// Output: <nil> 1250 64
}

// Give one call its own options: the idempotency key of your payout intent, a retry policy, a
// header, and the raw response (its status and request id) when the call succeeds.
func ExampleWithIdempotencyKey() {
	srv := mock.NewServer()
	defer srv.Close()
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		log.Fatal(err)
	}

	key := api.NewIdempotencyKey() // stored with the payout intent before the call
	var resp *http.Response
	link, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250},
		api.WithIdempotencyKey(key),
		api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 5, BaseDelay: time.Second}),
		api.WithHeader("X-Payout-Batch", "2026-03"),
		api.WithResponseInto(&resp),
	)
	if err != nil {
		log.Fatalf("payout %s: %v", key, err) // retry later with the same key
	}
	stored, _ := srv.LinkByIdempotencyKey(key)
	fmt.Println(link.ID == stored.ID, resp.StatusCode, resp.Header.Get("Request-Id") != "")
	// Output: true 201 true
}

// An option given where it cannot apply is refused, naming the option, and nothing is sent.
func ExampleOption() {
	client, err := api.NewClient("pk_test_example", "sk_test_example")
	if err != nil {
		log.Fatal(err)
	}
	_, err = client.GetPayoutLink(context.Background(), "3c90c3cc-0d44-4b50-8888-8dd25736052a", api.WithBaseURL("https://example.com/api"))
	fmt.Println(err)
	_, err = api.NewClient("pk_test_example", "sk_test_example", api.WithIdempotencyKey(api.NewIdempotencyKey()))
	fmt.Println(err)
	// Output:
	// dots: invalid get-payout-link request: WithBaseURL: applies to NewClient only, not to one call
	// dots: WithIdempotencyKey: applies to one call only, not to NewClient
}

// Take the credentials from a secret store for each call: a rotated key is used from the next
// call on, with no new client. The store here is an atomic value; in production it may be a
// vault client with a cache.
func ExampleWithCredentialSource() {
	srv := mock.NewServer(mock.WithCredentials("pk_test_example", "sk_test_rotated"))
	defer srv.Close()
	var apiKey atomic.Pointer[string]
	apiKey.Store(api.Ptr("sk_test_before_rotation"))
	source := func(ctx context.Context) (clientID, key string, err error) {
		return "pk_test_example", *apiKey.Load(), nil
	}
	client, err := api.NewClient("", "", api.WithBaseURL(srv.BaseURL()), api.WithCredentialSource(source))
	if err != nil {
		log.Fatal(err)
	}

	_, err = client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250})
	var apiErr *api.Error
	fmt.Println(errors.As(err, &apiErr) && apiErr.StatusCode == 401)
	apiKey.Store(api.Ptr("sk_test_rotated")) // the store rotates the key
	_, err = client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250})
	fmt.Println(err)
	// Output:
	// true
	// <nil>
}

// Observe every call, for metrics or tracing: the hook starts when the call does and hands back
// the context the call goes on with; the function it returns ends the call, with its attempts and
// error. Package dotsotel builds OpenTelemetry spans and metrics this way.
func ExampleWithCallHook() {
	srv := mock.NewServer()
	defer srv.Close()
	hook := func(ctx context.Context, call api.CallInfo) (context.Context, func(int, error)) {
		start := time.Now()
		return ctx, func(attempts int, err error) {
			outcome := "ok"
			switch {
			case errors.Is(err, api.ErrOutcomeUnknown):
				outcome = "unknown" // may have been acted on: look it up or retry with its key
			case err != nil:
				outcome = "refused"
			}
			_ = time.Since(start) // record it in your latency histogram
			fmt.Println(call.Operation, call.Method, call.Path, attempts, outcome)
		}
	}
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()),
		api.WithCallHook(hook), api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond}))
	if err != nil {
		log.Fatal(err)
	}

	srv.FailNext(1, mock.Fault{Status: 503})
	link, _ := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250})
	_, _ = client.GetPayoutLink(context.Background(), link.ID)
	// Output:
	// create-payout-link POST /v2/payout-links 2 ok
	// get-payout-link GET /v2/payout-links/{payout_link_id} 1 ok
}
