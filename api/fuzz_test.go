package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/payoutkit/dots-go/api"
)

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// FuzzResponses feeds arbitrary bodies and statuses through the whole pipeline and the typed
// decoders: nothing may panic, a 2xx either decodes or fails as an unknown outcome, and anything
// else is an *api.Error that keeps the status and the body.
func FuzzResponses(f *testing.F) {
	for _, seed := range []struct {
		status uint16
		body   string
	}{
		{200, linkJSON}, {200, realWorldLink}, {201, `{"amount":5000.0,"created":"2024-07-11T12:31:33.479437"}`},
		{200, `{"metadata":"x","amount":"12"}`}, {200, `{"amount":1.5}`}, {200, `null`}, {200, `[]`},
		{400, `{"success":false,"message":"Invalid phone number","error_code":"invalid-phone-number"}`},
		{404, `Not Found`}, {409, `{"message":{"a":1},"error_code":[1]}`}, {500, ``}, {503, `{"error":"down"}`},
	} {
		f.Add(seed.status, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		code := int(status%500) + 100
		if code < 200 {
			code += 100
		}
		c, err := api.NewClient("pk_test_fuzz", "sk_test_fuzz", api.WithBaseURL("https://api.dots.test/api"), api.WithMaxRetries(0),
			api.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				return &http.Response{StatusCode: code, Header: http.Header{"Content-Type": {"application/json"}, "Content-Length": {strconv.Itoa(len(body))}},
					Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
			})}))
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.GetPayoutLink(context.Background(), "3c90c3cc-0d44-4b50-8888-8dd25736052a")
		switch {
		case code >= 200 && code < 300:
			if err != nil && !errors.Is(err, api.ErrOutcomeUnknown) {
				t.Fatalf("a %d answer failed without an unknown outcome: %v", code, err)
			}
		case code >= 300:
			var e *api.Error
			if !errors.As(err, &e) || e.StatusCode != code || !bytes.Equal(e.Body, body[:min(len(body), 8<<10)]) {
				t.Fatalf("a %d answer gave %v", code, err)
			}
			_ = e.Error()
		}
	})
}
