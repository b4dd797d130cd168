package dotsvcr_test

import (
	"context"
	"flag"
	"testing"

	"gopkg.in/dnaeon/go-vcr.v4/pkg/recorder"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsvcr"
	"github.com/payoutkit/dots-go/gen"
)

// recordFlag (-record) records the cassettes again, against Dots as the DOTS_* variables say.
var recordFlag = flag.Bool("record", false, "record cassettes against Dots (DOTS_CLIENT_ID, DOTS_API_KEY: sandbox keys)")

// TestCommittedCassette is a test as you would write it: it replays a committed cassette
// (testdata/create-and-get.yaml, recorded against the mock) offline, or records it again with
// -record, and checks what it gets; dotsvcr checks every answer against openapi.yaml, so a
// change to the spec that the recorded answers break fails it.
func TestCommittedCassette(t *testing.T) {
	mode := recorder.ModeReplayOnly
	if *recordFlag {
		mode = recorder.ModeRecordOnly
	}
	rec, err := dotsvcr.New("testdata/create-and-get", mode)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := rec.Stop(); err != nil { // saves the cassette when recording
			t.Error(err)
		}
	})
	var client *api.Client
	if *recordFlag {
		client, err = api.NewClientFromEnv(api.WithHTTPClient(rec.GetDefaultClient()))
	} else {
		client, err = api.NewClient("pk_test_replay", "sk_test_replay", api.WithHTTPClient(rec.GetDefaultClient()))
	}
	if err != nil {
		t.Fatal(err)
	}

	ctx := context.Background()
	link, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{
		Amount:   1250,
		Payee:    gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
		Memo:     api.Ptr("March invoice"),
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := client.GetPayoutLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != link.ID || got.Amount != 1250 || got.Memo != "March invoice" || got.Payee.Email != "" {
		t.Errorf("got %+v, want link %s of 1250 cents, its memo, and no e-mail address", got, link.ID)
	}
}
