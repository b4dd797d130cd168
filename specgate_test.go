package dots_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
)

// gateEdit is one textual change to openapi.yaml; old must occur exactly once, so a spec edit that
// moves the text fails the test loudly instead of testing nothing.
type gateEdit struct{ old, new string }

// Changelogs the gate reads, through SPEC_GATE_CHANGELOG.
const (
	gateChangelogPlain     = "# Changelog\n\n## [Unreleased]\n\n### Added\n\n- Something.\n\n## [0.1.0] - 2026-01-05\n"
	gateChangelogAnnounced = "# Changelog\n\n## [Unreleased] - breaking: 1.0.0\n\n### Removed\n\n- PayoutLink.link.\n\n## [0.1.0] - 2026-01-05\n"
	gateChangelogReleased  = "# Changelog\n\n## [1.0.0] - 2026-02-01\n\n### Removed\n\n- PayoutLink.link.\n\n## [0.1.0] - 2026-01-05\n"
	gateChangelogMinorOnly = "# Changelog\n\n## [Unreleased] - breaking: 0.2.0\n\n### Removed\n\n- PayoutLink.link.\n"
	gateChangelogNotOnTop  = "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-02-01\n\n### Removed\n\n- PayoutLink.link.\n"
	gateChangelogMissing   = "" // no file at all
)

// Text of openapi.yaml the cases edit.
const (
	gateLinkField = `        link:
          type: string
          format: uri
          description: The URL the payee opens to claim the money.
          example: https://my.dots.dev/flow/3c90c3cc-0d44-4b50-8888-8dd25736052a
`
	gateCreateRequestHead = "      required: [amount]\n      properties:\n"
)

var gateRemoveLink = gateEdit{gateLinkField, ""}

