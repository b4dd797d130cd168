package mock_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// Example starts an in-memory Dots and creates a payout link with net/http, the request built
// by package gen.
func Example() {
	srv := mock.NewServer()
	defer srv.Close()

	// The server ends in "/": the builder resolves the operation's path against it.
	req, err := gen.NewCreatePayoutLinkRequest(srv.BaseURL()+"/", gen.CreatePayoutLinkRequest{
		Amount:         1250,
		Payee:          gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery:       gen.Delivery{Method: gen.DeliveryMethodEmail},
		IdempotencyKey: api.Ptr("8e4c2a9e-6f1b-4c3a-9d2e-5b7a1f0c3d4e"),
	})
	if err != nil {
		panic(err)
	}
	req.SetBasicAuth("pk_test_example", "sk_test_example")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()

	var link gen.PayoutLink
	if err := json.NewDecoder(resp.Body).Decode(&link); err != nil {
		panic(err)
	}
	fmt.Println(resp.StatusCode, link.Status, link.Amount, srv.LinkCount())
	fmt.Println(len(srv.Violations()), "violations")
	// Output:
	// 201 sent 1250 1
	// 0 violations
}

// ExampleServer_FailNext makes the next create fail with 503 and a Retry-After, as a client's
// retry test would.
func ExampleServer_FailNext() {
	srv := mock.NewServer()
	defer srv.Close()
	srv.FailNext(1, mock.Fault{Status: 503, RetryAfter: "1"})

	for range 2 {
		req, _ := gen.NewCreatePayoutLinkRequest(srv.BaseURL()+"/", gen.CreatePayoutLinkRequest{Amount: 100})
		req.SetBasicAuth("pk_test_example", "sk_test_example")
		resp, err := srv.Client().Do(req)
		if err != nil {
			panic(err)
		}
		resp.Body.Close()
		fmt.Printf("%d Retry-After=%q\n", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for _, r := range srv.Requests() {
		fmt.Println(strings.TrimSpace(fmt.Sprintln(r.Seq, r.Operation, r.Attempt, r.Result(), r.Fault)))
	}
	// Output:
	// 503 Retry-After="1"
	// 201 Retry-After=""
	// 1 create-payout-link 1 503 503; retry-after=1
	// 2 create-payout-link 2 201
}

// ExampleParseFault reads an X-Mock-Fault header value.
func ExampleParseFault() {
	f, err := mock.ParseFault("delay=250ms; 500; apply-first")
	if err != nil {
		panic(err)
	}
	fmt.Println(f.Status, f.ApplyFirst, f.Delay, f.Drop, f.Body)
	fmt.Println(f)
	// Output:
	// 500 true 250ms no-drop intact
	// delay=250ms; 500; apply-first
}

// ExampleWithChaos runs the SDK's client against chaos mode: a fifth of the requests fail in
// one of the ways of ChaosFaults, the same ones for the same seed. A correct client makes one
// link per idempotency key whatever happens, and says "outcome unknown" when it cannot know.
func ExampleWithChaos() {
	srv := mock.NewServer(mock.WithChaos(0.2, 42))
	defer srv.Close()

	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()),
		api.WithLogger(nil), api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 5, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		panic(err)
	}
	for i := range 10 {
		_, key, err := client.CreatePayoutLinkWithKey(context.Background(), gen.CreatePayoutLinkRequest{Amount: dots.Amount(100 + i)})
		if err != nil && !errors.Is(err, api.ErrOutcomeUnknown) {
			fmt.Println("a definite failure:", err)
		}
		_ = key // keep the key with the intent: a retry with it never pays twice
	}
	srv.WaitIdle()
	fmt.Println(srv.LinkCount() <= 10, len(srv.Violations()))
	// Output:
	// true 0
}

// ExampleServer_PayOut moves a link through its life as a test would: created, claimed and
// paid out (Server.Claim, PayOut and Expire, or POST /_mock/payout-links/{id}/claim, /pay-out
// and /expire from any language).
func ExampleServer_PayOut() {
	var events []string
	srv := mock.NewServer(mock.WithEventHook(func(event string, link gen.PayoutLink) {
		events = append(events, event+" "+string(link.Status))
	}))
	defer srv.Close()

	// Any language can start afresh, with the credentials the API takes.
	req, _ := http.NewRequest("POST", srv.URL+"/_mock/reset", nil)
	req.SetBasicAuth("pk_test_example", "sk_test_example")
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	req, _ = gen.NewCreatePayoutLinkRequest(srv.BaseURL()+"/", gen.CreatePayoutLinkRequest{Amount: 500})
	req.SetBasicAuth("pk_test_example", "sk_test_example")
	resp, err = srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	var link gen.PayoutLink
	_ = json.NewDecoder(resp.Body).Decode(&link)
	resp.Body.Close()

	paid, err := srv.PayOut(link.ID)
	if err != nil {
		panic(err)
	}
	srv.WaitEvents()
	fmt.Println(link.Status, "->", paid.Status, paid.TransferID != "")
	fmt.Println(strings.Join(events, ", "))
	// Output:
	// created -> claimed true
	// payout_link.claimed claimed, payout_link.paid_out claimed
}
