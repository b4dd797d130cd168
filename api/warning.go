package api

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/payoutkit/dots-go/internal/codec"
)

// Warning is something odd in a successful answer that did not stop it from being read: a value
// of the wrong type, a timestamp that cannot be read, an amount with a fraction of a cent. The
// call returns what was decoded (the odd value at its zero value, an amount at its whole cents)
// and no error, and the warning says what was odd, so that one odd field never hides a good
// answer (a link that was paid must not read as unknown).
type Warning struct {
	// Operation is the spec's operationId of the call.
	Operation string
	// Field is where, as a path into the answer: "amount", "data[3].amount".
	Field string
	// Problem says what was odd and how it was read, without repeating text that could be
	// personal: "1250.5 is not a whole number; read as 1250".
	Problem string
}

// String reads like "create-payout-link answer: amount: 1250.5 is not a whole number; read as 1250".
func (w Warning) String() string { return w.Operation + " answer: " + w.Field + ": " + w.Problem }

// WithWarnings hands every Warning to fn, on the goroutine of the call, before the call returns.
// Without it, warnings go to the logger of WithLogger, or else to slog.Default(), at Warn level.
func WithWarnings(fn func(context.Context, Warning)) Option {
	return option("WithWarnings", clientOnly, true, "", func(c *config) { c.warnings = fn })
}

// warn hands the notes of a lenient decode on as warnings.
func (p *pipeline) warn(ctx context.Context, op string, notes []codec.Note) {
	for _, n := range notes {
		w := Warning{Operation: op, Field: n.Field(), Problem: n.Problem}
		if p.warnings != nil {
			p.warnings(ctx, w)
		} else {
			cmp.Or(p.logger, slog.Default()).LogAttrs(ctx, slog.LevelWarn, "dots: odd field in an answer",
				slog.String("op", op), slog.String("field", w.Field), slog.String("problem", w.Problem))
		}
	}
}
