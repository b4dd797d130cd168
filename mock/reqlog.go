package mock

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
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
	// serve or a body it could not read.
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

	call callKey // the call it belongs to, once counted
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
	return strconv.Itoa(r.Status)
}

// callKey names a call for counting attempts: a digest of the idempotency key, or of the method,
// path, query and body.
type callKey [16]byte

func digest(r *http.Request, idempotencyKey string, body []byte) (k callKey) {
	h := sha256.New()
	if idempotencyKey != "" {
		h.Write([]byte("key " + strings.ToLower(idempotencyKey)))
	} else {
		fmt.Fprintf(h, "%s %s?%s %d\n", r.Method, r.URL.EscapedPath(), r.URL.RawQuery, len(body))
		h.Write(body)
	}
	copy(k[:], h.Sum(nil))
	return k
}

// requestLog keeps the most recent requests (at most max; max <= 0 keeps all) and the attempt
// counts of their calls: how many, and the newest one's Seq. Server.logMu guards it.
type requestLog struct {
	max      int
	reqs     []*Request // oldest first
	seq      int        // requests so far
	attempts map[callKey][2]int
}

func newRequestLog(max int) requestLog { return requestLog{max: max, attempts: map[callKey][2]int{}} }

// add records rec as it arrives, setting its Seq, and forgets the oldest request when full,
// with its call's count if it was the call's newest.
func (l *requestLog) add(rec *Request) {
	l.seq++
	rec.Seq = l.seq
	l.reqs = append(l.reqs, rec)
	if l.max > 0 && len(l.reqs) > l.max {
		old := l.reqs[0]
		if old.Attempt > 0 && l.attempts[old.call][1] == old.Seq {
			delete(l.attempts, old.call)
		}
		l.reqs[0], l.reqs = nil, l.reqs[1:]
	}
}

// count sets rec's Attempt once its call is known, unless the log no longer keeps it
// (forgotten, or from before a Reset).
func (l *requestLog) count(rec *Request, call callKey) {
	if i := rec.Seq - l.seq + len(l.reqs) - 1; i < 0 || i >= len(l.reqs) || l.reqs[i] != rec {
		return
	}
	a := l.attempts[call]
	a = [2]int{a[0] + 1, max(a[1], rec.Seq)}
	l.attempts[call] = a
	rec.Attempt, rec.call = a[0], call
}

// list returns copies of the kept requests, oldest first.
func (l *requestLog) list() []Request {
	out := make([]Request, len(l.reqs))
	for i, r := range l.reqs {
		out[i] = *r
	}
	return out
}
