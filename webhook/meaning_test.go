package webhook

import (
	"fmt"
	"testing"

	"github.com/payoutkit/dots-go/gen"
)

// linkBody is a payout link with this status and transfer_id ("" leaves them out), as JSON.
func linkBody(status, transfer string) string {
	b := `{"id":"` + linkID + `","amount":5000`
	if status != "" {
		b += `,"status":"` + status + `"`
	}
	if transfer != "" {
		b += `,"transfer_id":"` + transfer + `"`
	}
	return b + `}`
}

const transferID = "9b2f7c1e-4a5d-4e6f-8a7b-1c2d3e4f5a6b"

func TestEventMeaning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		event, status, transfer string
		want                    Meaning
	}{
		// The event type says what happened; a paid_out is money moved whatever the status says.
		{"payout_link.sent", "sent", "", MeaningSent},
		{"payout_link.sent", "delivered", "", MeaningSent},
		{"payout_link.sent", "delivery_failed", "", MeaningSent},
		{"payout_link.sent", "funds_pending", "", MeaningSent}, // a status the spec does not name
		{"payout_link.sent", "", "", MeaningSent},
		{"payout_link.claimed", "claimed", "", MeaningClaimed},
		{"payout_link.claimed", "sent", "", MeaningClaimed}, // the link's status lags: the event wins
		{"payout_link.claimed", "funds_pending", "", MeaningClaimed},
		{"payout_link.paid_out", "claimed", transferID, MeaningPaidOut},
		{"payout_link.paid_out", "claimed", "", MeaningPaidOut},
		{"payout_link.paid_out", "", "", MeaningPaidOut},
		{"payout_link.paid_out", "canceled", "", MeaningPaidOut},
		{"payout_link.paid_out", "reversed", "", MeaningPaidOut},
		// The link the event carries says it went further than the event's type.
		{"payout_link.sent", "claimed", "", MeaningClaimed},
		{"payout_link.sent", "expired", "", MeaningExpired},
		{"payout_link.sent", "canceled", "", MeaningCanceled},
		{"payout_link.claimed", "claimed", transferID, MeaningPaidOut},
		{"payout_link.claimed", "failed", "", MeaningFailed},
		{"payout_link.claimed", "reversed", transferID, MeaningFailed},
		// Nothing to go by but a link id, or nothing at all: fetch the link.
		{"payout_link.updated", "", "", MeaningUnknown},
		{"payout_link.expired", "expired", "", MeaningUnknown}, // a kind this package does not know
		{"transfer.created", "", "", MeaningUnknown},
		{"", "claimed", transferID, MeaningUnknown}, // a body without "event", no type given
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s status=%q transfer=%v", tt.event, tt.status, tt.transfer != "")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := linkBody(tt.status, tt.transfer)
			if tt.event == "payout_link.updated" {
				body = string(testUpdated)
			} else if tt.event != "" {
				body = withEvent(tt.event, body)
			}
			ev, err := Parse([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			if got := ev.Meaning(); got != tt.want {
				t.Errorf("Meaning() = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestLinkMeaning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status   gen.PayoutLinkStatus
		transfer string
		want     Meaning
	}{
		{gen.PayoutLinkStatusCreated, "", MeaningSent},
		{gen.PayoutLinkStatusDeliveryPending, "", MeaningSent},
		{gen.PayoutLinkStatusDeliveryFailed, "", MeaningSent},
		{gen.PayoutLinkStatusSent, "", MeaningSent},
		{gen.PayoutLinkStatusDelivered, "", MeaningSent},
		{gen.PayoutLinkStatusClaimed, "", MeaningClaimed},
		{gen.PayoutLinkStatusExpired, "", MeaningExpired},
		{gen.PayoutLinkStatusCanceled, "", MeaningCanceled},
		{gen.PayoutLinkStatusFailed, "", MeaningFailed},
		{gen.PayoutLinkStatusReversed, "", MeaningFailed},
		{"funds_pending", "", MeaningUnknown}, // not an error: Dots adds statuses
		{"", "", MeaningUnknown},
		// A transfer_id is the transfer that paid the link out (openapi.yaml): money moved, even
		// when the link expired or was canceled after a part was paid, unless the payout failed
		// or was reversed.
		{gen.PayoutLinkStatusClaimed, transferID, MeaningPaidOut},
		{gen.PayoutLinkStatusExpired, transferID, MeaningPaidOut},
		{gen.PayoutLinkStatusCanceled, transferID, MeaningPaidOut},
		{"funds_pending", transferID, MeaningPaidOut},
		{gen.PayoutLinkStatusFailed, transferID, MeaningFailed},
		{gen.PayoutLinkStatusReversed, transferID, MeaningFailed},
	}
	for _, tt := range tests {
		l := &gen.PayoutLink{ID: linkID, Status: tt.status, TransferID: tt.transfer}
		if got := LinkMeaning(l); got != tt.want {
			t.Errorf("LinkMeaning(status %q, transfer %q) = %s, want %s", tt.status, tt.transfer, got, tt.want)
		}
	}
	if got := LinkMeaning(nil); got != MeaningUnknown {
		t.Errorf("LinkMeaning(nil) = %s", got)
	}
	// A status Dots adds later (a value added to openapi.yaml, or one the spec lacks) means
	// "unknown: fetch the link", never money moved: additive changes need no code here.
	for _, st := range []gen.PayoutLinkStatus{"funds_pending", "paid_out_later"} {
		if got := LinkMeaning(&gen.PayoutLink{Status: st}); got != MeaningUnknown {
			t.Errorf("status %q means %v; want unknown", st, got)
		}
	}
}

func TestMeaningString(t *testing.T) {
	t.Parallel()
	want := map[Meaning]string{
		MeaningUnknown: "unknown", MeaningSent: "sent", MeaningClaimed: "claimed", MeaningPaidOut: "paid_out",
		MeaningExpired: "expired", MeaningCanceled: "canceled", MeaningFailed: "failed", Meaning(99): "Meaning(99)",
	}
	for m, s := range want {
		if got := m.String(); got != s {
			t.Errorf("Meaning(%d).String() = %q, want %q", int(m), got, s)
		}
	}
	if got := fmt.Sprint(MeaningPaidOut); got != "paid_out" {
		t.Errorf("fmt.Sprint = %q", got)
	}
}
