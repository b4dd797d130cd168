package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// The full matrix is 10,000 creates: `make faultmatrix` (or -faultmatrix.n=10000). make test runs
// a short version so the race detector stays affordable.
var faultMatrixN = flag.Int("faultmatrix.n", 1000, "creates in TestFaultMatrix")

// matrixFaults are drawn at random for 40% of the requests, each with what it does to a create.
var matrixFaults = []mock.Fault{
	{Status: 503},                               // not applied
	{Status: 429, RetryAfter: "1"},              // not applied; the wait is clamped to MaxDelay
	{Status: 409},                               // resource-busy: not applied, try later
	{Status: 500, ApplyFirst: true},             // applied, then an error
	{Status: 502, ApplyFirst: true},             // applied, then an error
	{Drop: mock.DropBeforeApply},                // not applied, no answer
	{Drop: mock.DropAfterApply},                 // applied, no answer
	{Body: mock.TruncatedBody},                  // applied, broken answer
	{Body: mock.NonJSONBody},                    // applied, broken answer
	{Body: mock.EmptyBody},                      // applied, empty answer
	{Delay: 200 * time.Millisecond},             // past the attempt timeout: the client gives up, nothing applied
	{Delay: 150 * time.Millisecond, Late: true}, // the client gives up, then the server applies; a retry meanwhile meets 409 resource-busy
	{Status: 400},                               // a refusal: never retried
	{Delay: 5 * time.Millisecond, Status: 503},  // slow and failing
}

// realPolicy is the policy of the clients that really wait: short, so the matrix stays fast, and
// with a cap below the Retry-After of the 429 fault, which is therefore clamped to it.
var realPolicy = api.RetryPolicy{MaxRetries: 3, BaseDelay: 4 * time.Millisecond, MaxDelay: 40 * time.Millisecond}

// refusingDialer refuses a share of the dials, at random: connections refused in the middle of a
// call, which are surely not sent.
func refusingDialer(rng func() float64, share float64) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if rng() < share {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return d.DialContext(ctx, network, addr)
		}}}
}

// attemptClock records, at the client, when each attempt of a create started and when its answer
// (or error) came back, per idempotency key. The pipeline waits between the end of one attempt
// and the start of the next, so the gap between them is at least the wait however loaded the
// machine is: load only lengthens it. (Times taken at the server cannot show that: an attempt
// the client gave up on may reach the server's handler after its retry does.)
type attemptClock struct {
	next  http.RoundTripper
	mu    sync.Mutex
	byKey map[string][]attemptSpan
}

type attemptSpan struct {
	start, end time.Time
	result     string // the status, or "error"
	retryAfter string // the answer's Retry-After header
}

func (c *attemptClock) RoundTrip(r *http.Request) (*http.Response, error) {
	var key string
	if r.GetBody != nil {
		if b, err := r.GetBody(); err == nil {
			var body struct {
				Key string `json:"idempotency_key"`
			}
			_ = json.NewDecoder(b).Decode(&body)
			key = body.Key
		}
	}
	span := attemptSpan{start: time.Now()}
	resp, err := c.next.RoundTrip(r)
	span.end = time.Now()
	span.result = "error"
	if err == nil {
		span.result = strconv.Itoa(resp.StatusCode)
		span.retryAfter = resp.Header.Get("Retry-After")
	}
	if key != "" {
		c.mu.Lock()
		c.byKey[key] = append(c.byKey[key], span)
		c.mu.Unlock()
	}
	return resp, err
}

