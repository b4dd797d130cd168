package dotsotel_test

import (
	"context"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsotel"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Trace every call of a client: a span per call, and a span per attempt inside it. Here the spans
// go to memory, to print them; in production, give dotsotel.New no option to use the global
// providers your OpenTelemetry setup installed (an OTLP exporter, say).
func ExampleNew() {
	srv := mock.NewServer()
	defer srv.Close()
	spans := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(spans))

	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()),
		dotsotel.New(dotsotel.WithTracerProvider(tp)))
	if err != nil {
		log.Fatal(err)
	}

	srv.FailNext(1, mock.Fault{Status: 503})
	_, err = client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250},
		api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond}))
	fmt.Println("error:", err)
	for _, s := range spans.GetSpans() { // in the order they ended
		fmt.Println(strings.TrimSpace(s.Name + " " + attr(s.Attributes, "http.response.status_code") + " " + attr(s.Attributes, "dots.outcome")))
	}
	// Output:
	// error: <nil>
	// POST /v2/payout-links 503
	// POST /v2/payout-links 201
	// dots create-payout-link 201 ok
}
