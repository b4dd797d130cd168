package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"

	"github.com/payoutkit/dots-go/gen"
)

// DefaultMaxBodyBytes is the largest body Handler reads unless [WithMaxBodyBytes] says
// otherwise: 1 MiB, far above any payout-link event.
const DefaultMaxBodyBytes int64 = 1 << 20

// HandlerOption configures Handler.
type HandlerOption func(*handler)

// WithMaxBodyBytes sets the largest body Handler accepts; larger ones get 413. A value of zero
// or less keeps [DefaultMaxBodyBytes].
func WithMaxBodyBytes(n int64) HandlerOption {
	return func(h *handler) {
		if n > 0 {
			h.maxBody = n
		}
	}
}

// WithEventType sets the event type of bodies without an "event" field (see [ParseAs]), for an
// endpoint that receives one event type only. Without it such bodies are delivered as Events
// with an empty Type and only Raw set.
func WithEventType(t gen.WebhookEventType) HandlerOption {
	return func(h *handler) { h.eventType = t }
}

// WithLogger makes Handler log what it does to l: rejected requests at Warn, errors and panics
// from the function at Error, delivered events at Debug. Nothing it logs contains the secret or
// a signature, and a panic is logged without its value's text unless the Go runtime wrote it
// (see [Handler]). Without it Handler logs nothing.
func WithLogger(l *slog.Logger) HandlerOption {
	return func(h *handler) { h.log = l }
}

// Handler returns an http.Handler that receives webhooks: it answers 405 (with an Allow
// header) to anything but POST, 413 to a body over the size limit, 400 to a delivery that fails
// [Verifier.Verify] or whose body [ParseAs] rejects, and otherwise calls fn with the request's
// context and the event. It answers 204 when fn returns nil and 500 when fn returns an error
// or panics, so that Svix delivers the message again; the error's text is not sent. Response
// bodies are short fixed texts that never echo the request.
//
// Deliveries are de-duplicated by message id (see [WithDeduplication]): by default Handler
// remembers the last [DefaultDedupSize] messages fn handled in this process and answers a
// repeat 204 without calling fn. A message whose fn failed is forgotten, so Svix's retry calls
// fn again; a delivery of a message that another delivery is still handling is answered 409
// without calling fn, so that Svix retries it later rather than fn running twice at once.
//
// A panic in fn is recovered and logged with the message id, the event type and the panic
// value's type (panic_type). The value's text (panic) is logged only when the Go runtime wrote
// it, as for a nil dereference or an index out of range: any other value, a string or an error
// fn built, may hold parts of the body and is not printed. A panic with [http.ErrAbortHandler]
// is passed on to net/http.
//
// Svix waits 15 seconds for the answer: fn should hand slow work off rather than do it. Handler
// panics if v or fn is nil.
func Handler(v *Verifier, fn func(context.Context, Event) error, opts ...HandlerOption) http.Handler {
	if v == nil {
		panic("webhook: Handler needs a Verifier")
	}
	if fn == nil {
		panic("webhook: Handler needs a function to call")
	}
	h := &handler{v: v, fn: fn, maxBody: DefaultMaxBodyBytes, dedup: NewMemoryDedup(DefaultDedupSize)}
	for _, o := range opts {
		o(h)
	}
	return h
}

