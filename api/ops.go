package api

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/payoutkit/dots-go/gen"
)

// PayoutLinks is what *Client's typed methods do, as an interface: take it where your code calls
// Dots, and test that code with a fake that records calls (package dotsfake). The recommended
// double is still a real *Client on the in-process mock (package mock), which runs the whole
// pipeline against a server that behaves as Dots does.
type PayoutLinks interface {
	CreatePayoutLink(ctx context.Context, body gen.CreatePayoutLinkRequest, opts ...Option) (*gen.PayoutLink, error)
	CreatePayoutLinkWithKey(ctx context.Context, body gen.CreatePayoutLinkRequest, opts ...Option) (*gen.PayoutLink, string, error)
	GetPayoutLink(ctx context.Context, id string, opts ...Option) (*gen.PayoutLink, error)
	ListPayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams, opts ...Option) (*gen.PayoutLinkList, error)
	PayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams, opts ...Option) iter.Seq2[gen.PayoutLink, error]
	CancelPayoutLink(ctx context.Context, id string, opts ...Option) (*gen.PayoutLink, error)
	RedeliverPayoutLink(ctx context.Context, id string, opts ...Option) (*gen.RedeliverPayoutLinkResult, error)
}

var _ PayoutLinks = (*Client)(nil)

// NewIdempotencyKey returns a fresh random (version 4) UUID for the idempotency_key of a create.
// Dots keeps keys for 24 hours. Store the key with your payout intent before you call, and reuse
// it for every retry of that intent: a repeat answers with the link the key made.
func NewIdempotencyKey() string { return uuid.NewString() }

// Ptr returns a pointer to v, for the optional fields of a request:
// Memo: api.Ptr("March invoice").
func Ptr[T any](v T) *T { return &v }

// CreatePayoutLink creates a payout link. If body.IdempotencyKey is nil or empty, a fresh key is
// filled in once, before the first attempt, and every retry sends the same bytes with it. A key
// the caller set, in the body or with WithIdempotencyKey, is never replaced. On failure,
// IdempotencyKeyOf(err) returns the key; to learn it on success too, use CreatePayoutLinkWithKey.
// Input is checked first: an error names the field, and nothing is sent.
func (c *Client) CreatePayoutLink(ctx context.Context, body gen.CreatePayoutLinkRequest, opts ...Option) (*gen.PayoutLink, error) {
	link, _, err := c.CreatePayoutLinkWithKey(ctx, body, opts...)
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
func (c *Client) CreatePayoutLinkWithKey(ctx context.Context, body gen.CreatePayoutLinkRequest, opts ...Option) (*gen.PayoutLink, string, error) {
	s, err := c.pipe.callSettings(ctx, opCreate, opts)
	if s != nil && s.key != nil {
		if k := body.IdempotencyKey; k != nil && *k != "" && *k != *s.key {
			err = &InvalidRequestError{Call: Call{Operation: opCreate.id},
				Fields: []FieldError{{"idempotency_key", "differs from the key of WithIdempotencyKey; give one key"}}}
		} else {
			body.IdempotencyKey = s.key
		}
	}
	// Only a key the caller supplied can have been used before: one made here is new.
	supplied := body.IdempotencyKey != nil && *body.IdempotencyKey != ""
	if !supplied {
		body.IdempotencyKey = Ptr(NewIdempotencyKey())
	}
	key := *body.IdempotencyKey
	if ire, ok := err.(*InvalidRequestError); ok { // callSettings' and the key conflict's
		ire.IdempotencyKey = key
		return nil, key, ire
	}
	req, buf, err := checkCreate(ctx, c.server, body)
	if err != nil {
		return nil, key, withKey(err, key)
	}
	link := new(gen.PayoutLink)
	if _, err := c.pipe.send(req, &call{op: opCreate, key: key, body: buf, out: link, checked: true, set: s}); err != nil {
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
// the amount always, the delivery method and the payee's contact (in any case) when the request
// set them and the link reports them. Dots answers a known key with the link it made first,
// whatever the body, so a difference means the key was used before for another payout.
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
	}{
		{"payee.email", req.Payee.Email, link.Payee.Email},
		{"payee.country_code", req.Payee.CountryCode, link.Payee.CountryCode},
		{"payee.phone_number", req.Payee.PhoneNumber, link.Payee.PhoneNumber},
	} {
		if f.asked != nil && f.answered != "" && !strings.EqualFold(*f.asked, f.answered) { // an email's case, a country code's
			out = append(out, f.name)
		}
	}
	return out
}

// The operations the typed methods call: the spec's operationIds and path templates, which
// TestTypedOperationsAreTheSpecs holds to openapi.yaml.
var (
	opCreate    = operation{id: "create-payout-link", path: "/v2/payout-links", keyed: true, successBody: true}
	opList      = operation{id: "list-payout-links", path: "/v2/payout-links", successBody: true}
	opGet       = operation{id: "get-payout-link", path: "/v2/payout-links/{payout_link_id}", successBody: true}
	opCancel    = operation{id: "cancel-payout-link", path: "/v2/payout-links/{payout_link_id}", successBody: true}
	opRedeliver = operation{id: "redeliver-payout-link", path: "/v2/payout-links/{payout_link_id}/redeliver", successBody: true}
)

// GetPayoutLink reads one payout link.
func (c *Client) GetPayoutLink(ctx context.Context, id string, opts ...Option) (*gen.PayoutLink, error) {
	return byID[gen.PayoutLink](ctx, c, opGet, id, gen.NewGetPayoutLinkRequest, opts)
}

// ListPayoutLinks reads one page of payout links. params may be nil.
func (c *Client) ListPayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams, opts ...Option) (*gen.PayoutLinkList, error) {
	if params != nil && params.StartingAfter != nil && params.EndingBefore != nil {
		return nil, &InvalidRequestError{Call: Call{Operation: opList.id},
			Fields: []FieldError{{"ending_before", "cannot be set together with starting_after"}}}
	}
	req, err := gen.NewListPayoutLinksRequest(c.server, params)
	return typed[gen.PayoutLinkList](ctx, c, opList, req, err, nil, opts)
}

