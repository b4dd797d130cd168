package api_test

import (
	"context"
	"errors"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/spec"
)

// withMock runs a mock Dots behind the validating harness.
func withMock(t *testing.T, opts ...mock.Option) (*harness, *mock.Server) {
	t.Helper()
	srv := mock.New(opts...)
	t.Cleanup(func() {
		srv.Close()
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("the mock answered outside the spec: %v", v)
		}
	})
	return newHarness(t, srv.Handler()), srv
}

func TestOperationsAgainstTheMock(t *testing.T) {
	h, srv := withMock(t)
	c := h.client()
	ctx := context.Background()

	link, key, err := c.CreatePayoutLinkWithKey(ctx, gen.CreatePayoutLinkRequest{
		Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com"), FirstName: api.Ptr("Jane")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}, Memo: api.Ptr("March invoice"),
		Metadata: dots.Metadata{"order": "A-1001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if link.Amount != 1250 || link.Status != gen.PayoutLinkStatusSent || link.Link == "" || link.Created.IsZero() {
		t.Fatalf("created %+v", link)
	}
	if link.Memo != "March invoice" || link.Payee.FirstName != "Jane" || link.Delivery.Email != "jsmith@example.com" {
		t.Fatalf("memo %q, payee %+v, delivery %+v", link.Memo, link.Payee, link.Delivery)
	}
	if stored, ok := srv.LinkByIdempotencyKey(key); !ok || stored.ID != link.ID {
		t.Fatal("the mock does not hold the link under the key the SDK sent")
	}

	// The same key is the same link: no second payout.
	again, err := c.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: 1250, IdempotencyKey: api.Ptr(key)})
	if err != nil || again.ID != link.ID || srv.LinkCount() != 1 {
		t.Fatalf("repeat: %v %v, %d links", again, err, srv.LinkCount())
	}

	got, err := c.GetPayoutLink(ctx, link.ID)
	if err != nil || got.ID != link.ID || got.Amount != 1250 {
		t.Fatalf("get: %v %v", got, err)
	}
	if got.Metadata["order"] != "A-1001" {
		t.Fatalf("metadata %+v", got.Metadata)
	}
	res, err := c.RedeliverPayoutLink(ctx, link.ID)
	if err != nil || !res.Redelivered || res.PayoutLink.ID != link.ID {
		t.Fatalf("redeliver: %+v %v", res, err)
	}
	canceled, err := c.CancelPayoutLink(ctx, link.ID)
	if err != nil || canceled.Status != gen.PayoutLinkStatusCanceled {
		t.Fatalf("cancel: %v %v", canceled, err)
	}
	_, err = c.GetPayoutLink(ctx, "3c90c3cc-0d44-4b50-8888-8dd25736052a")
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != 404 || e.Code != "not-found" || e.RequestID == "" {
		t.Fatalf("missing link: %v", err)
	}
}

func TestRedeliverStopsAtFive(t *testing.T) {
	h, _ := withMock(t)
	c := h.client()
	ctx := context.Background()
	link, err := c.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: 5, Delivery: gen.Delivery{Method: gen.DeliveryMethodLink}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 6; i++ {
		res, err := c.RedeliverPayoutLink(ctx, link.ID)
		if err != nil {
			t.Fatal(err)
		}
		if res.Redelivered != (i <= 5) {
			t.Fatalf("redelivery %d: redelivered = %v", i, res.Redelivered)
		}
	}
}

func TestPaginationAcrossPages(t *testing.T) {
	h, _ := withMock(t)
	c := h.client()
	ctx := context.Background()
	var made []string
	for i := 0; i < 23; i++ {
		l, err := c.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: dots.Amount(100 + i)})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, l.ID)
	}
	tests := []struct {
		name  string
		limit *int
		pages int
	}{
		{"limit 5", api.Ptr(5), 5},
		{"limit 1", api.Ptr(1), 23},
		{"limit 100", api.Ptr(100), 1},
		{"default limit", nil, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.count()
			var seen []string
			for l, err := range c.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: tt.limit}) {
				if err != nil {
					t.Fatal(err)
				}
				seen = append(seen, l.ID)
			}
			if len(seen) != len(made) {
				t.Fatalf("walked %d links, want %d", len(seen), len(made))
			}
			for i, id := range seen { // newest first
				if id != made[len(made)-1-i] {
					t.Fatalf("link %d is %s, want %s", i, id, made[len(made)-1-i])
				}
			}
			if pages := h.count() - before; pages != tt.pages {
				t.Fatalf("read %d pages, want %d", pages, tt.pages)
			}
		})
	}
	t.Run("break stops reading", func(t *testing.T) {
		before := h.count()
		n := 0
		for _, err := range c.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: api.Ptr(5)}) {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 7 {
				break
			}
		}
		if pages := h.count() - before; pages != 2 {
			t.Fatalf("read %d pages for 7 links", pages)
		}
	})
	t.Run("nil params", func(t *testing.T) {
		n := 0
		for _, err := range c.PayoutLinks(ctx, nil) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != len(made) {
			t.Fatalf("walked %d", n)
		}
	})
	t.Run("one page backward", func(t *testing.T) {
		page, err := c.ListPayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: api.Ptr(3), EndingBefore: api.Ptr(made[10])})
		if err != nil || len(page.Data) != 3 || page.Data[2].ID != made[11] {
			t.Fatalf("page %+v err %v", page, err)
		}
	})
	t.Run("an error ends the walk", func(t *testing.T) {
		h2 := newHarness(t, sequence(jsonHandler(200, `{"has_more":true,"data":[`+linkJSON+`]}`), jsonHandler(400, `{"error_code":"invalid-input"}`)))
		var errs, links int
		for _, err := range h2.client().PayoutLinks(ctx, nil) {
			if err != nil {
				errs++
				recordErr(err)
				continue
			}
			links++
		}
		if links != 1 || errs != 1 {
			t.Fatalf("%d links, %d errors", links, errs)
		}
	})
}

func TestGeneratedClientHasThePipeline(t *testing.T) {
	h, _ := withMock(t)
	c := h.client()
	ctx := context.Background()
	resp, err := c.Generated().CreatePayoutLinkWithResponse(ctx, gen.CreatePayoutLinkRequest{Amount: 777, IdempotencyKey: api.Ptr(api.NewIdempotencyKey())})
	if err != nil || resp.JSON201 == nil || resp.JSON201.Amount != 777 {
		t.Fatalf("generated create: %v %v", resp, err)
	}
	_, err = c.Generated().GetPayoutLinkWithResponse(ctx, "3c90c3cc-0d44-4b50-8888-8dd25736052a")
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != 404 {
		t.Fatalf("a generated call's 404 should be *api.Error, got %v", err)
	}
	if got := h.seen()[0].Header.Get("Authorization"); got == "" {
		t.Fatal("the generated call carried no auth")
	}
}

func TestVersionMatchesTheSpec(t *testing.T) {
	sp, err := spec.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	doc := sp.Document()
	if doc.Info.Version != api.Version {
		t.Fatalf("openapi.yaml info.version %s, api.Version %s: release both together", doc.Info.Version, api.Version)
	}
}
