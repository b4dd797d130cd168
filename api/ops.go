package api

import (
	"bytes"
	"context"
	"errors"
	"iter"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

// NewIdempotencyKey returns a fresh random (version 4) UUID for the idempotency_key of a create.
// Dots keeps keys for 24 hours. Store the key with your payout intent before you call, and reuse
// it for every retry of that intent: a repeat answers with the link the key made.
func NewIdempotencyKey() string { return uuid.NewString() }

// Ptr returns a pointer to v, for the optional fields of a request:
// Memo: api.Ptr("March invoice").
func Ptr[T any](v T) *T { return &v }

// CreatePayoutLink creates a payout link. If body.IdempotencyKey is nil or empty, a fresh key is
// filled in once, before the first attempt, and every retry sends the same bytes with it. A key
// the caller set is never replaced. On failure, IdempotencyKeyOf(err) returns the key; to learn it
// on success too, use CreatePayoutLinkWithKey. Input is checked first: an error names the field,
// and nothing is sent.
func (c *Client) CreatePayoutLink(ctx context.Context, body gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error) {
	link, _, err := c.CreatePayoutLinkWithKey(ctx, body)
	return link, err
}

// CreatePayoutLinkWithKey is CreatePayoutLink that also returns the idempotency key the call
// used, whatever the outcome.
//
// Dots answers a create whose key it knows with the link that key made, even when the rest of
// the body differs. So when the caller supplied the key (a key made by this call is new and
// cannot have been used), the link is compared with the request (see KeyReusedError); on a
// mismatch the link Dots holds for the key comes back together with an error matching
// ErrIdempotencyKeyReused, and nothing new was paid. WithKeyReuseCheck(false) turns the
// comparison off, for a static mock that answers every create with one canned link.
func (c *Client) CreatePayoutLinkWithKey(ctx context.Context, body gen.CreatePayoutLinkRequest) (*gen.PayoutLink, string, error) {
	const op = "create-payout-link"
	// Only a key the caller supplied can have been used before: one made here is new.
	supplied := body.IdempotencyKey != nil && *body.IdempotencyKey != ""
	if !supplied {
		body.IdempotencyKey = Ptr(NewIdempotencyKey())
	}
	key := *body.IdempotencyKey
	if fields := checkCreate(body); len(fields) > 0 {
		return nil, key, &InvalidRequestError{Call: Call{Operation: op, IdempotencyKey: key}, Fields: fields}
	}
	buf, err := codec.Marshal(body)
	if err != nil {
		return nil, key, withKey(err, key)
	}
	link, err := do[gen.PayoutLink](ctx, key, func(ctx context.Context) (*http.Response, error) {
		return c.raw.CreatePayoutLinkWithBody(ctx, "application/json", bytes.NewReader(buf))
	})
	if err != nil {
		return nil, key, withKey(err, key)
	}
	if !supplied || c.noReuseCheck {
		return link, key, nil
	}
	if fields := differences(body, link); len(fields) > 0 {
		return link, key, &KeyReusedError{IdempotencyKey: key, Fields: fields}
	}
	return link, key, nil
}

// differences lists the fields in which a created link departs from the request that made it:
// the amount always, the delivery method and the payee's contact when the request set them and
// the link reports them. Dots answers a known key with the link it made first, whatever the
// body, so a difference means the key was used before for another payout.
func differences(req gen.CreatePayoutLinkRequest, link *gen.PayoutLink) []string {
	var out []string
	if link.Amount != req.Amount {
		out = append(out, "amount")
	}
	if m := link.Delivery.Method; req.Delivery.Method != "" && m != "" && m != req.Delivery.Method {
		out = append(out, "delivery.method")
	}
	for _, f := range []struct {
		name     string
		asked    *string
		answered string
		same     func(a, b string) bool
	}{
		{"payee.email", req.Payee.Email, link.Payee.Email, strings.EqualFold},
		{"payee.country_code", req.Payee.CountryCode, link.Payee.CountryCode, func(a, b string) bool { return a == b }},
		{"payee.phone_number", req.Payee.PhoneNumber, link.Payee.PhoneNumber, func(a, b string) bool { return a == b }},
	} {
		if f.asked != nil && f.answered != "" && !f.same(*f.asked, f.answered) {
			out = append(out, f.name)
		}
	}
	return out
}

// GetPayoutLink reads one payout link.
func (c *Client) GetPayoutLink(ctx context.Context, id string) (*gen.PayoutLink, error) {
	if err := checkID("get-payout-link", id); err != nil {
		return nil, err
	}
	return do[gen.PayoutLink](ctx, "", func(ctx context.Context) (*http.Response, error) { return c.raw.GetPayoutLink(ctx, id) })
}

// ListPayoutLinks reads one page of payout links. params may be nil.
func (c *Client) ListPayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams) (*gen.PayoutLinkList, error) {
	if fields := checkList(params); len(fields) > 0 {
		return nil, &InvalidRequestError{Call: Call{Operation: "list-payout-links"}, Fields: fields}
	}
	return do[gen.PayoutLinkList](ctx, "", func(ctx context.Context) (*http.Response, error) { return c.raw.ListPayoutLinks(ctx, params) })
}

