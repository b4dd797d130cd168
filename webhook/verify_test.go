package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test key is obviously fake; it signs nothing real.
var (
	testKey       = []byte("test-secret-not-real-do-not-use-01")
	testKeyB64    = base64.StdEncoding.EncodeToString(testKey)
	testSecret    = "whsec_" + testKeyB64
	otherSecret   = "whsec_" + base64.StdEncoding.EncodeToString([]byte("other-secret-not-real-do-not-use"))
	testNow       = time.Unix(1700000000, 0)
	testClock     = func() time.Time { return testNow }
	testUpdated   = []byte(`{"event":"payout_link.updated","payout_link_id":"3c90c3cc-0d44-4b50-8888-8dd25736052a"}`)
	testMessageID = "msg_test_0001"
)

// refSig computes a v1 signature value with crypto/hmac directly, independently of sign and
// Signer, so the tests are not circular.
func refSig(key []byte, id string, unix int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.%s", id, unix, body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// headers builds a delivery's headers under either naming.
func headers(prefix, id string, unix int64, sig string) http.Header {
	h := http.Header{}
	h.Set(prefix+"-id", id)
	h.Set(prefix+"-timestamp", strconv.FormatInt(unix, 10))
	h.Set(prefix+"-signature", sig)
	return h
}

func newTestVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(testSecret, append([]Option{WithClock(testClock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestFixedVector checks a vector computed outside Go (openssl dgst -sha256 -mac HMAC), then
// against crypto/hmac, then against Signer and Verify.
func TestFixedVector(t *testing.T) {
	t.Parallel()
	const (
		secret = "whsec_dGVzdC1zZWNyZXQtbm90LXJlYWwtZG8tbm90LXVzZS0wMQ=="
		id     = "msg_test_0001"
		unix   = 1700000000
		body   = `{"event":"payout_link.updated","payout_link_id":"3c90c3cc-0d44-4b50-8888-8dd25736052a"}`
		want   = "9BJAYzaqsoJWO3EWJwFUeADhLZn2S4NU0rVn1+fhzDY="
	)
	if secret != testSecret {
		t.Fatalf("test secret changed: %q", testSecret)
	}
	if got := refSig(testKey, id, unix, []byte(body)); got != want {
		t.Fatalf("crypto/hmac gives %s, want %s", got, want)
	}
	s, err := NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign(id, time.Unix(unix, 0), []byte(body)); got != "v1,"+want {
		t.Fatalf("Sign = %s, want v1,%s", got, want)
	}
	v, err := NewVerifier(secret, WithClock(func() time.Time { return time.Unix(unix+30, 0) }))
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(headers("svix", id, unix, "v1,"+want), []byte(body)); err != nil {
		t.Fatalf("Verify: %v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	body := testUpdated
	unix := testNow.Unix()
	good := "v1," + refSig(testKey, testMessageID, unix, body)
	tol := int64(DefaultTolerance / time.Second)
	sigAt := func(u int64) string { return "v1," + refSig(testKey, testMessageID, u, body) }
	rawMAC, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(good, "v1,"))

	tests := []struct {
		name string
		h    http.Header
		body []byte
		opts []Option
		want error // nil for success
	}{
		{name: "valid", h: headers("svix", testMessageID, unix, good)},
		{name: "standard webhooks names", h: headers("webhook", testMessageID, unix, good)},
		{name: "several signatures one valid", h: headers("svix", testMessageID, unix,
			"v1,"+refSig([]byte("nope"), testMessageID, unix, body)+" v2,abcd "+good+" v1,AAAA")},
		{name: "extra spaces between entries", h: headers("svix", testMessageID, unix, "  v1,AAAA   "+good+" ")},
		{name: "garbage base64 before valid", h: headers("svix", testMessageID, unix, "v1,!!!*** "+good)},
		{name: "tampered body", h: headers("svix", testMessageID, unix, good),
			body: []byte(strings.Replace(string(body), "3c90", "3c91", 1)), want: ErrInvalidSignature},
		{name: "body with trailing newline", h: headers("svix", testMessageID, unix, good),
			body: append(append([]byte{}, body...), '\n'), want: ErrInvalidSignature},
		{name: "wrong secret", h: headers("svix", testMessageID, unix,
			"v1,"+refSig([]byte("other-secret-not-real-do-not-use"), testMessageID, unix, body)), want: ErrInvalidSignature},
		{name: "other message id", h: headers("svix", "msg_other", unix, good), want: ErrInvalidSignature},
		{name: "other timestamp than signed", h: headers("svix", testMessageID, unix+1, good), want: ErrInvalidSignature},
		{name: "only v2 entries", h: headers("svix", testMessageID, unix, "v2,"+strings.TrimPrefix(good, "v1,")), want: ErrInvalidSignature},
		{name: "v1 without comma", h: headers("svix", testMessageID, unix, "v1"+strings.TrimPrefix(good, "v1,")), want: ErrInvalidSignature},
		{name: "bare signature without version", h: headers("svix", testMessageID, unix, strings.TrimPrefix(good, "v1,")), want: ErrInvalidSignature},
		{name: "garbage base64", h: headers("svix", testMessageID, unix, "v1,!!!notbase64!!!"), want: ErrInvalidSignature},
		{name: "unpadded base64", h: headers("svix", testMessageID, unix, "v1,"+base64.RawStdEncoding.EncodeToString(rawMAC)), want: ErrInvalidSignature},
		{name: "signature with extra bytes", h: headers("svix", testMessageID, unix,
			"v1,"+base64.StdEncoding.EncodeToString(append(append([]byte{}, rawMAC...), 0))), want: ErrInvalidSignature},
		{name: "truncated signature", h: headers("svix", testMessageID, unix,
			"v1,"+base64.StdEncoding.EncodeToString(rawMAC[:16])), want: ErrInvalidSignature},
		{name: "empty v1 entry", h: headers("svix", testMessageID, unix, "v1,"), want: ErrInvalidSignature},
		{name: "stale", h: headers("svix", testMessageID, unix-tol-1, sigAt(unix-tol-1)), want: ErrTimestampTooOld},
		{name: "very stale", h: headers("svix", testMessageID, 0, sigAt(0)), want: ErrTimestampTooOld},
		{name: "at the stale edge", h: headers("svix", testMessageID, unix-tol, sigAt(unix-tol))},
		{name: "future", h: headers("svix", testMessageID, unix+tol+1, sigAt(unix+tol+1)), want: ErrTimestampTooNew},
		{name: "far future", h: headers("svix", testMessageID, 1<<62, sigAt(1<<62)), want: ErrTimestampTooNew},
		{name: "at the future edge", h: headers("svix", testMessageID, unix+tol, sigAt(unix+tol))},
		{name: "custom tolerance stale", h: headers("svix", testMessageID, unix-11, sigAt(unix-11)),
			opts: []Option{WithTolerance(10 * time.Second)}, want: ErrTimestampTooOld},
		{name: "custom tolerance future", h: headers("svix", testMessageID, unix+11, sigAt(unix+11)),
			opts: []Option{WithTolerance(10 * time.Second)}, want: ErrTimestampTooNew},
		{name: "stale and bad signature reports the time", h: headers("svix", testMessageID, unix-tol-1, "v1,AAAA"), want: ErrTimestampTooOld},
		{name: "no headers", h: http.Header{}, want: ErrMissingHeaders},
		{name: "missing id", h: without(headers("svix", testMessageID, unix, good), "svix-id"), want: ErrMissingHeaders},
		{name: "missing timestamp", h: without(headers("svix", testMessageID, unix, good), "svix-timestamp"), want: ErrMissingHeaders},
		{name: "missing signature", h: without(headers("svix", testMessageID, unix, good), "svix-signature"), want: ErrMissingHeaders},
		{name: "empty id", h: headers("svix", "", unix, good), want: ErrMissingHeaders},
		{name: "blank signature", h: headers("svix", testMessageID, unix, "   "), want: ErrMissingHeaders},
		{name: "webhook names missing signature", h: without(headers("webhook", testMessageID, unix, good), "webhook-signature"), want: ErrMissingHeaders},
		{name: "incomplete svix set falls back to webhook set", h: merge(
			without(headers("svix", "msg_ignored", unix, good), "svix-signature"),
			headers("webhook", testMessageID, unix, good))},
		{name: "timestamp not a number", h: setHeader(headers("svix", testMessageID, unix, good), "svix-timestamp", "yesterday"), want: ErrInvalidTimestamp},
		{name: "timestamp with fraction", h: setHeader(headers("svix", testMessageID, unix, good), "svix-timestamp", "1700000000.5"), want: ErrInvalidTimestamp},
		{name: "timestamp overflow", h: setHeader(headers("svix", testMessageID, unix, good), "svix-timestamp", "99999999999999999999"), want: ErrInvalidTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t, tt.opts...)
			b := tt.body
			if b == nil {
				b = body
			}
			err := v.Verify(tt.h, b)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify = %v, want nil", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
			for _, other := range []error{ErrMissingHeaders, ErrInvalidTimestamp, ErrTimestampTooOld, ErrTimestampTooNew, ErrInvalidSignature} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("Verify = %v also matches %v", err, other)
				}
			}
			assertNoSecrets(t, err.Error(), good)
		})
	}
}

// assertNoSecrets fails when s holds the test secret in any form or the given signatures.
func assertNoSecrets(t *testing.T, s string, sigs ...string) {
	t.Helper()
	for _, secret := range append([]string{testSecret, testKeyB64, string(testKey), strings.TrimRight(testKeyB64, "=")}, sigs...) {
		secret = strings.TrimPrefix(secret, "v1,")
		if secret != "" && strings.Contains(s, secret) {
			t.Errorf("%q leaks %q", s, secret)
		}
	}
}

func without(h http.Header, name string) http.Header {
	h.Del(name)
	return h
}

func setHeader(h http.Header, name, value string) http.Header {
	h.Set(name, value)
	return h
}

func merge(a, b http.Header) http.Header {
	for k, vs := range b {
		a[k] = vs
	}
	return a
}

func TestSecretForms(t *testing.T) {
	t.Parallel()
	body := []byte(`{}`)
	sig := "v1," + refSig(testKey, testMessageID, testNow.Unix(), body)
	valid := []struct{ name, secret string }{
		{"whsec prefix", testSecret},
		{"bare base64", testKeyB64},
		{"unpadded", strings.TrimRight(testKeyB64, "=")},
		{"whsec unpadded", "whsec_" + strings.TrimRight(testKeyB64, "=")},
		{"surrounding whitespace", "  " + testSecret + "\n"},
	}
	for _, tt := range valid {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := NewVerifier(tt.secret, WithClock(testClock))
			if err != nil {
				t.Fatalf("NewVerifier: %v", err)
			}
			if err := v.Verify(headers("svix", testMessageID, testNow.Unix(), sig), body); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			s, err := NewSigner(tt.secret)
			if err != nil {
				t.Fatalf("NewSigner: %v", err)
			}
			if got := s.Sign(testMessageID, testNow, body); got != sig {
				t.Fatalf("Sign = %s, want %s", got, sig)
			}
		})
	}
	invalid := []struct{ name, secret string }{
		{"empty", ""},
		{"blank", "   "},
		{"prefix only", "whsec_"},
		{"garbage base64", "whsec_!!!not-base64!!!"},
		{"url-safe alphabet", "whsec_" + base64.URLEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe, 0xfd, 0xfc, 0xfb})},
		{"space inside", "whsec_" + testKeyB64[:8] + " " + testKeyB64[8:]},
		{"double prefix", "whsec_" + testSecret},
		{"api key form", "sk_dev_not-a-real-key"},
		{"padding only", "===="},
		{"bad padding", "whsec_" + testKeyB64 + "=="},
		{"truncated", "whsec_" + testKeyB64[:len(testKeyB64)-3]},
	}
	for _, tt := range invalid {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := NewVerifier(tt.secret)
			if !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("NewVerifier = %v, want ErrInvalidSecret", err)
			}
			if key := strings.TrimPrefix(strings.TrimSpace(tt.secret), "whsec_"); key != "" && strings.Contains(err.Error(), key) {
				t.Errorf("error %q quotes the secret", err)
			}
			assertNoSecrets(t, err.Error())
			if _, err := NewSigner(tt.secret); !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("NewSigner = %v, want ErrInvalidSecret", err)
			}
		})
	}
}

