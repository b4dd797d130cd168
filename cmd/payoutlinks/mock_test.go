package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/webhook"
)

// mockProc is a `payoutlinks mock` running in the test's process.
type mockProc struct {
	base   string // the base URL it printed, ending in /api
	stderr *syncBuffer
	cancel context.CancelFunc
	done   chan int
}

// startMock runs `payoutlinks mock --addr 127.0.0.1:0 args...` and waits for the line that says
// where it listens. The test stops it at the end unless it calls stop itself.
func startMock(t *testing.T, args ...string) *mockProc {
	t.Helper()
	return startMockEnv(t, nil, args...)
}

// startMockEnv is startMock with these environment variables.
func startMockEnv(t *testing.T, env map[string]string, args ...string) *mockProc {
	t.Helper()
	limit := debug.SetMemoryLimit(-1) // the mock sets its own; give the test process its own back
	t.Cleanup(func() { debug.SetMemoryLimit(limit) })
	ctx, cancel := context.WithCancel(context.Background())
	p := &mockProc{stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		p.done <- run(ctx, append([]string{"mock", "--addr", "127.0.0.1:0"}, args...), &bytes.Buffer{}, p.stderr, lookupIn(env))
	}()
	deadline := time.Now().Add(30 * time.Second)
	for p.base == "" {
		if s := p.stderr.String(); strings.Contains(s, "http://") {
			p.base = strings.Fields(s[strings.Index(s, "http://"):])[0]
			break
		}
		select {
		case code := <-p.done:
			t.Fatalf("the mock exited with %d: %s", code, p.stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("the mock did not say where it listens: %s", p.stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop ends the mock as SIGINT does and returns its exit code.
func (p *mockProc) stop(t *testing.T) int {
	t.Helper()
	p.cancel()
	select {
	case code := <-p.done:
		p.done <- code // a later stop (the cleanup) reads it again
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("the mock did not stop")
		return -1
	}
}

// genBase is the server the tests hand the generated request builders; route cuts it off again.
// It ends in "/": a builder resolves its path against the server as a relative URL, which
// drops the server's last segment when it has no "/" after it.
const genBase = "http://mock.test/"

// endpoint is where a request goes: a method, and a path under the mock's base URL.
type endpoint struct{ method, path string }

// route is the endpoint of a request a generated builder made on genBase, as in
// route(gen.NewGetPayoutLinkRequest(genBase, id)): the test names the operation and its path
// parameters through the generated code, so a rename in openapi.yaml fails to compile. The
// /_mock endpoints, which are not in the spec, are written out as endpoint{"POST", "/_mock/reset"}.
func route(r *http.Request, err error) endpoint {
	if err != nil {
		panic(err) // a builder fails only on a server or a parameter it cannot write
	}
	return endpoint{r.Method, r.URL.RequestURI()}
}

// The operations without a path parameter.
var (
	opCreate = route(gen.NewCreatePayoutLinkRequestWithBody(genBase, "application/json", nil))
	opList   = route(gen.NewListPayoutLinksRequest(genBase, nil))
)

// jsonBody is body encoded as JSON (a gen.CreatePayoutLinkRequest), or nil for no body.
func jsonBody(t *testing.T, body any) io.Reader {
	t.Helper()
	if body == nil {
		return nil
	}
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// call sends one request with fake credentials to e on a fresh connection; body is a value to
// encode as JSON, or nil. It returns the status, or -1 when the connection failed.
func (p *mockProc) call(t *testing.T, e endpoint, body any, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(e.method, p.base+e.path, jsonBody(t, body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("pk_test_cli_mock", "sk_test_cli_mock")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 60 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		return -1, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMockChaosFlags(t *testing.T) {
	// The same seed gives the same faults in the same order; the outcomes are what a client sees.
	const n = 16
	outcomes := make([][]string, 2)
	var wg sync.WaitGroup
	for run := range outcomes {
		p := startMock(t, "--fault-rate", "0.5", "--seed", "42", "--quiet")
		if s := p.stderr.String(); !strings.Contains(s, "--seed 42") || !strings.Contains(s, "0.5 of requests") {
			t.Errorf("the banner does not name the rate and seed: %s", s)
		}
		wg.Go(func() {
			for i := range n {
				status, _ := p.call(t, opCreate, gen.CreatePayoutLinkRequest{Amount: dots.Amount(i + 1)})
				outcomes[run] = append(outcomes[run], fmt.Sprint(status))
			}
		})
	}
	wg.Wait()
	if strings.Join(outcomes[0], " ") != strings.Join(outcomes[1], " ") {
		t.Errorf("the same seed, different outcomes:\n%v\n%v", outcomes[0], outcomes[1])
	}
	if !strings.Contains(strings.Join(outcomes[0], " "), "201") || strings.Count(strings.Join(outcomes[0], " "), "201") == n {
		t.Errorf("outcomes %v: want some faulted and some not", outcomes[0])
	}

	// Without --seed a random seed is chosen and printed, so a run can be repeated.
	p := startMock(t, "--fault-rate", "1", "--quiet")
	if !strings.Contains(p.stderr.String(), "--seed ") {
		t.Errorf("no seed printed: %s", p.stderr.String())
	}
	if status, _ := p.call(t, opList, nil, "X-Mock-Fault", "none"); status != 200 {
		t.Errorf("X-Mock-Fault: none under --fault-rate 1: %d", status)
	}

	for _, args := range [][]string{{"--fault-rate", "1.5"}, {"--fault-rate", "-1"}, {"--seed", "3"}, {"--fault-rate", "x"}} {
		var errb bytes.Buffer
		if code := run(context.Background(), append([]string{"mock", "--addr", "127.0.0.1:0"}, args...), &bytes.Buffer{}, &errb, lookupIn(nil)); code != 2 || errb.Len() == 0 {
			t.Errorf("mock %v: exit %d, stderr %q; want 2 and a reason", args, code, errb.String())
		}
	}
}

func TestMockLogFlags(t *testing.T) {
	tests := []struct {
		args      []string
		wantLines int // for one 201 and one injected 503
	}{
		{nil, 2},
		{[]string{"--log", "info"}, 2},
		{[]string{"--log", "WARN"}, 1},
		{[]string{"--log", "error"}, 0},
		{[]string{"--quiet"}, 0},
		{[]string{"--log", "off"}, 0},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			p := startMock(t, tt.args...)
			if status, body := p.call(t, opCreate, gen.CreatePayoutLinkRequest{Amount: 1}); status != 201 {
				t.Fatalf("create: %d %s", status, body)
			}
			if status, _ := p.call(t, opList, nil, "X-Mock-Fault", "503"); status != 503 {
				t.Fatalf("fault: %d", status)
			}
			if code := p.stop(t); code != 0 {
				t.Fatalf("exit %d", code)
			}
			var lines []string
			for _, l := range strings.Split(p.stderr.String(), "\n") {
				if strings.Contains(l, "msg=request") {
					lines = append(lines, l)
				}
			}
			if len(lines) != tt.wantLines {
				t.Fatalf("%d request lines, want %d:\n%s", len(lines), tt.wantLines, p.stderr.String())
			}
			for _, l := range lines {
				if len(l) > 200 || !strings.Contains(l, "path=/api"+opCreate.path) || strings.Contains(l, "sk_test") {
					t.Errorf("a request line should be short, name the path and hold no secret: %s", l)
				}
			}
		})
	}
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"mock", "--log", "loud"}, &bytes.Buffer{}, &errb, lookupIn(nil)); code != 2 || !strings.Contains(errb.String(), "--log") {
		t.Errorf("--log loud: exit %d, %q", code, errb.String())
	}
}

func TestMockMaxLinksResetAndTriggers(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("cli-mock-webhook-secret-not-real"))
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan string, 10)
	receiver := httptest.NewServer(webhook.Handler(v, func(_ context.Context, ev webhook.Event) error {
		events <- string(ev.Type)
		return nil
	}))
	defer receiver.Close()
	p := startMock(t, "--max-links", "2", "--webhook-url", receiver.URL, "--webhook-secret", secret, "--quiet")

	var ids []string
	for i := range 3 {
		status, body := p.call(t, opCreate, gen.CreatePayoutLinkRequest{Amount: dots.Amount(i + 1)})
		l := decode[gen.PayoutLink](t, body)
		if status != 201 {
			t.Fatalf("create: %d %s", status, body)
		}
		ids = append(ids, l.ID)
	}
	if status, _ := p.call(t, route(gen.NewGetPayoutLinkRequest(genBase, ids[0])), nil); status != 404 {
		t.Errorf("the oldest of 3 links with --max-links 2: %d, want 404", status)
	}
	for _, tr := range []struct{ trigger, event string }{{"pay-out", "payout_link.claimed payout_link.paid_out"}, {"expire", ""}} {
		id := ids[1]
		if tr.trigger == "expire" {
			id = ids[2]
			tr.event = "payout_link.updated"
		}
		if status, body := p.call(t, endpoint{"POST", "/_mock/payout-links/" + id + "/" + tr.trigger}, nil); status != 200 {
			t.Fatalf("%s: %d %s", tr.trigger, status, body)
		}
		var got []string
		for range strings.Fields(tr.event) {
			select {
			case ev := <-events:
				got = append(got, ev)
			case <-time.After(30 * time.Second):
				t.Fatalf("%s: no webhook", tr.trigger)
			}
		}
		if strings.Join(got, " ") != tr.event {
			t.Errorf("%s sent %v, want %s", tr.trigger, got, tr.event)
		}
	}
	if status, body := p.call(t, endpoint{"POST", "/_mock/reset"}, nil); status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", status, body)
	}
	if status, body := p.call(t, opList, nil); status != 200 || !strings.Contains(body, `"data":[]`) {
		t.Errorf("list after reset: %d %s", status, body)
	}
}

func TestMemoryLimit(t *testing.T) {
	tests := []struct {
		maxLinks   int
		gomemlimit string
		want       int64
		set        bool
	}{
		{100_000, "", 64<<20 + 100_000*1536, true},
		{1000, "", 64<<20 + 1000*1536, true},
		{100_000, "1GiB", 0, false}, // the user's own limit wins
		{0, "", 0, false},           // no cap, no limit
	}
	for _, tt := range tests {
		if got, set := memoryLimit(tt.maxLinks, tt.gomemlimit); got != tt.want || set != tt.set {
			t.Errorf("memoryLimit(%d, %q) = %d, %v; want %d, %v", tt.maxLinks, tt.gomemlimit, got, set, tt.want, tt.set)
		}
	}
	if limit, _ := memoryLimit(mock.DefaultMaxLinks, ""); limit > 250<<20 {
		t.Errorf("the default limit %d MiB leaves no room under 300 MiB", limit>>20)
	}
}

func TestMockTimeoutFlags(t *testing.T) {
	p := startMock(t, "--read-timeout", "1s", "--idle-timeout", "300ms", "--quiet")
	addr := strings.TrimSuffix(strings.TrimPrefix(p.base, "http://"), "/api")

	// A body that stops arriving is answered 408.
	slow, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "%s /api%s HTTP/1.1\r\nHost: mock\r\nAuthorization: Basic cGtfdGVzdF9jbGk6\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{\"amount\":", opCreate.method, opCreate.path)
	_ = slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(slow), nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body: %v %v, want 408", resp, err)
	}
	resp.Body.Close()

	// A kept-alive connection left idle is closed.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	start := time.Now() // before the answer, after which the idle timer starts
	fmt.Fprintf(idle, "%s /api%s HTTP/1.1\r\nHost: mock\r\nAuthorization: Basic cGtfdGVzdF9jbGk6\r\n\r\n", opList.method, opList.path)
	br := bufio.NewReader(idle)
	resp, err = http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("list: %v %v", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = idle.SetReadDeadline(time.Now().Add(60 * time.Second))
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("the idle connection: %v, want EOF", err)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("closed after %v, before --idle-timeout", took)
	}

	for _, args := range [][]string{{"--read-timeout", "-1s"}, {"--idle-timeout", "soon"}} {
		var errb bytes.Buffer
		if code := run(context.Background(), append([]string{"mock", "--addr", "127.0.0.1:0"}, args...), &bytes.Buffer{}, &errb, lookupIn(nil)); code != 2 || errb.Len() == 0 {
			t.Errorf("mock %v: exit %d, stderr %q; want 2 and a reason", args, code, errb.String())
		}
	}
}

