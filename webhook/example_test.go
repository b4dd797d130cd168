package webhook_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/payoutkit/dots-go/gen"
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
			fmt.Printf("%s: link %s, %d cents\n", ev.Type, ev.PayoutLinkID, ev.PayoutLink.Amount)
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
	// payout_link.claimed: link 3c90c3cc-0d44-4b50-8888-8dd25736052a, 5000 cents
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

// markPaid and refresh stand for a program's own bookkeeping in Example_mount.
func markPaid(ctx context.Context, linkID string, amount int64) error { return nil }
func refresh(ctx context.Context, linkID string) error                { return nil }

// Mount the handler on a program's own mux: the README's webhook snippet.
func Example_mount() {
	v, err := webhook.NewVerifier(os.Getenv("DOTS_WEBHOOK_SECRET"))
	if err != nil {
		log.Fatal(err)
	}
	http.Handle("/webhooks/dots", webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
		switch ev.Type {
		case gen.WebhookEventTypePayoutLinkClaimed, gen.WebhookEventTypePayoutLinkPaidOut:
			return markPaid(ctx, ev.PayoutLinkID, int64(ev.PayoutLink.Amount))
		case gen.WebhookEventTypePayoutLinkUpdated:
			return refresh(ctx, ev.PayoutLinkID) // the body names the link only: read it again
		}
		return nil // other or future kinds: ev.Raw holds the body
	}))
	log.Fatal(http.ListenAndServe("127.0.0.1:8080", nil))
}
