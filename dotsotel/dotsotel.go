// Package dotsotel traces and measures the calls of an api.Client with OpenTelemetry. It is
// a package of its own so that package api links no OpenTelemetry:
//
//	client, err := api.NewClient(clientID, apiKey, dotsotel.New())
//
// Each call is a span named "dots " and its operation ("dots create-payout-link"), with one
// client span per attempt named by its method and path template ("POST /v2/payout-links",
// "GET /v2/payout-links/{payout_link_id}"), never by a path with ids in it. The call span says
// how the call ended (dots.outcome: ok; refused, when Dots said no or nothing was sent; or
// unknown, when the request may have been acted on: see api.ErrOutcomeUnknown) and how often it
// was retried; an attempt span carries the HTTP status and its resend count. Nothing recorded
// holds an id, an idempotency key, a credential, a body or an error message (which may quote an
// id); error.type names the kind of failure. The metrics are the duration of calls
// (dots.client.call.duration) and of attempts (http.client.request.duration), and the number
// of retries (dots.client.call.retries).
//
// No trace context is sent to Dots: the spans are for your own traces.
package dotsotel

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/payoutkit/dots-go/api"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the spans and metrics.
const ScopeName = "github.com/payoutkit/dots-go/dotsotel"

// The attributes of this package's own, beside the semantic conventions' HTTP ones.
const (
	// OperationKey is the spec's operationId of the call, such as "create-payout-link".
	OperationKey = attribute.Key("dots.operation")
	// OutcomeKey is how the call ended: "ok", "refused" or "unknown".
	OutcomeKey = attribute.Key("dots.outcome")
	// RetriesKey is how often the call was retried (its attempts less one).
	RetriesKey = attribute.Key("dots.retries")
)

// Option configures New.
type Option func(*config)

type config struct {
	tp trace.TracerProvider
	mp metric.MeterProvider
}

// WithTracerProvider records spans with tp instead of the global one (otel.GetTracerProvider).
func WithTracerProvider(tp trace.TracerProvider) Option { return func(c *config) { c.tp = tp } }

// WithMeterProvider records metrics with mp instead of the global one (otel.GetMeterProvider).
func WithMeterProvider(mp metric.MeterProvider) Option { return func(c *config) { c.mp = mp } }

// New returns the client option that traces and measures every call of the client: a call hook
// for the call spans and a middleware for the attempt spans (api.WithCallHook, api.WithMiddleware).
func New(opts ...Option) api.Option {
	c := config{tp: otel.GetTracerProvider(), mp: otel.GetMeterProvider()}
	for _, o := range opts {
		o(&c)
	}
	meter := c.mp.Meter(ScopeName)
	t := &telemetry{tracer: c.tp.Tracer(ScopeName)}
	var errs [3]error
	t.callDuration, errs[0] = meter.Float64Histogram("dots.client.call.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of Dots calls, retries and waits included."))
	t.attemptDuration, errs[1] = meter.Float64Histogram("http.client.request.duration", metric.WithUnit("s"),
		metric.WithDescription("Duration of HTTP client requests."))
	t.retries, errs[2] = meter.Int64Counter("dots.client.call.retries", metric.WithUnit("{retry}"),
		metric.WithDescription("Retries of Dots calls."))
	if err := errors.Join(errs[:]...); err != nil {
		otel.Handle(err) // the instruments are still usable
	}
	return api.WithOptions(api.WithCallHook(t.hook), api.WithMiddleware(t.middleware))
}

type telemetry struct {
	tracer                        trace.Tracer
	callDuration, attemptDuration metric.Float64Histogram
	retries                       metric.Int64Counter
}

// call is what the hook keeps of a call, in its context, for the middleware.
type call struct {
	info     api.CallInfo
	attempts atomic.Int32
	status   atomic.Int32 // the last attempt's HTTP status
}

type callKey struct{}

func (t *telemetry) hook(ctx context.Context, info api.CallInfo) (context.Context, func(int, error)) {
	c := &call{info: info}
	start := time.Now()
	ctx, span := t.tracer.Start(ctx, "dots "+cmp.Or(info.Operation, info.Method), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(OperationKey.String(info.Operation), semconv.HTTPRequestMethodKey.String(info.Method),
			semconv.URLTemplate(info.Path)))
	return context.WithValue(ctx, callKey{}, c), func(attempts int, err error) {
		outcome := outcome(err)
		attrs := []attribute.KeyValue{OperationKey.String(info.Operation), OutcomeKey.String(outcome)}
		span.SetAttributes(OutcomeKey.String(outcome), RetriesKey.Int(max(attempts-1, 0)))
		if s := c.status.Load(); s != 0 {
			span.SetAttributes(semconv.HTTPResponseStatusCode(int(s)))
		}
		if err != nil {
			span.SetAttributes(semconv.ErrorTypeKey.String(errorType(err)))
			span.SetStatus(codes.Error, "outcome "+outcome)
			attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(err)))
		}
		span.End()
		t.callDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrs...))
		t.retries.Add(ctx, int64(max(attempts-1, 0)), metric.WithAttributes(OperationKey.String(info.Operation)))
	}
}

func (t *telemetry) middleware(req *http.Request, next api.Next) (*http.Response, error) {
	c, ok := req.Context().Value(callKey{}).(*call)
	if !ok { // not a call of this package's hook: leave it alone
		return next(req)
	}
	n := c.attempts.Add(1)
	name := c.info.Method
	if c.info.Path != "" {
		name += " " + c.info.Path
	}
	attrs := []attribute.KeyValue{semconv.HTTPRequestMethodKey.String(c.info.Method), semconv.URLTemplate(c.info.Path),
		semconv.ServerAddress(req.URL.Hostname())}
	if port, err := strconv.Atoi(req.URL.Port()); err == nil {
		attrs = append(attrs, semconv.ServerPort(port))
	}
	ctx, span := t.tracer.Start(req.Context(), name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	if n > 1 {
		span.SetAttributes(semconv.HTTPRequestResendCount(int(n - 1)))
	}
	start := time.Now()
	resp, err := next(req.WithContext(ctx))
	if err != nil {
		attrs = append(attrs, semconv.ErrorTypeKey.String(errorType(err)))
		span.SetStatus(codes.Error, "no answer")
	} else {
		c.status.Store(int32(resp.StatusCode))
		attrs = append(attrs, semconv.HTTPResponseStatusCode(resp.StatusCode))
		if resp.StatusCode >= 400 {
			attrs = append(attrs, semconv.ErrorTypeKey.String(strconv.Itoa(resp.StatusCode)))
			span.SetStatus(codes.Error, "")
		}
	}
	span.SetAttributes(attrs...)
	span.End()
	t.attemptDuration.Record(ctx, time.Since(start).Seconds(), metric.WithAttributes(attrs...))
	return resp, err
}

// outcome says how a call ended: "ok", "unknown" when it may have been acted on, or "refused".
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, api.ErrOutcomeUnknown):
		return "unknown"
	}
	return "refused"
}

// errorType names the kind of an error without its message: the HTTP status of an *api.Error,
// else the error's Go type.
func errorType(err error) string {
	if e := (*api.Error)(nil); errors.As(err, &e) {
		return strconv.Itoa(e.StatusCode)
	}
	return fmt.Sprintf("%T", err)
}