// PayoutLinks walks every payout link from params on (nil is allowed), page by page with
// starting_after, newest first. It stops at the first error, which it yields. Break out of the
// loop to stop early; no further page is read.
func (c *Client) PayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams) iter.Seq2[gen.PayoutLink, error] {
	return func(yield func(gen.PayoutLink, error) bool) {
		var p gen.ListPayoutLinksParams
		if params != nil {
			p = *params
		}
		if p.EndingBefore != nil {
			yield(gen.PayoutLink{}, &InvalidRequestError{Call: Call{Operation: "list-payout-links"},
				Fields: []FieldError{{"ending_before", "PayoutLinks walks forward; use ListPayoutLinks to page backward"}}})
			return
		}
		for {
			page, err := c.ListPayoutLinks(ctx, &p)
			if err != nil {
				yield(gen.PayoutLink{}, err)
				return
			}
			for _, l := range page.Data {
				if !yield(l, nil) {
					return
				}
			}
			if !page.HasMore || len(page.Data) == 0 {
				return
			}
			last := page.Data[len(page.Data)-1].ID
			if last == "" {
				yield(gen.PayoutLink{}, errors.New("dots: list-payout-links: a page says has_more but its last link has no id"))
				return
			}
			p.StartingAfter = &last
		}
	}
}

// CancelPayoutLink cancels a payout link that was not claimed yet and returns it.
func (c *Client) CancelPayoutLink(ctx context.Context, id string) (*gen.PayoutLink, error) {
	if err := checkID("cancel-payout-link", id); err != nil {
		return nil, err
	}
	return do[gen.PayoutLink](ctx, "", func(ctx context.Context) (*http.Response, error) { return c.raw.CancelPayoutLink(ctx, id) })
}

// RedeliverPayoutLink sends a payout link to the payee again. Dots delivers a link at most five
// times; the result says whether this call did. Each call may send a message, so the SDK retries
// it only when it surely was not acted on (a refused connection, or 429).
func (c *Client) RedeliverPayoutLink(ctx context.Context, id string) (*gen.RedeliverPayoutLinkResult, error) {
	if err := checkID("redeliver-payout-link", id); err != nil {
		return nil, err
	}
	return do[gen.RedeliverPayoutLinkResult](ctx, "", func(ctx context.Context) (*http.Response, error) {
		return c.raw.RedeliverPayoutLink(ctx, id)
	})
}

// typedCall is what a typed method tells the pipeline about its request, through the context:
// the idempotency key of a create, and where to decode a success body (the pipeline decodes it
// while it checks it, so the body is read once).
type typedCall struct {
	key     string       // the idempotency key, or ""
	out     any          // a pointer to the zero value the success body decodes into
	claimed bool         // the pipeline took the call up (for the typed method's own request only)
	notes   []codec.Note // what was odd in the success body, read leniently
}

// do sends one typed call with send (a method of the generated client) and returns the value
// its success body decoded into. Every error comes from the pipeline.
func do[T any](ctx context.Context, key string, send func(context.Context) (*http.Response, error)) (*T, error) {
	out := new(T)
	resp, err := send(context.WithValue(ctx, ctxTypedCall, &typedCall{key: key, out: out}))
	if err != nil {
		return nil, err
	}
	_ = resp.Body.Close()
	return out, nil
}

// withKey makes sure err carries the idempotency key of its call.
func withKey(err error, key string) error {
	if k, ok := IdempotencyKeyOf(err); ok && k == key {
		return err
	}
	return &keyedError{key: key, err: err}
}
