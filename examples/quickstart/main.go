// Command quickstart pays someone with a Dots payout link and says what happened, handling each
// kind of failure as a payments program must. It is the README's quickstart, compiled and run by
// the tests against the mock server.
//
//	DOTS_CLIENT_ID=pk_... DOTS_API_KEY=sk_... DOTS_ENV=sandbox go run ./examples/quickstart
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

func main() {
	if err := run(context.Background(), os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer) error {
	client, err := api.NewClientFromEnv() // DOTS_CLIENT_ID, DOTS_API_KEY; the sandbox unless DOTS_ENV=production
	if err != nil {
		return err
	}
	// Make the key first and store it with your payout intent: after a crash, retry with it.
	key := api.NewIdempotencyKey()
	link, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{
		Amount:         1250, // cents: $12.50
		Payee:          gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery:       gen.Delivery{Method: gen.DeliveryMethodEmail},
		Memo:           api.Ptr("March invoice"),
		Metadata:       dots.Metadata{"invoice": "2026-03"},
		IdempotencyKey: api.Ptr(key),
	})
	var apiErr *api.Error
	switch {
	case err == nil:
		fmt.Fprintln(out, "paid:", link.ID, link.Link, link.Status, link.Amount, link.Payee.Email, link.Metadata["invoice"])
		return nil
	case errors.Is(err, api.ErrOutcomeUnknown):
		// Check this first. Dots may have made the link: never start a new intent. Retry with
		// the same key (within 24 hours it answers with the link the key made, if any), or look
		// the link up. errors.As still reaches the last answer, if there was one.
		return fmt.Errorf("outcome unknown: retry with idempotency key %s: %w", key, err)
	case errors.Is(err, api.ErrIdempotencyKeyReused):
		// The key made another payout earlier; link is that one, and nothing new was paid.
		return fmt.Errorf("key %s already paid link %s: %w", key, link.ID, err)
	case errors.As(err, &apiErr):
		// Dots refused, and nothing was paid: apiErr.StatusCode, apiErr.Code, apiErr.Message,
		// apiErr.RequestID (quote it to Dots support).
		return fmt.Errorf("refused (request id %s): %w", apiErr.RequestID, err)
	default:
		// Bad input (*api.InvalidRequestError names the field) or no connection: nothing was sent.
		return err
	}
}
