package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/payoutkit/dots-go/gen"
)

// ErrOutcomeUnknown matches (with errors.Is) every error after which the request may have reached
// Dots and been acted on: a timeout or a dropped connection after the request was written, a
// broken success body, a 5xx answer, or an answer whose error_code says Dots is still busy with
// the request (resource-busy, service-unavailable). It is sticky: once any attempt of a call may
// have been acted on, the call's error matches it whatever later attempts said (a 429 after the
// retries ran out, a refused connection, a 409, a 400), unless a later attempt succeeded.
// errors.As still reaches the last answer's *Error or *RequestError.
//
// For a create, the payout link may exist. Do not create a new intent: repeat the call with the
// same idempotency key (IdempotencyKeyOf) within 24 hours — Dots answers with the link the key
// made, if any — or look the link up.
var ErrOutcomeUnknown = errors.New("dots: outcome unknown: the request may have been acted on")

// ErrIdempotencyKeyReused matches (with errors.Is) the error of a create whose idempotency key
// had already made another payout link: Dots answered with that link, which differs from the
// request in the fields KeyReusedError names. Nothing new was paid; do not treat the link as
// the payout you asked for.
var ErrIdempotencyKeyReused = errors.New("dots: idempotency key reused for a different payout")

// KeyReusedError is the error of a create answered with a link that does not match the request:
// the key was used before for another payout. The create returns the link as well.
type KeyReusedError struct {
	// IdempotencyKey is the key the create carried.
	IdempotencyKey string
	// Fields names what differs, such as "amount" or "payee.email".
	Fields []string
}

// Error names the fields that differ.
func (e *KeyReusedError) Error() string {
	return ErrIdempotencyKeyReused.Error() + ": the link Dots holds for key " + e.IdempotencyKey +
		" differs in " + strings.Join(e.Fields, ", ")
}

// Is makes the error match ErrIdempotencyKeyReused.
func (e *KeyReusedError) Is(target error) bool { return target == ErrIdempotencyKeyReused }

func (e *KeyReusedError) idempotencyKey() string { return e.IdempotencyKey }

// ErrResponseTooLarge is wrapped by the error for a response body over the client's limit
// (WithMaxResponseBytes).
var ErrResponseTooLarge = errors.New("dots: response body too large")

// Call says which call an error comes from, and what is known of its outcome. *Error and
// *RequestError embed it.
type Call struct {
	// Operation is the spec's operationId of the call, when known.
	Operation string
	// Attempts is how many times the request was sent or tried.
	Attempts int
	// IdempotencyKey is the key the request carried, if any.
	IdempotencyKey string
	// OutcomeUnknown is true when this attempt, or an earlier one of the same call, may have been
	// acted on (see ErrOutcomeUnknown): a 5xx, a busy error_code, a dropped or timed-out attempt.
	OutcomeUnknown bool
}

// Is makes the error match ErrOutcomeUnknown when the request may have been acted on.
func (c Call) Is(target error) bool { return target == ErrOutcomeUnknown && c.OutcomeUnknown }

func (c Call) idempotencyKey() string { return c.IdempotencyKey }

// Error is a non-2xx answer from Dots. Every operation, typed or generated, returns it for any
// status outside 2xx; match it with errors.As.
type Error struct {
	Call
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the body's error_code, if any (such as "invalid-phone-number").
	Code string
	// Message is the body's message, if any.
	Message string
	// RequestID is the request id response header, if Dots sent one; quote it to Dots support.
	RequestID string
	// Body is the raw body, cut at 8 KiB, with the client's own credentials redacted.
	Body []byte
	// Model is Body decoded as the spec's Error schema (gen.Error), leniently: a field added to
	// the spec's Error is read here after regenerating, with no code. Zero when Body is no JSON
	// object.
	Model gen.Error
}

