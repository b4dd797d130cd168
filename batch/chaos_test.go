package batch

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// TestChaosEveryRowExactlyOnce runs a batch through random faults (5xx before and after
// applying, dropped connections, 429s, broken bodies, late applies) again and again until every
// row is settled, then checks that every row has exactly one link, with its amount and metadata,
// and that the journal and the results say the same.
func TestChaosEveryRowExactlyOnce(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	srv := newMock(t, mock.WithChaos(0.4, seed, storm...))
	// No retries in the client and one in the run: rows are left unknown, for later runs.
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	j := tempJournal(t)
	rows := withoutReferences(payouts(200))
	var results map[int]Result
	for run := 1; ; run++ {
		if run == 8 {
			srv.SetChaosRate(0) // the storm passes; the next run settles what is left
		}
		results = map[int]Result{}
		rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 8, Retries: 1, RetryDelay: time.Millisecond, AllowNoReference: true,
			Results: func(r Result) error { results[r.Line] = r; return nil }})
		if err != nil {
			t.Fatalf("run %d: %v", run, err)
		}
		t.Logf("run %d: %+v", run, *rep)
		if rep.Unknown == 0 && rep.NotSent == 0 {
			break
		}
		if run > 9 {
			t.Fatalf("run %d still leaves rows unsettled: %+v", run, rep)
		}
	}
	links := linksByRow(t, srv)
	for _, row := range rows {
		name := fmt.Sprint(row.Line)
		link, ok := links[name]
		e, _, err := j.Entry(context.Background(), row.Line)
		res := results[row.Line]
		switch {
		case err != nil:
			t.Fatal(err)
		case !ok:
			t.Errorf("line %d has no link (entry %+v)", row.Line, e)
		case link.Amount != row.Payout.Amount || link.Metadata[MetadataKey] != e.Key || link.Payee.Email != *row.Payout.Payee.Email:
			t.Errorf("line %d: link %+v, entry %+v", row.Line, link, e)
		case e.State != Made || e.LinkID != link.ID:
			t.Errorf("line %d: entry %+v, link %s", row.Line, e, link.ID)
		case res.LinkID != link.ID || res.Key != e.Key || (res.Outcome != OutcomeMade && res.Outcome != OutcomeAlreadyMade):
			t.Errorf("line %d: result %+v, entry %+v", row.Line, res, e)
		}
	}
	if len(links) != len(rows) {
		t.Errorf("%d links for %d rows", len(links), len(rows))
	}
	var keyless int
	for _, r := range srv.Requests() {
		if r.Operation == "create-payout-link" && r.IdempotencyKey == "" {
			keyless++
		}
	}
	if keyless > 0 {
		t.Errorf("%d creates without a key", keyless)
	}
}
