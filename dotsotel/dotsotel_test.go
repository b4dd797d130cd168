package dotsotel_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsotel"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// Obviously fake credentials.
const (
	clientID = "pk_test_otel0001"
	apiKey   = "sk_test_otel_7d1e9b3c5a"
)

// recorded is one client's telemetry: spans in memory and metrics read by hand.
type recorded struct {
	spans  *tracetest.InMemoryExporter
	reader *sdkmetric.ManualReader
	srv    *mock.Server
	client *api.Client
}

func newRecorded(t *testing.T, opts ...api.Option) *recorded {
	t.Helper()
	// Delta temporality: each Collect holds what was recorded since the one before.
	delta := func(sdkmetric.InstrumentKind) metricdata.Temporality { return metricdata.DeltaTemporality }
	r := &recorded{spans: tracetest.NewInMemoryExporter(), reader: sdkmetric.NewManualReader(sdkmetric.WithTemporalitySelector(delta)),
		srv: mock.NewServer()}
	t.Cleanup(r.srv.Close)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(r.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r.reader))
	all := append([]api.Option{api.WithBaseURL(r.srv.BaseURL()),
		api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Microsecond, MaxDelay: time.Microsecond}),
		dotsotel.New(dotsotel.WithTracerProvider(tp), dotsotel.WithMeterProvider(mp))}, opts...)
	c, err := api.NewClient(clientID, apiKey, all...)
	if err != nil {
		t.Fatal(err)
	}
	r.client = c
	return r
}

func (r *recorded) metrics(t *testing.T) metricdata.ResourceMetrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	return rm
}

func attr(attrs []attribute.KeyValue, key string) string {
	for _, a := range attrs {
		if string(a.Key) == key {
			return a.Value.String()
		}
	}
	return ""
}

func TestSpansAndMetricsOfACall(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name        string
		fail        int
		call        func(c *api.Client, linkID string) error
		span        string
		attempt     string
		statuses    []string // of the attempts
		outcome     string
		status      string // the call span's http.response.status_code
		errorType   string
		wantRetries int64
	}{
		{"a create retried twice", 2, func(c *api.Client, _ string) error { _, err := c.CreatePayoutLink(ctx, body()); return err },
			"dots create-payout-link", "POST /v2/payout-links", []string{"503", "503", "201"}, "ok", "201", "", 2},
		{"a create that runs out of retries", 3, func(c *api.Client, _ string) error { _, err := c.CreatePayoutLink(ctx, body()); return err },
			"dots create-payout-link", "POST /v2/payout-links", []string{"503", "503", "503"}, "unknown", "503", "503", 2},
		{"a get", 0, func(c *api.Client, id string) error { _, err := c.GetPayoutLink(ctx, id); return err },
			"dots get-payout-link", "GET /v2/payout-links/{payout_link_id}", []string{"200"}, "ok", "200", "", 0},
		{"a cancel Dots refuses", 0, func(c *api.Client, _ string) error {
			_, err := c.CancelPayoutLink(ctx, "3c90c3cc-0d44-4b50-8888-8dd25736052a")
			return err
		}, "dots cancel-payout-link", "DELETE /v2/payout-links/{payout_link_id}", []string{"404"}, "refused", "404", "404", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorded(t)
			seed, err := r.client.CreatePayoutLink(ctx, body()) // a link to read, and ids to look for
			if err != nil {
				t.Fatal(err)
			}
			r.spans.Reset()
			if err := r.reader.Collect(ctx, &metricdata.ResourceMetrics{}); err != nil { // start the metrics afresh
				t.Fatal(err)
			}
			r.srv.FailNext(tt.fail, mock.Fault{Status: 503})
			if err := tt.call(r.client, seed.ID); (err == nil) != (tt.outcome == "ok") {
				t.Fatalf("err = %v, want outcome %s", err, tt.outcome)
			}

			spans := r.spans.GetSpans()
			var calls, attempts tracetest.SpanStubs
			for _, s := range spans {
				if s.SpanKind == trace.SpanKindClient {
					attempts = append(attempts, s)
				} else {
					calls = append(calls, s)
				}
			}
			if len(calls) != 1 || len(attempts) != len(tt.statuses) {
				t.Fatalf("%d call spans and %d attempt spans, want 1 and %d", len(calls), len(attempts), len(tt.statuses))
			}
			call := calls[0]
			if call.Name != tt.span || attr(call.Attributes, "dots.outcome") != tt.outcome ||
				attr(call.Attributes, "dots.retries") != fmt.Sprint(len(tt.statuses)-1) ||
				attr(call.Attributes, "http.response.status_code") != tt.status || attr(call.Attributes, "error.type") != tt.errorType {
				t.Fatalf("call span %q with %v", call.Name, call.Attributes)
			}
			if (call.Status.Code == codes.Error) != (tt.outcome != "ok") {
				t.Fatalf("call span status %v for outcome %s", call.Status, tt.outcome)
			}
			for i, a := range attempts {
				resend := ""
				if i > 0 {
					resend = fmt.Sprint(i)
				}
				if a.Name != tt.attempt || a.Parent.SpanID() != call.SpanContext.SpanID() ||
					attr(a.Attributes, "http.response.status_code") != tt.statuses[i] || attr(a.Attributes, "http.request.resend_count") != resend ||
					attr(a.Attributes, "url.template") == "" || attr(a.Attributes, "server.address") != "127.0.0.1" {
					t.Fatalf("attempt %d: span %q (parent %v) with %v", i+1, a.Name, a.Parent.SpanID(), a.Attributes)
				}
			}

			rm := r.metrics(t)
			var calls2, retries, attemptsMeasured int64
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					switch d := m.Data.(type) {
					case metricdata.Histogram[float64]:
						for _, dp := range d.DataPoints {
							if m.Name == "dots.client.call.duration" {
								if o, _ := dp.Attributes.Value("dots.outcome"); o.AsString() != tt.outcome {
									t.Fatalf("call duration recorded with outcome %s", o.AsString())
								}
								calls2 += int64(dp.Count)
							} else {
								attemptsMeasured += int64(dp.Count)
							}
						}
					case metricdata.Sum[int64]:
						for _, dp := range d.DataPoints {
							retries += dp.Value
						}
					}
				}
			}
			if calls2 != 1 || retries != tt.wantRetries || attemptsMeasured != int64(len(tt.statuses)) {
				t.Fatalf("metrics: %d calls, %d retries, %d attempts timed", calls2, retries, attemptsMeasured)
			}
			assertNothingSecret(t, r, spans, rm)
		})
	}
}

