package batch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// roundTripper adapts a function to http.RoundTripper.
type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// createKey reads the idempotency key of a create request, leaving its body readable.
func createKey(t testing.TB, r *http.Request) string {
	if r.Method != http.MethodPost || r.Body == nil {
		return ""
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		t.Error(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(b))
	var body struct {
		Key string `json:"idempotency_key"`
	}
	_ = json.Unmarshal(b, &body)
	return body.Key
}

func TestTheKeyIsCommittedBeforeTheRowIsSent(t *testing.T) {
	srv := newMock(t)
	j := tempJournal(t)
	// A second reader of the journal file, as an operator's sqlite3 would be.
	reader, err := OpenJournalReadOnly(context.Background(), j.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	rows := payouts(30)
	var checked atomic.Int32
	spy := roundTripper(func(r *http.Request) (*http.Response, error) {
		if key := createKey(t, r); key != "" {
			found := false
			for e, err := range reader.Entries(context.Background()) {
				if err != nil {
					t.Error(err)
				}
				if e.Key == key {
					found = true
					h, _ := RowHash(rows[e.Line-2])
					if e.State != Sending || e.Hash != h || e.KeyCreated.IsZero() {
						t.Errorf("before its create was sent, row %d stood %+v", e.Line, e)
					}
				}
			}
			if !found {
				t.Errorf("key %s was sent before it was committed", key)
			}
			checked.Add(1)
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	client := newClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: spy}))
	if rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 4}); err != nil || rep.Made != 30 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if checked.Load() != 30 {
		t.Fatalf("%d creates seen, want 30", checked.Load())
	}
}

func TestAStaleKeyIsLookedUpBeforeTheRowIsSentAgain(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	// The mock forgets keys after 24 hours by the same clock, as Dots does.
	srv := newMock(t, mock.WithClock(clock))
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	j := tempJournal(t)
	rows := withoutReferences(payouts(3)) // lines 2, 3, 4, with random keys

	// Line 2 is made but its answer is lost; line 3 never reaches Dots (dropped before it is
	// applied); line 4 is made. No retries in this run.
	srv.FailNext(1, mock.Fault{Drop: mock.DropAfterApply})
	srv.FailNext(1, mock.Fault{Drop: mock.DropBeforeApply})
	rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 1, Retries: -1, Now: clock, AllowNoReference: true})
	if err != nil || rep.Unknown != 2 || rep.Made != 1 {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	first := map[int]Entry{}
	for e, err := range j.Entries(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		first[e.Line] = e
	}

	// 25 hours on, Dots has forgotten both keys: sending line 2 again with its key would pay it twice.
	mu.Lock()
	now = now.Add(25 * time.Hour)
	mu.Unlock()
	before := len(srv.Requests())
	rep, err = Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 1, Now: clock, AllowNoReference: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.AlreadyMade != 2 || rep.Made != 1 || rep.Unknown+rep.Failed != 0 {
		t.Fatalf("second run: %+v", rep)
	}
	links := linksByRow(t, srv)
	if len(links) != 3 {
		t.Fatalf("%d links for 3 rows", len(links))
	}
	e2, _, _ := j.Entry(context.Background(), 2)
	e3, _, _ := j.Entry(context.Background(), 3)
	switch {
	case e2.State != Made || !e2.Found || e2.Key != first[2].Key || e2.LinkID != links["2"].ID:
		t.Fatalf("line 2 should be found by its batch_key: %+v", e2)
	case e3.State != Made || e3.Key == first[3].Key || e3.LinkID != links["3"].ID || links["3"].Metadata[MetadataKey] != e3.Key:
		t.Fatalf("line 3 should be made with a new key: %+v, first %+v", e3, first[3])
	}
	if keys, _ := j.Keys(context.Background(), 3); len(keys) != 2 || keys[0] != first[3].Key || keys[1] != e3.Key {
		t.Fatalf("line 3's keys: %v", keys)
	}
	var creates int
	for _, r := range srv.Requests()[before:] {
		if r.Operation == "create-payout-link" {
			creates++
			if r.IdempotencyKey == first[2].Key || r.IdempotencyKey == first[3].Key {
				t.Errorf("a stale key was sent again: %+v", r)
			}
		}
	}
	if creates != 1 {
		t.Fatalf("%d creates in the second run, want 1 (line 3)", creates)
	}
}

func TestAChangedRowIsRefusedAndItsKeyNeverSent(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	j := tempJournal(t)
	rows := payouts(3)
	failCreates(srv, mock.Fault{Drop: mock.DropBeforeApply}) // line 2 is left without an outcome
	if rep, err := Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 1, Retries: -1}); err != nil || rep.Unknown != 1 {
		t.Fatalf("first run: %+v, %v", rep, err)
	}
	e, _, _ := j.Entry(context.Background(), 2)
	before := len(srv.Requests())
	rows[0].Payout.Amount += 100
	_, err := Run(context.Background(), client, Rows(rows...), j, Options{})
	var invalid *InvalidError
	if !errors.As(err, &invalid) || len(invalid.Rows) != 1 || invalid.Rows[0].Line != 2 {
		t.Fatalf("err = %v, want line 2 named", err)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("%d requests sent after a row changed", n)
	}
	if after, _, _ := j.Entry(context.Background(), 2); after != e {
		t.Fatalf("the journal changed: %+v, was %+v", after, e)
	}
	// Rows the journal has past the end of the input are named too.
	if _, err := Run(context.Background(), client, Rows(payouts(2)...), j, Options{}); !errors.As(err, &invalid) ||
		invalid.Rows[len(invalid.Rows)-1].Line != 4 {
		t.Fatalf("err = %v, want the journal's line 4 named", err)
	}
}

