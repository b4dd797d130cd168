package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"

	"github.com/google/uuid"
	"github.com/oapi-codegen/nullable"
	"github.com/payoutkit/dots-go/gen"
)

// NewIdempotencyKey returns a fresh random (version 4) UUID for the idempotency_key of a create.
// Dots keeps keys for 24 hours. Store the key with your payout intent before you call, and reuse
// it for every retry of that intent: a repeat answers with the link the key made.
func NewIdempotencyKey() string { return uuid.NewString() }

// CreatePayoutLink creates a payout link. If body.IdempotencyKey is unset or null, a fresh key is
// filled in once, before the first attempt, and every retry sends the same bytes with it. A key
// the caller set is never replaced. On failure, IdempotencyKeyOf(err) returns the key; to learn it
// on success too, use CreatePayoutLinkWithKey. Input is checked first: an error names the field,
// and nothing is sent.
func (c *Client) CreatePayoutLink(ctx context.Context, body gen.CreatePayoutLinkJSONRequestBody) (*gen.PayoutLink, error) {
	link, _, err := c.CreatePayoutLinkWithKey(ctx, body)
	return link, err
}

// CreatePayoutLinkWithKey is CreatePayoutLink that also returns the idempotency key the call
// used, whatever the outcome.
//
// Dots answers a create whose key it knows with the link that key made, even when the rest of
// the body differs. So after every create the link is compared with the request (see
// KeyReusedError); on a mismatch the link Dots holds for the key comes back together with an
// error matching ErrIdempotencyKeyReused, and nothing new was paid.
func (c *Client) CreatePayoutLinkWithKey(ctx context.Context, body gen.CreatePayoutLinkJSONRequestBody) (*gen.PayoutLink, string, error) {
	const op = "create-payout-link"
	key, set := body.IdempotencyKey.Get()
	if set != nil || key == "" {
		key = NewIdempotencyKey()
		body.IdempotencyKey = nullable.NewNullableWithValue(key)
	}
	if fields := checkCreate(body); len(fields) > 0 {
		return nil, key, &InvalidRequestError{Operation: op, Fields: fields, IdempotencyKey: key}
	}
	// The generated CreatePayoutLink would json.Marshal the body; fastMarshal writes the same
	// bytes in a fraction of the time, and CreatePayoutLinkWithBody sends them as it would.
	buf, err := fastMarshal(body)
	if err != nil {
		return nil, key, withKey(err, key)
	}
	link := new(gen.PayoutLink)
	call := &typedCall{key: key, out: link, body: buf}
	resp, err := c.raw.CreatePayoutLinkWithBody(call.context(ctx), "application/json", bytes.NewReader(buf))
	if err != nil {
		return nil, key, withKey(err, key)
	}
	if err := decodeBody(resp, op, key, link, call); err != nil {
		return nil, key, err
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
	if int64(link.Amount) != req.Amount {
		out = append(out, "amount")
	}
	if req.Delivery != nil && req.Delivery.Method != "" && link.Delivery != nil &&
		link.Delivery.Method != "" && link.Delivery.Method != req.Delivery.Method {
		out = append(out, "delivery.method")
	}
	if req.Payee == nil || link.Payee == nil {
		return out
	}
	for _, f := range []struct {
		name     string
		asked    *string
		answered nullable.Nullable[string]
		same     func(a, b string) bool
	}{
		{"payee.email", req.Payee.Email, link.Payee.Email, strings.EqualFold},
		{"payee.country_code", req.Payee.CountryCode, link.Payee.CountryCode, func(a, b string) bool { return a == b }},
		{"payee.phone_number", req.Payee.PhoneNumber, link.Payee.PhoneNumber, func(a, b string) bool { return a == b }},
	} {
		if got, err := f.answered.Get(); err == nil && got != "" && f.asked != nil && !f.same(*f.asked, got) {
			out = append(out, f.name)
		}
	}
	return out
}

// GetPayoutLink reads one payout link.
func (c *Client) GetPayoutLink(ctx context.Context, id string) (*gen.PayoutLink, error) {
	const op = "get-payout-link"
	if err := checkID(op, id); err != nil {
		return nil, err
	}
	link := new(gen.PayoutLink)
	call := &typedCall{out: link}
	resp, err := c.raw.GetPayoutLink(call.context(ctx), id)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(resp, op, "", link, call); err != nil {
		return nil, err
	}
	return link, nil
}

// ListPayoutLinks reads one page of payout links. params may be nil.
func (c *Client) ListPayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams) (*gen.PayoutLinkList, error) {
	const op = "list-payout-links"
	if fields := checkList(params); len(fields) > 0 {
		return nil, &InvalidRequestError{Operation: op, Fields: fields}
	}
	page := new(gen.PayoutLinkList)
	call := &typedCall{out: page}
	resp, err := c.raw.ListPayoutLinks(call.context(ctx), params)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(resp, op, "", page, call); err != nil {
		return nil, err
	}
	return page, nil
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
			yield(gen.PayoutLink{}, &InvalidRequestError{Operation: "list-payout-links",
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
	const op = "cancel-payout-link"
	if err := checkID(op, id); err != nil {
		return nil, err
	}
	link := new(gen.PayoutLink)
	call := &typedCall{out: link}
	resp, err := c.raw.CancelPayoutLink(call.context(ctx), id)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(resp, op, "", link, call); err != nil {
		return nil, err
	}
	return link, nil
}

// RedeliverPayoutLink sends a payout link to the payee again. Dots delivers a link at most five
// times; the result says whether this call did. Each call may send a message, so the SDK retries
// it only when it surely was not acted on (a refused connection, or 429).
func (c *Client) RedeliverPayoutLink(ctx context.Context, id string) (*gen.RedeliverPayoutLinkResult, error) {
	const op = "redeliver-payout-link"
	if err := checkID(op, id); err != nil {
		return nil, err
	}
	out := new(gen.RedeliverPayoutLinkResult)
	call := &typedCall{out: out}
	resp, err := c.raw.RedeliverPayoutLink(call.context(ctx), id)
	if err != nil {
		return nil, err
	}
	if err := decodeBody(resp, op, "", out, call); err != nil {
		return nil, err
	}
	return out, nil
}

// typedCall travels as the context of a typed method's request to the pipeline: the idempotency
// key of a create, the bytes of its body, and where to decode a success body. The pipeline
// decodes the body while it checks that the body is JSON, so a typed call reads its body once.
// It is a context of its own (the caller's, with one value more), which saves an allocation.
type typedCall struct {
	context.Context
	key     string // the idempotency key, or ""
	body    []byte // the request body the generated client was given, or nil
	out     any    // a pointer to the zero value the success body decodes into
	claimed bool   // the pipeline took the call up (for the typed method's own request only)
	tried   bool   // the pipeline tried the fast decoder on the success body
	decoded bool   // and it decoded the body into out

	// Set by the pipeline when it hands back a success, for decodeBody's errors.
	attempts int
	path     string
}

func (t *typedCall) context(ctx context.Context) context.Context {
	if ctx == nil {
		panic("cannot create context from nil parent") // as context.WithValue
	}
	t.Context = ctx
	return t
}

// Value answers the pipeline's question for the call, and passes on any other.
func (t *typedCall) Value(key any) any {
	if key == ctxTypedCall {
		return t
	}
	return t.Context.Value(key)
}

// decodeBody reads a success body into v. A body that does not decode means the operation may
// have been acted on without the caller learning the result: the error matches ErrOutcomeUnknown.
func decodeBody(resp *http.Response, op, key string, v any, call *typedCall) error {
	defer resp.Body.Close()
	if call != nil && call.decoded {
		return nil
	}
	var data []byte
	if bb, ok := resp.Body.(*bufferedBody); ok {
		data = bb.b
	} else {
		var err error
		if data, err = io.ReadAll(resp.Body); err != nil {
			return decodeError(resp, op, key, call, err)
		}
	}
	if (call == nil || !call.tried) && fastUnmarshal(data, v) {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return decodeError(resp, op, key, call, fmt.Errorf("decoding the %d response: %w", resp.StatusCode, err))
	}
	return nil
}

// decodeError is the error for a success body that could not be read or decoded: the operation
// may have been acted on, so its outcome is unknown.
func decodeError(resp *http.Response, op, key string, call *typedCall, err error) *RequestError {
	e := &RequestError{Operation: op, Attempts: 1, IdempotencyKey: key, OutcomeUnknown: true, Err: err}
	if resp.Request != nil {
		e.Method, e.Path = resp.Request.Method, resp.Request.URL.Path
	}
	if call != nil && call.attempts > 0 {
		e.Attempts, e.Path = call.attempts, call.path
	}
	return e
}

// bufferedBody is a response body the pipeline has read already; decodeBody takes its bytes.
type bufferedBody struct {
	bytes.Reader
	b []byte
}

func newBufferedBody(b []byte) *bufferedBody {
	bb := &bufferedBody{b: b}
	bb.Reset(b)
	return bb
}

// Close does nothing: the bytes are in memory.
func (*bufferedBody) Close() error { return nil }

// withKey makes sure err carries the idempotency key of its call.
func withKey(err error, key string) error {
	if k, ok := IdempotencyKeyOf(err); ok && k == key {
		return err
	}
	return &keyedError{key: key, err: err}
}

// Ptr returns a pointer to v, for the optional fields of a request:
// Memo: api.Ptr("March invoice").
func Ptr[T any](v T) *T { return &v }
