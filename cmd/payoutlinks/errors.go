package main

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/payoutkit/dots-go/api"
)

// usageError is a mistake in the command line or its environment, found before anything was sent.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// unshownError is a create that made its link, whose result could not be printed.
type unshownError struct {
	id, key string
	err     error
}

func (e *unshownError) Error() string {
	return fmt.Sprintf("payout link %s was made, but printing it failed: %v", e.id, e.err)
}

func (e *unshownError) Unwrap() error { return e.err }

// exitCode is the exit status for err (see exitStatusHelp). An unknown outcome is checked first:
// such an error may also be an *api.Error (a 503 after the retries ran out), and "it may have
// been applied" must never read as "it failed".
func exitCode(err error) int {
	var (
		invalid *api.InvalidRequestError
		usage   usageError
		unshown *unshownError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, api.ErrOutcomeUnknown), errors.As(err, &unshown):
		return exitUnknown
	case errors.As(err, &invalid), errors.As(err, &usage):
		return exitUsage
	}
	return exitFailed // *api.Error, a refused connection, a reused key, "redelivered": false
}

// mayHaveReachedDots reports whether the call that ended with err may have reached Dots: it
// succeeded, Dots answered, or the outcome is unknown. Input the SDK refused, and connections
// refused before sending, never left.
func mayHaveReachedDots(err error) bool {
	var e *api.Error
	return err == nil || errors.Is(err, api.ErrOutcomeUnknown) || errors.As(err, &e) || errors.Is(err, api.ErrIdempotencyKeyReused)
}

// credential matches what looks like an HTTP credential in text: a Basic or Bearer value.
var credential = regexp.MustCompile(`(?i)\b(basic|bearer)(\s+)[A-Za-z0-9+/=._~-]{6,}`)

// redactor writes to w with every credential-looking value and every given secret replaced by
// [redacted]: an error body may echo the request (a proxy's error page), and the text of an
// error may quote that body.
type redactor struct {
	w       io.Writer
	secrets []string
}

func (r redactor) Write(p []byte) (int, error) {
	s := credential.ReplaceAllString(string(p), "${1}${2}[redacted]")
	for _, secret := range r.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printError says what went wrong, with what the user needs to act on it. Credentials (secrets,
// and anything shaped like a Basic or Bearer value) are redacted from all of it.
func printError(out io.Writer, err error, secrets ...string) {
	w := redactor{out, secrets}
	fmt.Fprintf(w, "payoutlinks: %v\n", err)
	var e *api.Error
	if errors.As(err, &e) {
		if e.RequestID != "" {
			fmt.Fprintf(w, "  request id: %s\n", e.RequestID)
		}
		if len(e.Body) > 0 && e.Message == "" {
			fmt.Fprintf(w, "  body: %s\n", strings.TrimSpace(string(e.Body)))
		}
	}
	var unshown *unshownError
	switch {
	case errors.As(err, &unshown):
		fmt.Fprintf(w, "  it was paid once: see it with 'payoutlinks get %s', or run the same create again with --idempotency-key %s\n", unshown.id, unshown.key)
	case errors.Is(err, api.ErrOutcomeUnknown):
		fmt.Fprintf(w, "  %s\n", unknownAdvice(err))
	case errors.Is(err, api.ErrIdempotencyKeyReused):
		fmt.Fprintln(w, "  this key made another payout link earlier (printed on stdout); nothing new was paid: use a new key for a new payout")
	case !mayHaveReachedDots(err) && errors.As(err, new(*api.RequestError)):
		fmt.Fprintln(w, "  the request never reached Dots, so nothing was applied: it is safe to run it again")
	}
}

// unknownAdvice says how to resolve an unknown outcome, for the operation that had it.
func unknownAdvice(err error) string {
	if key, ok := api.IdempotencyKeyOf(err); ok {
		return "the outcome is unknown: the payout link may exist. Run the same create again with --idempotency-key " + key +
			" within 24 hours: Dots answers with the link that key made, if any, and makes none twice. Do not create it with a new key."
	}
	switch operationOf(err) {
	case "get-payout-link", "list-payout-links":
		return "no usable answer came: reading changes nothing, so it is safe to run it again"
	case "cancel-payout-link":
		return "the outcome is unknown: the link may be canceled now. See its status with 'payoutlinks get ID'; cancel is safe to run again"
	case "redeliver-payout-link":
		return "the outcome is unknown: the link may have been sent again. Each redeliver may send the payee another message: ask them before you run it again"
	}
	return "the outcome is unknown: the request may have been applied; check with 'payoutlinks get ID' or 'payoutlinks list' before running it again"
}

// operationOf is the spec's operationId of the call err comes from, or "".
func operationOf(err error) string {
	var (
		e  *api.Error
		r  *api.RequestError
		ce *api.ContractError
	)
	switch {
	case errors.As(err, &e):
		return e.Operation
	case errors.As(err, &r):
		return r.Operation
	case errors.As(err, &ce):
		return ce.Operation
	}
	return ""
}
