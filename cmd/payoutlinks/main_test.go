package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/api"
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
	t.Helper()
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

// fastRetries keeps the SDK's retries (so faults exhaust them as they would for a user) but
// with millisecond waits.
func fastRetries() context.Context {
	return api.ContextWithRetryPolicy(context.Background(), api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond})
}

func (c *cli) run(args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	return runWith(c.t, c.env, args...)
}

// lookupIn looks variables up in env, as os.LookupEnv does in the process's environment: a key
// that is there is set, even to "".
func lookupIn(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

// runWith runs the command with exactly the environment env, and checks that the API key
// appears nowhere in what it printed.
func runWith(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(fastRetries(), args, &out, &errb, lookupIn(env))
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, testAPIKey) {
			t.Fatal("the API key appears in the command's output")
		}
	}
	return code, out.String(), errb.String()
}

// create makes a link through the command and returns it.
func (c *cli) create(args ...string) gen.PayoutLink {
	c.t.Helper()
	code, out, errOut := c.run(append([]string{"create"}, args...)...)
	if code != 0 {
		c.t.Fatalf("create %v: exit %d: %s", args, code, errOut)
	}
	return decode[gen.PayoutLink](c.t, out)
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("stdout is not the JSON result: %v\n%s", err, s)
	}
	return v
}

// keyIn returns the idempotency key the command printed on stderr, or "".
func keyIn(stderr string) string {
	_, after, ok := strings.Cut(stderr, "idempotency key: ")
	if !ok {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(after, "\n", 2)[0])
}

