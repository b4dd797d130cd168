package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/webhook"
)

// TestFetchLink reads the link behind events through an api.Client against the mock: a
// payout_link.updated names the link only, and FetchLink brings the link as it is now, whose
// LinkMeaning tells what happened.
func TestFetchLink(t *testing.T) {
	t.Parallel()
	srv := mock.NewServer()
	defer srv.Close()
	client, err := api.NewClient("pk_test_webhook_fetch", "sk_test_webhook_fetch", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	newLink := func() *gen.PayoutLink {
		l, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: 1250})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	updated := func(id string) webhook.Event {
		ev, err := webhook.Parse([]byte(`{"event":"payout_link.updated","payout_link_id":"` + id + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		return ev
	}
	paid, expired, fresh := newLink(), newLink(), newLink()
	if _, err := srv.PayOut(paid.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Expire(expired.ID); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		ev   webhook.Event
		id   string
		want webhook.Meaning
	}{
		{"updated, paid out", updated(paid.ID), paid.ID, webhook.MeaningPaidOut},
		{"updated, expired", updated(expired.ID), expired.ID, webhook.MeaningExpired},
		{"updated, still open", updated(fresh.ID), fresh.ID, webhook.MeaningSent},
		// An event carrying an older copy of the link: FetchLink reads it as it is now.
		{"sent, since paid out", webhook.Event{Type: gen.WebhookEventTypePayoutLinkSent, PayoutLink: paid, PayoutLinkID: paid.ID},
			paid.ID, webhook.MeaningPaidOut},
		// A kind this package does not know, naming the link by payout_link_id.
		{"unknown kind", mustParse(t, `{"event":"payout_link.reminded","payout_link_id":"`+fresh.ID+`"}`), fresh.ID, webhook.MeaningSent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := webhook.FetchLink(ctx, client, tt.ev)
			if err != nil {
				t.Fatal(err)
			}
			if l.ID != tt.id {
				t.Errorf("fetched link %s, want %s", l.ID, tt.id)
			}
			if got := webhook.LinkMeaning(l); got != tt.want {
				t.Errorf("LinkMeaning = %s, want %s (status %s, transfer %q)", got, tt.want, l.Status, l.TransferID)
			}
		})
	}

	t.Run("no link named", func(t *testing.T) {
		before := len(srv.Requests())
		for _, body := range []string{`{"event":"transfer.created","id":"x"}`, `{"event":"payout_link.updated"}`, `{"id":"` + fresh.ID + `"}`} {
			l, err := webhook.FetchLink(ctx, client, mustParse(t, body))
			if !errors.Is(err, webhook.ErrNoPayoutLink) || l != nil {
				t.Errorf("%s: %v, %v; want ErrNoPayoutLink", body, l, err)
			}
		}
		if n := len(srv.Requests()) - before; n != 0 {
			t.Errorf("%d requests sent", n)
		}
	})

	t.Run("unknown link", func(t *testing.T) {
		l, err := webhook.FetchLink(ctx, client, updated("3c90c3cc-0d44-4b50-8888-8dd25736052a"))
		var apiErr *api.Error
		if l != nil || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound {
			t.Fatalf("FetchLink = %v, %v; want an *api.Error with 404", l, err)
		}
	})
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func mustParse(t *testing.T, body string) webhook.Event {
	t.Helper()
	ev, err := webhook.Parse([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// The getter is an interface: *api.Client is one, and so is any type with GetPayoutLink.
var _ webhook.LinkGetter[api.Option] = (*api.Client)(nil)