func TestVerifierOptions(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		opt  Option
	}{
		{"zero tolerance", WithTolerance(0)},
		{"negative tolerance", WithTolerance(-time.Second)},
		{"nil clock", WithClock(nil)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := NewVerifier(testSecret, tt.opt); err == nil {
				t.Fatal("NewVerifier accepted a bad option")
			}
		})
	}
	// Without WithClock the real clock is used.
	v, err := NewVerifier(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, _ := NewSigner(testSecret)
	if err := v.Verify(s.Headers(testMessageID, now, testUpdated), testUpdated); err != nil {
		t.Fatalf("Verify with the real clock: %v", err)
	}
}

func TestSignerHeaders(t *testing.T) {
	t.Parallel()
	s, err := NewSigner(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	ts := testNow.Add(1500 * time.Millisecond) // whole seconds are signed
	h := s.Headers(testMessageID, ts, testUpdated)
	if got := h.Get("svix-id"); got != testMessageID {
		t.Errorf("svix-id = %q", got)
	}
	if got := h.Get("svix-timestamp"); got != "1700000001" {
		t.Errorf("svix-timestamp = %q", got)
	}
	want := "v1," + refSig(testKey, testMessageID, 1700000001, testUpdated)
	if got := h.Get("svix-signature"); got != want {
		t.Errorf("svix-signature = %q, want %q", got, want)
	}
	if err := newTestVerifier(t).Verify(h, testUpdated); err != nil {
		t.Errorf("Verify(Headers) = %v", err)
	}
	other, _ := NewSigner(otherSecret)
	if err := newTestVerifier(t).Verify(other.Headers(testMessageID, testNow, testUpdated), testUpdated); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("Verify(other secret) = %v", err)
	}
}

