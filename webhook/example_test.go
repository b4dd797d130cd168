package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/webhook"
)

// exampleSecret is a fake endpoint secret: "whsec_" + base64("test-secret-not-real-do-not-use-01").
// Real programs read theirs from configuration, never from source.
const exampleSecret = "whsec_dGVzdC1zZWNyZXQtbm90LXJlYWwtZG8tbm90LXVzZS0wMQ=="

// A net/http server receiving Dots webhooks with Handler. The server here is an httptest one
// and the delivery is signed with a Signer, as Svix would sign it.
func ExampleHandler() {
	v, err := webhook.NewVerifier(exampleSecret) // e.g. os.Getenv("DOTS_WEBHOOK_SECRET")
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/webhooks/dots", webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
		switch ev.Type {
		case gen.WebhookEventTypePayoutLinkClaimed, gen.WebhookEventTypePayoutLinkPaidOut,
			gen.WebhookEventTypePayoutLinkSent:
			// A claimed link is not paid yet: ev.Meaning() says what the event means for the money.
			fmt.Printf("%s: link %s, %d cents, meaning %s\n", ev.Type, ev.PayoutLinkID, ev.PayoutLink.Amount, ev.Meaning())
		case gen.WebhookEventTypePayoutLinkUpdated:
			// The body names the link only: read it again with the API client.
			fmt.Printf("%s: re-fetch link %s\n", ev.Type, ev.PayoutLinkID)
		default:
			fmt.Printf("ignoring %q\n", ev.Type) // a kind this program does not handle
		}
		return nil // an error here makes Svix deliver the message again
	}))
	srv := httptest.NewServer(mux) // in production: http.ListenAndServe(":8080", mux)
	defer srv.Close()

	// What Svix sends.
	body := []byte(`{"event":"payout_link.claimed","id":"3c90c3cc-0d44-4b50-8888-8dd25736052a",` +
		`"created":"2024-07-11T12:31:33.479437","amount":5000.0,"status":"claimed","memo":null}`)
	signer, err := webhook.NewSigner(exampleSecret)
	if err != nil {
		log.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/dots", bytes.NewReader(body))
	req.Header = signer.Headers("msg_example_1", time.Now(), body)
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	resp.Body.Close()
	fmt.Println(resp.Status)
	// Output:
	// payout_link.claimed: link 3c90c3cc-0d44-4b50-8888-8dd25736052a, 5000 cents, meaning claimed
	// 204 No Content
}

// Verify and Parse for programs with their own HTTP stack: verify the exact bytes received,
// then decode them.
func ExampleVerifier_Verify() {
	v, err := webhook.NewVerifier(exampleSecret)
	if err != nil {
		log.Fatal(err)
	}
	receive := func(r *http.Request) error {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return err
		}
		if err := v.Verify(r.Header, body); err != nil {
			return err // errors.Is(err, webhook.ErrInvalidSignature), ErrTimestampTooOld, ...
		}
		ev, err := webhook.Parse(body)
		if err != nil {
			return err
		}
		fmt.Println(ev.Type, ev.PayoutLinkID, ev.Known())
		return nil
	}

	body := []byte(`{"event":"payout_link.updated","payout_link_id":"3c90c3cc-0d44-4b50-8888-8dd25736052a"}`)
	signer, _ := webhook.NewSigner(exampleSecret)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/dots", bytes.NewReader(body))
	r.Header = signer.Headers("msg_example_2", time.Now(), body)
	if err := receive(r); err != nil {
		fmt.Println(err)
	}

	// The same delivery with a changed body is refused.
	r = httptest.NewRequest(http.MethodPost, "/webhooks/dots", bytes.NewReader(bytes.ToUpper(body)))
	r.Header = signer.Headers("msg_example_2", time.Now(), body)
	fmt.Println(receive(r))
	// Output:
	// payout_link.updated 3c90c3cc-0d44-4b50-8888-8dd25736052a true
	// webhook: no matching signature
}