// Error reads like "dots: 400 invalid-phone-number: Invalid phone number".
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dots: %d", e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.Code == "":
		if t := http.StatusText(e.StatusCode); t != "" {
			b.WriteString(" " + t)
		}
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.OutcomeUnknown && !e.mayHaveApplied() {
		b.WriteString("; outcome unknown: an earlier attempt may have been acted on")
	}
	return b.String()
}

// busy reports an error_code by which Dots says it is still processing the request or cannot
// take it now: whatever the status (409 included), it means "try later", as a 503 does.
func (e *Error) busy() bool {
	return e.Code == "resource-busy" || e.Code == "service-unavailable"
}

// mayHaveApplied reports whether this answer leaves open that Dots acted on the request.
func (e *Error) mayHaveApplied() bool { return e.StatusCode >= 500 || e.busy() }

// RequestError is a call that got no usable answer: the connection failed, timed out or was
// dropped, the caller's context ended, or the body could not be read.
type RequestError struct {
	Call
	// Method and Path (the spec's path template when known) name the request without secrets.
	Method, Path string
	// Err is the cause, with anything that could hold a secret removed.
	Err error
}

// Error describes the failure.
func (e *RequestError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "dots: %s %s", e.Method, e.Path)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.OutcomeUnknown {
		b.WriteString(": outcome unknown")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Err }

// FieldError is one problem with the caller's input.
type FieldError struct {
	// Field is the JSON path of the field, such as "amount" or "payee.email".
	Field string
	// Problem says what is wrong.
	Problem string
}

// Error reads like "amount: number must be at least 1".
func (f FieldError) Error() string { return f.Field + ": " + f.Problem }

// InvalidRequestError is input the SDK refused before sending anything.
type InvalidRequestError struct {
	Call // Attempts is 0; IdempotencyKey is the key the request would have carried, if any
	// Fields lists every problem found.
	Fields []FieldError
}

// Error reads like "dots: invalid create-payout-link request: amount: number must be at least 1".
func (e *InvalidRequestError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.Error()
	}
	return "dots: invalid " + e.Operation + " request: " + strings.Join(parts, "; ")
}

// Field returns the problem with the named field, if there is one.
func (e *InvalidRequestError) Field(name string) (FieldError, bool) {
	if i := slices.IndexFunc(e.Fields, func(f FieldError) bool { return f.Field == name }); i >= 0 {
		return e.Fields[i], true
	}
	return FieldError{}, false
}

// ContractError is traffic that departs from openapi.yaml, found by contract validation in strict
// mode (WithContractValidation(ContractStrict)). A request that fails is not sent.
type ContractError struct {
	ContractFinding
	// IdempotencyKey is the key the request carried, if any.
	IdempotencyKey string
}

// Error lists the violations.
func (e *ContractError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return fmt.Sprintf("dots: %s %s breaks the contract: %s", e.Operation, e.Direction, strings.Join(parts, "; "))
}

func (e *ContractError) idempotencyKey() string { return e.IdempotencyKey }

// Is makes a response that breaks the contract match ErrOutcomeUnknown: the request was sent and
// may have been acted on, but its answer is not to be trusted.
func (e *ContractError) Is(target error) bool {
	return target == ErrOutcomeUnknown && e.Direction == "response"
}

// keyCarrier is an error that knows the idempotency key of its call.
type keyCarrier interface{ idempotencyKey() string }

// keyedError attaches an idempotency key to an error that does not carry one.
type keyedError struct {
	key string
	err error
}

func (e *keyedError) Error() string          { return e.err.Error() }
func (e *keyedError) Unwrap() error          { return e.err }
func (e *keyedError) idempotencyKey() string { return e.key }

// IdempotencyKeyOf returns the idempotency key of the call that failed with err. A create made
// through this SDK always has one, whatever went wrong; persist it and retry with it.
func IdempotencyKeyOf(err error) (key string, ok bool) {
	var c keyCarrier
	if errors.As(err, &c) && c.idempotencyKey() != "" {
		return c.idempotencyKey(), true
	}
	return "", false
}