// TestTimestampWholeSeconds checks that the clock is compared with the timestamp in whole Unix
// seconds, as Svix's libraries do: where the clock is within its current second never tips a
// message over the tolerance.
func TestTimestampWholeSeconds(t *testing.T) {
	t.Parallel()
	const sent = 1700000000
	at := time.Unix(sent, 0)
	tol := DefaultTolerance
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"old: exactly the tolerance", at.Add(tol), nil},
		{"old: the tolerance and 1 ms", at.Add(tol + time.Millisecond), nil},
		{"old: the tolerance and 999 ms", at.Add(tol + 999*time.Millisecond), nil},
		{"old: the tolerance and 1 s", at.Add(tol + time.Second), ErrTimestampTooOld},
		// Ahead, truncating the clock changes no verdict (the header holds whole seconds), but
		// the edges are checked all the same.
		{"new: exactly the tolerance", at.Add(-tol), nil},
		{"new: the tolerance less 999 ms", at.Add(-tol + 999*time.Millisecond), nil},
		{"new: the tolerance and 1 ms", at.Add(-tol - time.Millisecond), ErrTimestampTooNew},
		{"new: the tolerance and 1 s", at.Add(-tol - time.Second), ErrTimestampTooNew},
	}
	h := headers("svix", testMessageID, sent, "v1,"+refSig(testKey, testMessageID, sent, testUpdated))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newTestVerifier(t, WithClock(func() time.Time { return tt.now }))
			if err := v.Verify(h, testUpdated); !errors.Is(err, tt.want) {
				t.Fatalf("Verify at %s = %v, want %v", tt.now.Sub(at), err, tt.want)
			}
		})
	}
}
