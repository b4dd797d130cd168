package mock_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/payoutkit/dots-go/mock"
)

// TestServerNeverPrintsCredentials checks that no fmt verb shows the API key given to
// WithCredentials or the webhook secret, whether the Server is printed itself or as a field
// (exported or not: fmt skips a Formatter behind an unexported field and walks the value
// itself), in a slice or in a map.
func TestServerNeverPrintsCredentials(t *testing.T) {
	t.Parallel()
	key := "sk_test_redaction0mock0key"
	hookKey := "mock-webhook-secret-not-real"
	s := newServer(t, mock.WithCredentials(testClientID, key),
		mock.WithWebhooks("http://127.0.0.1:1/hooks", "whsec_"+base64.StdEncoding.EncodeToString([]byte(hookKey))))

	type fields struct {
		S *mock.Server
		s *mock.Server
		a any
	}
	cases := map[string]any{
		"*Server":          s,
		"struct fields":    fields{S: s, s: s, a: s},
		"pointer to them":  &fields{s: s},
		"slice":            []*mock.Server{s},
		"map":              map[string]*mock.Server{"k": s},
		"unexported slice": struct{ v []*mock.Server }{[]*mock.Server{s}},
	}
	var leaks []string
	for _, secret := range []string{key, hookKey} {
		leaks = append(leaks, secret, fmt.Sprintf("%x", secret), fmt.Sprintf("%X", secret),
			base64.StdEncoding.EncodeToString([]byte(secret)), fmt.Sprint([]byte(secret)))
	}
	verbs := []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%c", "%U", "%e", "%f", "%g", "%t", "%p", "%T", "%10.3s"}
	for name, x := range cases {
		for _, verb := range verbs {
			out := fmt.Sprintf(verb, x)
			for _, leak := range leaks {
				if strings.Contains(out, leak) {
					t.Errorf("fmt %s of %s shows a credential: %.200s", verb, name, out)
					break
				}
			}
		}
	}
	if got, want := fmt.Sprint(s), "mock.Server{"+s.BaseURL()+", credentials redacted}"; got != want {
		t.Errorf("fmt.Sprint = %q, want %q", got, want)
	}
}
