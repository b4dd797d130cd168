package webhook_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/payoutkit/dots-go/webhook"
)

func TestSecretsNeverPrint(t *testing.T) {
	raw := "redaction-test-secret-not-real"
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte(raw))
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
		for _, x := range []any{v, *v, s, *s} {
			out := fmt.Sprintf(verb, x)
			// The key is the decoded bytes: look for them as text, as %x hex and as Go's byte list.
			for _, leak := range []string{raw, fmt.Sprintf("%x", raw), fmt.Sprint([]byte(raw)[:4])[1:10]} {
				if strings.Contains(out, leak) {
					t.Fatalf("fmt %s of %T shows the signing key", verb, x)
				}
			}
		}
	}
}
