package batch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// creates counts the creates the mock received from request from on.
func creates(srv *mock.Server, from int) int {
	n := 0
	for _, r := range srv.Requests()[from:] {
		if r.Operation == "create-payout-link" {
			n++
		}
	}
	return n
}

// TestAReferenceIsPaidOnceWhateverTheJournal pays rows with references, then the same rows with a
// new journal (another --journal, a deleted one), then a later batch holding old rows on other
// lines beside new ones: every reference has one link, and only the new rows are sent.
func TestAReferenceIsPaidOnceWhateverTheJournal(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	rows := payouts(30)
	rep, err := Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{})
	if err != nil || rep.Made != 30 {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	for _, l := range srv.Links() {
		ref := l.Metadata.Get(MetadataReference)
		if !strings.HasPrefix(ref, "inv-") || l.Metadata.Get(MetadataKey) != ReferenceKey(ref) {
			t.Fatalf("link %s: metadata %v, want batch_reference and batch_key = ReferenceKey(batch_reference)", l.ID, l.Metadata)
		}
	}
	for i := range 2 {
		before := len(srv.Requests())
		rep, err := Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{Concurrency: 3})
		if err != nil || rep.AlreadyMade != 30 || rep.Made+rep.Failed+rep.Unknown+rep.NotSent != 0 {
			t.Fatalf("run %d with a new journal: %+v, %v", i+2, rep, err)
		}
		if n := creates(srv, before); n != 0 {
			t.Fatalf("run %d with a new journal sent %d creates", i+2, n)
		}
	}

	// A later batch: 10 new rows, then 20 old ones, on other lines.
	later := append(payouts(40)[30:], rows[5:25]...)
	for i := range later {
		later[i].Line = 100 + i
	}
	var results []Result
	rep, err = Run(context.Background(), client, Rows(later...), tempJournal(t), Options{Results: func(r Result) error { results = append(results, r); return nil }})
	if err != nil || rep.Made != 10 || rep.AlreadyMade != 20 {
		t.Fatalf("later batch: %+v, %v", rep, err)
	}
	if links := linksByRow(t, srv); len(links) != 40 || srv.LinkCount() != 40 {
		t.Fatalf("%d links for 40 references", srv.LinkCount())
	}
	for _, r := range results[10:] {
		if r.Outcome != OutcomeAlreadyMade || r.LinkID == "" {
			t.Fatalf("an old row of the later batch: %+v", r)
		}
	}
}

// TestAReferenceWithAnotherAmountIsAConflict: a later row whose reference already has a link of
// another amount is failed, with the link named, and nothing is sent for it.
func TestAReferenceWithAnotherAmountIsAConflict(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	rows := payouts(3)
	if rep, err := Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{}); err != nil || rep.Made != 3 {
		t.Fatalf("%+v, %v", rep, err)
	}
	first := linksByRow(t, srv)["3"]
	rows[1].Payout.Amount += 500
	before := len(srv.Requests())
	var results []Result
	rep, err := Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{Results: func(r Result) error { results = append(results, r); return nil }})
	if err != nil || rep.AlreadyMade != 2 || rep.Failed != 1 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if n := creates(srv, before); n != 0 {
		t.Fatalf("%d creates sent", n)
	}
	if r := results[1]; r.Outcome != OutcomeFailed || r.LinkID != "" ||
		!strings.Contains(r.Error, fmt.Sprintf(`conflict: link %s ($1.01, status sent) already carries its reference "inv-3", and this row is for $6.01`, first.ID)) {
		t.Fatalf("result %+v", r)
	}
}

func TestIdenticalRowsAreRefusedNamingBoth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rows  func() []Row
		allow bool
		want  map[int]string // line: problem
	}{
		{"two rows with one reference", func() []Row {
			rows := payouts(4)
			rows[3].Reference = rows[1].Reference // other amount, same reference
			return rows
		}, false, map[int]string{5: `reference: "inv-3" is also the reference of line 3`}},
		{"two rows alike without references", func() []Row {
			rows := withoutReferences(payouts(4))
			rows[2].Payout = rows[0].Payout
			return rows
		}, true, map[int]string{4: "row: is the same payout as line 2, alike in every field"}},
		{"rows alike with references of their own", func() []Row {
			rows := payouts(3)
			rows[2].Payout = rows[0].Payout
			return rows
		}, false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMock(t)
			rows := tc.rows()
			_, err := Run(context.Background(), newClient(t, srv.BaseURL()), Rows(rows...), tempJournal(t), Options{AllowNoReference: tc.allow})
			if tc.want == nil {
				if err != nil || srv.LinkCount() != len(rows) {
					t.Fatalf("%d links, %v", srv.LinkCount(), err)
				}
				return
			}
			var invalid *InvalidError
			if !errors.As(err, &invalid) || len(invalid.Rows) != len(tc.want) {
				t.Fatalf("err = %v", err)
			}
			for _, r := range invalid.Rows {
				if !strings.Contains(r.Error(), tc.want[r.Line]) {
					t.Errorf("%v, want %s", r, tc.want[r.Line])
				}
			}
			if n := len(srv.Requests()); n != 0 {
				t.Fatalf("%d requests sent", n)
			}
		})
	}
}

