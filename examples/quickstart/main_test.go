package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// TestQuickstart runs the README's quickstart against the mock: once on a good day, and once when
// every attempt fails after Dots made the link, which must read as an unknown outcome.
func TestQuickstart(t *testing.T) {
	tests := []struct {
		name    string
		faults  int // creates answered 503 after the link was made
		want    string
		unknown bool
	}{
		{"paid", 0, "paid: ", false},
		{"outcome unknown", 3, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mock.NewServer()
			defer srv.Close()
			srv.FailNext(tt.faults, mock.Fault{Status: 503, ApplyFirst: true})
			t.Setenv("DOTS_CLIENT_ID", "pk_test_quickstart")
			t.Setenv("DOTS_API_KEY", "sk_test_quickstart")
			t.Setenv("DOTS_ENV", "sandbox")
			t.Setenv("DOTS_BASE_URL", srv.BaseURL())
			var out bytes.Buffer
			err := run(api.ContextWithRetryPolicy(context.Background(), api.RetryPolicy{MaxRetries: 2, BaseDelay: 1, MaxDelay: 1}), &out)
			if errors.Is(err, api.ErrOutcomeUnknown) != tt.unknown || !strings.Contains(out.String(), tt.want) {
				t.Fatalf("err %v, output %q", err, out.String())
			}
			if tt.unknown && !strings.Contains(err.Error(), "retry with idempotency key") {
				t.Fatalf("err %v does not give the key to retry with", err)
			}
			if srv.LinkCount() != 1 {
				t.Fatalf("%d links, want 1", srv.LinkCount())
			}
		})
	}
}
