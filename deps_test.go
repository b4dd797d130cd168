package dots_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestWhatEachPackageLinks keeps what an importer downloads and links small: the wire types,
// the generated client and the webhook verifier link the JSON codec, uuid and the generated
// code's own runtime, and no OpenAPI or YAML package (the spec is parsed by package spec, which
// only the client, the mock and the tools import); no SDK package links what only batch payouts
// and the command line need (SQLite, the rate limiter, the progress bar, the terminal), nor River
// and pgx, which only the Postgres journal (batch/pgqueue) needs: package batch (SQLite) links
// neither; and only dotsotel links OpenTelemetry, so the client and its fake do not.
func TestWhatEachPackageLinks(t *testing.T) {
	t.Parallel()
	const module = "github.com/payoutkit/dots-go"
	lean := []string{module, "github.com/go-json-experiment/json", "github.com/google/uuid",
		"github.com/oapi-codegen/runtime", "github.com/apapsch/go-jsonmerge/v2"}
	batchOnly := []string{"modernc.org/", "github.com/schollz/", "golang.org/x/time", "golang.org/x/term", module + "/batch"}
	// What only the Postgres journal (batch/pgqueue) needs: River and pgx.
	postgres := []string{"github.com/riverqueue/", "github.com/jackc/", module + "/batch/pgqueue"}
	sdkBanned := append(append([]string(nil), batchOnly...), postgres...)
	tests := []struct {
		pkg    string
		only   []string // the modules it may link besides the standard library; nil: any
		banned []string // package path prefixes it must not link
	}{
		{module, lean, sdkBanned},
		{module + "/gen", lean, sdkBanned},
		{module + "/webhook", lean, nil},
		{module + "/api", nil, slices.Concat(sdkBanned, []string{"go.opentelemetry.io/"})}, // OpenTelemetry is dotsotel's
		{module + "/dotsfake", nil, slices.Concat(sdkBanned, []string{"go.opentelemetry.io/"})},
		{module + "/dotsotel", nil, sdkBanned},
		{module + "/mock", nil, sdkBanned},
		{module + "/batch", nil, postgres},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			t.Parallel()
			out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}} {{with .Module}}{{.Path}}{{end}}", tt.pkg).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) < 20 {
				t.Fatalf("go list named only %d packages", len(lines))
			}
			for _, line := range lines {
				pkg, mod, _ := strings.Cut(line, " ")
				if mod != "" && tt.only != nil && !slices.Contains(tt.only, mod) {
					t.Errorf("%s links %s (module %s)", tt.pkg, pkg, mod)
				}
				for _, b := range tt.banned {
					if strings.HasPrefix(pkg, b) {
						t.Errorf("%s links %s", tt.pkg, pkg)
					}
				}
				if tt.only != nil && (strings.Contains(pkg, "openapi3") || strings.Contains(pkg, "yaml")) {
					t.Errorf("%s links the OpenAPI or YAML package %s", tt.pkg, pkg)
				}
			}
		})
	}
}