func TestRowsWithoutReferencesNeedAllowNoReference(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	rows := payouts(5)
	rows[1].Reference, rows[3].Reference = "", ""
	_, err := Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{})
	var noRef *NoReferenceError
	if !errors.As(err, &noRef) || *noRef != (NoReferenceError{Rows: 2, Total: 5, Line: 3}) || !strings.Contains(err.Error(), "AllowNoReference") {
		t.Fatalf("err = %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("%d requests sent", n)
	}
	// Allowed, they get random keys; the others keys derived from their references.
	j := tempJournal(t)
	if rep, err := Run(context.Background(), client, Rows(rows...), j, Options{AllowNoReference: true}); err != nil || rep.Made != 5 {
		t.Fatalf("%+v, %v", rep, err)
	}
	for _, r := range rows {
		e, _, _ := j.Entry(context.Background(), r.Line)
		if derived := e.Key == ReferenceKey(r.Reference); derived != (r.Reference != "") {
			t.Errorf("line %d (reference %q) has key %s", r.Line, r.Reference, e.Key)
		}
	}
}

// TestTheLookupWalksBackOverTheLookbackWindowOnly: the walk of the links stops at the first link
// older than the window; a reference paid within it is found, one paid before is not.
func TestTheLookupWalksBackOverTheLookbackWindowOnly(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := newMock(t, mock.WithClock(clock))
	client := newClient(t, srv.BaseURL())
	old := payouts(250) // three pages of links, 100 days old
	if rep, err := Run(context.Background(), client, Rows(old...), tempJournal(t), Options{Concurrency: 8, Now: clock}); err != nil || rep.Made != 250 {
		t.Fatalf("%+v, %v", rep, err)
	}
	mu.Lock()
	now = now.Add(100 * 24 * time.Hour)
	mu.Unlock()
	lists := func(from int) int {
		n := 0
		for _, r := range srv.Requests()[from:] {
			if r.Operation == "list-payout-links" {
				n++
			}
		}
		return n
	}
	// A new reference, and one paid 100 days ago: with the default 90 days, one page is read
	// (its first link is older than the window), and both are paid.
	rows := []Row{old[0], payouts(260)[255]}
	before := len(srv.Requests())
	rep, err := Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{Now: clock})
	if err != nil || rep.Made != 2 || lists(before) != 1 {
		t.Fatalf("%+v, %v; %d lists", rep, err, lists(before))
	}
	// With 120 days, the walk goes back far enough to find it (the third page).
	rows = []Row{old[1]}
	before = len(srv.Requests())
	rep, err = Run(context.Background(), client, Rows(rows...), tempJournal(t), Options{Now: clock, Lookback: 120 * 24 * time.Hour})
	if err != nil || rep.AlreadyMade != 1 || lists(before) != 3 || creates(srv, before) != 0 {
		t.Fatalf("%+v, %v; %d lists", rep, err, lists(before))
	}
}

// TestAStaleDerivedKeyIsSentAgainNotReplaced: a row with a reference whose key is over 23 hours
// old is looked up first; if no link carries it, it is sent again with the same key (a key
// derived from a reference cannot be replaced), which Dots now takes as new.
func TestAStaleDerivedKeyIsSentAgainNotReplaced(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv := newMock(t, mock.WithClock(clock))
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	j := tempJournal(t)
	rows := payouts(3)
	failCreates(srv, mock.Fault{Drop: mock.DropAfterApply}, mock.Fault{Drop: mock.DropBeforeApply})
	rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 1, Retries: -1, Now: clock})
	if err != nil || rep.Unknown != 2 || rep.Made != 1 {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 1, Now: clock})
	if err != nil || rep.AlreadyMade != 2 || rep.Made != 1 {
		t.Fatalf("second run: %+v, %v", rep, err)
	}
	links := linksByRow(t, srv)
	e3, _, _ := j.Entry(context.Background(), 3)
	keys, _ := j.Keys(context.Background(), 3)
	if len(links) != 3 || e3.State != Made || e3.Key != ReferenceKey("inv-3") || len(keys) != 1 || !e3.KeyCreated.Equal(now) ||
		links["3"].Metadata.Get(MetadataKey) != e3.Key || links["3"].Amount != dots.Amount(101) {
		t.Fatalf("%d links; line 3: %+v, keys %v", len(links), e3, keys)
	}
}

// TestAChangedReferenceDuringTheRunIsRefused: a file that changes between the check and the
// sending is refused at the changed row, even where the journal has nothing to compare with.
func TestAChangedReferenceDuringTheRunIsRefused(t *testing.T) {
	srv := newMock(t)
	rows := payouts(3)
	walks := 0
	seq := func(yield func(Row, error) bool) {
		walks++
		for _, r := range rows {
			if walks > 1 && r.Line == 4 {
				r.Reference = "inv-2" // the same reference as line 2, after the check
			}
			if !yield(r, nil) {
				return
			}
		}
	}
	_, err := Run(context.Background(), newClient(t, srv.BaseURL()), seq, tempJournal(t), Options{Concurrency: 1})
	var invalid *InvalidError
	if !errors.As(err, &invalid) || invalid.Rows[0].Line != 4 || !strings.Contains(err.Error(), "the input changed during the run") {
		t.Fatalf("err = %v", err)
	}
	if n := srv.LinkCount(); n > 2 {
		t.Fatalf("%d links", n)
	}
}
