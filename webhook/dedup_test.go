package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// deliverOnce sends one signed delivery of body with message id id to h and returns the status.
func deliverOnce(h http.Handler, ctx context.Context, id string, body []byte) int {
	req := httptest.NewRequestWithContext(ctx, http.MethodPost, "/hook", bytes.NewReader(body))
	req.Header = signed(id, body)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code
}

// TestHandlerDeduplicates checks that Handler calls its function once per message by default:
// a repeat is answered 204 without a call, a message whose first delivery failed (an error, a
// panic, an aborted handler) is handled when it comes again, and WithDeduplication(nil) calls
// the function for every delivery.
func TestHandlerDeduplicates(t *testing.T) {
	t.Parallel()
	errFail := errors.New("database down")
	tests := []struct {
		name  string
		opts  []HandlerOption
		first func() error // what the function does on its first call; later calls succeed
		want  []int        // statuses of four deliveries of one message
		calls int
	}{
		{name: "repeats answered without a call", first: func() error { return nil },
			want: []int{204, 204, 204, 204}, calls: 1},
		{name: "failed first try lets the retry through", first: func() error { return errFail },
			want: []int{500, 204, 204, 204}, calls: 2},
		{name: "panicked first try lets the retry through", first: func() error { panic("boom") },
			want: []int{500, 204, 204, 204}, calls: 2},
		{name: "off", opts: []HandlerOption{WithDeduplication(nil)}, first: func() error { return nil },
			want: []int{204, 204, 204, 204}, calls: 4},
		{name: "own store", opts: []HandlerOption{WithDeduplication(NewMemoryDedup(5))}, first: func() error { return errFail },
			want: []int{500, 204, 204, 204}, calls: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var calls atomic.Int32
			h := Handler(newTestVerifier(t), func(context.Context, Event) error {
				if calls.Add(1) == 1 {
					return tt.first()
				}
				return nil
			}, tt.opts...)
			var got []int
			for range tt.want {
				got = append(got, deliverOnce(h, context.Background(), testMessageID, testUpdated))
			}
			if !slices.Equal(got, tt.want) || int(calls.Load()) != tt.calls {
				t.Errorf("statuses %v, %d calls; want %v, %d calls", got, calls.Load(), tt.want, tt.calls)
			}
			// Another message is its own.
			if code := deliverOnce(h, context.Background(), "msg_other", testUpdated); code != 204 || int(calls.Load()) != tt.calls+1 {
				t.Errorf("another message: %d, %d calls", code, calls.Load())
			}
		})
	}

	t.Run("aborted handler lets the retry through", func(t *testing.T) {
		t.Parallel()
		var calls atomic.Int32
		h := Handler(newTestVerifier(t), func(context.Context, Event) error {
			if calls.Add(1) == 1 {
				panic(http.ErrAbortHandler)
			}
			return nil
		})
		func() {
			defer func() {
				if p := recover(); p != http.ErrAbortHandler {
					t.Fatalf("recovered %v", p)
				}
			}()
			deliverOnce(h, context.Background(), testMessageID, testUpdated)
		}()
		if code := deliverOnce(h, context.Background(), testMessageID, testUpdated); code != 204 || calls.Load() != 2 {
			t.Errorf("retry: %d, %d calls; want 204 and 2 calls", code, calls.Load())
		}
	})
}

// TestHandlerDeduplicatesConcurrent checks that deliveries of a message that arrive while its
// first delivery is being handled are answered 409 without calling the function (Svix retries
// them later), that other messages go through meanwhile, and that once the first succeeded the
// message is a repeat. Run it with -race.
func TestHandlerDeduplicatesConcurrent(t *testing.T) {
	t.Parallel()
	started, release := make(chan struct{}), make(chan struct{})
	var calls sync.Map // message id -> *atomic.Int32
	h := Handler(newTestVerifier(t), func(_ context.Context, ev Event) error {
		n, _ := calls.LoadOrStore(ev.MessageID, new(atomic.Int32))
		if n.(*atomic.Int32).Add(1) == 1 && ev.MessageID == testMessageID {
			close(started)
			<-release // hold the first delivery until the others are answered
		}
		return nil
	})
	count := func(id string) int32 {
		n, ok := calls.Load(id)
		if !ok {
			return 0
		}
		return n.(*atomic.Int32).Load()
	}

	first := make(chan int, 1)
	go func() { first <- deliverOnce(h, context.Background(), testMessageID, testUpdated) }()
	<-started

	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { codes[i] = deliverOnce(h, context.Background(), testMessageID, testUpdated) })
	}
	others := make([]int, n)
	for i := range n {
		wg.Go(func() {
			others[i] = deliverOnce(h, context.Background(), "msg_other_"+string(rune('a'+i)), testUpdated)
		})
	}
	wg.Wait()
	for i := range n {
		if codes[i] != http.StatusConflict {
			t.Errorf("concurrent delivery %d: %d, want 409", i, codes[i])
		}
		if others[i] != http.StatusNoContent || count("msg_other_"+string(rune('a'+i))) != 1 {
			t.Errorf("another message %d: %d", i, others[i])
		}
	}
	if c := count(testMessageID); c != 1 {
		t.Errorf("%d calls while the first delivery was held, want 1", c)
	}
	close(release)
	if code := <-first; code != http.StatusNoContent {
		t.Errorf("first delivery: %d", code)
	}
	if code := deliverOnce(h, context.Background(), testMessageID, testUpdated); code != http.StatusNoContent || count(testMessageID) != 1 {
		t.Errorf("after the first succeeded: %d, %d calls; want 204 and 1 call", code, count(testMessageID))
	}
}

