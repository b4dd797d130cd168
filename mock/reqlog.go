package mock

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultMaxRequests is how many requests Server.Requests keeps unless WithMaxRequests says
// otherwise: the most recent ones.
const DefaultMaxRequests = 50_000

// maxViolations is how many violations Server.Violations keeps; later ones are counted.
const maxViolations = 1000

// Request is what the server recorded about one request it received.
type Request struct {
	// Seq is the request's place in arrival order, from 1 (reset by Reset).
	Seq int
	// RequestID is the Request-Id header of the answer.
	RequestID string
	// Method and Path are the request's method and URL path (without the query).
	Method string
	Path   string
	// Operation is the operationId ("create-payout-link"), "mock-claim", "mock-pay-out",
	// "mock-expire" or "mock-reset" for the test triggers, or "" for a path the server does not
	// serve.
	Operation string
	// IdempotencyKey is the create body's idempotency_key, or "".
	IdempotencyKey string
	// Attempt counts the requests the server took for the same call, from 1: same method, path,
	// query and body, or, for a create with an idempotency key, same key. Retries read 1, 2, 3.
	// Only the requests Requests still keeps count.
	Attempt int
	// Fault is the injected fault in X-Mock-Fault syntax, or "".
	Fault string
	// Status is the status answered; 0 when dropped, canceled, or not yet answered.
	Status int
	// Dropped is set when the connection was closed without an answer.
	Dropped bool
	// Canceled is set when the request's context ended during an injected delay.
	Canceled bool
	// Received is when the request arrived.
	Received time.Time
	// Duration is how long the server took with it.
	Duration time.Duration

	call    callKey // the call it belongs to, once its body is read
	counted bool    // Attempt is counted
}

// Result is the answered status as text, "dropped", "canceled" or "pending".
func (r Request) Result() string {
	switch {
	case r.Dropped:
		return "dropped"
	case r.Canceled:
		return "canceled"
	case r.Status == 0:
		return "pending"
	}
	return fmt.Sprint(r.Status)
}

// callKey names a call for counting attempts: a digest of the idempotency key, or of the method,
// path, query and body.
type callKey [16]byte

// attempts counts the kept requests of one call.
type attempts struct {
	n       int
	lastSeq int
}

// requestLog keeps the most recent requests, a ring of at most max (max <= 0 keeps all), and the
// attempt counts of their calls. Server.logMu guards it.
type requestLog struct {
	max      int
	ring     []*Request
	seq      int // requests so far
	attempts map[callKey]attempts
}

func newRequestLog(max int) requestLog {
	return requestLog{max: max, attempts: map[callKey]attempts{}}
}

// add records rec as it arrives, setting its Seq, and forgets the oldest request when full.
func (l *requestLog) add(rec *Request) {
	l.seq++
	rec.Seq = l.seq
	if l.max <= 0 || len(l.ring) < l.max {
		l.ring = append(l.ring, rec)
		return
	}
	i := (rec.Seq - 1) % l.max
	if old := l.ring[i]; old.counted {
		if a := l.attempts[old.call]; a.lastSeq == old.Seq {
			delete(l.attempts, old.call)
		}
	}
	l.ring[i] = rec
}

// count sets rec's Attempt once its call is known. A request the log does not keep (forgotten,
// or from before a Reset) is not counted.
func (l *requestLog) count(rec *Request, call callKey) {
	i := rec.Seq - 1
	if l.max > 0 {
		i %= l.max
	}
	if i >= len(l.ring) || l.ring[i] != rec {
		return
	}
	a := l.attempts[call]
	a.n++
	a.lastSeq = max(a.lastSeq, rec.Seq)
	l.attempts[call] = a
	rec.Attempt, rec.call, rec.counted = a.n, call, true
}

// list returns copies of the kept requests, oldest first.
func (l *requestLog) list() []Request {
	out := make([]Request, 0, len(l.ring))
	start := 0
	if l.max > 0 && len(l.ring) == l.max {
		start = l.seq % l.max
	}
	for i := range l.ring {
		out = append(out, *l.ring[(start+i)%len(l.ring)])
	}
	return out
}

// digest names the call a request belongs to.
func digest(r *http.Request, idempotencyKey string, body []byte) callKey {
	h := sha256.New()
	if idempotencyKey != "" {
		h.Write([]byte("key " + strings.ToLower(idempotencyKey)))
	} else {
		fmt.Fprintf(h, "%s %s?%s %d\n", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, len(body))
		h.Write(body)
	}
	var sum [sha256.Size]byte
	var k callKey
	copy(k[:], h.Sum(sum[:0]))
	return k
}