// closedPort returns a base URL on a loopback port nothing listens on: connections are refused.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/api"
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
	key := keyIn(errOut)
	if got, ok := c.srv.LinkByIdempotencyKey(key); key == "" || !ok || got.ID != link.ID {
		t.Fatalf("stderr does not give the idempotency key that made the link: %s", errOut)
	}

	// The same key again is the same link, not a second payout.
	code, out, _ = c.run("create", "--amount", "1250", "--email", "jsmith@example.com", "--method", "email", "--idempotency-key", key)
	if code != 0 || decode[gen.PayoutLink](t, out).ID != link.ID || c.srv.LinkCount() != 1 {
		t.Fatalf("repeat with the key: exit %d, %d links", code, c.srv.LinkCount())
	}

	code, out, _ = c.run("get", link.ID)
	if code != 0 || decode[gen.PayoutLink](t, out).ID != link.ID {
		t.Fatalf("get: exit %d %s", code, out)
	}
	code, out, _ = c.run("redeliver", link.ID)
	if r := decode[gen.RedeliverPayoutLinkResult](t, out); code != 0 || r.PayoutLink.ID != link.ID || !r.Redelivered {
		t.Fatalf("redeliver: exit %d %s", code, out)
	}
	for i := 0; i < 3; i++ {
		c.create("--amount", "100", "--method", "link")
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

// TestExitCodes drives every command into every outcome the SDK reports, against a mock that
// fails on purpose, and checks the exit status, what is printed where, and what Dots holds.
func TestExitCodes(t *testing.T) {
	const email = "jsmith@example.com"
	createArgs := []string{"create", "--amount", "1250", "--email", email, "--method", "email"}
	unknown := func(n int, f mock.Fault) func(*cli, *gen.PayoutLink) {
		return func(c *cli, _ *gen.PayoutLink) { c.srv.FailNext(n, f) }
	}
	tests := []struct {
		name  string
		setup func(c *cli, link *gen.PayoutLink) // link is made first when the args need one
		args  []string                           // "ID" is replaced by the link's id
		code  int
		// stderr must hold every want and none of the wantNot; keyPrinted says whether stderr
		// gives an idempotency key; stdout says whether a result is printed.
		want, wantNot []string
		keyPrinted    bool
		stdout        bool
		// links is how many links Dots holds at the end (the setup link included).
		links int
	}{
		{name: "create", args: createArgs, code: 0, keyPrinted: true, stdout: true, links: 1},
		{name: "create, 503 after applying, every attempt", setup: unknown(3, mock.Fault{Status: 503, ApplyFirst: true}), args: createArgs,
			code: 3, want: []string{"the outcome is unknown", "Run the same create again with --idempotency-key"}, keyPrinted: true, links: 1},
		{name: "create, connection dropped after applying", setup: unknown(3, mock.Fault{Drop: mock.DropAfterApply}), args: createArgs,
			code: 3, want: []string{"the outcome is unknown", "--idempotency-key"}, keyPrinted: true, links: 1},
		{name: "create, Dots refuses", setup: unknown(1, mock.Fault{Status: 400}), args: createArgs,
			code: 1, want: []string{"dots: 400"}, wantNot: []string{"unknown"}, keyPrinted: true, links: 0},
		{name: "create, connection refused", setup: func(c *cli, _ *gen.PayoutLink) { c.env["DOTS_BASE_URL"] = closedPort(c.t) }, args: createArgs,
			code: 1, want: []string{"never reached Dots"}, wantNot: []string{"unknown"}, keyPrinted: false, links: 0},
		{name: "create, invalid input", args: []string{"create", "--amount", "0", "--method", "email"},
			code: 2, want: []string{"amount: number must be at least 1"}, keyPrinted: false, links: 0},
		{name: "create, sms without a phone", args: []string{"create", "--amount", "5", "--method", "sms"},
			code: 2, want: []string{"payee.phone_number"}, keyPrinted: false, links: 0},
		{name: "create, key reused for another amount", setup: func(c *cli, l *gen.PayoutLink) {
			*l = c.create("--amount", "700", "--method", "link", "--idempotency-key", "0b5b4a0e-7c39-4b8e-9f3a-4f7c1b2d9e10")
		}, args: []string{"create", "--amount", "999", "--method", "link", "--idempotency-key", "0b5b4a0e-7c39-4b8e-9f3a-4f7c1b2d9e10"},
			code: 1, want: []string{"idempotency key reused", "amount", "nothing new was paid"}, keyPrinted: true, stdout: true, links: 1},
		{name: "get", args: []string{"get", "ID"}, code: 0, stdout: true, links: 1},
		{name: "get, not found", args: []string{"get", "3c90c3cc-0d44-4b50-8888-8dd25736052a"}, code: 1, want: []string{"dots: 404"}},
		{name: "get, 503 every attempt", setup: unknown(3, mock.Fault{Status: 503}), args: []string{"get", "ID"},
			code: 3, want: []string{"reading changes nothing"}, wantNot: []string{"--idempotency-key", "create"}, links: 1},
		{name: "get, connection refused", setup: func(c *cli, _ *gen.PayoutLink) { c.env["DOTS_BASE_URL"] = closedPort(c.t) }, args: []string{"get", "ID"},
			code: 1, want: []string{"never reached Dots"}, links: 1},
		{name: "get without an id", args: []string{"get"}, code: 2, want: []string{"exactly one", "Usage: payoutlinks get ID"}},
		{name: "get, an empty id", args: []string{"get", ""}, code: 2, want: []string{"payout_link_id"}},
		{name: "list, 503 every attempt", setup: unknown(3, mock.Fault{Status: 503}), args: []string{"list"},
			code: 3, want: []string{"reading changes nothing"}, wantNot: []string{"--idempotency-key", "create"}},
		{name: "list, limit out of range", args: []string{"list", "--limit", "500"}, code: 2, want: []string{"limit"}},
		{name: "cancel, dropped after applying", setup: unknown(3, mock.Fault{Drop: mock.DropAfterApply}), args: []string{"cancel", "ID"},
			code: 3, want: []string{"may be canceled"}, wantNot: []string{"--idempotency-key", "create"}, links: 1},
		{name: "redeliver, 503 after applying", setup: unknown(1, mock.Fault{Status: 503, ApplyFirst: true}), args: []string{"redeliver", "ID"},
			code: 3, want: []string{"may have been sent again"}, wantNot: []string{"--idempotency-key", "create"}, links: 1},
		{name: "redeliver of a canceled link", setup: func(c *cli, l *gen.PayoutLink) {
			if code, _, errOut := c.run("cancel", l.ID); code != 0 {
				c.t.Fatalf("cancel: exit %d: %s", code, errOut)
			}
		}, args: []string{"redeliver", "ID"}, code: 1, want: []string{"did not redeliver", `"canceled"`}, stdout: true, links: 1},
		{name: "wrong key", setup: func(c *cli, _ *gen.PayoutLink) { c.env["DOTS_API_KEY"] = "sk_test_wrong" }, args: []string{"get", "ID"},
			code: 1, want: []string{"dots: 401"}, links: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			var link gen.PayoutLink
			args := append([]string(nil), tt.args...)
			for i, a := range args {
				if a == "ID" {
					link = c.create("--amount", "1250", "--email", email, "--method", "email")
					args[i] = link.ID
				}
			}
			if tt.setup != nil {
				tt.setup(c, &link)
			}
			before := len(c.srv.Requests())
			code, out, errOut := c.run(args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(errOut, w) {
					t.Errorf("stderr says %q:\n%s", w, errOut)
				}
			}
			key := keyIn(errOut)
			if (key != "") != tt.keyPrinted {
				t.Errorf("idempotency key printed: %q, want printed: %v", key, tt.keyPrinted)
			}
			if (out != "") != tt.stdout {
				t.Errorf("stdout %q, want a result: %v", out, tt.stdout)
			}
			if tt.stdout && !json.Valid([]byte(out)) {
				t.Errorf("stdout is not JSON: %s", out)
			}
			if n := c.srv.LinkCount(); n != tt.links {
				t.Errorf("Dots holds %d links, want %d", n, tt.links)
			}
			if sent := len(c.srv.Requests()) - before; code == 2 && sent > 0 {
				t.Errorf("exit 2, but %d requests were sent", sent)
			}
			if code == 3 && strings.HasPrefix(args[0], "create") {
				// The advice works: the same create with the printed key answers the link the
				// first one made, and pays nothing twice.
				code, out, errOut := c.run(append(args, "--idempotency-key", key)...)
				made, ok := c.srv.LinkByIdempotencyKey(key)
				if code != 0 || !ok || decode[gen.PayoutLink](t, out).ID != made.ID || c.srv.LinkCount() != tt.links {
					t.Fatalf("the create again with its key: exit %d, %d links: %s", code, c.srv.LinkCount(), errOut)
				}
			}
		})
	}
}

