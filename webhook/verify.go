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
	"time"
)

// DefaultTolerance is how far a message's timestamp may be from the clock, either way, unless
// [WithTolerance] says otherwise. It is the tolerance Svix's own libraries use.
const DefaultTolerance = 5 * time.Minute

// secretPrefix starts the signing secrets Svix shows; the base64 key follows it.
const secretPrefix = "whsec_"

// The errors Verify returns wrap one of these; match them with errors.Is. No error this package
// returns contains the secret or a signature.
var (
	// ErrInvalidSecret means the signing secret given to NewVerifier or NewSigner is not
	// "whsec_" followed by base64, nor bare base64, or decodes to nothing.
	ErrInvalidSecret = errors.New("webhook: invalid signing secret")
	// ErrMissingHeaders means the id, timestamp or signature header is missing or empty.
	ErrMissingHeaders = errors.New("webhook: missing signature headers")
	// ErrInvalidTimestamp means the timestamp header is not a whole number of Unix seconds.
	ErrInvalidTimestamp = errors.New("webhook: invalid timestamp header")
	// ErrTimestampTooOld means the message was signed longer ago than the tolerance allows: a
	// stale message, or a replay.
	ErrTimestampTooOld = errors.New("webhook: message timestamp too old")
	// ErrTimestampTooNew means the message's timestamp is further in the future than the
	// tolerance allows.
	ErrTimestampTooNew = errors.New("webhook: message timestamp too new")
	// ErrInvalidSignature means no v1 signature in the signature header matches the body.
	ErrInvalidSignature = errors.New("webhook: no matching signature")
)

// headerSet names the three headers of one naming scheme.
type headerSet struct{ id, timestamp, signature string }

// headerSets are tried in order: Svix's names, then the Standard Webhooks names.
var headerSets = []headerSet{
	{"svix-id", "svix-timestamp", "svix-signature"},
	{"webhook-id", "webhook-timestamp", "webhook-signature"},
}

// sigEncoding is strict so that each MAC has exactly one accepted text form.
var sigEncoding = base64.StdEncoding.Strict()

// decodeSecret reads "whsec_<base64>" or bare base64 (padded or not). Its errors never quote
// the secret.
func decodeSecret(secret string) ([]byte, error) {
	s := strings.TrimSpace(secret)
	s = strings.TrimPrefix(s, secretPrefix)
	if s == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil && !strings.HasSuffix(s, "=") {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: want %q followed by base64", ErrInvalidSecret, secretPrefix)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidSecret)
	}
	return key, nil
}

// macFunc returns the raw HMAC-SHA256 of id.timestamp.body under an endpoint's key.
type macFunc func(id string, unix int64, body []byte) []byte

// newMAC returns the macFunc for key. The key is kept only in the closure, out of reach of fmt
// and of reflection, which can see a func value but not what it captures.
func newMAC(key []byte) macFunc {
	return func(id string, unix int64, body []byte) []byte {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id))
		m.Write([]byte{'.'})
		m.Write(strconv.AppendInt(nil, unix, 10))
		m.Write([]byte{'.'})
		m.Write(body)
		return m.Sum(nil)
	}
}

// Option configures a Verifier.
type Option func(*Verifier)

// WithTolerance sets how far a message's timestamp may be from the clock, in either direction
// (default [DefaultTolerance]). It must be positive.
func WithTolerance(d time.Duration) Option {
	return func(v *Verifier) { v.tolerance = d }
}

// WithClock sets the clock timestamps are checked against (default time.Now); for tests.
func WithClock(now func() time.Time) Option {
	return func(v *Verifier) { v.now = now }
}

// Verifier checks that webhook deliveries were signed with an endpoint's signing secret and
// are recent. It is safe for concurrent use. It keeps the secret where neither fmt nor
// reflection can read it.
type Verifier struct {
	mac       macFunc
	tolerance time.Duration
	now       func() time.Time
}

