package dots_test

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
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
	gateChangelogTwo       = "# Changelog\n\n## [Unreleased] - breaking: 2.0.0\n\n### Removed\n\n- Thing.link.\n\n## [1.4.0] - 2026-01-05\n"
)

// TestSpecGate runs .ci/spec-gate on the fixture specs of testdata/specgate (run by make check):
// base.yaml stands for the released spec, and each other file is it with one change. Breaking
// changes fail unless the changelog announces a new major version; compatible ones, and another
// layout of the same document, pass. Each case names the changes oasdiff must find, by their
// identity (level, check id, operation and path, from the gate's SPEC_GATE_JSON report), and the
// gate's own words its output must hold. The gate runs its tools as built once for all cases
// (SPEC_GATE_TOOLS) rather than by the go command in each.
func TestSpecGate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oasdiff")
	}
	t.Parallel()
	removed := []string{ // the changes of response-field-removed.yaml: its link is in each response and a webhook
		"err response-optional-property-removed POST /v1/things",
		"err response-optional-property-removed GET /v1/things/{thing_id}",
		"err response-optional-property-removed POST /x-webhooks/thing.made",
	}
	cases := []struct {
		name      string
		base      string // default base.yaml
		revision  string
		changelog string
		exit      int
		changes   []string // what oasdiff reports: "LEVEL ID METHOD PATH"
		want      []string // in the output
		module    string   // the module path of go.mod, if not the repository's
	}{
		{name: "unchanged", revision: "base.yaml", changelog: gateChangelogPlain, exit: 0, want: []string{"spec-gate: OK"}},
		{name: "another layout", revision: "reformatted.yaml", changelog: gateChangelogPlain, exit: 0, want: []string{"spec-gate: OK"}},
		{name: "webhooks as Path Items, from bare schemas", base: "webhooks-as-schemas.yaml", revision: "base.yaml",
			changelog: gateChangelogPlain, exit: 0, want: []string{"spec-gate: OK"}},
		{name: "webhooks as bare schemas, from Path Items", revision: "webhooks-as-schemas.yaml",
			changelog: gateChangelogPlain, exit: 0, want: []string{"spec-gate: OK"}},
		{name: "response field removed", revision: "response-field-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: removed, want: []string{"spec-gate: FAILED", "## [Unreleased] - breaking: 1.0.0"}},
		{name: "required request field added", revision: "required-request-field-added.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{"err new-required-request-property POST /v1/things"}, want: []string{"spec-gate: FAILED"}},
		{name: "request enum value removed", revision: "request-enum-value-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{
				"err request-property-enum-value-removed POST /v1/things",
				"err response-property-enum-value-removed POST /v1/things",
				"err response-property-enum-value-removed GET /v1/things/{thing_id}",
				"err response-property-enum-value-removed POST /x-webhooks/thing.made",
			}, want: []string{"spec-gate: FAILED"}},
		{name: "request field removed", revision: "request-field-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{"err request-property-removed POST /v1/things"}, want: []string{"spec-gate: FAILED"}},
		{name: "operation id renamed", revision: "operation-id-renamed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{"err api-operation-id-removed GET /v1/things/{thing_id}"}, want: []string{"spec-gate: FAILED"}},
		{name: "webhook payload field renamed", revision: "webhook-field-renamed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{"err response-optional-property-removed POST /x-webhooks/thing.updated"},
			want:    []string{"spec-gate: FAILED", "(A path /x-webhooks/EVENT above stands for the body of the EVENT webhook.)"}},
		{name: "webhook event removed", revision: "webhook-event-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{"err api-path-removed-without-deprecation POST /x-webhooks/thing.made"}, want: []string{"spec-gate: FAILED"}},
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
			changes: removed, want: []string{"spec-gate: OK: the breaking changes above are announced", "breaking: 1.0.0"}},
		{name: "response field removed, major released", revision: "response-field-removed.yaml", changelog: gateChangelogReleased, exit: 0,
			changes: removed, want: []string{"spec-gate: OK: the breaking changes above are announced", "## [1.0.0] - 2026-02-01"}},
		{name: "response field removed, only a minor announced", revision: "response-field-removed.yaml", changelog: gateChangelogMinorOnly, exit: 1,
			changes: removed, want: []string{"spec-gate: FAILED", "is now: ## [Unreleased] - breaking: 0.4.0"}},
		{name: "response field removed, major below the top section", revision: "response-field-removed.yaml", changelog: gateChangelogNotOnTop, exit: 1,
			changes: removed, want: []string{"spec-gate: FAILED", "is now: ## [Unreleased]"}},
		{name: "response field removed, no changelog", revision: "response-field-removed.yaml", changelog: gateChangelogMissing, exit: 1,
			changes: removed, want: []string{"spec-gate: FAILED", "does not exist"}},
		{name: "a shared path parameter gains a format", base: "base-shared-parameter.yaml", revision: "shared-parameter-format-added.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: []string{"err request-parameter-format-added GET /v1/things/{thing_id}"},
			want:    []string{"spec-gate: FAILED", `the path thing_id parameter gained the format "uuid"`}},
		{name: "a second major without /v2", base: "base-v1.yaml", revision: "response-field-removed.yaml", changelog: gateChangelogPlain, exit: 1,
			changes: removed, want: []string{"spec-gate: FAILED", "breaking: 2.0.0", "a major release also needs the module path github.com/payoutkit/dots-go/v2"}},
		{name: "v2 announced, module path without /v2", base: "base-v1.yaml", revision: "response-field-removed.yaml", changelog: gateChangelogTwo, exit: 1,
			changes: removed, want: []string{"spec-gate: FAILED: a major release 2.0.0 needs the module path github.com/payoutkit/dots-go/v2"}},
		{name: "v2 announced, module path with /v2", base: "base-v1.yaml", revision: "response-field-removed.yaml", changelog: gateChangelogTwo, exit: 0,
			changes: removed, module: "github.com/payoutkit/dots-go/v2", want: []string{"spec-gate: OK: the breaking changes above are announced"}},
		{name: "revision is not a spec", revision: "not-a-spec.yaml", changelog: gateChangelogPlain, exit: 2,
			want: []string{"not-a-spec.yaml", "spec-gate: cannot read"}},
		{name: "webhook without a body", revision: "webhook-without-body.yaml", changelog: gateChangelogPlain, exit: 2,
			want: []string{"x-webhooks thing.updated: post has no request body", "spec-gate: cannot read"}},
		{name: "revision missing", revision: "no-such-file.yaml", changelog: gateChangelogPlain, exit: 2,
			want: []string{"spec-gate: cannot read spec", "no-such-file.yaml"}},
	}

	// The gate's tools, once for all cases: webhookpaths built as go run would build it, and the
	// executable go tool caches for oasdiff (go tool -n builds it, and names it).
	tools := t.TempDir()
	var wg sync.WaitGroup
	var errBuild, errTool error
	wg.Go(func() {
		if out, err := exec.Command("go", "build", "-o", tools, "./.ci/webhookpaths").CombinedOutput(); err != nil {
			errBuild = fmt.Errorf("go build ./.ci/webhookpaths: %w\n%s", err, out)
		}
	})
	wg.Go(func() {
		out, err := exec.Command("go", "tool", "-modfile=.ci/tools.mod", "-n", "oasdiff").Output()
		if err == nil {
			err = os.Symlink(strings.TrimSpace(string(out)), filepath.Join(tools, "oasdiff"))
		}
		if err != nil {
			errTool = fmt.Errorf("go tool -n oasdiff: %w", err)
		}
	})
	wg.Wait()
	if err := errors.Join(errBuild, errTool); err != nil {
		t.Fatal(err)
	}

	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			changelog, report := filepath.Join(tmp, "CHANGELOG.md"), filepath.Join(tmp, "changes.json")
			if c.changelog != gateChangelogMissing {
				if err := os.WriteFile(changelog, []byte(c.changelog), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			dir := filepath.Join("testdata", "specgate")
			cmd := exec.Command("bash", ".ci/spec-gate", filepath.Join(dir, cmp.Or(c.base, "base.yaml")), filepath.Join(dir, c.revision))
			cmd.Env = append(os.Environ(), "SPEC_GATE_CHANGELOG="+changelog, "SPEC_GATE_JSON="+report, "SPEC_GATE_TOOLS="+tools)
			if c.module != "" {
				gomod := filepath.Join(tmp, "go.mod")
				if err := os.WriteFile(gomod, []byte("module "+c.module+"\n\ngo 1.26\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				cmd.Env = append(cmd.Env, "SPEC_GATE_GOMOD="+gomod)
			}
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
			if changes := gateChanges(t, report, c.exit == 2); !slices.Equal(changes, c.changes) {
				t.Errorf("oasdiff found\n%q\nwant\n%q", changes, c.changes)
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

// gateChanges reads the gate's JSON report of oasdiff's findings as "LEVEL ID METHOD PATH", in
// oasdiff's order; a gate that could not run (exit 2) may have written none.
func gateChanges(t *testing.T, file string, mayLack bool) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) && mayLack {
		return nil
	} else if err != nil {
		t.Fatalf("the gate wrote no JSON report: %v", err)
	}
	var changes []struct {
		ID, Operation, Path string
		Level               int
	}
	if err := json.Unmarshal(b, &changes); err != nil {
		t.Fatalf("the gate's JSON report: %v\n%s", err, b)
	}
	var out []string
	for _, c := range changes {
		level := map[int]string{1: "info", 2: "warn", 3: "err"}[c.Level]
		out = append(out, strings.Join([]string{level, c.ID, c.Operation, c.Path}, " "))
	}
	return out
}
