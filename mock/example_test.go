package mock_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// Example starts an in-memory Dots and creates a payout link with plain net/http.
func Example() {
	srv := mock.NewServer()
	defer srv.Close()

	body := `{
		"amount": 1250,
		"payee": {"email": "jsmith@example.com"},
		"delivery": {"method": "email"},
		"idempotency_key": "8e4c2a9e-6f1b-4c3a-9d2e-5b7a1f0c3d4e"
	}`
	req, err := http.NewRequest("POST", srv.BaseURL()+"/v2/payout-links", strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	req.Header.Set("Content-Type", "application/json")
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
		req, _ := http.NewRequest("POST", srv.BaseURL()+"/v2/payout-links", strings.NewReader(`{"amount":100}`))
		req.Header.Set("Content-Type", "application/json")
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
