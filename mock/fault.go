package mock

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Drop says whether, and when, a fault closes the connection instead of answering.
type Drop int

const (
	// NoDrop answers normally.
	NoDrop Drop = iota
	// DropBeforeApply closes the connection without applying the request: nothing changes.
	DropBeforeApply
	// DropAfterApply applies the request, then closes the connection without answering, so the
	// client cannot tell whether its request took effect.
	DropAfterApply
)

var dropNames = []string{"no-drop", "drop-before", "drop-after"}

// String returns the X-Mock-Fault token of d ("drop-before", "drop-after"), or "no-drop".
func (d Drop) String() string { return name(dropNames, int(d)) }

// BodyFault says how a fault breaks the body of an answer. Each applies the request and answers
// its status, still labelled Content-Type: application/json.
type BodyFault int

const (
	// BodyIntact leaves the body alone.
	BodyIntact BodyFault = iota
	// TruncatedBody answers the first half of the JSON body, with a Content-Length to match.
	TruncatedBody
	// NonJSONBody answers an HTML page.
	NonJSONBody
	// EmptyBody answers no body at all.
	EmptyBody
)

var bodyNames = []string{"intact", "truncated", "non-json", "empty"}

// String returns the X-Mock-Fault token of b ("truncated", "non-json", "empty"), or "intact".
func (b BodyFault) String() string { return name(bodyNames, int(b)) }

func name(names []string, i int) string {
	if i < 0 || i >= len(names) {
		i = 0
	}
	return names[i]
}

// Fault is a failure the server injects into one request instead of, or on top of, handling it.
// The parts act in this order: Delay, then Drop == DropBeforeApply, then Status without
// ApplyFirst (neither applies the request); otherwise the request is handled, and then
// Drop == DropAfterApply, Status with ApplyFirst, or Body decides what the client gets. Drop wins
// over Status, and Status over Body; ParseFault refuses such combinations.
type Fault struct {
	// Status, when not zero, is answered with an Error body (error_code from the status, such as
	// "service-unavailable" for 503) without applying the request, unless ApplyFirst is set.
	Status int
	// RetryAfter is sent as the Retry-After header with Status (seconds or an HTTP-date). A fault
	// with RetryAfter and no Status, Drop or Body answers 429.
	RetryAfter string
	// ApplyFirst applies the request before answering Status (a 500 after the link was made).
	ApplyFirst bool
	// Drop closes the connection without an answer, before or after applying the request.
	Drop Drop
	// Delay waits this long before handling the request. When the request's context ends (or
	// the server closes) first, the request is not applied and the connection is closed, unless
	// Late is set.
	Delay time.Duration
	// Late, with a Delay, applies the request after the delay even when the client gave up.
	Late bool
	// Body applies the request and answers its status with a broken body.
	Body BodyFault
}

// IsZero reports whether f injects nothing.
func (f Fault) IsZero() bool { return f == Fault{} }

// status is the status f answers instead of the handler's, or 0.
func (f Fault) status() int {
	if f.Status == 0 && f.RetryAfter != "" && f.Drop == NoDrop && f.Body == BodyIntact {
		return http.StatusTooManyRequests
	}
	return f.Status
}