// assertNothingSecret checks every name, attribute and status of every span, and every metric's
// name and attributes, for a link id, an idempotency key or a credential.
func assertNothingSecret(t *testing.T, r *recorded, spans tracetest.SpanStubs, rm metricdata.ResourceMetrics) {
	t.Helper()
	forbidden := []string{apiKey, clientID, base64.StdEncoding.EncodeToString([]byte(clientID + ":" + apiKey))}
	for _, l := range r.srv.Links() {
		forbidden = append(forbidden, l.ID)
	}
	for _, req := range r.srv.Requests() {
		if req.IdempotencyKey != "" {
			forbidden = append(forbidden, req.IdempotencyKey)
		}
	}
	if len(forbidden) < 5 {
		t.Fatalf("only %d strings to look for: the check would prove little", len(forbidden))
	}
	var texts []string
	kv := func(attrs ...attribute.KeyValue) {
		for _, a := range attrs {
			texts = append(texts, string(a.Key)+"="+a.Value.String())
		}
	}
	for _, s := range spans {
		texts = append(texts, s.Name, s.Status.Description)
		kv(s.Attributes...)
		for _, e := range s.Events {
			texts = append(texts, e.Name)
			kv(e.Attributes...)
		}
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			texts = append(texts, m.Name, m.Description, m.Unit)
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					kv(dp.Attributes.ToSlice()...)
				}
			case metricdata.Sum[int64]:
				for _, dp := range d.DataPoints {
					kv(dp.Attributes.ToSlice()...)
				}
			default:
				t.Fatalf("metric %s of an unchecked kind %T", m.Name, m.Data)
			}
		}
	}
	for _, text := range texts {
		for _, f := range forbidden {
			if strings.Contains(text, f) {
				t.Errorf("recorded telemetry holds an id or a credential: %q", strings.ReplaceAll(text, f, "<here>"))
			}
		}
	}
}

// TestACallThatSendsNothing: a call whose credentials cannot be had is a call span with no
// attempt, refused.
func TestACallThatSendsNothing(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	srv := mock.NewServer()
	defer srv.Close()
	c, err := api.NewClient("", "", api.WithBaseURL(srv.BaseURL()), dotsotel.New(dotsotel.WithTracerProvider(tp)),
		api.WithCredentialSource(func(context.Context) (string, string, error) { return "", "", errors.New("vault sealed") }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListPayoutLinks(context.Background(), nil); err == nil {
		t.Fatal("want an error")
	}
	spans := exp.GetSpans()
	if len(spans) != 1 || spans[0].Name != "dots list-payout-links" || attr(spans[0].Attributes, "dots.outcome") != "refused" ||
		attr(spans[0].Attributes, "error.type") != "*api.RequestError" || attr(spans[0].Attributes, "dots.retries") != "0" {
		t.Fatalf("spans: %+v", spans)
	}
}

func body() gen.CreatePayoutLinkRequest {
	return gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}
}
