package mock_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/spec"
)

// evolvedMock serves testdata/mock/evolved.yaml, a spec of the test's own.
func evolvedMock(t *testing.T) *mock.Server {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("../testdata/mock/evolved.yaml")
	if err == nil {
		err = doc.Validate(context.Background())
	}
	if err != nil {
		t.Fatal(err)
	}
	return newServer(t, mock.WithSpec(spec.New(doc)))
}

// TestTheMockFollowsTheSpecItServes: what the mock stores and answers comes from the spec, so a
// spec that adds and removes fields, a delivery method and list filters is served with no mock
// code for any of them.
func TestTheMockFollowsTheSpecItServes(t *testing.T) {
	t.Parallel()
	s := evolvedMock(t)
	fields := func(b []byte) map[string]json.RawMessage {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	r := send(t, s, "POST", "/v2/payout-links", map[string]any{"amount": 1250, "memo": "March",
		"payee": map[string]any{"email": "jsmith@example.com"}, "delivery": map[string]any{"method": "whatsapp"}})
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	link := fields(r.body)
	for name, want := range map[string]string{
		"risk_score":  "7",       // answered only: its example
		"reviewed_at": "null",    // answered only, nullable, no example
		"status":      `"sent"`,  // a delivery method the mock has no code for still delivers
		"memo":        `"March"`, // fed by the request
		"delivery":    `{"method":"whatsapp"}`,
	} {
		if got := string(link[name]); got != want {
			t.Errorf("%s = %s, want %s", name, got, want)
		}
	}
	if _, ok := link["flow_id"]; ok {
		t.Error("flow_id is answered, but the spec served has no such field")
	}

	// List filters: a field of the link, FIELD_after on a date-time field, and one the mock cannot apply.
	second := send(t, s, "POST", "/v2/payout-links", map[string]any{"amount": 500, "delivery": map[string]any{"method": "link"}})
	if second.status != http.StatusCreated {
		t.Fatalf("create: %d %s", second.status, second.body)
	}
	tests := []struct {
		query  url.Values
		status int
		ids    int
	}{
		{url.Values{}, 200, 2},
		{url.Values{"status": {"sent"}}, 200, 1},
		{url.Values{"status": {"created"}}, 200, 1},
		{url.Values{"status": {"claimed"}}, 200, 0},
		{url.Values{"created_after": {"2000-01-01T00:00:00Z"}}, 200, 2},
		{url.Values{"created_after": {"2999-01-01T00:00:00Z"}}, 200, 0},
		{url.Values{"colour": {"red"}}, 501, 0},
	}
	for _, tt := range tests {
		r := send(t, s, "GET", "/v2/payout-links?"+tt.query.Encode(), nil)
		var page struct{ Data []json.RawMessage }
		_ = json.Unmarshal(r.body, &page)
		if r.status != tt.status || len(page.Data) != tt.ids {
			t.Errorf("list ?%s: %d with %d links, want %d with %d: %s", tt.query.Encode(), r.status, len(page.Data), tt.status, tt.ids, r.body)
		}
	}
}