// String writes f in the X-Mock-Fault syntax ParseFault reads, such as "500; apply-first" or
// "delay=250ms; drop-after". The zero Fault is "none".
func (f Fault) String() string {
	var parts []string
	add := func(on bool, s string) {
		if on {
			parts = append(parts, s)
		}
	}
	add(f.Delay > 0, "delay="+f.Delay.String())
	add(f.Status != 0, strconv.Itoa(f.Status))
	add(f.ApplyFirst, "apply-first")
	add(f.Late, "late")
	add(f.RetryAfter != "", "retry-after="+f.RetryAfter)
	add(f.Drop != NoDrop, f.Drop.String())
	add(f.Body != BodyIntact, f.Body.String())
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// ParseFault reads the value of an X-Mock-Fault header: tokens separated by ";", in any order,
// case-insensitive:
//
//	503               answer this status (400-599) with an Error body, without applying the request
//	apply-first       with a status: apply the request first, then answer the status
//	retry-after=2     send Retry-After: 2 (seconds or an HTTP-date); alone it means 429
//	drop-before       close the connection without applying the request or answering
//	drop-after        apply the request, then close the connection without answering
//	delay=250ms       wait (a Go duration) before handling; ends early with the request's context
//	late              with a delay: apply after it even when the client gave up first
//	truncated         apply, then answer with half of the JSON body
//	non-json          apply, then answer with an HTML page labelled application/json
//	empty             apply, then answer with an empty body labelled application/json
//	none              no fault (so is an empty value); as a header it also keeps FailNext,
//	                  SetFaults and chaos mode away from the request
//
// A status, a drop and a broken body exclude one another.
func ParseFault(header string) (Fault, error) {
	var f Fault
	seen := map[string]bool{}
	for _, raw := range strings.Split(header, ";") {
		tok := strings.TrimSpace(raw)
		if tok == "" {
			continue
		}
		name, val, hasVal := strings.Cut(tok, "=")
		name, val = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(val)
		group, err := name, error(nil)
		drop, body := slices.Index(dropNames, name), slices.Index(bodyNames, name)
		switch {
		case hasVal != (name == "delay" || name == "retry-after"):
			if hasVal {
				return Fault{}, fmt.Errorf("%q takes no value", name)
			}
			return Fault{}, fmt.Errorf("%q needs a value, as in %s=VALUE", name, name)
		case isDigits(name):
			group = "status"
			if f.Status, err = strconv.Atoi(name); err != nil || f.Status < 400 || f.Status > 599 {
				return Fault{}, fmt.Errorf("status %q is not between 400 and 599", name)
			}
		case name == "delay":
			if f.Delay, err = time.ParseDuration(val); err != nil || f.Delay < 0 {
				return Fault{}, fmt.Errorf("delay %q is not a duration such as 250ms", val)
			}
		case name == "retry-after":
			if err := checkRetryAfter(val); err != nil {
				return Fault{}, err
			}
			f.RetryAfter = val
		case name == "apply-first":
			f.ApplyFirst = true
		case name == "late":
			f.Late = true
		case drop > 0:
			f.Drop, group = Drop(drop), "drop"
		case body > 0:
			f.Body, group = BodyFault(body), "body"
		case name != "none":
			return Fault{}, fmt.Errorf("unknown fault %q", name)
		}
		if seen[group] {
			return Fault{}, fmt.Errorf("%q repeats or contradicts an earlier token", tok)
		}
		seen[group] = true
	}
	if seen["none"] && len(seen) > 1 {
		return Fault{}, errors.New(`"none" cannot be combined with other faults`)
	}
	if err := f.check(); err != nil {
		return Fault{}, err
	}
	return f, nil
}

// check refuses combinations whose meaning is not obvious.
func (f Fault) check() error {
	switch {
	case (f.Status != 0 && (f.Drop != NoDrop || f.Body != BodyIntact)) || (f.Drop != NoDrop && f.Body != BodyIntact):
		return errors.New("a status, a drop and a broken body exclude one another")
	case f.ApplyFirst && f.Status == 0:
		return errors.New("apply-first needs a status, as in 500; apply-first")
	case f.Late && f.Delay == 0:
		return errors.New("late needs a delay, as in delay=200ms; late")
	case f.RetryAfter != "" && (f.Drop != NoDrop || f.Body != BodyIntact):
		return errors.New("retry-after goes with a status, not with a drop or a broken body")
	}
	return nil
}

func checkRetryAfter(v string) error {
	if _, err := http.ParseTime(v); err != nil && !isDigits(v) {
		return fmt.Errorf("retry-after %q is neither whole seconds nor an HTTP-date", v)
	}
	return nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// Header names that script faults per request.
const (
	// FaultHeader carries a fault in the syntax of ParseFault.
	FaultHeader = "X-Mock-Fault"
	// RetryAfterHeader sets the fault's Retry-After value; without FaultHeader it means 429.
	RetryAfterHeader = "X-Mock-Retry-After"
)

// headerFault reads the fault a request scripts for itself: nil without the headers, and the
// zero Fault for "X-Mock-Fault: none" (or an empty value), which asks for no fault at all.
func headerFault(h http.Header) (*Fault, error) {
	fv, hasFault := h[FaultHeader]
	rv, hasRetry := h[RetryAfterHeader]
	if !hasFault && !hasRetry {
		return nil, nil
	}
	var f Fault
	var err error
	if hasFault {
		if f, err = ParseFault(strings.Join(fv, ";")); err != nil {
			return nil, fmt.Errorf("header %s: %w", FaultHeader, err)
		}
	}
	if hasRetry {
		f.RetryAfter = strings.TrimSpace(strings.Join(rv, ","))
		if err = checkRetryAfter(f.RetryAfter); err == nil {
			err = f.check()
		}
		if err != nil {
			return nil, fmt.Errorf("header %s: %w", RetryAfterHeader, err)
		}
	}
	return &f, nil
}

// errorCodes are the error_code an injected status answers with; any other is "injected-fault".
var errorCodes = map[int]string{400: "invalid-input", 401: "unauthorized", 403: "forbidden", 404: "not-found",
	409: "resource-busy", 429: "rate-limited", 500: "internal-error", 502: "bad-gateway", 503: "service-unavailable",
	504: "gateway-timeout"}

func errorCode(status int) string {
	if c, ok := errorCodes[status]; ok {
		return c
	}
	return "injected-fault"
}
