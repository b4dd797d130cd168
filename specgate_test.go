package dots_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Changelogs the gate reads, through SPEC_GATE_CHANGELOG. The fixtures' released version is 0.3.0.
const (
	gateChangelogPlain     = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Something.\n\n## [0.3.0] - 2026-01-05\n"
	gateChangelogAnnounced = "# Changelog\n\n## [Unreleased] - breaking: 1.0.0\n\n### Removed\n\n- Thing.link.\n\n## [0.3.0] - 2026-01-05\n"
	gateChangelogReleased  = "# Changelog\n\n## [1.0.0] - 2026-02-01\n\n### Removed\n\n- Thing.link.\n\n## [0.3.0] - 2026-01-05\n"
	gateChangelogMinorOnly = "# Changelog\n\n## [Unreleased] - breaking: 0.4.0\n\n### Removed\n\n- Thing.link.\n"
	gateChangelogNotOnTop  = "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-02-01\n\n### Removed\n\n- Thing.link.\n"
	gateChangelogMissing   = "" // no file at all
)

// TestSpecGate runs .ci/spec-gate on the fixture specs of testdata/specgate (run by make check):
// base.yaml stands for the released spec, and each other file is it with one change. Breaking
// changes fail unless the changelog announces a new major version; compatible ones, and another
// layout of the same document, pass.
func TestSpecGate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oasdiff")
	}
	cases := []struct {
		name      string
		base      string // default base.yaml
		revision  string
		changelog string
		exit      int
		want      []string // in the output
	}{
		{name: "unchanged", revision: "base.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"No changes", "spec-gate: OK"}},
		{name: "another layout", revision: "reformatted.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"No changes", "spec-gate: OK"}},
		{name: "webhooks as Path Items, from bare schemas", base: "webhooks-as-schemas.yaml", revision: "base.yaml",
			changelog: gateChangelogPlain, exit: 0, want: []string{"No changes", "spec-gate: OK"}},
		{name: "webhooks as bare schemas, from Path Items", revision: "webhooks-as-schemas.yaml",
			changelog: gateChangelogPlain, exit: 0, want: []string{"No changes", "spec-gate: OK"}},
		{name: "response field removed", revision: "response-field-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"[response-optional-property-removed]", "GET /v1/things/{thing_id}",
				"removed the optional property `link`", "spec-gate: FAILED", "## [Unreleased] - breaking: 1.0.0"}},
		{name: "required request field added", revision: "required-request-field-added.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"[new-required-request-property]", "POST /v1/things", "purpose", "spec-gate: FAILED"}},
		{name: "request enum value removed", revision: "request-enum-value-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"[request-property-enum-value-removed]", "`all`", "spec-gate: FAILED"}},
		{name: "request field removed", revision: "request-field-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"[request-property-removed]", "memo", "spec-gate: FAILED"}},
		{name: "operation id renamed", revision: "operation-id-renamed.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"[api-operation-id-removed]", "get-thing", "spec-gate: FAILED"}},
		{name: "webhook payload field renamed", revision: "webhook-field-renamed.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"POST /x-webhooks/thing.updated", "thing_id", "spec-gate: FAILED",
				"(A path /x-webhooks/EVENT above stands for the body of the EVENT webhook.)"}},
		{name: "webhook event removed", revision: "webhook-event-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			want: []string{"/x-webhooks/thing.made", "spec-gate: FAILED"}},
		{name: "optional response field added", revision: "response-field-added.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"}},
		{name: "optional request field added", revision: "request-field-added.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"}},
		{name: "request enum value added", revision: "request-enum-value-added.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"}},
		{name: "response enum value added", revision: "response-enum-value-added.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"}},
		{name: "response field became nullable", revision: "response-field-nullable.yaml", changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"}},
		{name: "response field removed, major announced", revision: "response-field-removed.yaml", changelog: gateChangelogAnnounced, exit: 0,
			want: []string{"[response-optional-property-removed]", "spec-gate: OK: the breaking changes above are announced", "breaking: 1.0.0"}},
		{name: "response field removed, major released", revision: "response-field-removed.yaml", changelog: gateChangelogReleased, exit: 0,
			want: []string{"[response-optional-property-removed]", "spec-gate: OK: the breaking changes above are announced", "## [1.0.0] - 2026-02-01"}},
		{name: "response field removed, only a minor announced", revision: "response-field-removed.yaml", changelog: gateChangelogMinorOnly, exit: 1,
			want: []string{"spec-gate: FAILED", "is now: ## [Unreleased] - breaking: 0.4.0"}},
		{name: "response field removed, major below the top section", revision: "response-field-removed.yaml", changelog: gateChangelogNotOnTop, exit: 1,
			want: []string{"spec-gate: FAILED", "is now: ## [Unreleased]"}},
		{name: "response field removed, no changelog", revision: "response-field-removed.yaml", changelog: gateChangelogMissing, exit: 1,
			want: []string{"spec-gate: FAILED", "does not exist"}},
		{name: "revision is not a spec", revision: "not-a-spec.yaml", changelog: gateChangelogPlain, exit: 2,
			want: []string{"not-a-spec.yaml", "spec-gate: cannot read"}},
		{name: "webhook without a body", revision: "webhook-without-body.yaml", changelog: gateChangelogPlain, exit: 2,
			want: []string{"x-webhooks thing.updated: post has no request body", "spec-gate: cannot read"}},
		{name: "revision missing", revision: "no-such-file.yaml", changelog: gateChangelogPlain, exit: 2,
			want: []string{"spec-gate: cannot read spec", "no-such-file.yaml"}},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			base := c.base
			if base == "" {
				base = "base.yaml"
			}
			changelog := filepath.Join(t.TempDir(), "CHANGELOG.md")
			if c.changelog != gateChangelogMissing {
				if err := os.WriteFile(changelog, []byte(c.changelog), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dir := filepath.Join("testdata", "specgate")
			cmd := exec.Command("bash", ".ci/spec-gate", filepath.Join(dir, base), filepath.Join(dir, c.revision))
			cmd.Env = append(os.Environ(), "SPEC_GATE_CHANGELOG="+changelog)
			out, err := cmd.CombinedOutput()
			exit := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if exit != c.exit {
				t.Errorf("exit status %d, want %d", exit, c.exit)
			}
			for _, w := range c.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %q", w)
				}
			}
			if t.Failed() {
				t.Logf("output of .ci/spec-gate:\n%s", out)
			}
		})
	}
}
