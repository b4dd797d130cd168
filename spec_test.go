package dots_test

import (
	"bytes"
	"os"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/spec"
)

// TestSpecValid loads openapi.yaml with kin-openapi and validates it (run by make check).
func TestSpecValid(t *testing.T) {
	t.Parallel()
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

// TestSpecEmbeddedMatchesFile checks that dots.Spec is openapi.yaml byte for byte.
func TestSpecEmbeddedMatchesFile(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, dots.Spec) {
		t.Fatalf("dots.Spec (%d bytes) differs from openapi.yaml (%d bytes): rebuild", len(dots.Spec), len(b))
	}
}
