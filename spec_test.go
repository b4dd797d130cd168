package dots_test

import (
	"testing"

	"github.com/payoutkit/dots-go/spec"
)

// TestSpecValid loads openapi.yaml with kin-openapi and validates it (run by make check).
func TestSpecValid(t *testing.T) {
	sp, err := spec.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	doc := sp.Document()
	if doc.OpenAPI != "3.0.3" {
		t.Fatalf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	want := []string{"https://api.dots.dev/api", "https://api.senddotssandbox.com/api"}
	if len(doc.Servers) != len(want) {
		t.Fatalf("servers = %d, want %d", len(doc.Servers), len(want))
	}
	for i, s := range doc.Servers {
		if s.URL != want[i] {
			t.Fatalf("server %d = %s, want %s", i, s.URL, want[i])
		}
	}
}
