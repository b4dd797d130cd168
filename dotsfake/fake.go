// Package dotsfake is a fake api.PayoutLinks for unit tests of code that calls Dots: it records
// every call and answers with the functions you set.
//
// Prefer a real *api.Client on the in-process mock (package mock) where you can: it runs the
// whole pipeline (input checks, idempotency keys, retries, typed errors) against a server that
// behaves as Dots does, and scripts faults (mock.Server.FailNext). Take the fake for what the
// mock makes awkward: one canned answer or error, or asserting exactly what your code asked for.
package dotsfake

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// ErrNoAnswer is what a method answers when its function is not set.
var ErrNoAnswer = errors.New("dotsfake: no answer set for this method")

// Fake is an api.PayoutLinks that records every call (Calls) and answers with its functions; a
// method whose function is nil answers ErrNoAnswer. The zero Fake is ready to use, and it is safe
// for concurrent use. Options are recorded as given, not applied.
type Fake struct {
	// Create answers CreatePayoutLink and CreatePayoutLinkWithKey with the body as the client
	// would send it: checked first (bad input is an *api.InvalidRequestError, and Create is not
	// called), with its idempotency key, a fresh one when the body had none. An *api.Error or
	// *api.RequestError it returns gets the key when it has none, so api.IdempotencyKeyOf works.
	Create func(ctx context.Context, body gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error)
	// Get, Cancel and Redeliver answer the calls on one link.
	Get       func(ctx context.Context, id string) (*gen.PayoutLink, error)
	Cancel    func(ctx context.Context, id string) (*gen.PayoutLink, error)
	Redeliver func(ctx context.Context, id string) (*gen.RedeliverPayoutLinkResult, error)
	// List answers ListPayoutLinks, and each page PayoutLinks reads (with starting_after).
	List func(ctx context.Context, params gen.ListPayoutLinksParams) (*gen.PayoutLinkList, error)

	mu    sync.Mutex
	calls []Call
}

var _ api.PayoutLinks = (*Fake)(nil)

// Call is one call the fake got.
type Call struct {
	// Method is the method's name, such as "CreatePayoutLink" ("ListPayoutLinks" for each page
	// PayoutLinks reads).
	Method string
	// ID is the link id of GetPayoutLink, CancelPayoutLink and RedeliverPayoutLink.
	ID string
	// Body is a create's body, with the idempotency key it carried.
	Body gen.CreatePayoutLinkRequest
	// Params are a list's parameters.
	Params gen.ListPayoutLinksParams
	// Options are the options the call was given.
	Options []api.Option
}

// Calls returns the calls so far, in order.
func (f *Fake) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func (f *Fake) record(c Call) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

// answer calls fn when it is set, and answers ErrNoAnswer when not.
func answer[A, T any](ctx context.Context, fn func(context.Context, A) (*T, error), arg A) (*T, error) {
	if fn == nil {
		return nil, ErrNoAnswer
	}
	return fn(ctx, arg)
}

// CreatePayoutLink records the call and answers with Create.
func (f *Fake) CreatePayoutLink(ctx context.Context, body gen.CreatePayoutLinkRequest, opts ...api.Option) (*gen.PayoutLink, error) {
	link, _, err := f.CreatePayoutLinkWithKey(ctx, body, opts...)
	return link, err
}

// CreatePayoutLinkWithKey records the call and answers with Create, and the key the body carried.
func (f *Fake) CreatePayoutLinkWithKey(ctx context.Context, body gen.CreatePayoutLinkRequest, opts ...api.Option) (*gen.PayoutLink, string, error) {
	if body.IdempotencyKey == nil || *body.IdempotencyKey == "" {
		body.IdempotencyKey = api.Ptr(api.NewIdempotencyKey())
	}
	key := *body.IdempotencyKey
	f.record(Call{Method: "CreatePayoutLink", Body: body, Options: opts})
	if err := api.CheckCreatePayoutLink(ctx, body); err != nil {
		return nil, key, err
	}
	link, err := answer(ctx, f.Create, body)
	var call *api.Call
	switch e := err.(type) {
	case *api.Error:
		cp := *e
		err, call = &cp, &cp.Call
	case *api.RequestError:
		cp := *e
		err, call = &cp, &cp.Call
	}
	if call != nil && call.IdempotencyKey == "" {
		call.IdempotencyKey = key
	}
	return link, key, err
}

// GetPayoutLink records the call and answers with Get.
func (f *Fake) GetPayoutLink(ctx context.Context, id string, opts ...api.Option) (*gen.PayoutLink, error) {
	f.record(Call{Method: "GetPayoutLink", ID: id, Options: opts})
	return answer(ctx, f.Get, id)
}

// ListPayoutLinks records the call and answers with List.
func (f *Fake) ListPayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams, opts ...api.Option) (*gen.PayoutLinkList, error) {
	var p gen.ListPayoutLinksParams
	if params != nil {
		p = *params
	}
	f.record(Call{Method: "ListPayoutLinks", Params: p, Options: opts})
	return answer(ctx, f.List, p)
}

// PayoutLinks walks the pages List answers, as the client does: each page is a ListPayoutLinks
// call, the next one starting after the last link of the page before, while a page has more.
func (f *Fake) PayoutLinks(ctx context.Context, params *gen.ListPayoutLinksParams, opts ...api.Option) iter.Seq2[gen.PayoutLink, error] {
	return func(yield func(gen.PayoutLink, error) bool) {
		var p gen.ListPayoutLinksParams
		if params != nil {
			p = *params
		}
		for {
			page, err := f.ListPayoutLinks(ctx, &p, opts...)
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
			p.StartingAfter = api.Ptr(page.Data[len(page.Data)-1].ID)
		}
	}
}

// CancelPayoutLink records the call and answers with Cancel.
func (f *Fake) CancelPayoutLink(ctx context.Context, id string, opts ...api.Option) (*gen.PayoutLink, error) {
	f.record(Call{Method: "CancelPayoutLink", ID: id, Options: opts})
	return answer(ctx, f.Cancel, id)
}

// RedeliverPayoutLink records the call and answers with Redeliver.
func (f *Fake) RedeliverPayoutLink(ctx context.Context, id string, opts ...api.Option) (*gen.RedeliverPayoutLinkResult, error) {
	f.record(Call{Method: "RedeliverPayoutLink", ID: id, Options: opts})
	return answer(ctx, f.Redeliver, id)
}
