package mock

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// chaosFaults is chaos mode's default table: every kind of fault of the X-Mock-Fault table.
var chaosFaults = []Fault{
	{Status: 500}, {Status: 503}, // 5xx before applying
	{Status: 500, ApplyFirst: true}, {Status: 502, ApplyFirst: true}, // 5xx after applying
	{Status: 429, RetryAfter: "1"},
	{Drop: DropBeforeApply}, {Drop: DropAfterApply},
	{Delay: 250 * time.Millisecond}, {Delay: 250 * time.Millisecond, Status: 503},
	{Delay: 2 * time.Second, Late: true}, // applied after 2 s, even if the client gave up
	{Body: TruncatedBody}, {Body: NonJSONBody}, {Body: EmptyBody},
}

// ChaosFaults returns the faults chaos mode draws from when WithChaos is given none: 500 and 503
// before applying, 500 and 502 after applying, 429 with Retry-After: 1, drop-before, drop-after,
// delay=250ms, delay=250ms with 503, delay=2s with late, truncated, non-json and empty.
func ChaosFaults() []Fault { return slices.Clone(chaosFaults) }

// chaos draws a fault for a share of the requests, reproducibly.
type chaos struct {
	seed   uint64
	faults []Fault

	mu   sync.Mutex
	rate float64
	rng  *rand.Rand
}

// WithChaos turns on chaos mode: each request to the spec's operations faults with probability
// rate (0 to 1), with a fault drawn uniformly from faults (ChaosFaults when none are given).
// Draws come from a generator seeded with seed, one per request to the spec's operations in the
// order they are routed: the same seed and the same order of requests give the same faults, and
// Reset restarts the sequence. A request that breaks the spec is refused and never faults, and a
// fault of the request's own headers ("X-Mock-Fault: none" included), of FailNext or of SetFaults
// wins over the drawn one; the draw is still made, so the sequence does not shift. It panics on a
// rate outside 0 to 1 or a fault ParseFault would refuse, as a setup mistake.
func WithChaos(rate float64, seed uint64, faults ...Fault) Option {
	checkRate("WithChaos", rate)
	if len(faults) == 0 {
		faults = chaosFaults
	}
	for _, f := range faults {
		if err := f.check(); err != nil || f.IsZero() {
			panic(fmt.Sprintf("mock: WithChaos: fault %q: %v", f, err))
		}
	}
	c := &chaos{rate: rate, seed: seed, faults: slices.Clone(faults)}
	c.reset()
	return func(s *Server) { s.chaos = c }
}

func checkRate(fn string, rate float64) {
	if !(rate >= 0 && rate <= 1) {
		panic(fmt.Sprintf("mock: %s: the rate %v is not between 0 and 1", fn, rate))
	}
}

// reset restarts the sequence from the seed.
func (c *chaos) reset() {
	c.mu.Lock()
	c.rng = rand.New(rand.NewPCG(c.seed, 0x646f7473)) // the stream is fixed: the seed alone decides
	c.mu.Unlock()
}

// draw returns the next fault of the sequence, or nil. Every call takes two numbers.
func (c *chaos) draw() *Fault {
	c.mu.Lock()
	defer c.mu.Unlock()
	if x, i := c.rng.Float64(), c.rng.IntN(len(c.faults)); x < c.rate {
		f := c.faults[i]
		return &f
	}
	return nil
}

// SetChaosRate changes the rate of chaos mode while the server runs: 0 lets the storm pass (the
// links made so far stay), a higher rate starts it again. The draws go on at the same pace, so
// the sequence stays the seed's. Without WithChaos it does nothing. It panics on a rate outside
// 0 to 1.
func (s *Server) SetChaosRate(rate float64) {
	checkRate("SetChaosRate", rate)
	if s.chaos != nil {
		s.chaos.mu.Lock()
		s.chaos.rate = rate
		s.chaos.mu.Unlock()
	}
}
