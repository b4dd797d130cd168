package api_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/oapi-codegen/nullable"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// The full matrix is 10,000 creates: `make faultmatrix` (or -faultmatrix.n=10000). make test runs
// a short version so the race detector stays affordable.
var faultMatrixN = flag.Int("faultmatrix.n", 1000, "creates in TestFaultMatrix")

// faults the matrix draws from, each with what it does to a create.
var matrixFaults = []mock.Fault{
	{Status: 503},                              // not applied
	{Status: 429, RetryAfter: "1"},             // not applied
	{Status: 500, ApplyFirst: true},            // applied, then an error
	{Status: 502, ApplyFirst: true},            // applied, then an error
	{Drop: mock.DropBeforeApply},               // not applied, no answer
	{Drop: mock.DropAfterApply},                // applied, no answer
	{Body: mock.TruncatedBody},                 // applied, broken answer
	{Body: mock.NonJSONBody},                   // applied, broken answer
	{Delay: 200 * time.Millisecond},            // past the attempt timeout: the client gives up
	{Status: 400},                              // a refusal: never retried
	{Delay: 5 * time.Millisecond, Status: 503}, // slow and failing
}

// TestFaultMatrix sends many concurrent creates through random faults and proves, for money:
// no duplicate links (one per intent), no lost intent (every failure's key is known and its
// outcome resolvable), and no create without a key ever repeated.
func TestFaultMatrix(t *testing.T) {
	n := *faultMatrixN
	srv := mock.NewServer()
	defer srv.Close()
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	var rngMu sync.Mutex
	srv.SetFaults(func(r *http.Request) *mock.Fault {
		rngMu.Lock()
		defer rngMu.Unlock()
		if rng.IntN(100) < 40 {
			f := matrixFaults[rng.IntN(len(matrixFaults))]
			return &f
		}
		return nil
	})
	c := newTestClient(t, srv.BaseURL(), api.WithMaxRetries(3), api.WithAttemptTimeout(100*time.Millisecond), api.WithLogger(nil))

	type outcome struct {
		key     string
		linkID  string
		err     error
		keyless bool
	}
	results := make([]outcome, n)
	keyless := n / 20 // 5% keyless creates through the generated client
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				b := gen.CreatePayoutLinkRequest{Amount: int64(100 + i)}
				if i < keyless {
					resp, err := c.Generated().CreatePayoutLinkWithResponse(context.Background(), b)
					results[i] = outcome{err: err, keyless: true}
					if err == nil && resp.JSON201 != nil {
						results[i].linkID = resp.JSON201.ID
					}
					continue
				}
				// Half the intents store their key first, as the docs advise; the rest let the SDK make one.
				if i%2 == 0 {
					b.IdempotencyKey = nullable.NewNullableWithValue(api.NewIdempotencyKey())
				}
				link, key, err := c.CreatePayoutLinkWithKey(context.Background(), b)
				results[i] = outcome{key: key, err: err}
				if err == nil {
					results[i].linkID = link.ID
				}
			}
		}()
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)

	// Resolve every failed intent the way the docs say: the same key again, on a calm day.
	srv.SetFaults(nil)
	var lost, failed, unknown int
	for i := range results {
		r := &results[i]
		if r.keyless || r.err == nil {
			continue
		}
		failed++
		recordErr(r.err)
		if errors.Is(r.err, api.ErrOutcomeUnknown) {
			unknown++
		}
		key, ok := api.IdempotencyKeyOf(r.err)
		if !ok || key != r.key {
			lost++
			t.Errorf("intent %d: failed without its key (%v)", i, r.err)
			continue
		}
		link, err := c.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: int64(100 + i), IdempotencyKey: nullable.NewNullableWithValue(key)})
		if err != nil {
			lost++
			t.Errorf("intent %d: not resolvable with its key: %v", i, err)
			continue
		}
		r.linkID = link.ID
	}

	// Every intent has its own amount, so links per amount count links per intent.
	perIntent := map[int64][]string{}
	for _, l := range srv.Links() {
		perIntent[int64(l.Amount)] = append(perIntent[int64(l.Amount)], l.ID)
	}
	duplicates := 0
	for _, ids := range perIntent {
		duplicates += len(ids) - 1
	}
	for i, r := range results {
		if r.keyless {
			continue
		}
		ids := perIntent[int64(100+i)]
		if len(ids) == 0 || r.linkID != ids[0] {
			lost++
			t.Errorf("intent %d: the caller holds link %q, the server %v", i, r.linkID, ids)
		}
	}
	intents := n - keyless

	// No create without a key was ever sent twice.
	sentKeyless := 0
	retriedKeyless := 0
	for _, rq := range srv.Requests() {
		if rq.Operation == "create-payout-link" && rq.IdempotencyKey == "" {
			sentKeyless++
			if rq.Attempt > 1 {
				retriedKeyless++
			}
		}
	}
	if sentKeyless != keyless {
		retriedKeyless += sentKeyless - keyless
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("the mock answered outside the spec: %v", v[:min(3, len(v))])
	}
	fmt.Printf("fault matrix: %d creates (%d keyed intents, %d keyless) in %v; %d failed (%d outcome unknown), resolved with their keys\n",
		n, intents, keyless, elapsed.Round(time.Millisecond), failed, unknown)
	fmt.Printf("fault matrix: duplicates=%d lost=%d keyless-retried=%d\n", duplicates, lost, retriedKeyless)
	if duplicates != 0 || lost != 0 || retriedKeyless != 0 {
		t.Fatalf("duplicates=%d lost=%d keyless-retried=%d; all must be 0", duplicates, lost, retriedKeyless)
	}
	if failed == 0 || unknown == 0 {
		t.Fatalf("the faults did not bite: %d failed, %d unknown", failed, unknown)
	}
	_ = os.Stdout.Sync()
}
