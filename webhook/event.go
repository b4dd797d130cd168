package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/payoutkit/dots-go/gen"
)

// ErrInvalidPayload means a webhook body is not a JSON object, or a known event's body does not
// have the shape of that event. Parse's errors wrap it.
var ErrInvalidPayload = errors.New("webhook: invalid payload")

// Event is one decoded webhook delivery.
type Event struct {
	// Type is the kind of event: the body's "event" field when it has one, else the type the
	// caller gave (ParseAs, WithEventType); "" when neither says.
	Type gen.WebhookEventType
	// Raw is the body as received (it shares memory with the slice given to Parse). Decode it
	// yourself for kinds this package does not know.
	Raw []byte
	// PayoutLink is the payout link a payout_link.sent, .claimed or .paid_out event carries;
	// nil for other kinds.
	PayoutLink *gen.PayoutLink
	// PayoutLinkID is the id of the payout link the event is about: the link's id for
	// payout_link.sent, .claimed and .paid_out, and the body's "payout_link_id" string for
	// payout_link.updated and for kinds this package does not know; "" when the body names no
	// payout link. FetchLink reads the link it names.
	PayoutLinkID string
	// MessageID is the webhook message id (the svix-id header) when the event came through
	// Handler; Parse leaves it empty. A message may be delivered more than once with the same id;
	// Handler de-duplicates by it (WithDeduplication).
	MessageID string
}

// Known reports whether the event is of a kind this package decodes; an unknown one has only
// Type, Raw, MessageID and, when the body has a "payout_link_id" string, PayoutLinkID set.
func (e Event) Known() bool { return e.Type.Valid() }

// Parse decodes a webhook body, taking the event type from its "event" field. A body without
// one, or with a kind this package does not know, gives an Event with only Type, Raw and
// PayoutLinkID (from a "payout_link_id" string) set; use ParseAs when the type is known from
// elsewhere. A body that is not a JSON object, or that does not fit its event's shape, is an
// error wrapping [ErrInvalidPayload].
//
// Decoding is tolerant: unknown fields are ignored, null stands for absent, timestamps without
// a zone are read as UTC and whole amounts written as floats (5000.0) are accepted.
func Parse(body []byte) (Event, error) {
	return ParseAs("", body)
}

// ParseAs is Parse for bodies that may lack an "event" field: eventType is used when the body
// does not name its type. When the body has a non-empty "event" string, that wins over
// eventType.
func ParseAs(eventType gen.WebhookEventType, body []byte) (Event, error) {
	ev := Event{Type: eventType, Raw: body}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return ev, fmt.Errorf("%w: not a JSON object", ErrInvalidPayload)
	}
	var head struct {
		Event        json.RawMessage `json:"event"`
		PayoutLinkID json.RawMessage `json:"payout_link_id"`
	}
	if err := json.Unmarshal(body, &head); err != nil {
		return ev, fmt.Errorf("%w: %w", ErrInvalidPayload, err)
	}
	if s, ok := jsonString(head.Event); ok && s != "" {
		ev.Type = gen.WebhookEventType(s)
	}
	ev.PayoutLinkID, _ = jsonString(head.PayoutLinkID) // a kind this package does not know may name a link too
	switch ev.Type {
	case gen.WebhookEventTypePayoutLinkSent, gen.WebhookEventTypePayoutLinkClaimed,
		gen.WebhookEventTypePayoutLinkPaidOut:
		var link gen.PayoutLink
		if err := json.Unmarshal(body, &link); err != nil {
			return ev, fmt.Errorf("%w: %s: %w", ErrInvalidPayload, ev.Type, err)
		}
		ev.PayoutLink = &link
		if link.ID != "" {
			ev.PayoutLinkID = link.ID
		}
	case gen.WebhookEventTypePayoutLinkUpdated:
		// The shape of gen.PayoutLinkUpdatedEvent, read from head so that an "event" field that
		// is not a string is ignored here as it is everywhere else.
		if _, ok := jsonString(head.PayoutLinkID); !ok && len(head.PayoutLinkID) > 0 && string(head.PayoutLinkID) != "null" {
			return ev, fmt.Errorf("%w: %s: payout_link_id is not a string", ErrInvalidPayload, ev.Type)
		}
	}
	return ev, nil
}

// jsonString reads raw as a JSON string; null, absent and other values give ok == false.
func jsonString(raw json.RawMessage) (string, bool) {
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}
