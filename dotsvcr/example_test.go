package dotsvcr_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"gopkg.in/dnaeon/go-vcr.v4/pkg/recorder"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsvcr"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// Record a create into a cassette, then replay it offline. The mock stands in for the sandbox;
// in your tests, record with sandbox keys (api.NewClientFromEnv) and commit the cassette.
func Example() {
	dir, err := os.MkdirTemp("", "cassettes")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	cassette := filepath.Join(dir, "create-payout-link") // saved as create-payout-link.yaml
	ctx := context.Background()
	req := gen.CreatePayoutLinkRequest{
		Amount:   1250,
		Payee:    gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
	}

	// Record: the exchange goes to the server and into the cassette, redacted.
	srv := mock.NewServer()
	rec, err := dotsvcr.New(cassette, recorder.ModeRecordOnly)
	if err != nil {
		log.Fatal(err)
	}
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()),
		api.WithHTTPClient(rec.GetDefaultClient()))
	if err != nil {
		log.Fatal(err)
	}
	recorded, err := client.CreatePayoutLink(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	if err := rec.Stop(); err != nil { // saves the cassette
		log.Fatal(err)
	}
	srv.Close()

	// Replay: no server, no network, any credentials; the answer is checked against the spec.
	rec, err = dotsvcr.New(cassette, recorder.ModeReplayOnly)
	if err != nil {
		log.Fatal(err)
	}
	client, err = api.NewClient("pk_test_replay", "sk_test_replay", api.WithHTTPClient(rec.GetDefaultClient()))
	if err != nil {
		log.Fatal(err)
	}
	link, err := client.CreatePayoutLink(ctx, req)
	if err != nil {
		log.Fatal(err)
	}
	if err := rec.Stop(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(link.ID == recorded.ID, link.Amount, link.Status, link.Payee.Email == "")
	// Output: true 1250 sent true
}
