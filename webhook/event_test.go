package webhook

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
)

const linkID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

// factsLink is a payout link as the real API writes it: a zone-less created with microseconds,
// a whole amount written as a float, nulls for absent values, {} metadata, a status the enum
// lacks and fields the spec does not name.
const factsLink = `{
	"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a",
	"created": "2024-07-11T12:31:33.479437",
	"link": "https://my-sandbox.dots.dev/flow/3c90c3cc-0d44-4b50-8888-8dd25736052a",
	"amount": 5000.0,
	"status": "funds_pending",
	"payee": {"first_name": "Jane", "last_name": null, "email": null, "country_code": "1", "phone_number": null},
	"delivery": {"method": "sms", "email": null, "country_code": "1", "phone_number": "2025550139"},
	"tax_exempt": false,
	"claimed_user_id": null,
	"flow_id": null,
	"transfer_id": null,
	"memo": null,
	"description": null,
	"metadata": {},
	"accounting_data": {"quickbooks_account_id": null, "quickbooks_class_id": null},
	"funding_source": "dots_balance",
	"something_new": {"nested": [1, 2, 3]}
}`

// withEvent puts an "event" field first in a JSON object.
func withEvent(event, object string) string {
	return `{"event": "` + event + `",` + strings.TrimPrefix(strings.TrimSpace(object), "{")
}

