package pgqueue_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/batch/pgqueue"
	"github.com/payoutkit/dots-go/mock"
)

// TestOutboxPaysExactlyTheCommittedTransactions runs 1,000 business transactions, each of
// which records a sale and enqueues its payout in the same transaction, and rolls back every
// third; then workers, through a mock in chaos mode, create links for exactly the committed
// ones: one each, with its amount, and the journal says so.
func TestOutboxPaysExactlyTheCommittedTransactions(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, pgqueue.Options{RetryDelay: time.Millisecond})
	if _, err := q.Pool().Exec(ctx, "CREATE TABLE sales (id integer PRIMARY KEY, amount bigint NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	committed := map[string]int{}
	var entries []batch.Entry
	for i := range 1000 {
		ref, amount := fmt.Sprint("sale-", i), 100+i
		err := pgx.BeginFunc(ctx, q.Pool(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "INSERT INTO sales (id, amount) VALUES ($1, $2)", i, amount); err != nil {
				return err
			}
			e, err := q.Enqueue(ctx, tx, payout(ref, amount))
			if err != nil {
				return err
			}
			if i%3 == 2 {
				return errRollback
			}
			entries = append(entries, e)
			return nil
		})
		switch {
		case errors.Is(err, errRollback):
		case err != nil:
			t.Fatal(err)
		default:
			committed[ref] = amount
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	srv := newMock(t, mock.WithChaos(0.2, seed))
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := q.Work(wctx, newClient(t, srv.BaseURL()), pgqueue.WorkOptions{Concurrency: 16, UntilDone: true, Poll: 20 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	links := map[string]int{}
	for _, l := range srv.Links() {
		ref := l.Metadata.Get(batch.MetadataReference)
		links[ref]++
		switch amount, ok := committed[ref]; {
		case !ok:
			t.Errorf("link %s for %q, whose transaction was rolled back", l.ID, ref)
		case int(l.Amount) != amount:
			t.Errorf("link %s for %q: amount %d, want %d", l.ID, ref, l.Amount, amount)
		}
	}
	for ref := range committed {
		if links[ref] != 1 {
			t.Errorf("%q has %d links", ref, links[ref])
		}
	}
	for _, e := range entries {
		got, ok, err := q.Outbox().Entry(ctx, e.Line)
		if err != nil || !ok || got.State != batch.Made || got.LinkID == "" || got.Key != e.Key {
			t.Errorf("row %d: %+v %v %v", e.Line, got, ok, err)
		}
	}
	if len(committed) != 667 || len(links) != len(committed) {
		t.Errorf("%d committed, %d links", len(committed), len(links))
	}
}

var errRollback = errors.New("the business change is rolled back")

// TestEnqueueChecksAndDeduplicates: a bad row is refused naming its field, with nothing
// written; a reference enqueued again with the same content is the same payout (its entry, no
// second job); with other content it is a conflict, with nothing written.
func TestEnqueueChecksAndDeduplicates(t *testing.T) {
	ctx := context.Background()
	q := openQueue(t, pgqueue.Options{})
	enqueue := func(row batch.Row) (batch.Entry, error) {
		var e batch.Entry
		err := pgx.BeginFunc(ctx, q.Pool(), func(tx pgx.Tx) error {
			var err error
			e, err = q.Enqueue(ctx, tx, row)
			return err
		})
		return e, err
	}
	first, err := enqueue(payout("sale-1", 500))
	if err != nil || first.State != batch.NotSent || first.Key != batch.ReferenceKey("sale-1") {
		t.Fatalf("first: %+v, %v", first, err)
	}
	noEmail := payout("sale-3", 700)
	noEmail.Payout.Payee.Email = nil
	tests := []struct {
		name  string
		row   batch.Row
		check func(batch.Entry, error) string
	}{
		{"the same payout again", payout("sale-1", 500), func(e batch.Entry, err error) string {
			if err != nil || e.Line != first.Line || e.Key != first.Key {
				return fmt.Sprintf("%+v, %v; want the first entry", e, err)
			}
			return ""
		}},
		{"its reference with another amount", payout("sale-1", 501), func(e batch.Entry, err error) string {
			var c *pgqueue.ConflictError
			if !errors.As(err, &c) || c.Line != first.Line {
				return fmt.Sprintf("%v; want a *ConflictError naming row %d", err, first.Line)
			}
			return ""
		}},
		{"an amount over the cap", payout("sale-2", 2_000_000), func(e batch.Entry, err error) string {
			var inv *batch.InvalidError
			if !errors.As(err, &inv) || inv.Rows[0].Fields[0].Field != "amount" {
				return fmt.Sprintf("%v; want an *InvalidError naming amount", err)
			}
			return ""
		}},
		{"email delivery without an email", noEmail, func(e batch.Entry, err error) string {
			var inv *batch.InvalidError
			if !errors.As(err, &inv) || !strings.Contains(inv.Error(), "payee.email") {
				return fmt.Sprintf("%v; want an *InvalidError naming payee.email", err)
			}
			return ""
		}},
		{"no reference", payout("", 800), func(e batch.Entry, err error) string {
			var nr *batch.NoReferenceError
			if !errors.As(err, &nr) {
				return fmt.Sprintf("%v; want a *NoReferenceError", err)
			}
			return ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := tt.check(enqueue(tt.row)); msg != "" {
				t.Error(msg)
			}
		})
	}
	var rows, jobs int
	if err := q.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM dots_batch_rows), (SELECT count(*) FROM river_job)").Scan(&rows, &jobs); err != nil {
		t.Fatal(err)
	}
	if rows != 1 || jobs != 1 {
		t.Errorf("%d rows and %d jobs in the queue; want the first payout's only", rows, jobs)
	}
}
