package mock

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// chaosFaults is the table chaos mode draws from by default: every kind of fault of the
// X-Mock-Fault table, each as likely as the others.
var chaosFaults = []Fault{
	{Status: 500},                                // 5xx before applying
	{Status: 503},                                // 5xx before applying
	{Status: 500, ApplyFirst: true},              // 5xx after applying
	{Status: 502, ApplyFirst: true},              // 5xx after applying
	{Status: 429, RetryAfter: "1"},               // rate limited, before applying
	{Drop: DropBeforeApply},                      // connection reset, nothing applied
	{Drop: DropAfterApply},                       // connection reset after applying
	{Delay: 250 * time.Millisecond},              // slow, then handled
	{Delay: 250 * time.Millisecond, Status: 503}, // slow, then 503 before applying
	{Delay: 2 * time.Second, Late: true},         // applied after 2 s, even if the client gave up
	{Body: TruncatedBody},                        // applied, half a body
	{Body: NonJSONBody},                          // applied, an HTML page
	{Body: EmptyBody},                            // applied, no body
}

// ChaosFaults returns the faults chaos mode draws from when WithChaos is given none: 500 and 503
// before applying, 500 and 502 after applying, 429 with Retry-After: 1, drop-before, drop-after,
// delay=250ms, delay=250ms with 503, delay=2s with late, truncated, non-json and empty.
func ChaosFaults() []Fault { return append([]Fault(nil), chaosFaults...) }

// chaosStream is the second word of the generator's seed: fixed, so the seed alone decides.
const chaosStream = 0x64_6f_74_73 // "dots"

// chaos draws a fault for a share of the requests, reproducibly.
type chaos struct {
	rate   float64
	seed   uint64
	faults []Fault

	mu  sync.Mutex
	rng *rand.Rand
}

// WithChaos turns on chaos mode: each request to the spec's operations faults with probability
// rate (0 to 1), with a fault drawn uniformly from faults, or from ChaosFaults when none are
// given. Draws come from a generator seeded with seed, one per request to the spec's operations
// in arrival order (Request.Seq): the same seed and the same order of requests give the same
// faults. Reset restarts the sequence from the seed.
//
// A fault the request scripts itself (X-Mock-Fault, X-Mock-Retry-After, including
// "X-Mock-Fault: none", which asks for no fault), a FailNext fault or a SetFaults chooser's
// fault wins over the drawn one; the draw is still made, so the sequence does not shift. Chaos
// mode survives Reset, like every option. It panics on a rate outside 0 to 1 or a fault
// ParseFault would refuse, as a setup mistake.
func WithChaos(rate float64, seed uint64, faults ...Fault) Option {
	if !(rate >= 0 && rate <= 1) {
		panic(fmt.Sprintf("mock: WithChaos: the rate %v is not between 0 and 1", rate))
	}
	if len(faults) == 0 {
		faults = chaosFaults
	}
	for _, f := range faults {
		if err := f.check(); err != nil || f.IsZero() {
			panic(fmt.Sprintf("mock: WithChaos: fault %q: %v", f, err))
		}
	}
	c := &chaos{rate: rate, seed: seed, faults: append([]Fault(nil), faults...)}
	c.reset()
	return func(s *Server) { s.chaos = c }
}

// reset restarts the sequence from the seed.
func (c *chaos) reset() {
	c.mu.Lock()
	c.rng = rand.New(rand.NewPCG(c.seed, chaosStream))
	c.mu.Unlock()
}

// draw returns the next fault of the sequence, or nil. Every call takes two numbers.
func (c *chaos) draw() *Fault {
	c.mu.Lock()
	x, i, rate := c.rng.Float64(), c.rng.IntN(len(c.faults)), c.rate
	c.mu.Unlock()
	if x >= rate {
		return nil
	}
	f := c.faults[i]
	return &f
}

// SetChaosRate changes the rate of chaos mode while the server runs: 0 lets the storm pass (the
// links made so far stay), a higher rate starts it again. The draws go on at the same pace, so
// the sequence stays the one the seed gives. Without WithChaos it does nothing. It panics on a
// rate outside 0 to 1.
func (s *Server) SetChaosRate(rate float64) {
	if !(rate >= 0 && rate <= 1) {
		panic(fmt.Sprintf("mock: SetChaosRate: the rate %v is not between 0 and 1", rate))
	}
	if s.chaos == nil {
		return
	}
	s.chaos.mu.Lock()
	s.chaos.rate = rate
	s.chaos.mu.Unlock()
}
