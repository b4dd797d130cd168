package ci

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestWorkflowRunsTheKit: github-actions.yml runs make targets only, the targets of make ci-kit,
// so whatever it runs also runs locally; and a step given secrets is pinned to the sandbox.
func TestWorkflowRunsTheKit(t *testing.T) {
	raw, err := os.ReadFile("github-actions.yml")
	if err != nil {
		t.Fatal(err)
	}
	type step struct {
		Uses, Run string
		Env       map[string]string
	}
	var wf struct {
		Jobs map[string]struct{ Steps []step }
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	kit := regexp.MustCompile(`(?m)^ci-kit:(.*)$`).FindSubmatch(makefile)
	if kit == nil {
		t.Fatal("the Makefile has no ci-kit target")
	}
	var ran []string
	for name, job := range wf.Jobs {
		if !slices.ContainsFunc(job.Steps, func(s step) bool { return strings.HasPrefix(s.Uses, "actions/setup-go@") }) {
			t.Errorf("job %s does not set Go up", name)
		}
		for _, step := range job.Steps {
			for _, line := range strings.Split(strings.TrimSpace(step.Run), "\n") {
				targets, ok := strings.CutPrefix(line, "make ")
				if ok {
					ran = append(ran, strings.Fields(targets)...)
				} else if line != "" {
					t.Errorf("job %s runs %q: run make targets only, which run locally as they do in CI", name, line)
				}
			}
			for k, v := range step.Env {
				if strings.Contains(v, "secrets.") && step.Env["DOTS_ENV"] != "sandbox" {
					t.Errorf("job %s gives %s a secret without DOTS_ENV: sandbox", name, k)
				}
			}
		}
	}
	slices.Sort(ran)
	want := strings.Fields(string(kit[1]))
	slices.Sort(want)
	if !slices.Equal(ran, want) {
		t.Errorf("the workflow runs make %v; make ci-kit runs %v", ran, want)
	}
	for _, target := range want {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
			t.Errorf("the Makefile has no target %s", target)
		}
	}
}
