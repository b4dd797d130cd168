package webhook

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzVerifyParse feeds arbitrary ids, timestamps, signature headers and bodies to Verify, Parse
// and Handler. None may panic; Verify may only accept a header that holds the right signature,
// must accept a correctly signed delivery within the tolerance, and its errors must be one of
// the sentinels and leak nothing. The seeds are in testdata/fuzz/FuzzVerifyParse.
func FuzzVerifyParse(f *testing.F) {
	f.Add("msg_seed", int64(0), "v1,AAAA", testUpdated)
	v := newTestVerifier(f)
	sentinels := []error{ErrMissingHeaders, ErrInvalidTimestamp, ErrTimestampTooOld, ErrTimestampTooNew, ErrInvalidSignature}

	f.Fuzz(func(t *testing.T, id string, offset int64, sig string, body []byte) {
		unix := testNow.Unix() + offset // may wrap; any number is a valid header
		want := refSig(testKey, id, unix, body)

		// Arbitrary headers.
		h := http.Header{}
		h.Set("svix-id", id)
		h.Set("svix-timestamp", strconv.FormatInt(unix, 10))
		h.Set("svix-signature", sig)
		err := v.Verify(h, body)
		if err == nil {
			if !strings.Contains(sig, "v1,"+want) {
				t.Fatalf("Verify accepted %q for id %q ts %d body %q", sig, id, unix, body)
			}
		} else {
			matched := 0
			for _, s := range sentinels {
				if errors.Is(err, s) {
					matched++
				}
			}
			if matched != 1 {
				t.Fatalf("Verify error %v matches %d sentinels", err, matched)
			}
			assertNoSecrets(t, err.Error(), want)
		}

		// Correctly signed headers.
		good := headers("svix", id, unix, "v1,"+want)
		err = v.Verify(good, body)
		inTime := offset >= -int64(DefaultTolerance/time.Second) && offset <= int64(DefaultTolerance/time.Second)
		switch {
		case id == "" && !errors.Is(err, ErrMissingHeaders):
			t.Fatalf("empty id: Verify = %v", err)
		case id != "" && inTime && err != nil:
			t.Fatalf("Verify(signed) = %v", err)
		case id != "" && !inTime && !errors.Is(err, ErrTimestampTooOld) && !errors.Is(err, ErrTimestampTooNew):
			t.Fatalf("Verify(signed, offset %d) = %v", offset, err)
		}

		ev, perr := Parse(body)
		if perr == nil {
			if !bytes.Equal(ev.Raw, body) || ev.Known() != ev.Type.Valid() {
				t.Fatalf("Parse(%q) = %+v", body, ev)
			}
			if ev.PayoutLink != nil && !ev.Known() {
				t.Fatalf("decoded a link for unknown type %q", ev.Type)
			}
		} else if !errors.Is(perr, ErrInvalidPayload) {
			t.Fatalf("Parse error %v is not ErrInvalidPayload", perr)
		}

		// Through Handler, in memory.
		called := false
		hd := Handler(v, func(context.Context, Event) error { called = true; return nil }, WithMaxBodyBytes(4096))
		req := httptest.NewRequest(http.MethodPost, "/hook", bytes.NewReader(body))
		req.Header = good
		w := httptest.NewRecorder()
		hd.ServeHTTP(w, req)
		switch w.Code {
		case http.StatusNoContent:
			if !called {
				t.Fatal("204 without a call")
			}
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
			if called {
				t.Fatalf("%d after a call", w.Code)
			}
		default:
			t.Fatalf("Handler status %d", w.Code)
		}
		if id != "" && inTime && perr == nil && len(body) <= 4096 && w.Code != http.StatusNoContent {
			t.Fatalf("Handler status %d for a good delivery: %s", w.Code, w.Body)
		}
		assertNoSecrets(t, w.Body.String(), want)
	})
}