// TestMockCredentials checks --client-id with the key from DOTS_MOCK_API_KEY: the API and the
// /_mock endpoints then take those credentials only, --public is refused without them, and the
// key is printed nowhere.
func TestMockCredentials(t *testing.T) {
	const id, key = "pk_test_cli_mock", "sk_test_cli_mock" // what mockProc.call sends
	env := map[string]string{"DOTS_MOCK_API_KEY": key}

	refused := []struct {
		name string
		env  map[string]string
		args []string
		want string // in the message
	}{
		{"public without credentials", nil, []string{"--public"}, "--client-id"},
		{"public with the key only", env, []string{"--public"}, "--client-id"},
		{"public with the client id only", nil, []string{"--public", "--client-id", id}, "DOTS_MOCK_API_KEY"},
		{"client id without the key", nil, []string{"--client-id", id}, "DOTS_MOCK_API_KEY"},
		{"the key without a client id", env, nil, "--client-id"},
		{"a colon in the client id", env, []string{"--client-id", "pk:test"}, "colon"},
		{"an API key flag", env, []string{"--client-id", id, "--api-key", key}, "--api-key"},
	}
	stopped, cancel := context.WithCancel(context.Background())
	cancel() // a mock that starts after all stops at once, answering 0
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			var errb bytes.Buffer
			args := append([]string{"mock", "--addr", "127.0.0.1:0"}, tt.args...)
			code := run(stopped, args, &bytes.Buffer{}, &errb, lookupIn(tt.env))
			if code != 2 || !strings.Contains(errb.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want 2 and a message naming %s", code, errb.String(), tt.want)
			}
			if strings.Contains(errb.String(), key) {
				t.Errorf("stderr shows the key: %q", errb.String())
			}
		})
	}

	p := startMockEnv(t, env, "--public", "--client-id", id)
	root := strings.TrimSuffix(p.base, "/api")
	status, body := p.call(t, opCreate, gen.CreatePayoutLinkRequest{Amount: 100})
	if status != http.StatusCreated {
		t.Fatalf("create with the credentials: %d %s", status, body)
	}
	link := decode[gen.PayoutLink](t, body)
	for _, path := range []string{"/api" + opCreate.path, "/_mock/payout-links/" + link.ID + "/claim", "/_mock/reset"} {
		for _, c := range []struct{ id, key string }{{"", ""}, {"pk_test_anyone", ""}, {id, "sk_test_wrong"}, {"pk_test_other", key}} {
			req, _ := http.NewRequest("POST", root+path, jsonBody(t, gen.CreatePayoutLinkRequest{Amount: 100}))
			req.Header.Set("Content-Type", "application/json")
			if c.id != "" {
				req.SetBasicAuth(c.id, c.key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("POST %s as %q:%q: %d, want 401", path, c.id, c.key, resp.StatusCode)
			}
		}
	}
	if status, body := p.call(t, route(gen.NewGetPayoutLinkRequest(genBase, link.ID)), nil); status != 200 || decode[gen.PayoutLink](t, body).Status == gen.PayoutLinkStatusClaimed {
		t.Errorf("after refused triggers: %d %s, want the link unclaimed", status, body)
	}
	if status, body := p.call(t, endpoint{"POST", "/_mock/reset"}, nil); status != http.StatusNoContent {
		t.Errorf("reset with the credentials: %d %s", status, body)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d", code)
	}
	if strings.Contains(p.stderr.String(), key) {
		t.Errorf("stderr shows the key: %s", p.stderr.String())
	}
}
