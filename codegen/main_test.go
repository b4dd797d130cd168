package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDeprecatedNotesGetAParagraph(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"after a description", "\t// Old The old field.\n\t// Deprecated: gone\n\tOld *string\n",
			"\t// Old The old field.\n\t//\n\t// Deprecated: gone\n\tOld *string\n"},
		{"already its own paragraph", "// Thing is.\n//\n// Deprecated: gone\ntype Thing struct{}\n", "// Thing is.\n//\n// Deprecated: gone\ntype Thing struct{}\n"},
		{"the only comment", "\t// Deprecated: gone\n\tOlder *string\n", "\t// Deprecated: gone\n\tOlder *string\n"},
		{"after code", "x := 1\n// Deprecated: gone\n", "x := 1\n// Deprecated: gone\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gen.go")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := deprecated(path); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Fatalf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestOverlayFollowsRequestBodies: the overlay names every schema reachable from a request body
// (through properties, items and oneOf), and no schema only answers use.
func TestOverlayFollowsRequestBodies(t *testing.T) {
	dir := t.TempDir()
	spec := `openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /things:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/NewThing'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
components:
  schemas:
    NewThing:
      type: object
      properties:
        parts: {type: array, items: {$ref: '#/components/schemas/Part'}}
        choice: {oneOf: [{$ref: '#/components/schemas/Choice'}, {type: string}]}
    Part: {type: object, properties: {on: {type: boolean}}}
    Choice: {type: object, properties: {n: {type: integer}}}
    Thing: {type: object, properties: {on: {type: boolean}}}
`
	if err := os.WriteFile(filepath.Join(dir, "spec.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "overlay.yaml")
	if err := overlay(filepath.Join(dir, "spec.yaml"), out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	if !strings.Contains(string(b), "$.components.schemas['Choice','NewThing','Part'].properties") {
		t.Fatalf("overlay:\n%s", b)
	}
}
