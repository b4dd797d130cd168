package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/payoutkit/dots-go/gen"
)

// cannedServer answers every create the way a static mock does (Prism serving Dots' spec): 201
// with one canned link, whatever was asked, with edit applied to its JSON. It counts the creates.
func cannedServer(t *testing.T, edit func(map[string]any)) (baseURL string, creates *atomic.Int64) {
	t.Helper()
	b, err := json.Marshal(gen.PayoutLink{
		ID: "497f6eca-6276-4993-bfeb-53cbbbba6f08", Amount: 999, Status: gen.PayoutLinkStatusCreated,
		Link: "https://pay.example.com/497f6eca", Delivery: gen.PayoutLinkDelivery{Method: gen.DeliveryMethodLink},
	})
	if err != nil {
		t.Fatal(err)
	}
	var link map[string]any
	if err := json.Unmarshal(b, &link); err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(link)
	}
	creates = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/api/v2/payout-links" {
			http.NotFound(w, r)
			return
		}
		creates.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(link)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/api", creates
}

// TestWarningsAreShown: a create answered with an odd field ("amount": 1250.5) succeeds (exit 0,
// the link on stdout) and says what was odd on stderr.
func TestWarningsAreShown(t *testing.T) {
	base, creates := cannedServer(t, func(l map[string]any) { l["amount"] = 1250.5 })
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": base}
	code, out, errOut := runWith(t, env, "create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email")
	if code != 0 || creates.Load() != 1 {
		t.Fatalf("exit %d after %d creates; stderr:\n%s", code, creates.Load(), errOut)
	}
	if l := decode[gen.PayoutLink](t, out); l.ID != "497f6eca-6276-4993-bfeb-53cbbbba6f08" || l.Link == "" {
		t.Errorf("stdout does not show the link: %s", out)
	}
	if !strings.Contains(errOut, "warning: create-payout-link answer: amount: ") || !strings.Contains(errOut, "1250.5") {
		t.Errorf("stderr does not warn about the amount:\n%s", errOut)
	}
}
