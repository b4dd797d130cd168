package mock_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/webhook"
)

func TestWebhooksEndToEnd(t *testing.T) {
	t.Parallel()
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("mock-webhook-test-secret-not-real"))
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []webhook.Event
	receiver := httptest.NewServer(webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, ev)
		return nil
	}))
	defer receiver.Close()

	srv := newServer(t, mock.WithWebhooks(receiver.URL, secret))
	newLink := func(method gen.DeliveryMethod) string {
		t.Helper()
		return create(t, srv, gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
			Delivery: gen.Delivery{Method: method}}).ID
	}
	sent := newLink(gen.DeliveryMethodEmail)
	quiet := newLink(gen.DeliveryMethodLink) // delivers nothing, so no sent event
	// The claim trigger is not in the spec: its path is written out.
	if r := send(t, srv, "POST", "@/_mock/payout-links/"+sent+"/claim", nil); r.status != http.StatusOK {
		t.Fatalf("claim: %d %s", r.status, r.body)
	}
	if r := call(t, srv, route(gen.NewCancelPayoutLinkRequest(genBase, quiet)), nil); r.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	srv.WaitEvents()

	want := []struct {
		typ gen.WebhookEventType
		id  string
	}{
		{gen.WebhookEventTypePayoutLinkSent, sent},
		{gen.WebhookEventTypePayoutLinkClaimed, sent},
		{gen.WebhookEventTypePayoutLinkUpdated, quiet},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("the receiver got %d events, want %d: %+v", len(got), len(want), srv.Deliveries())
	}
	for i, w := range want {
		if got[i].Type != w.typ || got[i].PayoutLinkID != w.id || got[i].MessageID == "" {
			t.Errorf("event %d = %s %s, want %s %s", i, got[i].Type, got[i].PayoutLinkID, w.typ, w.id)
		}
	}
	if got[1].PayoutLink == nil || got[1].PayoutLink.Status != gen.PayoutLinkStatusClaimed {
		t.Errorf("the claimed event does not carry the claimed link: %+v", got[1].PayoutLink)
	}
	for _, d := range srv.Deliveries() {
		if d.Status != http.StatusNoContent || d.Err != "" {
			t.Errorf("delivery %+v", d)
		}
	}
}

func TestWebhooksWithAWrongSecretAreRefused(t *testing.T) {
	t.Parallel()
	good := "whsec_" + base64.StdEncoding.EncodeToString([]byte("receiver-secret-not-real-000"))
	bad := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another-secret-not-real-0000"))
	v, _ := webhook.NewVerifier(good)
	calls := 0
	receiver := httptest.NewServer(webhook.Handler(v, func(context.Context, webhook.Event) error { calls++; return nil }))
	defer receiver.Close()
	srv := newServer(t, mock.WithWebhooks(receiver.URL, bad))
	create(t, srv, gen.CreatePayoutLinkRequest{Amount: 5, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}})
	srv.WaitEvents()
	d := srv.Deliveries()
	if len(d) != 1 || d[0].Status != http.StatusBadRequest || calls != 0 {
		t.Fatalf("deliveries %+v, handler calls %d", d, calls)
	}
}