// TestSpecGate runs .ci/spec-gate on specs derived from openapi.yaml at run time (run by make
// check): breaking changes fail unless CHANGELOG.md announces a new major version.
func TestSpecGate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs oasdiff")
	}
	cases := []struct {
		name      string
		edits     []gateEdit
		revision  string // the whole revision, instead of edits
		changelog string
		exit      int
		want      []string // in the output
	}{
		{
			name: "unchanged", changelog: gateChangelogPlain, exit: 0,
			want: []string{"No changes", "spec-gate: OK"},
		},
		{
			name: "response field removed", edits: []gateEdit{gateRemoveLink}, changelog: gateChangelogPlain, exit: 1,
			want: []string{"[response-optional-property-removed]", "GET /v2/payout-links/{payout_link_id}",
				"removed the optional property `link`", "spec-gate: FAILED", "## [Unreleased] - breaking: 1.0.0"},
		},
		{
			name: "required request field added",
			edits: []gateEdit{{gateCreateRequestHead, "      required: [amount, purpose]\n      properties:\n" +
				"        purpose:\n          type: string\n          description: Why.\n          example: invoice\n"}},
			changelog: gateChangelogPlain, exit: 1,
			want: []string{"[new-required-request-property]", "POST /v2/payout-links", "purpose", "spec-gate: FAILED"},
		},
		{
			name:      "request enum value removed",
			edits:     []gateEdit{{"      enum: [sms, link, email, all]\n", "      enum: [sms, link, email]\n"}},
			changelog: gateChangelogPlain, exit: 1,
			want: []string{"[request-property-enum-value-removed]", "`all`", "spec-gate: FAILED"},
		},
		{
			name:      "request field removed",
			edits:     []gateEdit{{"        memo:\n          type: string\n          description: A note the payee sees at the top of the link.\n          example: March invoice\n", ""}},
			changelog: gateChangelogPlain, exit: 1,
			want: []string{"[request-property-removed]", "memo", "spec-gate: FAILED"},
		},
		{
			name:      "operation id renamed",
			edits:     []gateEdit{{"operationId: get-payout-link\n", "operationId: fetch-payout-link\n"}},
			changelog: gateChangelogPlain, exit: 1,
			want: []string{"[api-operation-id-removed]", "get-payout-link", "spec-gate: FAILED"},
		},
		{
			name: "webhook payload field removed",
			edits: []gateEdit{{"        payout_link_id:\n          type: string\n          format: uuid\n" +
				"          description: The id of the payout link that changed.\n", "        payout_link_ref:\n          type: string\n          format: uuid\n" +
				"          description: The id of the payout link that changed.\n"}},
			changelog: gateChangelogPlain, exit: 1,
			want: []string{"POST /x-webhooks/payout_link.updated", "payout_link_id", "spec-gate: FAILED"},
		},
		{
			name:      "webhook event removed",
			edits:     []gateEdit{{"  payout_link.paid_out:\n    $ref: '#/components/schemas/PayoutLink'\n", ""}},
			changelog: gateChangelogPlain, exit: 1,
			want: []string{"/x-webhooks/payout_link.paid_out", "spec-gate: FAILED"},
		},
		{
			name: "optional response field added",
			edits: []gateEdit{{"        tax_exempt:\n          type: boolean\n          description: Whether",
				"        expires_at:\n          type: string\n          format: date-time\n          description: When the link stops working.\n" +
					"          example: '2024-08-11T12:31:33Z'\n        tax_exempt:\n          type: boolean\n          description: Whether"}},
			changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"},
		},
		{
			name: "optional request field added",
			edits: []gateEdit{{gateCreateRequestHead, gateCreateRequestHead +
				"        reference:\n          type: string\n          description: Your own reference.\n          example: R-1\n"}},
			changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"},
		},
		{
			name:      "response enum value added",
			edits:     []gateEdit{{"        - expired\n        - failed\n", "        - expired\n        - failed\n        - on_hold\n"}},
			changelog: gateChangelogPlain, exit: 0,
			want: []string{"spec-gate: OK"},
		},
		{
			name: "response field removed, major announced", edits: []gateEdit{gateRemoveLink}, changelog: gateChangelogAnnounced, exit: 0,
			want: []string{"[response-optional-property-removed]", "spec-gate: OK: the breaking changes above are announced", "breaking: 1.0.0"},
		},
		{
			name: "response field removed, major released", edits: []gateEdit{gateRemoveLink}, changelog: gateChangelogReleased, exit: 0,
			want: []string{"[response-optional-property-removed]", "spec-gate: OK: the breaking changes above are announced", "## [1.0.0] - 2026-02-01"},
		},
		{
			name: "response field removed, only a minor announced", edits: []gateEdit{gateRemoveLink}, changelog: gateChangelogMinorOnly, exit: 1,
			want: []string{"spec-gate: FAILED", "is now: ## [Unreleased] - breaking: 0.2.0"},
		},
		{
			name: "response field removed, major below the top section", edits: []gateEdit{gateRemoveLink}, changelog: gateChangelogNotOnTop, exit: 1,
			want: []string{"spec-gate: FAILED", "is now: ## [Unreleased]"},
		},
		{
			name: "response field removed, no changelog", edits: []gateEdit{gateRemoveLink}, changelog: gateChangelogMissing, exit: 1,
			want: []string{"spec-gate: FAILED", "does not exist"},
		},
		{
			name: "revision is not a spec", revision: "openapi: [3.0.3\n", changelog: gateChangelogPlain, exit: 2,
			want: []string{"oasdiff failed"},
		},
	}
	for _, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			dir := t.TempDir()
			rev := c.revision
			if rev == "" {
				rev = string(dots.Spec)
				for _, e := range c.edits {
					if n := strings.Count(rev, e.old); n != 1 {
						t.Fatalf("openapi.yaml holds %d copies of the text to edit, want 1:\n%s", n, e.old)
					}
					rev = strings.Replace(rev, e.old, e.new, 1)
				}
			}
			base := writeGateFile(t, dir, "base.yaml", string(dots.Spec))
			revision := writeGateFile(t, dir, "revision.yaml", rev)
			changelog := filepath.Join(dir, "CHANGELOG.md")
			if c.changelog != gateChangelogMissing {
				writeGateFile(t, dir, "CHANGELOG.md", c.changelog)
			}

			cmd := exec.Command("bash", ".ci/spec-gate", base, revision)
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

func writeGateFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}
