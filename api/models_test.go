package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// TestModelsReadLikePlainGo: response fields are plain values (null and absent read as zero,
// nested objects included), requests set optional fields with api.Ptr, one amount type goes both
// ways, metadata is a map, and %v prints what a person can read.
func TestModelsReadLikePlainGo(t *testing.T) {
	tests := []struct {
		name, body string
		check      func(t *testing.T, l *gen.PayoutLink)
		offSpec    bool // the spec allows no null payee or delivery, but they must read safely too
	}{
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
			if l.Payee.Email != "" || l.Delivery.Method != "" || l.AccountingData.QuickbooksAccountID != 0 || l.Metadata["x"] != "" {
				t.Errorf("got %+v", l)
			}
		}, false},
		{"nested objects null", `{"id":"` + linkID + `","payee":null,"delivery":null,"metadata":null,"memo":null}`, func(t *testing.T, l *gen.PayoutLink) {
			if l.Payee.Email != "" || l.Delivery.Email != "" || l.Metadata != nil || l.Memo != "" {
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
