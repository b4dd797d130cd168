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
type callKey [sha256.Size]byte

// logged is a kept request and the call it belongs to.
type logged struct {
	rec  *Request
	call callKey
}

// attempts counts the kept requests of one call.
type attempts struct {
	n       int
	lastSeq int
}

// requestLog keeps the most recent requests, a ring of at most max (max <= 0 keeps all), and the
// attempt counts of their calls. Server.logMu guards it.
type requestLog struct {
	max      int
	ring     []logged
	seq      int // requests so far
	attempts map[callKey]attempts
}

func newRequestLog(max int) requestLog {
	return requestLog{max: max, attempts: map[callKey]attempts{}}
}

// add records rec, setting its Seq and Attempt, and forgets the oldest request when full.
func (l *requestLog) add(rec *Request, call callKey) {
	l.seq++
	rec.Seq = l.seq
	a := l.attempts[call]
	a.n++
	a.lastSeq = rec.Seq
	l.attempts[call] = a
	rec.Attempt = a.n
	if l.max <= 0 || len(l.ring) < l.max {
		l.ring = append(l.ring, logged{rec, call})
		return
	}
	i := (rec.Seq - 1) % l.max
	old := l.ring[i]
	if a := l.attempts[old.call]; a.lastSeq == old.rec.Seq {
		delete(l.attempts, old.call)
	}
	l.ring[i] = logged{rec, call}
}

// list returns copies of the kept requests, oldest first.
func (l *requestLog) list() []Request {
	out := make([]Request, 0, len(l.ring))
	start := 0
	if l.max > 0 && len(l.ring) == l.max {
		start = l.seq % l.max
	}
	for i := range l.ring {
		out = append(out, *l.ring[(start+i)%len(l.ring)].rec)
	}
	return out
}

// callOf names the call a request belongs to.
func callOf(r *http.Request, idempotencyKey string, body []byte) callKey {
	if idempotencyKey != "" {
		return sha256.Sum256([]byte("key " + strings.ToLower(idempotencyKey)))
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s %s?%s %d\n", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, len(body))
	h.Write(body)
	var k callKey
	h.Sum(k[:0])
	return k
}
