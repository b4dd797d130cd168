package pgqueue_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/batch/pgqueue"
	"github.com/payoutkit/dots-go/gen"
)

// closeWeek records that a seller was paid for a week and queues the payout, in one
// transaction: the payout is queued if and only if the record commits, and its reference makes
// a retry of the same week the same payout.
func closeWeek(ctx context.Context, q *pgqueue.Queue, seller, week, email string, cents int64) error {
	return pgx.BeginFunc(ctx, q.Pool(), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "UPDATE sellers SET paid_through = $2 WHERE id = $1", seller, week); err != nil {
			return err
		}
		_, err := q.Enqueue(ctx, tx, batch.Row{
			Reference: "payout/" + seller + "/" + week,
			Payout: gen.CreatePayoutLinkRequest{Amount: dots.Amount(cents), Payee: gen.Payee{Email: &email},
				Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}},
		})
		return err
	})
}

// A marketplace pays its sellers weekly from several pods: each queues payouts in its own
// transactions, and works the queue.
func Example_outbox() {
	ctx := context.Background()
	q, err := pgqueue.Connect(ctx, "postgres://payouts@db.internal/marketplace", pgqueue.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	client, err := api.NewClientFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		// In every pod: take payouts from the queue until ctx is done.
		if err := q.Work(ctx, client, pgqueue.WorkOptions{Concurrency: 8}); err != nil {
			log.Print(err)
		}
	}()
	if err := closeWeek(ctx, q, "s-1042", "2026-W49", "seller@example.com", 12_500); err != nil {
		log.Print(err)
	}
}
