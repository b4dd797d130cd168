package dots_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestReadmeSnippetsAreCompiled: every Go block of README.md is copied from a .go file of the
// module (gen/ aside), which the build and the tests compile, so no snippet can drift from the
// code. Lines are compared without their indentation; blank lines are ignored.
func TestReadmeSnippetsAreCompiled(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "ls-files", "--cached", "--others", "--exclude-standard", "*.go").Output()
	if err != nil {
		t.Skipf("git ls-files: %v", err) // not a git checkout: nothing to compare with
	}
	var files [][]string
	for _, name := range strings.Fields(string(out)) {
		if strings.HasPrefix(name, "gen/") {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, lines(b))
	}
	snippets := goBlocks(readme)
	if len(snippets) == 0 {
		t.Fatal("README.md has no Go blocks: the test would prove nothing")
	}
	for i, s := range snippets {
		want := lines([]byte(s))
		found := false
		for _, f := range files {
			if contains(f, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("README Go block %d is in no .go file of the module; copy it from one the tests compile:\n%s", i+1, s)
		}
	}
}

// goBlocks returns the bodies of the ```go fences of a Markdown text.
func goBlocks(md []byte) []string {
	var out []string
	var cur *strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(md))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case cur == nil && strings.TrimSpace(line) == "```go":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			out = append(out, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	return out
}

// lines returns the non-blank lines of b without their leading and trailing space.
func lines(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// contains reports whether want occurs in have as consecutive lines.
func contains(have, want []string) bool {
	for i := 0; i+len(want) <= len(have); i++ {
		match := true
		for j := range want {
			if have[i+j] != want[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}
