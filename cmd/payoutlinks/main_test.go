package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

const (
	testClientID = "pk_test_cli0001"
	testAPIKey   = "sk_test_cli_5e8a1f0c9b7d"
)

type cli struct {
	t   *testing.T
	srv *mock.Server
	env map[string]string
}

// newCLI points the command at a mock server that insists on the test credentials.
func newCLI(t *testing.T) *cli {
	srv := mock.NewServer(mock.WithCredentials(testClientID, testAPIKey))
	t.Cleanup(func() {
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("the mock answered outside the spec: %v", v)
		}
		srv.Close()
	})
	return &cli{t: t, srv: srv, env: map[string]string{
		"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": srv.BaseURL(),
	}}
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb, func(k string) string { return c.env[k] })
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, testAPIKey) {
			c.t.Fatal("the API key appears in the command's output")
		}
	}
	return code, out.String(), errb.String()
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, s)
	}
	return v
}

func TestCommands(t *testing.T) {
	c := newCLI(t)
	code, out, errOut := c.run("create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email", "--memo", "March", "--metadata", "order=A-1")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	link := decode[gen.PayoutLink](t, out)
	if link.Amount != 1250 || link.ID == "" || link.Status != gen.PayoutLinkStatusSent {
		t.Fatalf("created %+v", link)
	}
	if link.Metadata["order"] != "A-1" {
		t.Fatalf("metadata %+v", link.Metadata)
	}
	if !strings.Contains(errOut, "idempotency key: ") {
		t.Fatalf("stderr does not give the idempotency key: %s", errOut)
	}
	key := strings.TrimSpace(strings.SplitN(strings.SplitAfter(errOut, "idempotency key: ")[1], "\n", 2)[0])

	// The same key again is the same link, not a second payout.
	code, out, _ = c.run("create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email", "--idempotency-key", key)
	if code != 0 || decode[gen.PayoutLink](t, out).ID != link.ID || c.srv.LinkCount() != 1 {
		t.Fatalf("repeat with the key: exit %d, %d links", code, c.srv.LinkCount())
	}

	// The same key with another amount is caught: the earlier link is shown, and the command fails.
	code, out, errOut = c.run("create", "--amount", "999", "--idempotency-key", key)
	if code == 0 || decode[gen.PayoutLink](t, out).ID != link.ID || c.srv.LinkCount() != 1 ||
		!strings.Contains(errOut, "idempotency key reused") || !strings.Contains(errOut, "amount") {
		t.Fatalf("reused key: exit %d, %d links, stderr %s", code, c.srv.LinkCount(), errOut)
	}

	code, out, _ = c.run("get", link.ID)
	if code != 0 || decode[gen.PayoutLink](t, out).ID != link.ID {
		t.Fatalf("get: exit %d %s", code, out)
	}
	code, out, _ = c.run("redeliver", link.ID)
	if r := decode[gen.RedeliverPayoutLinkResult](t, out); code != 0 || r.PayoutLink.ID != link.ID {
		t.Fatalf("redeliver: exit %d %s", code, out)
	}
	for i := 0; i < 3; i++ {
		c.run("create", "--amount", "100", "--method", "link")
	}
	code, out, _ = c.run("list", "--limit", "2")
	if page := decode[gen.PayoutLinkList](t, out); code != 0 || len(page.Data) != 2 || !page.HasMore {
		t.Fatalf("list: exit %d %s", code, out)
	}
	code, out, _ = c.run("list", "--limit", "2", "--all")
	if all := decode[gen.PayoutLinkList](t, out); code != 0 || len(all.Data) != 4 {
		t.Fatalf("list --all: exit %d, %d links", code, len(all.Data))
	}
	code, out, _ = c.run("cancel", link.ID)
	if code != 0 || decode[gen.PayoutLink](t, out).Status != gen.PayoutLinkStatusCanceled {
		t.Fatalf("cancel: exit %d %s", code, out)
	}
}

