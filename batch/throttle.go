package batch

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/payoutkit/dots-go/api"
	"golang.org/x/time/rate"
)

// Throttle paces the creates of a batch for all its workers together: a rate limit, and a
// pause that a 429 answer starts for every worker at once, not only for the one that got it.
//
// Run makes one from Options.Rate when Options.Throttle is nil. The runner sees a 429 only
// when the client's own retries ran out; to pause the whole batch at the first 429, for as long
// as its Retry-After says, build the client with the throttle's transport:
//
//	t := batch.NewThrottle(10)
//	client, err := api.NewClientFromEnv(api.WithHTTPClient(&http.Client{Transport: t.Transport(nil)}))
type Throttle struct {
	limiter *rate.Limiter

	mu      sync.Mutex
	until   time.Time // no create starts before then
	strikes int       // 429 errors in a row, for the runner's own backoff
}

// MaxPause bounds a pause: a Retry-After or a backoff longer than that is cut to it.
const MaxPause = time.Minute

// NewThrottle returns a throttle that lets perSecond creates start per second, all workers
// together; 0 (or less) means no limit.
func NewThrottle(perSecond float64) *Throttle {
	lim := rate.Inf
	if perSecond > 0 {
		lim = rate.Limit(perSecond)
	}
	return &Throttle{limiter: rate.NewLimiter(lim, 1)}
}

// Wait blocks until a create may start: after any pause, within the rate.
func (t *Throttle) Wait(ctx context.Context) error {
	if err := t.waitPause(ctx); err != nil {
		return err
	}
	return t.limiter.Wait(ctx)
}

// waitPause blocks until no pause is running.
func (t *Throttle) waitPause(ctx context.Context) error {
	for d := t.Paused(); d > 0; d = t.Paused() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d):
		}
	}
	return nil
}

// Pause stops every worker from starting a create for d (at most MaxPause) from now. A pause
// never shortens one already running.
func (t *Throttle) Pause(d time.Duration) {
	d = min(d, MaxPause)
	t.mu.Lock()
	defer t.mu.Unlock()
	if until := time.Now().Add(d); until.After(t.until) {
		t.until = until
	}
}

// Paused reports how long the current pause still lasts (0 when there is none).
func (t *Throttle) Paused() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return max(0, time.Until(t.until))
}

// limited is the runner's answer to a create that failed with 429 after the client's retries:
// the whole batch pauses for base, then twice as long for each 429 in a row (at most MaxPause).
func (t *Throttle) limited(base time.Duration) {
	t.mu.Lock()
	n := min(t.strikes, 10)
	t.strikes++
	t.mu.Unlock()
	t.Pause(base << n)
}

// succeeded resets the runner's backoff after a create that went through.
func (t *Throttle) succeeded() {
	t.mu.Lock()
	t.strikes = 0
	t.mu.Unlock()
}

// Transport returns an http.RoundTripper that sends with next (http.DefaultTransport when nil),
// holds every request while the throttle is paused, and pauses the throttle at every 429
// answer: for its Retry-After (seconds or an HTTP date), or 1 s without one. Give it to the
// client (api.WithHTTPClient) so that the first 429 of any attempt slows the whole batch, the
// client's own retries included.
func (t *Throttle) Transport(next http.RoundTripper) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return &observer{t: t, next: next}
}

type observer struct {
	t    *Throttle
	next http.RoundTripper
}

func (o *observer) RoundTrip(r *http.Request) (*http.Response, error) {
	if err := o.t.waitPause(r.Context()); err != nil {
		if r.Body != nil {
			_ = r.Body.Close()
		}
		return nil, err
	}
	resp, err := o.next.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusTooManyRequests {
		o.t.Pause(retryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	return resp, err
}

// retryAfter is a 429's Retry-After as the SDK reads it, or 1 s when absent or unreadable.
func retryAfter(v string, now time.Time) time.Duration {
	if d, ok := api.ParseRetryAfter(v, now); ok {
		return d
	}
	return time.Second
}
