package batch

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// refused is the error of a connection refused: the create surely did not reach Dots.
var refused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

// TestARunStopsWhenDotsCannotBeReached: the endpoint goes down after 20 creates. The run stops
// after MaxUnreachable creates in a row could not reach Dots, rather than try every row again
// and again, and reports the rows it could not send "not sent", never "unknown". When Dots is
// back, the next run sends them, each once.
func TestARunStopsWhenDotsCannotBeReached(t *testing.T) {
	srv := newMock(t)
	var down atomic.Bool
	var creates, refusedCalls atomic.Int32
	transport := roundTripper(func(r *http.Request) (*http.Response, error) {
		if down.Load() || (r.Method == http.MethodPost && creates.Add(1) > 20) {
			down.Store(true)
			refusedCalls.Add(1)
			return nil, refused
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	client := newClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: transport}))
	j := tempJournal(t)
	rows := payouts(200)
	var results []Result
	rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 4, RetryDelay: time.Millisecond,
		Results: func(r Result) error { results = append(results, r); return nil }})
	if !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "10 creates in a row could not reach Dots") {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if rep.Made != 20 || rep.Unknown != 0 || rep.NotSent != 180 {
		t.Fatalf("report %+v", rep)
	}
	// Creates that could not reach Dots, each with the client's own 2 retries: at most 10 in a
	// row, after each of the (at most 3) creates that were on their way when Dots went down and
	// succeeded later, and the 3 other workers' on their way at the stop: not 180 rows tried 6
	// times (3,240 refused connections).
	if n := refusedCalls.Load(); n > (3*9+10+3)*3 {
		t.Fatalf("%d refused connections before the run stopped", n)
	}
	for _, r := range results {
		e, ok, _ := j.Entry(context.Background(), r.Line)
		if r.Outcome == OutcomeMade {
			continue
		}
		if r.Outcome != OutcomeNotSent || (ok && (e.State != NotSent || e.Attempts != 0)) {
			t.Fatalf("result %+v, entry %+v", r, e)
		}
	}

	creates.Store(-1 << 20)
	down.Store(false)
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 4})
	if err != nil || rep.Made != 180 || rep.AlreadyMade != 20 {
		t.Fatalf("once Dots is back: %+v, %v", rep, err)
	}
	if links := linksByRow(t, srv); len(links) != 200 {
		t.Fatalf("%d links for 200 rows", len(links))
	}
}

// TestAnInterruptedRunReportsUnsentRowsNotSent cancels the run's context after five rows: the
// rows never sent (keys committed, no attempt) are not sent, none is unknown. The next run sends
// them, and marks each one "sending" in the journal before it goes.
func TestAnInterruptedRunReportsUnsentRowsNotSent(t *testing.T) {
	srv := newMock(t)
	j := tempJournal(t)
	reader, err := OpenJournalReadOnly(context.Background(), j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var sendingFirst atomic.Bool
	spy := roundTripper(func(r *http.Request) (*http.Response, error) {
		if key := createKey(t, r); key != "" && sendingFirst.Load() {
			for e, err := range reader.Entries(context.Background()) {
				if err == nil && e.Key == key && e.State != Sending {
					t.Errorf("line %d was sent again while the journal said %s", e.Line, e.State)
				}
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	client := newClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: spy}))
	rows := payouts(40)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var once sync.Once
	rep, err := Run(ctx, client, Rows(rows...), j, Options{Concurrency: 1, Progress: func(p Progress) {
		if p.Made == 5 {
			once.Do(cancel) // as Ctrl-C would, between two creates
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if rep.Made != 5 || rep.Unknown != 0 || rep.NotSent != 35 {
		t.Fatalf("report %+v", rep)
	}
	keyed := 0
	for e, err := range j.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		if e.State != Made {
			keyed++
			if e.State != NotSent || e.Attempts != 0 || e.Error == "" {
				t.Fatalf("an unsent row: %+v", e)
			}
		}
	}
	if keyed == 0 {
		t.Fatal("no row was keyed and left unsent: the test proves nothing")
	}

	sendingFirst.Store(true)
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 4})
	if err != nil || rep.Made != 35 || rep.AlreadyMade != 5 {
		t.Fatalf("the next run: %+v, %v", rep, err)
	}
	if links := linksByRow(t, srv); len(links) != 40 {
		t.Fatalf("%d links for 40 rows", len(links))
	}
}

// TestARowIsUnknownOnlyIfItMayHaveReachedDots: the outcome of a row whose every attempt failed,
// by the kind of failure.
func TestARowIsUnknownOnlyIfItMayHaveReachedDots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fault   *mock.Fault // nil: the connection is refused
		outcome Outcome
	}{
		{"connection refused", nil, OutcomeNotSent},
		{"429, turned away", &mock.Fault{Status: 429}, OutcomeNotSent},
		{"503", &mock.Fault{Status: 503}, OutcomeUnknown},
		{"dropped after the request was read", &mock.Fault{Drop: mock.DropBeforeApply}, OutcomeUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newMock(t)
			transport := roundTripper(func(r *http.Request) (*http.Response, error) {
				if r.Method == http.MethodPost && tc.fault == nil {
					return nil, refused
				}
				return http.DefaultTransport.RoundTrip(r)
			})
			if tc.fault != nil {
				failCreates(srv, repeat(10, *tc.fault)...)
			}
			client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0), api.WithHTTPClient(&http.Client{Transport: transport}))
			var res Result
			rep, err := Run(context.Background(), client, Rows(payouts(1)...), tempJournal(t), Options{Retries: 2, RetryDelay: time.Millisecond,
				Results: func(r Result) error { res = r; return nil }})
			if err != nil || rep.Rows != 1 || res.Outcome != tc.outcome || res.Error == "" {
				t.Fatalf("%+v, %v; result %+v", rep, err, res)
			}
		})
	}
}
