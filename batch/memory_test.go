package batch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"
	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

// echoDots answers every create in process as Dots would, with a new link of the request's
// amount, payee, delivery and metadata, and keeps nothing: a batch's own memory can be measured
// without a server that grows with it. Clients built on it validate every answer against the
// spec (ContractStrict), so a bad answer fails the batch.
func echoDots(t testing.TB) http.RoundTripper {
	return roundTripper(func(r *http.Request) (*http.Response, error) {
		var req gen.CreatePayoutLinkRequest
		b, err := io.ReadAll(r.Body)
		if err == nil {
			err = codec.Unmarshal(b, &req)
		}
		if err != nil || r.Method != http.MethodPost {
			t.Errorf("echoDots got %s %s: %v", r.Method, r.URL.Path, err)
			return nil, fmt.Errorf("echoDots: %v", err)
		}
		id := uuid.NewString()
		link := gen.PayoutLink{ID: id, Created: dots.Timestamp{Time: time.Now().UTC().Truncate(time.Microsecond)},
			Link: "https://my-sandbox.dots.dev/flow/" + id, Amount: req.Amount, Status: gen.PayoutLinkStatusSent,
			Payee:    gen.PayoutLinkPayee{Email: *req.Payee.Email},
			Delivery: gen.PayoutLinkDelivery{Method: req.Delivery.Method, Email: *req.Payee.Email},
			FlowID:   uuid.NewString(), Metadata: req.Metadata, FundingSource: gen.FundingSourceDotsBalance}
		out, err := codec.Marshal(link)
		if err != nil {
			return nil, err
		}
		return &http.Response{StatusCode: http.StatusCreated, Status: "201 Created", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(out))}},
			Body:          io.NopCloser(bytes.NewReader(out)),
			ContentLength: int64(len(out)), Request: r}, nil
	})
}

// liveHeap is the heap that survives a collection: what a batch keeps, not what it churns.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// flatMemoryRows is the size of the batches that prove memory flat; the race detector's
// slower runs get a smaller one (make test runs them).
func flatMemoryRows() (check, run int) {
	if raceEnabled {
		return 10_000, 1_000
	}
	return 100_000, 10_000
}

// growth walks a batch of n rows with measure, sampling the live heap every tenth of the way,
// and returns the largest sample of the first half (which includes warming up: connections,
// caches) and the largest of the second. A batch that keeps something per row grows from one to
// the other.
func growth(t *testing.T, n int, measure func(sample func(done int))) (first, second uint64) {
	t.Helper()
	step, samples := n/10, 0
	measure(func(done int) {
		if done%step != 0 {
			return
		}
		samples++
		if h := liveHeap(); done <= n/2 {
			first = max(first, h)
		} else {
			second = max(second, h)
		}
	})
	if samples < 10 {
		t.Fatalf("%d samples taken, want 10", samples)
	}
	return first, second
}

// flatBudget is what a batch of n rows may keep in its second half beyond its first: less
// than 64 bytes for each row of the second half (a batch that kept a short string per row would
// exceed it), and at least 256 KiB for the noise of small batches.
func flatBudget(n int) uint64 { return max(256<<10, uint64(n)/2*64) }

func TestCheckReadsAHugeFileInFlatMemory(t *testing.T) {
	n, _ := flatMemoryRows()
	path := filepath.Join(t.TempDir(), "huge.csv")
	if err := os.WriteFile(path, []byte(csvText(n)), 0o600); err != nil {
		t.Fatal(err)
	}
	base, peak := growth(t, n, func(sample func(int)) {
		rows := CSVFile(path)
		counted := iter.Seq2[Row, error](func(yield func(Row, error) bool) {
			done := 0
			for r, err := range rows {
				if !yield(r, err) {
					return
				}
				done++
				sample(done)
			}
		})
		rep, err := Check(context.Background(), counted, nil, Options{AllowNoReference: true})
		if err != nil || rep.Rows != n {
			t.Fatalf("%+v, %v", rep, err)
		}
	})
	t.Logf("%d rows checked: live heap at most %d KiB in the first half, %d KiB in the second", n, base>>10, peak>>10)
	if peak > base+flatBudget(n) {
		t.Fatalf("the live heap grew by %d KiB from the first half of the file to the second", (peak-base)>>10)
	}
}

func TestRunPaysAHugeFileInFlatMemory(t *testing.T) {
	_, n := flatMemoryRows()
	path := filepath.Join(t.TempDir(), "huge.csv")
	if err := os.WriteFile(path, []byte(csvText(n)), 0o600); err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient("pk_test_batch", "sk_test_batch_0c1d2e", api.WithBaseURL("http://127.0.0.1:1/api"),
		api.WithHTTPClient(&http.Client{Transport: echoDots(t)}), api.WithContractValidation(api.ContractStrict))
	if err != nil {
		t.Fatal(err)
	}
	j := tempJournal(t)
	var rep *Report
	base, peak := growth(t, n, func(sample func(int)) {
		rep, err = Run(context.Background(), client, CSVFile(path), j, Options{Concurrency: 8, AllowNoReference: true,
			Progress: func(p Progress) { sample(p.Done) }, Results: func(Result) error { return nil }})
	})
	if err != nil || rep.Made != n {
		t.Fatalf("%+v, %v", rep, err)
	}
	t.Logf("%d rows paid: live heap at most %d KiB in the first half, %d KiB in the second", n, base>>10, peak>>10)
	if peak > base+flatBudget(n) {
		t.Fatalf("the live heap grew by %d KiB from the first half of the batch to the second", (peak-base)>>10)
	}
}