// TestFaultMatrix sends many concurrent creates through random faults and proves, for money:
//   - no duplicate links (one per intent) and no lost intent (every failure's key is known, and
//     the intent resolves with it);
//   - every failure reports truly: when the link exists, the error says the outcome is unknown;
//   - no create without a key is ever repeated;
//   - retries wait as the policy says (half the clients wait for real: measured at the client's
//     transport).
func TestFaultMatrix(t *testing.T) {
	n := *faultMatrixN
	srv := mock.NewServer()
	defer srv.Close()
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	var rngMu sync.Mutex
	float := func() float64 {
		rngMu.Lock()
		defer rngMu.Unlock()
		return rng.Float64()
	}
	srv.SetFaults(func(r *http.Request) *mock.Fault {
		if x := float(); x < 0.4 {
			f := matrixFaults[int(x/0.4*float64(len(matrixFaults)))]
			return &f
		}
		return nil
	})
	base := []api.Option{api.WithAttemptTimeout(100 * time.Millisecond), api.WithLogger(nil),
		api.WithHTTPClient(refusingDialer(float, 0.05))}
	// fake waits nothing and records every wait it is asked for; real waits for real.
	fake := newTestClient(t, srv.BaseURL(), append(base, api.WithMaxRetries(3))...)
	var fakeWaits sleeps
	api.SetClock(fake, fakeWaits.sleep, nil, 0.5)
	realHTTP := refusingDialer(float, 0.05)
	clock := &attemptClock{next: realHTTP.Transport, byKey: map[string][]attemptSpan{}}
	realHTTP.Transport = clock
	real, err := api.NewClient(testClientID, testAPIKey, append(base, api.WithHTTPClient(realHTTP),
		api.WithBaseURL(srv.BaseURL()), api.WithRetryPolicy(realPolicy))...)
	if err != nil {
		t.Fatal(err)
	}
	// calm resolves intents after the faults: no attempt timeout, which a loaded machine can
	// outlast with no fault at all.
	calm := newTestClient(t, srv.BaseURL(), api.WithLogger(nil))

	type outcome struct {
		amount  dots.Amount
		key     string
		linkID  string
		err     error
		keyless bool
		real    bool
	}
	results := make([]outcome, n)
	keyless := n / 20 // 5% keyless creates through the generated client
	work := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Go(func() {
			for i := range work {
				c := fake
				if i%2 == 1 {
					c = real
				}
				r := outcome{amount: dots.Amount(100 + i), real: c == real}
				b := gen.CreatePayoutLinkRequest{Amount: r.amount}
				switch {
				case i < keyless:
					r.keyless = true
					resp, err := c.Generated().CreatePayoutLinkWithResponse(context.Background(), b)
					r.err = err
					if err == nil && resp.JSON201 != nil {
						r.linkID = resp.JSON201.ID
					}
				default:
					// Half the intents store their key first, as the docs advise; the rest let the SDK make one.
					if i%4 < 2 {
						b.IdempotencyKey = api.Ptr(api.NewIdempotencyKey())
					}
					link, key, err := c.CreatePayoutLinkWithKey(context.Background(), b)
					r.key, r.err = key, err
					if err == nil {
						r.linkID = link.ID
					}
				}
				results[i] = r
			}
		})
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(start)
	srv.WaitIdle() // late faults may still be applying requests whose clients gave up

	// What the server holds, per intent: every intent has its own amount.
	perIntent := map[dots.Amount][]string{}
	for _, l := range srv.Links() {
		perIntent[l.Amount] = append(perIntent[l.Amount], l.ID)
	}

	// Every failure must say what happened: a link that exists is never a definite failure.
	var failed, unknown, misreported int
	for i, r := range results {
		if r.err == nil {
			continue
		}
		failed++
		recordErr(r.err)
		isUnknown := errors.Is(r.err, api.ErrOutcomeUnknown)
		if isUnknown {
			unknown++
		}
		if len(perIntent[r.amount]) > 0 && !isUnknown {
			misreported++
			t.Errorf("intent %d: the link exists, but the error says the outcome is known: %v", i, r.err)
		}
		if !r.keyless {
			if key, ok := api.IdempotencyKeyOf(r.err); !ok || key != r.key {
				t.Errorf("intent %d: failed without its key (%v)", i, r.err)
			}
		}
	}

	// Resolve every failed intent the way the docs say: the same key again, on a calm day.
	srv.SetFaults(nil)
	lost := 0
	for i := range results {
		r := &results[i]
		if r.keyless || r.err == nil {
			continue
		}
		link, err := calm.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: r.amount, IdempotencyKey: api.Ptr(r.key)})
		if err != nil {
			lost++
			t.Errorf("intent %d: not resolvable with its key: %v", i, err)
			continue
		}
		r.linkID = link.ID
	}
	perIntent = map[dots.Amount][]string{}
	for _, l := range srv.Links() {
		perIntent[l.Amount] = append(perIntent[l.Amount], l.ID)
	}
	duplicates := 0
	for _, ids := range perIntent {
		duplicates += len(ids) - 1
	}
	for i, r := range results {
		if r.keyless {
			continue
		}
		if ids := perIntent[r.amount]; len(ids) == 0 || r.linkID != ids[0] {
			lost++
			t.Errorf("intent %d: the caller holds link %q, the server %v", i, r.linkID, ids)
		}
	}

	// No create without a key was ever sent twice: the mock counts attempts of identical bodies,
	// and every keyless body is unique.
	retriedKeyless := 0
	for _, rq := range srv.Requests() {
		if rq.Operation == "create-payout-link" && rq.IdempotencyKey == "" && rq.Attempt > 1 {
			retriedKeyless++
		}
	}

	// The clients that really wait left at least the policy's waits between attempts: the
	// smallest backoff (BaseDelay/2) after any answer or error, and MaxDelay after an answer whose
	// Retry-After (1 s) is longer than it. Measured at the client's transport, from the end of one
	// attempt to the start of the next, so a loaded machine only makes the gaps longer.
	earlyRetries, realRetries := 0, 0
	clock.mu.Lock()
	for _, r := range results {
		if !r.real || r.keyless {
			continue
		}
		spans := clock.byKey[r.key]
		for j := 1; j < len(spans); j++ {
			realRetries++
			min := realPolicy.BaseDelay / 2
			if spans[j-1].retryAfter != "" {
				min = realPolicy.MaxDelay
			}
			if gap := spans[j].start.Sub(spans[j-1].end); gap < min {
				earlyRetries++
				t.Errorf("key %s: attempt %d started %v after the one before ended (%s), want at least %v", r.key, j+1, gap, spans[j-1].result, min)
			}
		}
	}
	clock.mu.Unlock()
	// The clients that wait nothing asked for waits within the policy.
	p := api.DefaultRetryPolicy
	fakeWaits.mu.Lock()
	for _, d := range fakeWaits.d {
		if d < p.BaseDelay/2 || d > p.MaxDelay {
			t.Errorf("a wait of %v is outside the policy's [%v, %v]", d, p.BaseDelay/2, p.MaxDelay)
		}
	}
	waits := len(fakeWaits.d)
	fakeWaits.mu.Unlock()

	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("the mock answered outside the spec: %v", v[:min(3, len(v))])
	}
	t.Logf("%d creates (%d keyless) in %v; %d failed (%d outcome unknown), resolved with their keys; %d real retries, %d fake waits",
		n, keyless, elapsed.Round(time.Millisecond), failed, unknown, realRetries, waits)
	t.Logf("duplicates=%d lost=%d misreported=%d keyless-retried=%d early-retries=%d",
		duplicates, lost, misreported, retriedKeyless, earlyRetries)
	if duplicates != 0 || lost != 0 || misreported != 0 || retriedKeyless != 0 || earlyRetries != 0 {
		t.Fatalf("duplicates=%d lost=%d misreported=%d keyless-retried=%d early-retries=%d; all must be 0",
			duplicates, lost, misreported, retriedKeyless, earlyRetries)
	}
	if failed == 0 || unknown == 0 || realRetries == 0 || waits == 0 {
		t.Fatalf("the faults did not bite: %d failed, %d unknown, %d real retries, %d fake waits", failed, unknown, realRetries, waits)
	}
}
