package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// Obviously fake rotated credentials; the secret scan in TestMain looks for these too.
const (
	rotClientID = "pk_test_rotating01"
	rotOldKey   = "sk_test_old_2c4e6a8b0d"
	rotNewKey   = "sk_test_new_1b3d5f7a9c"
)

// keyring is a credential source whose key can be rotated, counting how often it was asked.
type keyring struct {
	mu    sync.Mutex
	key   string
	err   error
	asked atomic.Int32
}

func (k *keyring) rotate(key string) { k.mu.Lock(); k.key = key; k.mu.Unlock() }

func (k *keyring) source(context.Context) (string, string, error) {
	k.asked.Add(1)
	k.mu.Lock()
	defer k.mu.Unlock()
	return rotClientID, k.key, k.err
}

// TestCredentialSourceRotates: a client whose key comes from a source picks up a rotated key on
// its next call, with no new client, and asks the source once per call, not per attempt.
func TestCredentialSourceRotates(t *testing.T) {
	srv := mock.NewServer(mock.WithCredentials(rotClientID, rotNewKey))
	defer srv.Close()
	ring := &keyring{key: rotOldKey}
	c := newSourceClient(t, srv.BaseURL(), ring)
	ctx := context.Background()

	_, err := c.CreatePayoutLink(ctx, createBody())
	recordErr(err)
	var e *api.Error
	if !errors.As(err, &e) || e.StatusCode != http.StatusUnauthorized {
		t.Fatalf("err = %v, want the mock's 401 for the old key", err)
	}
	ring.rotate(rotNewKey)
	srv.FailNext(2, mock.Fault{Status: 503})
	before := ring.asked.Load()
	if _, err := c.CreatePayoutLink(ctx, createBody()); err != nil {
		t.Fatalf("after the rotation: %v", err)
	}
	if asked := ring.asked.Load() - before; asked != 1 || srv.LinkCount() != 1 {
		t.Fatalf("the source was asked %d times for one call of three attempts; %d links", asked, srv.LinkCount())
	}
	if s := fmt.Sprintf("%v %+v %#v", c, c, c); strings.Contains(s, "sk_test") {
		t.Fatal("the client prints a key")
	}
}

func newSourceClient(t *testing.T, base string, ring *keyring, opts ...api.Option) *api.Client {
	t.Helper()
	c, err := api.NewClient("", "", append([]api.Option{api.WithBaseURL(base), api.WithLogger(testLogger),
		api.WithCredentialSource(ring.source)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	api.SetClock(c, func(ctx context.Context, d time.Duration) error { return ctx.Err() }, nil, 0.5)
	return c
}

// TestCredentialSourceFailuresSendNothing: a source that fails, or gives a client id that cannot
// be sent, fails the call before anything is sent, with a known outcome and a learnable key.
func TestCredentialSourceFailuresSendNothing(t *testing.T) {
	errVault := errors.New("vault sealed")
	tests := []struct {
		name   string
		ring   *keyring
		source func(context.Context) (string, string, error)
		want   string
	}{
		{"the source fails", &keyring{key: rotNewKey, err: errVault}, nil, "vault sealed"},
		{"no client id", nil, func(context.Context) (string, string, error) { return "", rotNewKey, nil }, "client id"},
		{"a client id with a colon", nil, func(context.Context) (string, string, error) { return "pk:x", rotNewKey, nil }, "client id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mock.NewServer()
			defer srv.Close()
			src := tt.source
			if tt.ring != nil {
				src = tt.ring.source
			}
			c, err := api.NewClient("", "", api.WithBaseURL(srv.BaseURL()), api.WithCredentialSource(src))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreatePayoutLink(context.Background(), createBody())
			recordErr(err)
			var re *api.RequestError
			if !errors.As(err, &re) || errors.Is(err, api.ErrOutcomeUnknown) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a *RequestError with a known outcome saying %q", err, tt.want)
			}
			if tt.ring != nil && !errors.Is(err, errVault) {
				t.Fatalf("err = %v does not wrap the source's error", err)
			}
			if _, ok := api.IdempotencyKeyOf(err); !ok || len(srv.Requests()) != 0 {
				t.Fatalf("key learnable: %v; %d requests sent", ok, len(srv.Requests()))
			}
		})
	}
	for name, opts := range map[string][]string{"a client id too": {rotClientID, ""}, "a key too": {"", rotNewKey}} {
		t.Run("NewClient with "+name, func(t *testing.T) {
			_, err := api.NewClient(opts[0], opts[1], api.WithCredentialSource((&keyring{}).source))
			recordErr(err)
			if err == nil || !strings.Contains(err.Error(), "WithCredentialSource") {
				t.Fatalf("err = %v, want it to say the credentials come from the source", err)
			}
		})
	}
}

// TestRedactionCoversTheSourcesCredentials: an answer echoing the credentials of the call has them
// redacted, whichever key the source gave that call.
func TestRedactionCoversTheSourcesCredentials(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, key, _ := r.BasicAuth()
		w.Header().Set("X-Request-Id", "req_"+key)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"message":"proxy refused: ` + r.Header.Get("Authorization") + ` key ` + key + `"}`))
	})
	h := newHarness(t, echo, allowMalformed)
	ring := &keyring{key: rotOldKey}
	var logged bytes.Buffer
	c := newSourceClient(t, h.baseURL(), ring, api.WithMaxRetries(0), api.WithLogger(slog.New(slog.NewTextHandler(&logged, nil))))
	for _, key := range []string{rotOldKey, rotNewKey} {
		ring.rotate(key)
		logged.Reset()
		_, err := c.GetPayoutLink(context.Background(), linkID)
		recordErr(err)
		var e *api.Error
		if !errors.As(err, &e) {
			t.Fatalf("err = %v", err)
		}
		basic := base64.StdEncoding.EncodeToString([]byte(rotClientID + ":" + key))
		for what, text := range map[string]string{"Body": string(e.Body), "Message": e.Message, "RequestID": e.RequestID,
			"Error()": err.Error(), "%+v": fmt.Sprintf("%+v", e), "log": logged.String()} {
			if strings.Contains(text, key) || strings.Contains(text, basic) {
				t.Errorf("%s keeps the credentials the source gave the call", what)
			}
		}
		if e.RequestID != "req_[redacted]" || !strings.Contains(e.Message, "[redacted]") {
			t.Fatalf("request id %q, message %q; want the echo kept, redacted", e.RequestID, e.Message)
		}
	}
}
