package webhook

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/payoutkit/dots-go/gen"
)

// Meaning is what an event, or a payout link, says about the money: whether it moved, may still
// move, or never will through this link. Get it with [Event.Meaning] or [LinkMeaning] and switch
// on it, rather than on event types: a payout_link.claimed event does not mean the payee was paid.
//
// Credit a payout only on [MeaningPaidOut], and idempotently: Dots may deliver an event more than
// once and sends payout_link.paid_out for a partial payment too, so record a pay-out once per
// link id and transfer id (transfer_id), never once per event. The link's amount is the amount
// it was made for, which a partial payment does not reach.
type Meaning int

const (
	// MeaningUnknown is the zero Meaning: the event does not say what happened to the money.
	// payout_link.updated names the link only, and an event of a kind this package does not know
	// may be about anything: read the link ([FetchLink]) and ask [LinkMeaning]. For a link, its
	// status is one this package does not know (Dots adds statuses) and it has no transfer_id.
	MeaningUnknown Meaning = iota
	// MeaningSent: the link exists and nothing has moved: it was created, sent or delivered, or
	// its delivery is pending or failed. The payee may still claim it.
	MeaningSent
	// MeaningClaimed: the payee took the link, but money has not necessarily moved; do not
	// credit on it. A payout_link.paid_out event follows when it does.
	MeaningClaimed
	// MeaningPaidOut: money moved to the payee, possibly only part of the link's amount (Dots
	// sends payout_link.paid_out on full or partial payment). Credit it once per link id and
	// transfer id, and treat a repeat as the same pay-out.
	MeaningPaidOut
	// MeaningExpired: the link expired unclaimed; nothing moved and nothing will through it.
	MeaningExpired
	// MeaningCanceled: the link was canceled; nothing moved and nothing will through it.
	MeaningCanceled
	// MeaningFailed: the link's status is failed or reversed: its payout failed, or was
	// reversed after it was made. Look at the link before crediting or paying again.
	MeaningFailed
)

var meaningNames = [...]string{"unknown", "sent", "claimed", "paid_out", "expired", "canceled", "failed"}

// String returns the meaning's name: "unknown", "sent", "claimed", "paid_out", "expired",
// "canceled" or "failed".
func (m Meaning) String() string {
	if m >= 0 && int(m) < len(meaningNames) {
		return meaningNames[m]
	}
	return "Meaning(" + strconv.Itoa(int(m)) + ")"
}

// Meaning says what the event means for the money, from its type and, for the events that
// carry the link (sent, claimed, paid_out), from the link's status and transfer_id:
//
//   - payout_link.paid_out is [MeaningPaidOut], whatever the link it carries says: it is how
//     Dots reports that money moved (maybe only part of it).
//   - payout_link.sent is [MeaningSent] and payout_link.claimed [MeaningClaimed], unless the link
//     says it went further: claimed, paid out (a transfer_id), expired, canceled, failed or
//     reversed (see [LinkMeaning]). A status this package does not know is not an error: the
//     event type decides.
//   - payout_link.updated, other kinds and events whose type is unknown are [MeaningUnknown]:
//     read the link with [FetchLink] and ask [LinkMeaning].
func (e Event) Meaning() Meaning {
	var base Meaning
	switch e.Type {
	case gen.WebhookEventTypePayoutLinkPaidOut:
		return MeaningPaidOut
	case gen.WebhookEventTypePayoutLinkSent:
		base = MeaningSent
	case gen.WebhookEventTypePayoutLinkClaimed:
		base = MeaningClaimed
	default:
		return MeaningUnknown
	}
	switch m := LinkMeaning(e.PayoutLink); m {
	case MeaningUnknown, MeaningSent:
		return base // the link's status lags behind the event, or is one this package does not know
	default:
		return m
	}
}

// LinkMeaning says what a payout link, such as one read with [FetchLink], means for the money:
// [MeaningFailed] for status failed or reversed; else [MeaningPaidOut] when it has a transfer_id
// (the transfer that paid it out, wholly or in part, even if it expired or was canceled
// afterwards); else by status: claimed is [MeaningClaimed], expired [MeaningExpired], canceled
// [MeaningCanceled], created, delivery_pending, delivery_failed, sent and delivered
// [MeaningSent]. A nil link, or a status this package does not know, is [MeaningUnknown].
func LinkMeaning(l *gen.PayoutLink) Meaning {
	if l == nil {
		return MeaningUnknown
	}
	switch l.Status {
	case gen.PayoutLinkStatusFailed, gen.PayoutLinkStatusReversed:
		return MeaningFailed
	}
	if l.TransferID != "" {
		return MeaningPaidOut
	}
	switch l.Status {
	case gen.PayoutLinkStatusClaimed:
		return MeaningClaimed
	case gen.PayoutLinkStatusExpired:
		return MeaningExpired
	case gen.PayoutLinkStatusCanceled:
		return MeaningCanceled
	case gen.PayoutLinkStatusCreated, gen.PayoutLinkStatusDeliveryPending, gen.PayoutLinkStatusDeliveryFailed,
		gen.PayoutLinkStatusSent, gen.PayoutLinkStatusDelivered:
		return MeaningSent
	}
	return MeaningUnknown
}

// ErrNoPayoutLink means an event names no payout link, so FetchLink has nothing to read: the
// event is of another kind, or its body lacks the link's id.
var ErrNoPayoutLink = errors.New("webhook: the event names no payout link")

// LinkGetter reads a payout link by id, taking options of type O. *api.Client is a
// LinkGetter[api.Option] (FetchLink infers O from it); the type parameter keeps this package free
// of the client's.
type LinkGetter[O any] interface {
	GetPayoutLink(ctx context.Context, id string, opts ...O) (*gen.PayoutLink, error)
}

// FetchLink reads the payout link an event is about, as it is now, through g (an *api.Client):
// payout_link.updated names the link only, a link an event carries may be older than its
// latest change (Svix does not keep events in order), and kinds this package does not know
// may name a link by "payout_link_id". Ask [LinkMeaning] what the link means.
//
// An event that names no link (an empty [Event.PayoutLinkID]) gives an error wrapping
// [ErrNoPayoutLink], and nothing is sent; g's errors are wrapped (match them with errors.As,
// for example an *api.Error with StatusCode 404). Returning FetchLink's error from a Handler
// function makes Svix deliver the message again later.
func FetchLink[O any](ctx context.Context, g LinkGetter[O], ev Event) (*gen.PayoutLink, error) {
	if ev.PayoutLinkID == "" {
		return nil, fmt.Errorf("%w (event type %q)", ErrNoPayoutLink, ev.Type)
	}
	l, err := g.GetPayoutLink(ctx, ev.PayoutLinkID)
	if err != nil {
		return nil, fmt.Errorf("webhook: read payout link %s: %w", ev.PayoutLinkID, err)
	}
	return l, nil
}