// ParseAs gives the type of bodies that do not name it, for an endpoint subscribed to one event
// type. A body's own "event" field wins.
func ExampleParseAs() {
	body := []byte(`{"id":"3c90c3cc-0d44-4b50-8888-8dd25736052a","amount":1250}`)
	ev, err := webhook.ParseAs(gen.WebhookEventTypePayoutLinkSent, body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ev.Type, ev.PayoutLinkID, ev.PayoutLink.Amount)
	// Output: payout_link.sent 3c90c3cc-0d44-4b50-8888-8dd25736052a 1250
}

// Credit a payout once, when money moved: the README's webhook snippet. It runs against the
// mock, which sends signed webhooks as Dots does through Svix. A payout_link.claimed event is no
// payment: only MeaningPaidOut is, and payout_link.updated is read again with FetchLink.
func Example_credit() {
	mux := http.NewServeMux()
	receiver := httptest.NewServer(mux) // in production: http.ListenAndServe(":8080", mux)
	defer receiver.Close()
	srv := mock.NewServer(mock.WithWebhooks(receiver.URL+"/webhooks/dots", exampleSecret))
	defer srv.Close()
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		log.Fatal(err)
	}
	// The program's own bookkeeping.
	credit := func(_ context.Context, link *gen.PayoutLink) error {
		fmt.Println("credit", link.Metadata.Get("order_id"), "transfer", link.TransferID != "")
		return nil
	}
	reopen := func(_ context.Context, link *gen.PayoutLink, m webhook.Meaning) error {
		fmt.Println("reopen", link.Metadata.Get("order_id"), m)
		return nil
	}

	v, err := webhook.NewVerifier(exampleSecret) // os.Getenv("DOTS_WEBHOOK_SECRET")
	if err != nil {
		log.Fatal(err)
	}
	mux.Handle("/webhooks/dots", webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
		link, meaning := ev.PayoutLink, ev.Meaning()
		if meaning == webhook.MeaningUnknown && ev.PayoutLinkID != "" {
			// payout_link.updated names the link only: read it as it is now.
			fetched, err := webhook.FetchLink(ctx, client, ev)
			if err != nil {
				return err // Svix delivers the message again later
			}
			link, meaning = fetched, webhook.LinkMeaning(fetched)
		}
		switch meaning {
		case webhook.MeaningPaidOut:
			// Money moved, maybe only part of it: record it once per link.ID and link.TransferID.
			return credit(ctx, link)
		case webhook.MeaningExpired, webhook.MeaningCanceled, webhook.MeaningFailed:
			return reopen(ctx, link, meaning) // nothing (more) will be paid through this link
		}
		return nil // sent or claimed: nothing moved yet; other kinds: ev.Raw holds the body
	}))

	// At Dots: two links are emailed; the payee of one claims it and is paid, the other expires.
	ctx := context.Background()
	var links []*gen.PayoutLink
	for _, order := range []string{"A-1001", "A-1002"} {
		l, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{
			Amount:   1250,
			Payee:    gen.Payee{Email: api.Ptr("jsmith@example.com")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
			Metadata: dots.Metadata{"order_id": order},
		})
		if err != nil {
			log.Fatal(err)
		}
		links = append(links, l)
	}
	for _, step := range []func(string) (gen.PayoutLink, error){srv.Claim, srv.PayOut} {
		if _, err := step(links[0].ID); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := srv.Expire(links[1].ID); err != nil {
		log.Fatal(err)
	}
	srv.WaitEvents() // every webhook delivered and answered
	for _, d := range srv.Deliveries() {
		fmt.Println(d.Event, d.Status)
	}
	// Output:
	// credit A-1001 transfer true
	// reopen A-1002 expired
	// payout_link.sent 204
	// payout_link.sent 204
	// payout_link.claimed 204
	// payout_link.paid_out 204
	// payout_link.updated 204
}
