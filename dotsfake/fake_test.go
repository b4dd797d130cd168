package dotsfake_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsfake"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// payInvoice is code under test: it takes the interface, so a test may pass the fake or a real
// client.
func payInvoice(ctx context.Context, links api.PayoutLinks, cents dots.Amount, email string) (string, error) {
	link, key, err := links.CreatePayoutLinkWithKey(ctx, gen.CreatePayoutLinkRequest{
		Amount: cents, Payee: gen.Payee{Email: &email}, Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
	})
	if err != nil {
		return key, fmt.Errorf("paying %s: %w", email, err)
	}
	return link.ID, nil
}

// TestTheSameCodeRunsOnTheFakeAndTheMock: code written against api.PayoutLinks runs unchanged
// with the fake and with a real *api.Client on the in-process mock.
func TestTheSameCodeRunsOnTheFakeAndTheMock(t *testing.T) {
	srv := mock.NewServer()
	defer srv.Close()
	client, err := api.NewClient("pk_test_fake", "sk_test_fake", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	fake := &dotsfake.Fake{Create: func(_ context.Context, b gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error) {
		return &gen.PayoutLink{ID: "link_fake_1", Amount: b.Amount}, nil
	}}
	for name, links := range map[string]api.PayoutLinks{"fake": fake, "mock": client} {
		t.Run(name, func(t *testing.T) {
			id, err := payInvoice(context.Background(), links, 1250, "jsmith@example.com")
			if err != nil || id == "" {
				t.Fatalf("id %q, err %v", id, err)
			}
		})
	}
	if srv.LinkCount() != 1 || len(fake.Calls()) != 1 {
		t.Fatalf("%d links on the mock, %d calls on the fake", srv.LinkCount(), len(fake.Calls()))
	}
}

func TestFakeCreate(t *testing.T) {
	ctx := context.Background()
	mine := api.NewIdempotencyKey()
	outage := &api.Error{StatusCode: 503, Code: "service-unavailable", Call: api.Call{OutcomeUnknown: true}}
	tests := []struct {
		name       string
		key        *string
		amount     dots.Amount
		create     func(context.Context, gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error)
		wantCalled bool
		check      func(t *testing.T, key string, err error)
	}{
		{"a fresh key when the body has none", nil, 100, okCreate, true, func(t *testing.T, key string, err error) {
			if err != nil || len(key) != 36 {
				t.Fatalf("key %q, err %v", key, err)
			}
		}},
		{"the caller's key is kept", &mine, 100, okCreate, true, func(t *testing.T, key string, err error) {
			if err != nil || key != mine {
				t.Fatalf("key %q, err %v", key, err)
			}
		}},
		{"bad input is refused as the client refuses it", nil, 0, okCreate, false, func(t *testing.T, key string, err error) {
			var ire *api.InvalidRequestError
			if !errors.As(err, &ire) {
				t.Fatalf("err = %v", err)
			}
			if _, ok := ire.Field("amount"); !ok {
				t.Fatalf("err = %v, want it to name amount", err)
			}
		}},
		{"a canned outage carries the key", &mine, 100,
			func(context.Context, gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error) { return nil, outage }, true,
			func(t *testing.T, key string, err error) {
				if k, ok := api.IdempotencyKeyOf(err); !ok || k != mine || !errors.Is(err, api.ErrOutcomeUnknown) {
					t.Fatalf("err = %v, key %q", err, k)
				}
				if outage.IdempotencyKey != "" {
					t.Fatal("the fake changed the error it was given")
				}
			}},
		{"no answer set", nil, 100, nil, true, func(t *testing.T, key string, err error) {
			if !errors.Is(err, dotsfake.ErrNoAnswer) {
				t.Fatalf("err = %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			f := &dotsfake.Fake{}
			if tt.create != nil {
				f.Create = func(ctx context.Context, b gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error) {
					called = true
					return tt.create(ctx, b)
				}
			}
			_, key, err := f.CreatePayoutLinkWithKey(ctx, gen.CreatePayoutLinkRequest{Amount: tt.amount, IdempotencyKey: tt.key}, api.WithMaxRetries(0))
			tt.check(t, key, err)
			calls := f.Calls()
			if len(calls) != 1 || calls[0].Method != "CreatePayoutLink" || *calls[0].Body.IdempotencyKey != key || len(calls[0].Options) != 1 {
				t.Fatalf("recorded %+v", calls)
			}
			if tt.create != nil && called != tt.wantCalled {
				t.Fatalf("Create called: %v, want %v", called, tt.wantCalled)
			}
		})
	}
}

func TestFakeWalksPagesAndRecordsConcurrentCalls(t *testing.T) {
	pages := map[string]*gen.PayoutLinkList{
		"":   {HasMore: true, Data: []gen.PayoutLink{{ID: "l3"}, {ID: "l2"}}},
		"l2": {Data: []gen.PayoutLink{{ID: "l1"}}},
	}
	f := &dotsfake.Fake{
		List: func(_ context.Context, p gen.ListPayoutLinksParams) (*gen.PayoutLinkList, error) {
			after := ""
			if p.StartingAfter != nil {
				after = *p.StartingAfter
			}
			return pages[after], nil
		},
		Get: func(_ context.Context, id string) (*gen.PayoutLink, error) { return &gen.PayoutLink{ID: id}, nil },
	}
	var seen []string
	for l, err := range f.PayoutLinks(context.Background(), nil) {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, l.ID)
	}
	if fmt.Sprint(seen) != "[l3 l2 l1]" || len(f.Calls()) != 2 || *f.Calls()[1].Params.StartingAfter != "l2" {
		t.Fatalf("walked %v in %+v", seen, f.Calls())
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _, _ = f.GetPayoutLink(context.Background(), "l1") })
	}
	wg.Wait()
	if n := len(f.Calls()); n != 10 {
		t.Fatalf("recorded %d calls", n)
	}
	if _, err := f.CancelPayoutLink(context.Background(), "l1"); !errors.Is(err, dotsfake.ErrNoAnswer) {
		t.Fatalf("an unset Cancel: %v", err)
	}
}

func okCreate(_ context.Context, b gen.CreatePayoutLinkRequest) (*gen.PayoutLink, error) {
	return &gen.PayoutLink{ID: "link_fake_1", Amount: b.Amount, Status: gen.PayoutLinkStatusSent}, nil
}