// NewVerifier returns a Verifier for the endpoint signing secret, given as "whsec_<base64>"
// (as the dashboard shows it) or as the bare base64. A malformed secret, a tolerance that is
// not positive or a nil clock is an error.
func NewVerifier(secret string, opts ...Option) (*Verifier, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	v := &Verifier{mac: newMAC(key), tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	if v.tolerance <= 0 {
		return nil, errors.New("webhook: the timestamp tolerance must be positive")
	}
	if v.now == nil {
		return nil, errors.New("webhook: the clock must not be nil")
	}
	return v, nil
}

// Verify checks a delivery: h must carry the message id, timestamp and signature headers
// (svix-*, or webhook-* when the svix-* set is incomplete), the timestamp must be within the
// tolerance of the clock in either direction, and at least one "v1,<base64>" entry of the
// space-separated signature header must be the HMAC-SHA256 of id + "." + timestamp + "." + body
// under the secret. Entries of other versions, and entries that are not valid base64, are
// skipped. body must be the exact bytes received.
//
// The error wraps [ErrMissingHeaders], [ErrInvalidTimestamp], [ErrTimestampTooOld],
// [ErrTimestampTooNew] or [ErrInvalidSignature]. The timestamp is checked before the signature,
// in whole seconds as Svix's libraries do: the clock's time is truncated to its Unix second, so a
// message exactly the tolerance old (or ahead) is accepted whatever the fraction of the current
// second, and one a second more is rejected.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, ts, sigs, err := readHeaders(h)
	if err != nil {
		return err
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: not Unix seconds", ErrInvalidTimestamp)
	}
	now := time.Unix(v.now().Unix(), 0) // whole seconds, like the header: see Verify's doc
	sent := time.Unix(unix, 0)
	if now.Sub(sent) > v.tolerance {
		return fmt.Errorf("%w: sent at %d, more than %s before now", ErrTimestampTooOld, unix, v.tolerance)
	}
	if sent.Sub(now) > v.tolerance {
		return fmt.Errorf("%w: sent at %d, more than %s after now", ErrTimestampTooNew, unix, v.tolerance)
	}
	want := v.mac(id, unix, body)
	got := make([]byte, sha256.Size+3) // room to tell a longer value from a match
	for _, entry := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" || sigEncoding.DecodedLen(len(b64)) > len(got) {
			continue
		}
		n, err := sigEncoding.Decode(got, []byte(b64))
		if err != nil {
			continue
		}
		if hmac.Equal(got[:n], want) {
			return nil
		}
	}
	return ErrInvalidSignature
}

// readHeaders returns the id, timestamp and signature of the first complete header set.
func readHeaders(h http.Header) (id, ts, sigs string, err error) {
	for _, set := range headerSets {
		id, ts, sigs = h.Get(set.id), h.Get(set.timestamp), h.Get(set.signature)
		if id != "" && ts != "" && strings.TrimSpace(sigs) != "" {
			return id, ts, sigs, nil
		}
	}
	var missing []string
	s := headerSets[0]
	for _, name := range []string{s.id, s.timestamp, s.signature} {
		if strings.TrimSpace(h.Get(name)) == "" {
			missing = append(missing, name)
		}
	}
	return "", "", "", fmt.Errorf("%w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
}

// Signer signs webhook bodies the way Svix does, for tests and mock servers. It is safe for
// concurrent use. Like Verifier, it keeps the secret out of reach of fmt and reflection.
type Signer struct {
	mac macFunc
}

// NewSigner returns a Signer for a secret in the forms NewVerifier takes.
func NewSigner(secret string) (*Signer, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	return &Signer{mac: newMAC(key)}, nil
}

// Sign returns the svix-signature header value ("v1,<base64>") for a message id, a send time
// (whole seconds are signed) and a body.
func (s *Signer) Sign(id string, ts time.Time, body []byte) string {
	return "v1," + base64.StdEncoding.EncodeToString(s.mac(id, ts.Unix(), body))
}

// Headers returns the svix-id, svix-timestamp and svix-signature headers of a delivery.
func (s *Signer) Headers(id string, ts time.Time, body []byte) http.Header {
	h := make(http.Header, 3)
	h.Set("svix-id", id)
	h.Set("svix-timestamp", strconv.FormatInt(ts.Unix(), 10))
	h.Set("svix-signature", s.Sign(id, ts, body))
	return h
}

// Format prints the Verifier without its signing key, which no fmt verb or reflection reaches
// anyway: it is kept in a closure.
func (v Verifier) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "webhook.Verifier{tolerance: %s, secret redacted}", v.tolerance)
}

// Format prints the Signer without its signing key, which no fmt verb or reflection reaches
// anyway: it is kept in a closure.
func (Signer) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, "webhook.Signer{secret redacted}") }
