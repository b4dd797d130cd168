package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const fixtures = "../../testdata/specwatch/"

// watch runs specwatch against the repository's openapi.yaml and returns its exit code and the
// findings it printed, each with its mark ("NEW ..." or "acknowledged ...").
func watch(t *testing.T, args ...string) (int, []string, string) {
	t.Helper()
	var out, errOut strings.Builder
	code := run(append([]string{"-spec", "../../openapi.yaml"}, args...), &out, &errOut)
	var findings []string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "  ") {
			findings = append(findings, strings.Join(strings.Fields(line), " "))
		}
	}
	return code, findings, out.String() + errOut.String()
}

// TestFindings: each variant of a small published spec is reported as exactly its difference,
// with operations matched by method and path although their operationIds and path parameters
// are named otherwise, 3.1 type lists read like 3.0's nullable, and the alternatives of a oneOf
// merged on both sides.
func TestFindings(t *testing.T) {
	tests := []struct {
		fixture string
		want    []string
	}{
		{"base", nil},
		{"added-operation", []string{"new operation: POST /v2/payout-links/{id}/refund"}},
		{"added-request-field", []string{"new field: POST /v2/payout-links request $.payee.middle_name"}},
		{"added-response-field", []string{
			"new field: POST /v2/payout-links response 201 $.fee_amount",
			"new field: DELETE /v2/payout-links/{id} response 200 $.fee_amount",
			"new field: GET /v2/payout-links/{id} response 200 $.fee_amount",
		}},
		{"added-enum-value", []string{
			`new enum value: POST /v2/payout-links response 201 $.status: "on_hold"`,
			`new enum value: DELETE /v2/payout-links/{id} response 200 $.status: "on_hold"`,
			`new enum value: GET /v2/payout-links/{id} response 200 $.status: "on_hold"`,
		}},
		{"changed-type", []string{
			"type change: POST /v2/payout-links response 201 $.tax_exempt: Dots has string, openapi.yaml has boolean",
			"type change: DELETE /v2/payout-links/{id} response 200 $.tax_exempt: Dots has string, openapi.yaml has boolean",
			"type change: GET /v2/payout-links/{id} response 200 $.tax_exempt: Dots has string, openapi.yaml has boolean",
		}},
		{"became-nullable", []string{"type change: POST /v2/payout-links request $.memo: Dots has null|string, openapi.yaml has string"}},
		{"added-step", []string{
			`new enum value: POST /v2/payout-links request $.additional_steps[]: "w9-form"`,
			`new enum value: POST /v2/payout-links request $.additional_steps[].name: "w9-form"`,
		}},
		{"added-parameter", []string{"new parameter: GET /v2/payout-links/{id} query expand"}},
		{"added-response", []string{"new response: POST /v2/payout-links 204"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			code, findings, out := watch(t, "-published", fixtures+tt.fixture+".yaml", "-allow", "")
			var want []string
			for _, w := range tt.want {
				want = append(want, "NEW "+w)
			}
			if !slices.Equal(findings, want) {
				t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(findings, "\n"), strings.Join(want, "\n"))
			}
			if wantCode := min(len(tt.want), 1); code != wantCode {
				t.Errorf("exit %d, want %d:\n%s", code, wantCode, out)
			}
		})
	}
}

// TestAllowList: acknowledged findings pass, the others fail, and lines that match nothing are
// noted without failing.
func TestAllowList(t *testing.T) {
	tests := []struct {
		name, allow string
		code        int
		open        int    // findings marked NEW
		note        string // a line the output must have
	}{
		{"all acknowledged", "# why\ntype change: * $.tax_exempt: Dots has string, openapi.yaml has boolean\n", 0, 0, "OK: 3 findings, all acknowledged"},
		{"one operation acknowledged", "type change: GET * $.tax_exempt: *\n", 1, 2, "FAILED: 2 of 3 findings are not acknowledged"},
		{"a line that matches nothing", "\ntype change: * $.tax_exempt: *\nnew field: * $.fee\n", 0, 0, "allow.txt:3 matches no finding"},
		{"another type acknowledged", "type change: * $.tax_exempt: Dots has number*\n", 1, 3, "allow.txt:1 matches no finding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			allow := filepath.Join(t.TempDir(), "allow.txt")
			if err := os.WriteFile(allow, []byte(tt.allow), 0o644); err != nil {
				t.Fatal(err)
			}
			code, findings, out := watch(t, "-published", fixtures+"changed-type.yaml", "-allow", allow)
			open := 0
			for _, f := range findings {
				if strings.HasPrefix(f, "NEW ") {
					open++
				}
			}
			if code != tt.code || open != tt.open || len(findings) != 3 || !strings.Contains(out, tt.note) {
				t.Errorf("exit %d with %d of %d findings new, want exit %d with %d of 3 new and %q:\n%s", code, open, len(findings), tt.code, tt.open, tt.note, out)
			}
		})
	}
}

// TestPublishedSpecIsAcknowledged is make spec-watch: openapi.yaml against the copy of Dots'
// published spec, with the allow-list, passes. It fails when either changes in a way that is not
// acknowledged.
func TestPublishedSpecIsAcknowledged(t *testing.T) {
	code, _, out := watch(t, "-published", "../../testdata/dots-published/payout-links.yaml", "-allow", fixtures+"allow.txt")
	if code != 0 || strings.Contains(out, "note:") {
		t.Errorf("exit %d, want 0 and no stale allow-list line:\n%s", code, out)
	}
}

// TestCannotRun: a document that cannot be read exits 2, naming it.
func TestCannotRun(t *testing.T) {
	for _, args := range [][]string{
		{"-published", fixtures + "missing.yaml"},
		{"-published", fixtures + "allow.txt"},
		{"-published", fixtures + "base.yaml", "-allow", fixtures + "missing.txt"},
		{"extra"},
	} {
		code, _, out := watch(t, args...)
		if code != 2 || (len(args) > 1 && !strings.Contains(out, strings.TrimPrefix(args[len(args)-1], fixtures))) {
			t.Errorf("%v: exit %d, want 2 naming the file:\n%s", args, code, out)
		}
	}
}

// TestAccepts: what a type of openapi.yaml accepts of a published one.
func TestAccepts(t *testing.T) {
	sh := func(types, formats string) *shape {
		s := &shape{types: map[string]bool{}, formats: map[string]bool{}}
		for _, x := range strings.Fields(types) {
			s.types[x] = true
		}
		for _, x := range strings.Fields(formats) {
			s.formats[x] = true
		}
		return s
	}
	tests := []struct {
		ours, theirs *shape
		want         bool
	}{
		{sh("number", ""), sh("integer", ""), true},
		{sh("integer", "int64"), sh("number", ""), false},
		{sh("integer", "int64"), sh("integer", ""), true},
		{sh("string null", ""), sh("string null", ""), true},
		{sh("string", ""), sh("string null", ""), false},
		{sh("", ""), sh("object string", ""), true},
		{sh("string", "uuid"), sh("string", "email"), false},
		{sh("string", ""), sh("string", "uuid"), true},
	}
	for _, tt := range tests {
		if got := tt.ours.accepts(tt.theirs); got != tt.want {
			t.Errorf("%s accepts %s: %v, want %v", tt.ours.typeName(), tt.theirs.typeName(), got, tt.want)
		}
	}
}
