package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
)

// repoRoot is the directory of go.mod, found upwards from the test's working directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// startPrism serves spec with Prism (Stoplight's static mock server, pinned in
// .ci/lint/package.json) on a loopback port and returns its base URL once it answers. Prism is
// killed when the test ends. Without Prism installed the test is skipped, unless SPEC_LINT=required
// (as CI sets it).
func startPrism(t *testing.T, spec string) string {
	t.Helper()
	root := repoRoot(t)
	prism := filepath.Join(root, ".ci", "lint", "node_modules", ".bin", "prism")
	if _, err := os.Stat(prism); err != nil {
		msg := "Prism is not installed (run .ci/lint/run once, or npm ci in .ci/lint)"
		if os.Getenv("SPEC_LINT") == "required" {
			t.Fatalf("%s, and SPEC_LINT=required", msg)
		}
		t.Skipf("SKIPPED: %s; CI runs this test with SPEC_LINT=required", msg)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // Prism listens on it next; were it taken meanwhile, Prism exits and the test says so
	cmd := exec.Command(prism, "mock", "-p", fmt.Sprint(port), "-h", "127.0.0.1", filepath.Join(root, spec))
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Prism: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})

	// Ready when it answers anything; a busy 2-core machine may take many seconds to start node.
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	probe := &http.Client{Timeout: 2 * time.Second}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(120 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("Prism exited before it answered (%v):\n%s", err, output.String())
		case <-deadline:
			t.Fatalf("Prism did not answer within 120 s:\n%s", output.String())
		case <-tick.C:
			if resp, err := probe.Get(base + "/"); err == nil {
				resp.Body.Close()
				return base
			}
		}
	}
}

// TestCreateAgainstPrism: the command's create against Prism serving Dots' own published spec
// (testdata/dots-published/payout-links.yaml). Prism answers every create with the spec's
// canned example link, whose amount (0) differs from the request's: a create without
// --idempotency-key succeeds; one with a key reports the key as reused unless --no-reuse-check.
// Prism routes by the spec's paths without its servers' /api, so the base URL is Prism's root.
func TestCreateAgainstPrism(t *testing.T) {
	base := startPrism(t, filepath.Join("testdata", "dots-published", "payout-links.yaml"))
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": base}
	create := []string{"create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email"}
	const key = "0b5b4a0e-7c39-4b8e-9f3a-4f7c1b2d9e10"
	for _, tt := range []struct {
		args []string
		code int
		want string // on stderr
	}{
		{nil, 0, "idempotency key: "},
		{[]string{"--idempotency-key", key}, 1, "idempotency key reused"},
		{[]string{"--idempotency-key", key, "--no-reuse-check"}, 0, "idempotency key: " + key},
	} {
		code, out, errOut := runWith(t, env, append(create, tt.args...)...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Fatalf("create %v: exit %d (want %d); stderr lacks %q:\n%s", tt.args, code, tt.code, tt.want, errOut)
		}
		if l := decode[gen.PayoutLink](t, out); l.ID == "" || !strings.HasPrefix(l.Link, "http") {
			t.Errorf("create %v: stdout does not show the link: %s", tt.args, out)
		}
	}
}
