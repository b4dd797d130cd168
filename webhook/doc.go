// Package webhook receives the webhooks Dots sends about payout links.
//
// Dots delivers webhooks through Svix. Every delivery is a POST whose JSON body is signed with
// the endpoint's signing secret (the "whsec_..." string shown in the Dots dashboard): the
// svix-id, svix-timestamp and svix-signature headers carry a message id, the send time in Unix
// seconds, and one or more "v1,<base64>" HMAC-SHA256 signatures of id + "." + timestamp + "." +
// body. The Standard Webhooks names webhook-id, webhook-timestamp and webhook-signature are
// accepted too.
//
// # Receiving
//
// Most programs mount [Handler]: it accepts POST only, caps the body size, checks the signature
// and the timestamp with a [Verifier], decodes the body with [Parse] and calls your function with
// the [Event]. It answers 204 when your function returns nil and 500 (so Svix retries) when it
// returns an error or panics; rejected requests get a 4xx and your function is not called. A
// panic is recovered and the handler goes on serving; with [WithLogger] it is logged with the
// message id, the event type and the panic value's type, and with the value's text only when
// the Go runtime wrote it (a nil dereference, an index out of range): a string or an error your
// function built may hold parts of the body, which is never logged.
//
//	v, err := webhook.NewVerifier(os.Getenv("DOTS_WEBHOOK_SECRET"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	http.Handle("/webhooks/dots", webhook.Handler(v, func(ctx context.Context, ev webhook.Event) error {
//		link, meaning := ev.PayoutLink, ev.Meaning()
//		if meaning == webhook.MeaningUnknown && ev.PayoutLinkID != "" {
//			fetched, err := webhook.FetchLink(ctx, client, ev) // client: an *api.Client
//			if err != nil {
//				return err
//			}
//			link, meaning = fetched, webhook.LinkMeaning(fetched)
//		}
//		if meaning == webhook.MeaningPaidOut {
//			return credit(ctx, link) // once per link.ID and link.TransferID
//		}
//		return nil // sent or claimed: nothing moved yet
//	}))
//
// Svix waits 15 seconds for an answer and delivers a message again when it gets none or a
// non-2xx one, so the same message can arrive more than once: keep the function short (queue slow
// work). Handler drops repeats by message id: it claims the id before calling the function,
// answers a repeat of a handled message 204 without calling it, forgets the id when the function
// fails (so Svix's retry is handled), and answers 409 to a delivery of a message another
// delivery is still handling, so Svix retries it later. By default it remembers the last
// [DefaultDedupSize] handled ids of one process in memory; give [WithDeduplication] a
// [DedupStore] of your own to share them between processes and restarts, or nil to turn it off.
//
// The timestamp is compared with the clock in whole seconds, as Svix's libraries do: a message
// exactly [DefaultTolerance] old or ahead is accepted, one a second more is rejected.
//
// Programs with their own HTTP stack call [Verifier.Verify] with the headers and the raw body
// (the exact bytes received, before any JSON decoding), then [Parse].
//
// # Event types
//
// Dots sends four payout-link events: payout_link.sent, payout_link.claimed and
// payout_link.paid_out carry the payout link object, and payout_link.updated carries only
// {"event": "payout_link.updated", "payout_link_id": "..."} (read the link again to learn what
// changed). The type is taken from the body's "event" field when it has one. Svix does not put
// the event type in a header, so for bodies without an "event" field the type must be known
// from elsewhere: give it to [ParseAs], or to [Handler] with [WithEventType] (for example on an
// endpoint subscribed to one event type only). A body whose type stays unknown (absent or a kind
// this package does not know) is not an error: it is delivered as an Event with only Type, Raw
// and, when the body has a "payout_link_id", PayoutLinkID set, so new kinds Dots adds do not
// break a receiver.
//
// # What an event means
//
// Switch on [Event.Meaning] rather than on event types: payout_link.claimed means the payee took
// the link, not that money moved, and Dots sends payout_link.paid_out on full or partial payment.
// Meaning is [MeaningPaidOut] (money moved, maybe only part of it), [MeaningClaimed],
// [MeaningSent] (nothing moved), [MeaningExpired], [MeaningCanceled], [MeaningFailed] (failed
// or reversed) or [MeaningUnknown]: payout_link.updated and kinds this package does not know
// name the link only, so read it with [FetchLink] (through an *api.Client, or anything with a
// GetPayoutLink method like its) and ask [LinkMeaning]. Credit a pay-out once per link id and transfer
// id: de-duplication by message id does not make the function idempotent, since one pay-out can
// reach you in two messages (paid_out, and an updated whose fetched link has a transfer_id) and a
// store forgets.
//
// # Testing
//
// [Signer] signs bodies the way Svix does, for tests and for mock servers.
package webhook
