package pgqueue_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/batch/pgqueue"
)

// TestAWorkerLooksUpAStaleKeyBeforeSending: the workers run the runner's payout logic. A row
// whose create may have reached Dots over 23 hours ago (Dots forgets keys after 24) is not sent
// again blindly: the worker finds its link by metadata batch_key, records it, and sends nothing.
func TestAWorkerLooksUpAStaleKeyBeforeSending(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, pgqueue.Options{RetryDelay: time.Millisecond})
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	row := payout("sale-stale", 4200)
	var e batch.Entry
	err := pgx.BeginFunc(ctx, q.Pool(), func(tx pgx.Tx) error {
		var err error
		e, err = q.Enqueue(ctx, tx, row)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// A day ago a create of the row was sent and its outcome never known; Dots made the link,
	// and has forgotten the key since (the link is made here under another key).
	dayAgo := time.Now().Add(-25 * time.Hour)
	if _, err := q.Pool().Exec(ctx, "UPDATE dots_batch_rows SET state = 'unknown', key_created = $1 WHERE key = $2", dayAgo, e.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Pool().Exec(ctx, "UPDATE dots_batch_keys SET created = $1 WHERE key = $2", dayAgo, e.Key); err != nil {
		t.Fatal(err)
	}
	req := row.Payout
	req.Metadata = dots.Metadata{batch.MetadataKey: e.Key, batch.MetadataReference: row.Reference}
	made, err := client.CreatePayoutLink(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := q.Work(wctx, client, pgqueue.WorkOptions{UntilDone: true, Poll: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	got, _, err := q.Outbox().Entry(ctx, e.Line)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != batch.Made || !got.Found || got.LinkID != made.ID || got.Key != e.Key {
		t.Errorf("entry %+v; want made, found, with link %s", got, made.ID)
	}
	for _, r := range srv.Requests()[before:] {
		if r.Operation == "create-payout-link" {
			t.Errorf("the worker sent a create (key %s)", r.IdempotencyKey)
		}
	}
	if n := len(srv.Links()); n != 1 {
		t.Errorf("%d links", n)
	}
}