// TestWhereRequestsGo covers every combination of §1 of the CLI's contract: the built-in mock
// answers only when no DOTS_* variable is set (not even to "") and no --env is given, or with
// --mock; anything else reads the variables with api.ReadEnv, and a variable that is missing or
// set but empty is a usage error naming it, before anything is sent.
func TestWhereRequestsGo(t *testing.T) {
	const base = "BASE" // replaced by the recording server's base URL
	creds := func(kv ...string) map[string]string {
		env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": base}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	tests := []struct {
		name     string
		env      map[string]string
		flags    []string // before the command
		after    []string // after the command name
		code     int
		want     string // on stderr
		builtIn  bool   // the built-in mock answered
		received int    // requests the server at DOTS_BASE_URL received
	}{
		{name: "nothing set", code: 0, want: "none of DOTS_CLIENT_ID, DOTS_API_KEY, DOTS_ENV, DOTS_BASE_URL is set", builtIn: true},
		{name: "--mock with nothing set", flags: []string{"--mock"}, code: 0, want: "--mock", builtIn: true},
		{name: "--mock after the command", after: []string{"--mock"}, env: map[string]string{"DOTS_API_KEY": testAPIKey}, code: 0, want: "DOTS_API_KEY ignored", builtIn: true},
		{name: "--mock with real settings", flags: []string{"--mock"}, env: creds(),
			code: 0, want: "DOTS_CLIENT_ID, DOTS_API_KEY, DOTS_BASE_URL ignored", builtIn: true},
		{name: "--mock with empty settings", flags: []string{"--mock"}, env: map[string]string{"DOTS_CLIENT_ID": "", "DOTS_API_KEY": ""},
			code: 0, want: "DOTS_CLIENT_ID, DOTS_API_KEY ignored", builtIn: true},
		{name: "client id and key set but empty (a CI job without its secrets)", env: map[string]string{"DOTS_CLIENT_ID": "", "DOTS_API_KEY": ""},
			code: 2, want: "DOTS_CLIENT_ID is set but empty"},
		{name: "client id set but empty", env: creds("DOTS_CLIENT_ID", ""), code: 2, want: "DOTS_CLIENT_ID is set but empty"},
		{name: "API key set but empty", env: creds("DOTS_API_KEY", ""), code: 2, want: "DOTS_API_KEY is set but empty"},
		{name: "DOTS_ENV set but empty", env: creds("DOTS_ENV", ""), code: 2, want: "DOTS_ENV is set but empty"},
		{name: "DOTS_BASE_URL set but empty", env: creds("DOTS_BASE_URL", ""), code: 2, want: "DOTS_BASE_URL is set but empty"},
		{name: "DOTS_ENV set but empty, --env given", env: creds("DOTS_ENV", ""), after: []string{"--env", "sandbox"}, code: 2, want: "DOTS_ENV is set but empty"},
		{name: "DOTS_API_KEY alone", env: map[string]string{"DOTS_API_KEY": testAPIKey}, code: 2, want: "DOTS_CLIENT_ID is not set; DOTS_API_KEY is set"},
		{name: "DOTS_BASE_URL alone", env: map[string]string{"DOTS_BASE_URL": base}, code: 2, want: "DOTS_CLIENT_ID is not set; DOTS_BASE_URL is set"},
		{name: "DOTS_ENV alone", env: map[string]string{"DOTS_ENV": "production"}, code: 2, want: "DOTS_CLIENT_ID is not set; DOTS_ENV is set"},
		{name: "all but DOTS_CLIENT_ID", env: map[string]string{"DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": base, "DOTS_ENV": "sandbox"},
			code: 2, want: "DOTS_CLIENT_ID is not set; DOTS_API_KEY, DOTS_ENV, DOTS_BASE_URL are set"},
		{name: "a client id without a key", env: map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_BASE_URL": base}, code: 2, want: "DOTS_API_KEY is not set"},
		{name: "--env alone", flags: []string{"--env", "sandbox"}, code: 2, want: "DOTS_CLIENT_ID is not set; --env sandbox is given"},
		{name: "--env production without credentials", after: []string{"--env", "production"}, code: 2, want: "DOTS_CLIENT_ID is not set; --env production is given"},
		{name: "unknown --env, nothing set", flags: []string{"--env", "moon"}, code: 2, want: `unknown environment "moon"`},
		{name: "unknown --env with credentials", flags: []string{"--env", "moon"}, env: creds(), code: 2, want: `unknown environment "moon"`},
		{name: "unknown --env with --mock", flags: []string{"--env", "moon", "--mock"}, code: 2, want: `unknown environment "moon"`},
		{name: "--mock and --env", flags: []string{"--mock", "--env", "sandbox"}, code: 2, want: "exclude each other"},
		{name: "unknown DOTS_ENV", env: map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_ENV": "moon"},
			code: 2, want: `DOTS_ENV is "moon"`},
		{name: "credentials", env: creds(), code: 0, want: "note: using http://", received: 1},
		{name: "credentials, DOTS_ENV in capitals", env: creds("DOTS_ENV", "Sandbox"), code: 0, want: "note: using http://", received: 1},
		{name: "plain http elsewhere", env: creds("DOTS_BASE_URL", "http://example.com/api"), code: 2, want: "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mock.NewServer()
			defer srv.Close()
			env := map[string]string{}
			for k, v := range tt.env {
				env[k] = strings.ReplaceAll(v, base, srv.BaseURL())
			}
			args := append(append(append([]string(nil), tt.flags...), "create"), tt.after...)
			args = append(args, "--amount", "1250", "--email", "jsmith@example.com", "--method", "email")
			code, out, errOut := runWith(t, env, args...)
			if code != tt.code || !strings.Contains(errOut, tt.want) {
				t.Fatalf("exit %d (want %d), stderr:\n%s(want %q)", code, tt.code, errOut, tt.want)
			}
			if got := strings.Contains(errOut, "built-in mock server answers"); got != tt.builtIn {
				t.Errorf("built-in mock answered: %v, want %v", got, tt.builtIn)
			}
			if n := len(srv.Requests()); n != tt.received {
				t.Errorf("DOTS_BASE_URL received %d requests, want %d", n, tt.received)
			}
			if code == 0 {
				if l := decode[gen.PayoutLink](t, out); l.Amount != 1250 || l.Link == "" {
					t.Errorf("stdout %s", out)
				}
			} else if out != "" {
				t.Errorf("a failure wrote to stdout: %q", out)
			}
			if v := srv.Violations(); len(v) > 0 {
				t.Errorf("the mock answered outside the spec: %v", v)
			}
		})
	}
}

