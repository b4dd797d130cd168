package pgqueue_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/batch/pgqueue"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/pgtest"
	"github.com/payoutkit/dots-go/mock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// newMock starts a mock Dots that fails the test if it answers outside the spec.
func newMock(t testing.TB, opts ...mock.Option) *mock.Server {
	t.Helper()
	srv := mock.NewServer(opts...)
	t.Cleanup(func() {
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("the mock answered outside the spec: %v", v[:min(len(v), 5)])
		}
		srv.Close()
	})
	return srv
}

func newClient(t testing.TB, baseURL string, opts ...api.Option) *api.Client {
	t.Helper()
	c, err := api.NewClient("pk_test_pgqueue", "sk_test_pgqueue_0c1d2e", append([]api.Option{api.WithBaseURL(baseURL),
		api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openQueue opens a queue on a new database.
func openQueue(t testing.TB, opts pgqueue.Options) *pgqueue.Queue {
	t.Helper()
	q, err := pgqueue.Connect(context.Background(), pgtest.Database(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// payout is the row of a payout with a reference, told apart by its amount.
func payout(ref string, amount int) batch.Row {
	return batch.Row{Reference: ref, Payout: gen.CreatePayoutLinkRequest{
		Amount:   dots.Amount(amount),
		Payee:    gen.Payee{Email: api.Ptr(fmt.Sprintf("seller%d@example.com", amount))},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
	}}
}
