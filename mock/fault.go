package mock

import (
	"errors"
	"fmt"
	"net/http"
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

// String returns the X-Mock-Fault token of d ("drop-before", "drop-after"), or "no-drop".
func (d Drop) String() string {
	switch d {
	case DropBeforeApply:
		return "drop-before"
	case DropAfterApply:
		return "drop-after"
	}
	return "no-drop"
}

// BodyFault says how a fault breaks the body of an answer.
type BodyFault int

const (
	// BodyIntact leaves the body alone.
	BodyIntact BodyFault = iota
	// TruncatedBody applies the request and answers its status with only the first half of the
	// JSON body; Content-Length matches what is sent, so the client reads a short, broken document.
	TruncatedBody
	// NonJSONBody applies the request and answers its status with an HTML page, still labelled
	// Content-Type: application/json.
	NonJSONBody
	// EmptyBody applies the request and answers its status with no body at all, still labelled
	// Content-Type: application/json.
	EmptyBody
)

// String returns the X-Mock-Fault token of b ("truncated", "non-json", "empty"), or "intact".
func (b BodyFault) String() string {
	switch b {
	case TruncatedBody:
		return "truncated"
	case NonJSONBody:
		return "non-json"
	case EmptyBody:
		return "empty"
	}
	return "intact"
}

// Fault is a failure the server injects into one request instead of, or on top of, handling it.
//
// The parts act in this order: Delay, then Drop == DropBeforeApply, then Status without
// ApplyFirst (neither applies the request); otherwise the request is handled, and then
// Drop == DropAfterApply, Status with ApplyFirst, or Body decides what the client gets. When a
// Fault sets several of Drop, Status and Body, Drop wins over Status, and Status over Body;
// ParseFault refuses such combinations.
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
	// Late, with a Delay, applies the request after the delay even when the client gave up
	// waiting first: the server acts after the client saw a timeout.
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
	if f.Delay > 0 {
		parts = append(parts, "delay="+f.Delay.String())
	}
	if f.Status != 0 {
		parts = append(parts, strconv.Itoa(f.Status))
	}
	if f.ApplyFirst {
		parts = append(parts, "apply-first")
	}
	if f.Late {
		parts = append(parts, "late")
	}
	if f.RetryAfter != "" {
		parts = append(parts, "retry-after="+f.RetryAfter)
	}
	if f.Drop != NoDrop {
		parts = append(parts, f.Drop.String())
	}
	if f.Body != BodyIntact {
		parts = append(parts, f.Body.String())
	}
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
		name = strings.ToLower(strings.TrimSpace(name))
		val = strings.TrimSpace(val)
		kind := name
		if isDigits(name) && !hasVal {
			kind = "status"
		}
		group := kind
		switch kind {
		case "drop-before", "drop-after":
			group = "drop"
		case "truncated", "non-json", "empty":
			group = "body"
		}
		if seen[group] {
			return Fault{}, fmt.Errorf("%q repeats or contradicts an earlier token", tok)
		}
		seen[group] = true
		if hasVal != (kind == "delay" || kind == "retry-after") {
			if hasVal {
				return Fault{}, fmt.Errorf("%q takes no value", name)
			}
			return Fault{}, fmt.Errorf("%q needs a value, as in %s=VALUE", name, name)
		}
		switch kind {
		case "status":
			n, err := strconv.Atoi(name)
			if err != nil || n < 400 || n > 599 {
				return Fault{}, fmt.Errorf("status %q is not between 400 and 599", name)
			}
			f.Status = n
		case "none":
		case "apply-first":
			f.ApplyFirst = true
		case "late":
			f.Late = true
		case "drop-before":
			f.Drop = DropBeforeApply
		case "drop-after":
			f.Drop = DropAfterApply
		case "truncated":
			f.Body = TruncatedBody
		case "non-json":
			f.Body = NonJSONBody
		case "empty":
			f.Body = EmptyBody
		case "delay":
			d, err := time.ParseDuration(val)
			if err != nil || d < 0 {
				return Fault{}, fmt.Errorf("delay %q is not a duration such as 250ms", val)
			}
			f.Delay = d
		case "retry-after":
			if err := checkRetryAfter(val); err != nil {
				return Fault{}, err
			}
			f.RetryAfter = val
		default:
			return Fault{}, fmt.Errorf("unknown fault %q", name)
		}
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
	n := 0
	if f.Status != 0 {
		n++
	}
	if f.Drop != NoDrop {
		n++
	}
	if f.Body != BodyIntact {
		n++
	}
	switch {
	case n > 1:
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
	if isDigits(v) {
		return nil
	}
	if _, err := http.ParseTime(v); err == nil {
		return nil
	}
	return fmt.Errorf("retry-after %q is neither whole seconds nor an HTTP-date", v)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
	fv, hasFault := h[http.CanonicalHeaderKey(FaultHeader)]
	rv, hasRetry := h[http.CanonicalHeaderKey(RetryAfterHeader)]
	if !hasFault && !hasRetry {
		return nil, nil
	}
	var f Fault
	if hasFault {
		var err error
		if f, err = ParseFault(strings.Join(fv, ";")); err != nil {
			return nil, fmt.Errorf("header %s: %w", FaultHeader, err)
		}
	}
	if hasRetry {
		v := strings.TrimSpace(strings.Join(rv, ","))
		if err := checkRetryAfter(v); err != nil {
			return nil, fmt.Errorf("header %s: %w", RetryAfterHeader, err)
		}
		f.RetryAfter = v
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("header %s: %w", RetryAfterHeader, err)
		}
	}
	return &f, nil
}

// errorCode is the error_code an injected status answers with.
func errorCode(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "invalid-input"
	case http.StatusUnauthorized:
		return "unauthorized"
	case http.StatusForbidden:
		return "forbidden"
	case http.StatusNotFound:
		return "not-found"
	case http.StatusConflict:
		return "resource-busy"
	case http.StatusTooManyRequests:
		return "rate-limited"
	case http.StatusInternalServerError:
		return "internal-error"
	case http.StatusBadGateway:
		return "bad-gateway"
	case http.StatusServiceUnavailable:
		return "service-unavailable"
	case http.StatusGatewayTimeout:
		return "gateway-timeout"
	}
	return "injected-fault"
}