// TestReadmeFirstCommand runs the README's first command, as written there, on a machine with
// no DOTS_ variables: it prints a payout link and exits 0.
func TestReadmeFirstCommand(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "go run ./cmd/payoutlinks "
	var line string
	for l := range strings.Lines(string(readme)) {
		if strings.HasPrefix(l, prefix) {
			line = strings.TrimSpace(l)
			break
		}
	}
	if line == "" {
		t.Fatalf("README.md has no %q command", prefix)
	}
	args := strings.Fields(strings.TrimPrefix(line, prefix))
	code, out, errOut := runWith(t, map[string]string{}, args...)
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", line, code, errOut)
	}
	if l := decode[gen.PayoutLink](t, out); l.ID == "" || !strings.HasPrefix(l.Link, "https://") {
		t.Fatalf("%s printed no link: %s", line, out)
	}
}

// TestSandboxByDefault: with credentials, the sandbox answers unless production is asked for
// (DOTS_ENV=production, or --env production, which wins over DOTS_ENV), and stderr says which
// endpoint was chosen and why.
func TestSandboxByDefault(t *testing.T) {
	creds := func(kv ...string) map[string]string {
		env := map[string]string{"DOTS_CLIENT_ID": "pk_test_1", "DOTS_API_KEY": "sk_test_1"}
		for i := 0; i < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tt := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{creds(), []string{"get", "x"}, "https://api.senddotssandbox.com/api (the sandbox: DOTS_ENV is not set)"},
		{creds("DOTS_ENV", "sandbox"), []string{"get", "x"}, "https://api.senddotssandbox.com/api (DOTS_ENV=sandbox)"},
		{creds("DOTS_ENV", "production"), []string{"get", "x"}, "https://api.dots.dev/api (DOTS_ENV=production)"},
		{creds(), []string{"--env", "production", "get", "x"}, "https://api.dots.dev/api (--env production)"},
		{creds("DOTS_ENV", "production"), []string{"get", "--env", "sandbox", "x"}, "https://api.senddotssandbox.com/api (--env sandbox)"},
	} {
		var out, errb bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // nothing is sent anywhere
		run(ctx, tt.args, &out, &errb, lookupIn(tt.env))
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
		done <- run(ctx, []string{"mock", "--addr", "127.0.0.1:0"}, &bytes.Buffer{}, &errb, lookupIn(nil))
	}()
	var base string
	for deadline := time.Now().Add(20 * time.Second); base == "" && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		if s := errb.String(); strings.Contains(s, "http://") {
			base = strings.Fields(s[strings.Index(s, "http://"):])[0]
		}
	}
	if base == "" {
		t.Fatalf("the mock did not say where it listens: %s", errb.String())
	}
	req, _ := http.NewRequest(opList.method, base+opList.path, nil)
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
	case <-time.After(20 * time.Second):
		t.Fatal("the mock did not stop")
	}
	if code := run(context.Background(), []string{"mock", "--addr", "0.0.0.0:0"}, &bytes.Buffer{}, &bytes.Buffer{}, lookupIn(nil)); code != 2 {
		t.Fatalf("a public address without --public: exit %d", code)
	}
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"mock", "--addr", "127.0.0.1:0", "--webhook-url", "http://127.0.0.1:1/hooks"}, &bytes.Buffer{}, &errOut, lookupIn(nil))
	if code != 2 || !strings.Contains(errOut.String(), "whsec_") {
		t.Fatalf("webhooks without a secret: exit %d, stderr %s", code, errOut.String())
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
	if code != 1 || strings.Contains(errOut, auth) || strings.Contains(errOut, "c2VjcmV0") || !strings.Contains(errOut, "proxy refused") {
		t.Fatalf("exit %d; stderr shows a credential or hides the body:\n%s", code, errOut)
	}
}