// fakeStore is a DedupStore that answers what it is told and records its calls.
type fakeStore struct {
	state    DedupState
	err      error
	claims   []string
	finishes []string // "id handled" or "id failed"
	finishOK bool     // Finish's context was not canceled
}

func (f *fakeStore) Claim(_ context.Context, id string) (DedupState, error) {
	f.claims = append(f.claims, id)
	return f.state, f.err
}

func (f *fakeStore) Finish(ctx context.Context, id string, handled bool) error {
	f.finishOK = ctx.Err() == nil
	f.finishes = append(f.finishes, id+map[bool]string{true: " handled", false: " failed"}[handled])
	return errors.New("store down")
}

// TestHandlerWithOwnStore checks how Handler uses a DedupStore: what each answer of Claim
// does, that Finish follows a call with its outcome, under a context that is not canceled with
// the request, and that a failing Finish does not change the answer.
func TestHandlerWithOwnStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		store    fakeStore
		fnErr    error
		status   int
		called   bool
		finishes string
	}{
		{"new, handled", fakeStore{state: DedupNew}, nil, 204, true, testMessageID + " handled"},
		{"new, failed", fakeStore{state: DedupNew}, errors.New("x"), 500, true, testMessageID + " failed"},
		{"handled before", fakeStore{state: DedupHandled}, nil, 204, false, ""},
		{"in progress", fakeStore{state: DedupInProgress}, nil, 409, false, ""},
		{"store fails", fakeStore{err: errors.New("store down")}, nil, 500, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			store := tt.store
			called := false
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			h := Handler(newTestVerifier(t), func(context.Context, Event) error {
				called = true
				cancel() // the request's context ends while the function runs, as when Svix gives up
				return tt.fnErr
			}, WithDeduplication(&store))
			if code := deliverOnce(h, ctx, testMessageID, testUpdated); code != tt.status || called != tt.called {
				t.Errorf("status %d, called %v; want %d, %v", code, called, tt.status, tt.called)
			}
			if len(store.claims) != 1 || store.claims[0] != testMessageID {
				t.Errorf("claims %v", store.claims)
			}
			if got := strings.Join(store.finishes, ", "); got != tt.finishes {
				t.Errorf("finishes %q, want %q", got, tt.finishes)
			}
			if tt.called && !store.finishOK {
				t.Error("Finish got a canceled context")
			}
		})
	}
}

func TestMemoryDedupBound(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := NewMemoryDedup(2)
	handle := func(id string) DedupState {
		st, _ := m.Claim(ctx, id)
		if st == DedupNew {
			_ = m.Finish(ctx, id, true)
		}
		return st
	}
	for _, id := range []string{"a", "b", "c"} {
		if st := handle(id); st != DedupNew {
			t.Fatalf("%s: %v", id, st)
		}
	}
	// The last two are remembered; "a", the oldest, was forgotten.
	for id, want := range map[string]DedupState{"b": DedupHandled, "c": DedupHandled} {
		if st, _ := m.Claim(ctx, id); st != want {
			t.Errorf("%s: %v, want %v", id, st, want)
		}
	}
	if st := handle("a"); st != DedupNew {
		t.Errorf("a after 2 newer: %v, want new", st)
	}
	if st, _ := m.Claim(ctx, "b"); st != DedupNew {
		t.Errorf("b after a was handled again: %v, want new (forgotten)", st)
	}
	// A claim in progress, then released.
	if st, _ := m.Claim(ctx, "b"); st != DedupInProgress {
		t.Errorf("b while claimed: %v", st)
	}
	_ = m.Finish(ctx, "b", false)
	if st, _ := m.Claim(ctx, "b"); st != DedupNew {
		t.Errorf("b after a failed try: %v", st)
	}
	if NewMemoryDedup(0).n != DefaultDedupSize {
		t.Error("NewMemoryDedup(0) does not use the default size")
	}
}
