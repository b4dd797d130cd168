package batch

import (
	"context"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// linksByRow indexes the mock's links by their metadata "row", failing on a row with two links.
func linksByRow(t *testing.T, srv *mock.Server) map[string]gen.PayoutLink {
	t.Helper()
	out := map[string]gen.PayoutLink{}
	for _, l := range srv.Links() {
		row := l.Metadata.Get("row")
		if prev, dup := out[row]; dup {
			t.Errorf("row %s has two links: %s and %s", row, prev.ID, l.ID)
		}
		out[row] = l
	}
	return out
}

func TestRunPaysEveryRowOnceAndResumeSkipsThem(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	j := tempJournal(t)
	rows := payouts(40)
	var results []Result
	rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 4,
		Results: func(r Result) error { results = append(results, r); return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Made != 40 || rep.Rows != 40 || rep.Failed+rep.Unknown+rep.NotSent+rep.AlreadyMade != 0 || rep.Run != 1 {
		t.Fatalf("report %+v", rep)
	}
	var total int64
	for _, r := range rows {
		total += int64(r.Payout.Amount)
	}
	if int64(rep.Amount) != total || int64(rep.Total) != total {
		t.Fatalf("amount %d, total %d, want %d", rep.Amount, rep.Total, total)
	}
	links := linksByRow(t, srv)
	if len(links) != 40 {
		t.Fatalf("%d links for 40 rows", len(links))
	}
	for i, res := range results {
		row := rows[i]
		link, ok := links[row.Payout.Metadata.Get("row")]
		e, _, err := j.Entry(context.Background(), row.Line)
		switch {
		case err != nil:
			t.Fatal(err)
		case !ok:
			t.Fatalf("line %d has no link", row.Line)
		case res.Line != row.Line || res.Outcome != OutcomeMade || res.LinkID != link.ID || res.LinkURL != link.Link || res.Key != e.Key:
			t.Fatalf("result %+v for link %+v, entry %+v", res, link, e)
		case link.Amount != row.Payout.Amount || link.Metadata[MetadataKey] != e.Key || e.State != Made || e.LinkID != link.ID || e.Attempts != 1:
			t.Fatalf("link %+v, entry %+v", link, e)
		}
	}

	// Again: nothing is sent, every row is already made.
	before := len(srv.Requests())
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AlreadyMade != 40 || rep.Made != 0 || rep.Run != 2 {
		t.Fatalf("second run: %+v", rep)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("the second run sent %d requests", n)
	}
}

func TestRunRefusesBadRowsAndSendsNothing(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	j := tempJournal(t)
	rows := payouts(5)
	rows[1].Payout.Payee.Email = api.Ptr("not an email")
	rows[3].Payout.Amount = 0
	rows[4].Problems = []api.FieldError{{Field: "amount", Problem: "bad cell"}}
	_, err := Run(context.Background(), client, Rows(rows...), j, Options{})
	var invalid *InvalidError
	if !errors.As(err, &invalid) {
		t.Fatalf("err = %v, want *InvalidError", err)
	}
	want := map[int]string{3: "payee.email", 5: "amount", 6: "amount"}
	if len(invalid.Rows) != len(want) || invalid.Total != 5 {
		t.Fatalf("bad rows %+v", invalid.Rows)
	}
	for _, r := range invalid.Rows {
		if len(r.Fields) == 0 || r.Fields[0].Field != want[r.Line] {
			t.Errorf("line %d: %+v, want field %s", r.Line, r.Fields, want[r.Line])
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent for a batch with bad rows", n)
	}
	if _, ok, _ := j.Entry(context.Background(), 2); ok {
		t.Fatal("a key was committed for a batch with bad rows")
	}
}

func TestRunUnknownOutcomesAreRetriedWithTheirKey(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	j := tempJournal(t)
	// Every first attempt of a key makes the link and then fails: the outcome is unknown.
	failCreates(srv, repeat(10, mock.Fault{Status: 500, ApplyFirst: true})...)
	rep, err := Run(context.Background(), client, Rows(payouts(10)...), j, Options{Concurrency: 2, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Made != 10 || rep.Unknown != 0 {
		t.Fatalf("report %+v", rep)
	}
	if links := linksByRow(t, srv); len(links) != 10 {
		t.Fatalf("%d links for 10 rows", len(links))
	}
}

func TestRunLeavesUnresolvedRowsUnknownAndTheNextRunResolvesThem(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	j := tempJournal(t)
	failCreates(srv, repeat(6*3, mock.Fault{Drop: mock.DropAfterApply})...) // each row, and its 2 retries
	rep, err := Run(context.Background(), client, Rows(payouts(6)...), j, Options{Retries: 2, RetryDelay: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unknown != 6 || rep.Made != 0 {
		t.Fatalf("report %+v", rep)
	}
	if n := srv.LinkCount(); n != 6 {
		t.Fatalf("%d links, want 6 (each applied once, whatever the retries)", n)
	}
	srv.SetFaults(nil)
	rep, err = Run(context.Background(), client, Rows(payouts(6)...), j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Made != 6 || rep.Unknown != 0 {
		t.Fatalf("second run: %+v", rep)
	}
	if n := srv.LinkCount(); n != 6 {
		t.Fatalf("%d links after the second run, want 6", n)
	}
}

func TestCheckCapsEachRowAndTheTotal(t *testing.T) {
	big := func(line int, cents int64, m gen.DeliveryMethod) Row {
		r := payouts(1)[0]
		r.Line, r.Reference, r.Payout.Amount, r.Payout.Delivery.Method = line, fmt.Sprint("inv-", line), dots.Amount(cents), m
		r.Payout.Payee.CountryCode, r.Payout.Payee.PhoneNumber = api.Ptr("1"), api.Ptr("2025550139")
		return r
	}
	for _, tc := range []struct {
		name    string
		rows    []Row
		max     dots.Amount
		bad     map[int]string // line: problem
		total   dots.Amount
		methods map[gen.DeliveryMethod]Sum
	}{
		{name: "under the default cap", rows: []Row{big(2, 1_000_000, gen.DeliveryMethodEmail), big(3, 250, gen.DeliveryMethodSms), big(4, 50, gen.DeliveryMethodEmail)},
			total: 1_000_300, methods: map[gen.DeliveryMethod]Sum{gen.DeliveryMethodEmail: {2, 1_000_050}, gen.DeliveryMethodSms: {1, 250}}},
		{name: "over the default cap", rows: []Row{big(2, 1_000_001, gen.DeliveryMethodEmail), big(3, 250, gen.DeliveryMethodEmail)},
			bad: map[int]string{2: "$10000.01 is over the batch's cap of $10000.00 a row"}},
		{name: "over a cap of one's own", rows: []Row{big(2, 501, gen.DeliveryMethodEmail)}, max: 500,
			bad: map[int]string{2: "$5.01 is over the batch's cap of $5.00 a row"}},
		{name: "a total that overflows", rows: []Row{big(2, math.MaxInt64, gen.DeliveryMethodEmail), big(3, math.MaxInt64, gen.DeliveryMethodSms),
			big(4, 1, gen.DeliveryMethodEmail)}, max: math.MaxInt64,
			bad: map[int]string{3: "brings the batch's total over $92233720368547758.07"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := Check(context.Background(), Rows(tc.rows...), nil, Options{MaxAmount: tc.max})
			var invalid *InvalidError
			switch {
			case len(tc.bad) == 0 && err != nil:
				t.Fatal(err)
			case len(tc.bad) == 0:
				if rep.Rows != len(tc.rows) || rep.Total != tc.total || !reflect.DeepEqual(rep.Methods, tc.methods) {
					t.Fatalf("report %+v", rep)
				}
				return
			case !errors.As(err, &invalid) || len(invalid.Rows) != len(tc.bad):
				t.Fatalf("err = %v, want %d bad rows", err, len(tc.bad))
			}
			for _, r := range invalid.Rows {
				if want, ok := tc.bad[r.Line]; !ok || len(r.Fields) != 1 || r.Fields[0].Field != "amount" || !strings.Contains(r.Fields[0].Problem, want) {
					t.Errorf("line %d: %+v, want amount: %s", r.Line, r.Fields, want)
				}
			}
		})
	}
}

// TestConfirmSeesThePlanAndNothingIsSentWithoutIt: Options.Confirm gets what the run is about to
// send, rows already paid (here from another journal) left out; an error from it sends nothing.
func TestConfirmSeesThePlanAndNothingIsSentWithoutIt(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	rows := payouts(10)
	rows[7].Payout.Delivery.Method = gen.DeliveryMethodLink
	if rep, err := Run(context.Background(), client, Rows(rows[:4]...), tempJournal(t), Options{}); err != nil || rep.Made != 4 {
		t.Fatalf("%+v, %v", rep, err)
	}
	j := tempJournal(t)
	var plans []Plan
	no := errors.New("no")
	before := len(srv.Requests())
	rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Confirm: func(p Plan) error { plans = append(plans, p); return no }})
	if !errors.Is(err, no) || rep.Run != 0 || creates(srv, before) != 0 {
		t.Fatalf("refused: %+v, %v, %d creates", rep, err, creates(srv, before))
	}
	want := Plan{Rows: 10, Total: 1045, Done: 4, Send: Sum{6, 639},
		Methods: map[gen.DeliveryMethod]Sum{gen.DeliveryMethodEmail: {5, 532}, gen.DeliveryMethodLink: {1, 107}}}
	if len(plans) != 1 || !reflect.DeepEqual(plans[0], want) {
		t.Fatalf("plans %+v, want %+v", plans, want)
	}
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{Confirm: func(p Plan) error { plans = append(plans, p); return nil }})
	if err != nil || rep.Made != 6 || rep.AlreadyMade != 4 || len(plans) != 2 || !reflect.DeepEqual(plans[1], want) {
		t.Fatalf("confirmed: %+v, %v, %+v", rep, err, plans)
	}
	// Nothing left to send: no question.
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{Confirm: func(p Plan) error { plans = append(plans, p); return no }})
	if err != nil || rep.AlreadyMade != 10 || len(plans) != 2 {
		t.Fatalf("nothing to send: %+v, %v, %d plans", rep, err, len(plans))
	}
}