type handler struct {
	v         *Verifier
	fn        func(context.Context, Event) error
	maxBody   int64
	eventType gen.WebhookEventType
	log       *slog.Logger
	dedup     DedupStore // nil: every delivery calls fn
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(r, w, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	if r.ContentLength > h.maxBody {
		h.reject(r, w, http.StatusRequestEntityTooLarge, "body too large", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(r, w, http.StatusRequestEntityTooLarge, "body too large", nil)
			return
		}
		h.reject(r, w, http.StatusBadRequest, "cannot read body", err)
		return
	}
	if err := h.v.Verify(r.Header, body); err != nil {
		h.reject(r, w, http.StatusBadRequest, verifyReason(err), err)
		return
	}
	ev, err := ParseAs(h.eventType, body)
	if err != nil {
		h.reject(r, w, http.StatusBadRequest, "invalid payload", err)
		return
	}
	ev.MessageID = messageID(r.Header)
	switch status, err := h.deliver(r.Context(), ev); status {
	case http.StatusNoContent:
		w.WriteHeader(status)
	case http.StatusConflict:
		http.Error(w, "webhook in progress: deliver it again later", status)
	default:
		if h.log != nil && err != errPanicked {
			h.log.LogAttrs(r.Context(), slog.LevelError, "webhook: handler failed",
				slog.String("message_id", ev.MessageID), slog.String("event", string(ev.Type)),
				slog.Any("error", err))
		}
		http.Error(w, "webhook not processed", http.StatusInternalServerError)
	}
}

// deliver calls fn once per message: it claims the message id in the store first, answers a
// repeat 204 and a message another delivery holds 409 without calling fn, and finishes the claim
// with fn's outcome (also when fn panics with http.ErrAbortHandler), so that a failed message is
// handled again when Svix retries it. It returns the status to answer, and the error for a 500.
func (h *handler) deliver(ctx context.Context, ev Event) (status int, err error) {
	attrs := func(more ...slog.Attr) []slog.Attr {
		return append([]slog.Attr{slog.String("message_id", ev.MessageID), slog.String("event", string(ev.Type))}, more...)
	}
	if h.dedup != nil {
		switch st, err := h.dedup.Claim(ctx, ev.MessageID); {
		case err != nil:
			return http.StatusInternalServerError, fmt.Errorf("webhook: deduplication: %w", err)
		case st == DedupHandled:
			h.logAt(ctx, slog.LevelDebug, "webhook: repeat of a handled message", attrs()...)
			return http.StatusNoContent, nil
		case st != DedupNew:
			h.logAt(ctx, slog.LevelWarn, "webhook: message in progress, answered 409", attrs()...)
			return http.StatusConflict, nil
		}
		defer func() {
			// status is 0 while a panic passes through. The context is not canceled with the
			// request: a claim must not outlive its delivery.
			handled := status == http.StatusNoContent
			if err := h.dedup.Finish(context.WithoutCancel(ctx), ev.MessageID, handled); err != nil {
				h.logAt(ctx, slog.LevelError, "webhook: deduplication: finish failed",
					attrs(slog.Bool("handled", handled), slog.Any("error", err))...)
			}
		}()
	}
	if err := h.call(ctx, ev); err != nil {
		return http.StatusInternalServerError, err
	}
	h.logAt(ctx, slog.LevelDebug, "webhook: delivered", attrs()...)
	return http.StatusNoContent, nil
}

// logAt logs when a logger is set.
func (h *handler) logAt(ctx context.Context, level slog.Level, msg string, attrs ...slog.Attr) {
	if h.log != nil {
		h.log.LogAttrs(ctx, level, msg, attrs...)
	}
}

// errPanicked is what call returns for a panic it has logged.
var errPanicked = errors.New("webhook: handler panicked")

// call runs fn, recovering a panic other than http.ErrAbortHandler into errPanicked.
func (h *handler) call(ctx context.Context, ev Event) (err error) {
	defer func() {
		p := recover()
		if p == nil {
			return
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
		err = errPanicked
		if h.log == nil {
			return
		}
		attrs := []slog.Attr{slog.String("message_id", ev.MessageID), slog.String("event", string(ev.Type)),
			slog.String("panic_type", fmt.Sprintf("%T", p))}
		if e, ok := p.(runtime.Error); ok && fromRuntime(p) {
			attrs = append(attrs, slog.String("panic", e.Error()))
		}
		h.log.LogAttrs(ctx, slog.LevelError, "webhook: handler panicked", attrs...)
	}()
	return h.fn(ctx, ev)
}

// fromRuntime reports whether p's type is declared in package runtime, whose panic texts hold
// type names and numbers only, never data.
func fromRuntime(p any) bool {
	t := reflect.TypeOf(p)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.PkgPath() == "runtime"
}

// reject answers with a fixed text and logs why when a logger is set. err comes from this
// package (Verify, ParseAs) or from reading the body, and never holds a secret or a signature.
func (h *handler) reject(r *http.Request, w http.ResponseWriter, status int, reason string, err error) {
	if h.log != nil {
		attrs := []slog.Attr{
			slog.Int("status", status), slog.String("reason", reason),
			slog.String("method", r.Method), slog.String("message_id", messageID(r.Header)),
		}
		if err != nil {
			attrs = append(attrs, slog.Any("error", err))
		}
		h.log.LogAttrs(r.Context(), slog.LevelWarn, "webhook: rejected", attrs...)
	}
	http.Error(w, "webhook rejected: "+reason, status)
}

// verifyReason names the class of a Verify error for the response body.
func verifyReason(err error) string {
	switch {
	case errors.Is(err, ErrMissingHeaders):
		return "missing signature headers"
	case errors.Is(err, ErrInvalidTimestamp):
		return "invalid timestamp"
	case errors.Is(err, ErrTimestampTooOld), errors.Is(err, ErrTimestampTooNew):
		return "timestamp outside tolerance"
	default:
		return "invalid signature"
	}
}

// messageID is the delivery's message id: the one Verify used, else whichever id header is set.
func messageID(h http.Header) string {
	if id, _, _, err := readHeaders(h); err == nil {
		return id
	}
	if id := h.Get("svix-id"); id != "" {
		return id
	}
	return h.Get("webhook-id")
}