// PayoutLinks walks every payout link from params on (nil is allowed), page by page with
// starting_after, newest first. It stops at the first error, which it yields. Break out of the
// loop to stop early; no further page is read.
func (c *Client) PayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams, opts ...Option) iter.Seq2[gen.PayoutLink, error] {
	return func(yield func(gen.PayoutLink, error) bool) {
		var p gen.ListPayoutLinksParams
		if params != nil {
			p = *params
		}
		var err error
		if p.EndingBefore != nil {
			err = &InvalidRequestError{Call: Call{Operation: opList.id},
				Fields: []FieldError{{"ending_before", "PayoutLinks walks forward; use ListPayoutLinks to page backward"}}}
		}
		for err == nil {
			var page *gen.PayoutLinkList
			if page, err = c.ListPayoutLinks(ctx, &p, opts...); err != nil {
				break
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
				err = errors.New("dots: list-payout-links: a page says has_more but its last link has no id")
			}
			p.StartingAfter = &last
		}
		yield(gen.PayoutLink{}, err)
	}
}

// CancelPayoutLink cancels a payout link that was not claimed yet and returns it.
func (c *Client) CancelPayoutLink(ctx context.Context, id string, opts ...Option) (*gen.PayoutLink, error) {
	return byID[gen.PayoutLink](ctx, c, opCancel, id, gen.NewCancelPayoutLinkRequest, opts)
}

// RedeliverPayoutLink sends a payout link to the payee again. Dots delivers a link at most five
// times; the result says whether this call did. Each call may send a message, so the SDK retries
// it only when it surely was not acted on (a refused connection, or 429).
func (c *Client) RedeliverPayoutLink(ctx context.Context, id string, opts ...Option) (*gen.RedeliverPayoutLinkResult, error) {
	return byID[gen.RedeliverPayoutLinkResult](ctx, c, opRedeliver, id, gen.NewRedeliverPayoutLinkRequest, opts)
}

// byID sends a call on one payout link, whose request build makes, and decodes its answer.
func byID[T any](ctx context.Context, c *Client, op operation, id string, build func(server, id string) (*http.Request, error), opts []Option) (*T, error) {
	req, err := build(c.server, id)
	return typed[T](ctx, c, op, req, err, map[string]string{"payout_link_id": id}, opts)
}

// typed sends the call of a typed method and decodes its answer; err is the error of building
// its request.
func typed[T any](ctx context.Context, c *Client, op operation, req *http.Request, err error, params map[string]string, opts []Option) (*T, error) {
	if err != nil {
		return nil, fmt.Errorf("dots: %s: %w", op.id, err)
	}
	out := new(T)
	if _, err := c.pipe.send(req.WithContext(ctx), &call{op: op, params: params, out: out, opts: opts}); err != nil {
		return nil, err
	}
	return out, nil
}

// withKey makes sure err carries the idempotency key of its call.
func withKey(err error, key string) error {
	if k, ok := IdempotencyKeyOf(err); ok && k == key {
		return err
	}
	return &keyedError{key: key, err: err}
}