func TestErrorsAndUsage(t *testing.T) {
	c := newCLI(t)
	tests := []struct {
		name       string
		args       []string
		env        map[string]string
		wantCode   int
		wantStderr string
	}{
		{"not found", []string{"get", "3c90c3cc-0d44-4b50-8888-8dd25736052a"}, nil, 1, "dots: 404"},
		{"bad input", []string{"create", "--amount", "0"}, nil, 1, "amount: must be at least 1 cent"},
		{"sms without phone", []string{"create", "--amount", "5", "--method", "sms"}, nil, 1, "payee.phone_number"},
		{"wrong key", []string{"get", "x"}, map[string]string{"DOTS_API_KEY": "sk_test_wrong"}, 1, "dots: 401"},
		{"no id", []string{"get"}, nil, 2, "exactly one"},
		{"unknown command", []string{"pay"}, nil, 2, "unknown command"},
		{"no command", nil, nil, 2, "Usage"},
		{"help", []string{"--help"}, nil, 0, "Commands:"},
		{"command help", []string{"create", "--help"}, nil, 0, "-amount"},
		{"mock help", []string{"mock", "--help"}, nil, 0, "X-Mock-Fault"},
		{"mock webhooks without a secret", []string{"mock", "--addr", "127.0.0.1:0", "--webhook-url", "http://127.0.0.1:1/hooks"}, nil, 2, "whsec_"},
		{"bad env", []string{"--env", "moon", "get", "x"}, nil, 2, "unknown environment"},
		{"plain http elsewhere", []string{"get", "x"}, map[string]string{"DOTS_BASE_URL": "http://example.com/api"}, 2, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				old := c.env[k]
				c.env[k] = v
				defer func() { c.env[k] = old }()
			}
			code, out, errOut := c.run(tt.args...)
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantStderr) {
				t.Fatalf("exit %d (want %d), stderr %q (want %q)", code, tt.wantCode, errOut, tt.wantStderr)
			}
			if code != 0 && out != "" {
				t.Fatalf("a failure wrote to stdout: %q", out)
			}
		})
	}
}

func TestBuiltInMockWithoutCredentials(t *testing.T) {
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email"},
		&out, &errb, func(string) string { return "" })
	if code != 0 || !strings.Contains(errb.String(), "built-in mock server") {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	if decode[gen.PayoutLink](t, out.String()).Amount != 1250 {
		t.Fatalf("stdout %s", out.String())
	}
}

func TestSandboxByDefault(t *testing.T) {
	// No server answers here: the note on stderr says which endpoint was chosen, then the call fails fast.
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"DOTS_CLIENT_ID": "pk_test_1"}, []string{"get", "x"}, "https://api.senddotssandbox.com/api"},
		{map[string]string{"DOTS_CLIENT_ID": "pk_test_1", "DOTS_ENV": "production"}, []string{"get", "x"}, "https://api.dots.dev/api"},
		{map[string]string{"DOTS_CLIENT_ID": "pk_test_1"}, []string{"--env", "production", "get", "x"}, "https://api.dots.dev/api"},
	} {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing is sent anywhere
		run(ctx, tt.args, &out, &errb, func(k string) string { return tt.env[k] })
		if !strings.Contains(errb.String(), "note: using "+tt.want) {
			t.Errorf("%v %v: stderr %q, want %s", tt.env, tt.args, errb.String(), tt.want)
		}
	}
}

func TestMockCommandServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"mock", "--addr", "127.0.0.1:0"}, &bytes.Buffer{}, &errb, func(string) string { return "" })
	}()
	var base string
	for i := 0; i < 200 && base == ""; i++ {
		time.Sleep(10 * time.Millisecond)
		if s := errb.String(); strings.Contains(s, "http://") {
			base = strings.Fields(s[strings.Index(s, "http://"):])[0]
		}
	}
	if base == "" {
		t.Fatalf("the mock did not say where it listens: %s", errb.String())
	}
	req, _ := http.NewRequest("GET", base+"/v2/payout-links", nil)
	req.SetBasicAuth("pk_test_any", "")
	req.Header.Set("X-Mock-Fault", "503")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Fatalf("X-Mock-Fault: 503 gave %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(errb.String(), "mock stopped") {
			t.Fatalf("exit %d, stderr %s", code, errb.String())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the mock did not stop")
	}
	if code := run(context.Background(), []string{"mock", "--addr", "0.0.0.0:0"}, &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" }); code != 2 {
		t.Fatalf("a public address without --public: exit %d", code)
	}
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestErrorOutputRedactsCredentials: an error body that echoes the request (a proxy's error page)
// is printed without the credentials it echoed.
func TestErrorOutputRedactsCredentials(t *testing.T) {
	const bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.dGVzdA"
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "proxy refused\nAuthorization: %s\nX-Upstream: %s\nkey=%s\n", r.Header.Get("Authorization"), bearer, testAPIKey)
	}))
	defer echo.Close()
	c := newCLI(t)
	c.env["DOTS_BASE_URL"] = echo.URL + "/api"
	code, _, errOut := c.run("get", "3c90c3cc-0d44-4b50-8888-8dd25736052a")
	auth := base64.StdEncoding.EncodeToString([]byte(testClientID + ":" + testAPIKey))
	if code == 0 || strings.Contains(errOut, auth) || strings.Contains(errOut, "c2VjcmV0") || !strings.Contains(errOut, "proxy refused") {
		t.Fatalf("exit %d; stderr shows a credential or hides the body:\n%s", code, errOut)
	}
}
