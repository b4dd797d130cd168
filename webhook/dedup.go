package webhook

import (
	"context"
	"sync"
)

// DefaultDedupSize is how many handled message ids the default in-memory store of [Handler]
// remembers (about 1 MiB of memory): a repeat of an older message is handled again.
const DefaultDedupSize = 10_000

// DedupState is what a [DedupStore] knows of a message id when a delivery claims it.
type DedupState int

const (
	// DedupNew: the id was not handled and nobody holds it. The caller now holds it and must
	// call Finish.
	DedupNew DedupState = iota
	// DedupHandled: a delivery of this message was handled: this one is a repeat. Handler
	// answers 204 without calling its function.
	DedupHandled
	// DedupInProgress: another delivery of this message holds the id and has not finished.
	// Handler answers 409, so that Svix delivers it again later, by when the first has either
	// succeeded (the retry is then a repeat) or failed (the retry is then handled).
	DedupInProgress
)

// DedupStore remembers which webhook messages were handled, so that [Handler] calls its function
// once per message although Svix may deliver a message more than once. Handler uses it after a
// delivery passed the signature check: Claim before calling the function, then Finish with
// whether the function succeeded. A failed message is forgotten, so Svix's retry of it is
// handled.
//
// Back it with your own database for a store shared by several processes or lasting across
// restarts: Claim inserts the id as "in progress" unless it is there (answering DedupHandled or
// DedupInProgress from what is there), and Finish marks it handled or deletes it. Such a store
// should let an "in progress" claim lapse after a while (longer than the function can take), so
// that a process that dies mid-delivery does not hold a message forever.
//
// De-duplication by message id is not idempotency: one pay-out can reach you in two messages (a
// payout_link.paid_out, and a payout_link.updated whose link, once fetched, has a transfer_id),
// and a store forgets. Credit payouts idempotently by link id and transfer id as well (see
// [Meaning]).
type DedupStore interface {
	// Claim marks messageID in progress and returns DedupNew, or returns what is known of it.
	// An error makes Handler answer 500 without calling its function.
	Claim(ctx context.Context, messageID string) (DedupState, error)
	// Finish ends a claim that returned DedupNew: handled records the id as handled, false
	// forgets it so that a later delivery is handled. Handler calls it with a context that is
	// not canceled when the request is; an error is logged and changes no answer.
	Finish(ctx context.Context, messageID string, handled bool) error
}

// WithDeduplication sets the store Handler de-duplicates deliveries with, by their message id
// (svix-id or webhook-id). Without this option Handler uses its own NewMemoryDedup of
// [DefaultDedupSize], which only knows one process's deliveries since it started; pass your own
// [DedupStore] to share one, or nil to turn de-duplication off.
func WithDeduplication(s DedupStore) HandlerOption {
	return func(h *handler) { h.dedup = s }
}

// MemoryDedup is a [DedupStore] in memory: it holds the ids in progress, and remembers the last
// n handled ids, forgetting the oldest first. It is safe for concurrent use and never fails.
type MemoryDedup struct {
	mu      sync.Mutex
	n       int
	busy    map[string]struct{}
	handled map[string]struct{}
	ring    []string // handled ids in the order they were handled; next is overwritten first
	next    int
}

// NewMemoryDedup returns a MemoryDedup that remembers the last n handled message ids
// ([DefaultDedupSize] when n < 1).
func NewMemoryDedup(n int) *MemoryDedup {
	if n < 1 {
		n = DefaultDedupSize
	}
	return &MemoryDedup{n: n, busy: map[string]struct{}{}, handled: map[string]struct{}{}}
}

// Claim implements DedupStore.
func (m *MemoryDedup) Claim(_ context.Context, id string) (DedupState, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.handled[id]; ok {
		return DedupHandled, nil
	}
	if _, ok := m.busy[id]; ok {
		return DedupInProgress, nil
	}
	m.busy[id] = struct{}{}
	return DedupNew, nil
}

// Finish implements DedupStore.
func (m *MemoryDedup) Finish(_ context.Context, id string, handled bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.busy[id]; !ok {
		return nil // not claimed: nothing to finish
	}
	delete(m.busy, id)
	if !handled {
		return nil
	}
	if len(m.ring) < m.n {
		m.ring = append(m.ring, id)
	} else {
		delete(m.handled, m.ring[m.next])
		m.ring[m.next] = id
		m.next = (m.next + 1) % m.n
	}
	m.handled[id] = struct{}{}
	return nil
}
