package api_test

import (
	"context"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// TestModelsReadLikePlainGo: requests set optional fields with api.Ptr, one amount type goes both
// ways and metadata is a map. (How responses read is TestDecodeWhatTheRealAPISends.)
func TestModelsReadLikePlainGo(t *testing.T) {
	// One amount type both ways, metadata as a literal, optional fields with api.Ptr.
	h, _ := withMock(t)
	c := h.client()
	req := gen.CreatePayoutLinkRequest{
		Amount:    1250,
		Payee:     gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery:  gen.Delivery{Method: gen.DeliveryMethodEmail},
		Metadata:  dots.Metadata{"order_id": "A-1001"},
		TaxExempt: api.Ptr(false), // a pointer sends false, not nothing
	}
	link, err := c.CreatePayoutLink(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	req.Amount = link.Amount
	if req.Amount != 1250 || link.Metadata["order_id"] != "A-1001" {
		t.Fatalf("amount %d metadata %v", req.Amount, link.Metadata)
	}
	if sent := string(h.seen()[0].Body); !strings.Contains(sent, `"tax_exempt":false`) {
		t.Fatalf("sent %s; want tax_exempt false written", sent)
	}
}