// brokenPipe is a stdout that cannot be written to.
type brokenPipe struct{}

func (brokenPipe) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestCreateWhoseResultCannotBePrinted: a create that made its link but could not print it must
// not read as a failure (a script would create it again): it exits 3 and says how to find it.
func TestCreateWhoseResultCannotBePrinted(t *testing.T) {
	c := newCLI(t)
	var errb bytes.Buffer
	code := run(fastRetries(), []string{"create", "--amount", "1250", "--method", "link"}, brokenPipe{}, &errb, lookupIn(c.env))
	links := c.srv.Links()
	if code != 3 || len(links) != 1 {
		t.Fatalf("exit %d, %d links; stderr:\n%s", code, len(links), errb.String())
	}
	key := keyIn(errb.String())
	for _, want := range []string{"was made", "payoutlinks get " + links[0].ID, "--idempotency-key " + key} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, errb.String())
		}
	}
}

// TestBatchReadsTheEnvironmentWithReadEnv: the batch command reads DOTS_* through api.ReadEnv
// too: a missing API key is refused, naming it, before any row is sent.
func TestBatchReadsTheEnvironmentWithReadEnv(t *testing.T) {
	srv := mock.NewServer()
	defer srv.Close()
	csv := filepath.Join(t.TempDir(), "pay.csv")
	if err := os.WriteFile(csv, []byte("amount,method,reference\n100,link,inv-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const unset = "\x00unset"
	tests := []struct{ name, key, env, base, want string }{
		{"no API key", unset, unset, srv.BaseURL(), "DOTS_API_KEY is not set"},
		{"an empty API key", "", unset, srv.BaseURL(), "DOTS_API_KEY is set but empty"},
		{"an empty DOTS_ENV", testAPIKey, "", srv.BaseURL(), "DOTS_ENV is set but empty"},
		{"an empty DOTS_BASE_URL", testAPIKey, unset, "", "DOTS_BASE_URL is set but empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DOTS_CLIENT_ID": testClientID}
			for k, v := range map[string]string{"DOTS_API_KEY": tt.key, "DOTS_ENV": tt.env, "DOTS_BASE_URL": tt.base} {
				if v != unset {
					env[k] = v
				}
			}
			code, _, errOut := runWith(t, env, "batch", "--yes", csv)
			if code != 2 || !strings.Contains(errOut, tt.want) || len(srv.Requests()) != 0 {
				t.Fatalf("exit %d, %d requests sent; want 2, none, and %q on stderr:\n%s", code, len(srv.Requests()), tt.want, errOut)
			}
		})
	}
}