func TestAReusedKeyIsNeverASuccess(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	j := tempJournal(t)
	rows := payouts(1)
	// Some other payout already used the key the journal holds for line 2.
	key := api.NewIdempotencyKey()
	other := rows[0].Payout
	other.Amount = 99999
	if _, err := client.CreatePayoutLink(context.Background(), request(Row{Payout: other}, key)); err != nil {
		t.Fatal(err)
	}
	h, _ := RowHash(rows[0])
	now := time.Now()
	if err := j.putKeys([]Entry{{Line: 2, Key: key, KeyCreated: now, Hash: h, Amount: rows[0].Payout.Amount,
		State: Sending, Run: 1, Updated: now}}); err != nil {
		t.Fatal(err)
	}
	rep, err := Run(context.Background(), client, Rows(rows...), j, Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, _, _ := j.Entry(context.Background(), 2)
	if rep.Failed != 1 || rep.Made+rep.AlreadyMade != 0 || rep.Amount != 0 || e.State != Failed || e.LinkID != "" {
		t.Fatalf("report %+v, entry %+v", rep, e)
	}
	if srv.LinkCount() != 1 {
		t.Fatalf("%d links", srv.LinkCount())
	}
}

func TestA429PausesEveryWorker(t *testing.T) {
	srv := newMock(t)
	th := NewThrottle(0)
	var mu sync.Mutex
	var seen time.Time // when the 429 came back
	var limitedKey string
	type send struct {
		at  time.Time
		key string
	}
	var sends []send
	record := roundTripper(func(r *http.Request) (*http.Response, error) {
		key := createKey(t, r)
		mu.Lock()
		sends = append(sends, send{time.Now(), key})
		mu.Unlock()
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err == nil && resp.StatusCode == http.StatusTooManyRequests {
			mu.Lock()
			seen, limitedKey = time.Now(), key
			mu.Unlock()
		}
		return resp, err
	})
	client := newClient(t, srv.BaseURL(), api.WithHTTPClient(&http.Client{Transport: th.Transport(record)}))
	failCreates(srv, mock.Fault{Status: 429, RetryAfter: "1"})
	rep, err := Run(context.Background(), client, Rows(payouts(12)...), tempJournal(t), Options{Concurrency: 4, Throttle: th})
	if err != nil || rep.Made != 12 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if seen.IsZero() {
		t.Fatal("no 429 was answered")
	}
	// Requests already past the throttle when the 429 came back (at most one per other worker)
	// may go on; every other one waits for the Retry-After, the retry of the limited one included.
	early, later := 0, 0
	for _, s := range sends {
		switch {
		case s.at.After(seen) && s.at.Before(seen.Add(950*time.Millisecond)):
			early++
			if s.key == limitedKey {
				t.Errorf("the client retried the limited create %v after the 429, within its Retry-After", s.at.Sub(seen))
			}
		case s.at.After(seen):
			later++
		}
	}
	if early > 3 || later == 0 {
		t.Fatalf("%d requests went out during the pause, %d after it", early, later)
	}
}

func TestA429AfterTheClientsRetriesPausesTheBatchAndTheRowIsRetried(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL(), api.WithMaxRetries(0))
	failCreates(srv, mock.Fault{Status: 429})
	start := time.Now()
	rep, err := Run(context.Background(), client, Rows(payouts(4)...), tempJournal(t), Options{Concurrency: 2})
	if err != nil || rep.Made != 4 || rep.Failed != 0 {
		t.Fatalf("%+v, %v", rep, err)
	}
	if d := time.Since(start); d < 950*time.Millisecond {
		t.Fatalf("the run took %v: the batch did not pause after the 429", d)
	}
}

func TestThrottleRate(t *testing.T) {
	th := NewThrottle(50)
	start := time.Now()
	for range 11 {
		if err := th.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 190*time.Millisecond {
		t.Fatalf("11 creates at 50/s took %v, want at least 200ms", d)
	}
	th.Pause(time.Hour)
	if p := th.Paused(); p < 59*time.Second || p > MaxPause {
		t.Fatalf("a pause of an hour lasts %v, want MaxPause", p)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := th.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait during a pause with a canceled context: %v", err)
	}
	for v, want := range map[string]time.Duration{"2": 2 * time.Second, "": time.Second, "soon": time.Second, "0": 0} {
		if got := retryAfter(v, time.Now()); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// TestTwoRunsOnOneJournalPayEachRowOnce runs the same batch twice at once on one journal file
// (two handles, as two processes would have): a run that finds a row keyed by the other stops
// rather than send it with a key of its own, so every row still has exactly one link.
func TestTwoRunsOnOneJournalPayEachRowOnce(t *testing.T) {
	srv := newMock(t)
	client := newClient(t, srv.BaseURL())
	path := filepath.Join(t.TempDir(), "shared.journal")
	a, b := mustJournal(t, path), mustJournal(t, path)
	rows := payouts(120)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, j := range []*Journal{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = Run(context.Background(), client, Rows(rows...), j, Options{Concurrency: 4, RetryDelay: time.Millisecond})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil && !errors.Is(err, errConcurrentRun) {
			t.Errorf("a run failed otherwise: %v", err)
		}
	}
	t.Logf("errors: %v", errs)
	// Whatever happened, one more run settles the batch, and every row has one link.
	rep, err := Run(context.Background(), client, Rows(rows...), a, Options{})
	if err != nil || rep.Made+rep.AlreadyMade != len(rows) {
		t.Fatalf("%+v, %v", rep, err)
	}
	if links := linksByRow(t, srv); len(links) != len(rows) {
		t.Fatalf("%d links for %d rows", len(links), len(rows))
	}
}