func TestParseFactsPayload(t *testing.T) {
	t.Parallel()
	ev, err := Parse([]byte(withEvent("payout_link.claimed", factsLink)))
	if err != nil {
		t.Fatal(err)
	}
	if ev.Type != gen.WebhookEventTypePayoutLinkClaimed || !ev.Known() {
		t.Fatalf("Type = %q, Known = %v", ev.Type, ev.Known())
	}
	l := ev.PayoutLink
	if l == nil {
		t.Fatal("PayoutLink is nil")
	}
	if ev.PayoutLinkID != linkID || l.ID != linkID {
		t.Errorf("ids = %q, %q", ev.PayoutLinkID, l.ID)
	}
	if l.Amount != 5000 {
		t.Errorf("Amount = %d", l.Amount)
	}
	if want := time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC); !l.Created.Equal(want) {
		t.Errorf("Created = %v, want %v", l.Created, want)
	}
	if l.Status != "funds_pending" {
		t.Errorf("Status = %q", l.Status)
	}
	if l.ClaimedUserID != "" || l.Memo != "" || l.Payee.Email != "" {
		t.Errorf("nulls do not read as zero: claimed_user_id %q memo %q email %q", l.ClaimedUserID, l.Memo, l.Payee.Email)
	}
	if l.Payee.FirstName != "Jane" {
		t.Errorf("FirstName = %q", l.Payee.FirstName)
	}
	if l.Metadata == nil || len(l.Metadata) != 0 {
		t.Errorf("Metadata = %#v, want empty", l.Metadata)
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	plain := strings.TrimSpace(factsLink)
	tests := []struct {
		name    string
		as      gen.WebhookEventType
		body    string
		want    gen.WebhookEventType
		link    bool   // PayoutLink decoded
		id      string // PayoutLinkID
		wantErr bool
	}{
		{name: "sent", body: withEvent("payout_link.sent", plain), want: gen.WebhookEventTypePayoutLinkSent, link: true, id: linkID},
		{name: "paid out", body: withEvent("payout_link.paid_out", plain), want: gen.WebhookEventTypePayoutLinkPaidOut, link: true, id: linkID},
		{name: "updated", body: string(testUpdated), want: gen.WebhookEventTypePayoutLinkUpdated, id: linkID},
		{name: "updated with extra fields", body: `{"event":"payout_link.updated","payout_link_id":"` + linkID + `","at":null,"x":{}}`,
			want: gen.WebhookEventTypePayoutLinkUpdated, id: linkID},
		{name: "updated with null id", body: `{"event":"payout_link.updated","payout_link_id":null}`, want: gen.WebhookEventTypePayoutLinkUpdated},
		{name: "updated given by caller", as: gen.WebhookEventTypePayoutLinkUpdated, body: `{"payout_link_id":"` + linkID + `"}`,
			want: gen.WebhookEventTypePayoutLinkUpdated, id: linkID},
		{name: "link without event, type given", as: gen.WebhookEventTypePayoutLinkSent, body: plain,
			want: gen.WebhookEventTypePayoutLinkSent, link: true, id: linkID},
		{name: "payload event wins over given type", as: gen.WebhookEventTypePayoutLinkSent,
			body: withEvent("payout_link.claimed", plain), want: gen.WebhookEventTypePayoutLinkClaimed, link: true, id: linkID},
		{name: "payload unknown event wins over given type", as: gen.WebhookEventTypePayoutLinkSent,
			body: withEvent("payout_link.expired", plain), want: "payout_link.expired"},
		{name: "null event uses given type", as: gen.WebhookEventTypePayoutLinkClaimed,
			body: `{"event":null,"id":"` + linkID + `"}`, want: gen.WebhookEventTypePayoutLinkClaimed, link: true, id: linkID},
		{name: "empty event uses given type", as: gen.WebhookEventTypePayoutLinkClaimed,
			body: `{"event":"","id":"` + linkID + `"}`, want: gen.WebhookEventTypePayoutLinkClaimed, link: true, id: linkID},
		{name: "non-string event ignored", as: gen.WebhookEventTypePayoutLinkUpdated,
			body: `{"event":7,"payout_link_id":"` + linkID + `"}`, want: gen.WebhookEventTypePayoutLinkUpdated, id: linkID},
		{name: "link without id takes payout_link_id", body: `{"event":"payout_link.paid_out","payout_link_id":"` + linkID + `"}`,
			want: gen.WebhookEventTypePayoutLinkPaidOut, link: true, id: linkID},
		{name: "empty link object", body: `{"event":"payout_link.sent"}`, want: gen.WebhookEventTypePayoutLinkSent, link: true},
		{name: "unknown event type", body: `{"event":"payout_link.expired","id":"` + linkID + `","amount":"odd"}`, want: "payout_link.expired"},
		{name: "unknown kind naming a link", body: `{"event":"payout_link.reminded","payout_link_id":"` + linkID + `"}`,
			want: "payout_link.reminded", id: linkID},
		{name: "unknown kind, payout_link_id not a string", body: `{"event":"payout_link.reminded","payout_link_id":5}`, want: "payout_link.reminded"},
		{name: "no event, naming a link", body: `{"payout_link_id":"` + linkID + `"}`, want: "", id: linkID},
		{name: "other family", body: `{"event":"transfer.created","data":[1,2]}`, want: "transfer.created"},
		{name: "no event, no type", body: plain, want: ""},
		{name: "empty object", body: `{}`, want: ""},
		{name: "leading whitespace", body: "\n\t " + string(testUpdated), want: gen.WebhookEventTypePayoutLinkUpdated, id: linkID},
		{name: "empty body", body: ``, wantErr: true},
		{name: "truncated JSON", body: `{"event":"payout_link.updated"`, wantErr: true},
		{name: "trailing garbage", body: string(testUpdated) + `x`, wantErr: true},
		{name: "array", body: `[1,2]`, wantErr: true},
		{name: "null", body: `null`, wantErr: true},
		{name: "string", body: `"payout_link.updated"`, wantErr: true},
		{name: "not JSON", body: `event=payout_link.updated`, wantErr: true},
		{name: "fractional cents", body: `{"event":"payout_link.claimed","amount":12.5}`, wantErr: true},
		{name: "bad created", body: `{"event":"payout_link.claimed","created":"last tuesday"}`, wantErr: true},
		{name: "link is not an object", as: gen.WebhookEventTypePayoutLinkClaimed, body: `{"id": 5}`, wantErr: true},
		{name: "updated id not a string", body: `{"event":"payout_link.updated","payout_link_id":5}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev, err := ParseAs(tt.as, []byte(tt.body))
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidPayload) {
					t.Fatalf("ParseAs = %+v, %v; want ErrInvalidPayload", ev, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != tt.want {
				t.Errorf("Type = %q, want %q", ev.Type, tt.want)
			}
			if ev.Known() != tt.want.Valid() {
				t.Errorf("Known = %v", ev.Known())
			}
			if (ev.PayoutLink != nil) != tt.link {
				t.Errorf("PayoutLink = %+v, want decoded %v", ev.PayoutLink, tt.link)
			}
			if ev.PayoutLinkID != tt.id {
				t.Errorf("PayoutLinkID = %q, want %q", ev.PayoutLinkID, tt.id)
			}
			if string(ev.Raw) != tt.body {
				t.Errorf("Raw = %q", ev.Raw)
			}
			if ev.MessageID != "" {
				t.Errorf("MessageID = %q", ev.MessageID)
			}
		})
	}
}

func TestParseIsParseAsEmpty(t *testing.T) {
	t.Parallel()
	a, errA := Parse([]byte(factsLink))
	b, errB := ParseAs("", []byte(factsLink))
	if errA != nil || errB != nil || a.Type != b.Type || a.PayoutLink != nil || b.PayoutLink != nil {
		t.Fatalf("Parse = %+v, %v; ParseAs = %+v, %v", a, errA, b, errB)
	}
}
