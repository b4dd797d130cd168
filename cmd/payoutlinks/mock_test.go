package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
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
	ctx, cancel := context.WithCancel(context.Background())
	p := &mockProc{stderr: &syncBuffer{}, cancel: cancel, done: make(chan int, 1)}
	go func() {
		p.done <- run(ctx, append([]string{"mock", "--addr", "127.0.0.1:0"}, args...), &bytes.Buffer{}, p.stderr, func(string) string { return "" })
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

// call sends one request with fake credentials on a fresh connection and returns the status, or
// -1 when the connection failed.
func (p *mockProc) call(t *testing.T, method, path, body string, headers ...string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, p.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("pk_test_cli_mock", "sk_test_cli_mock")
	if body != "" {
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
				status, _ := p.call(t, "POST", "/v2/payout-links", fmt.Sprintf(`{"amount":%d}`, i+1))
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
	if status, _ := p.call(t, "GET", "/v2/payout-links", "", "X-Mock-Fault", "none"); status != 200 {
		t.Errorf("X-Mock-Fault: none under --fault-rate 1: %d", status)
	}

	for _, args := range [][]string{{"--fault-rate", "1.5"}, {"--fault-rate", "-1"}, {"--seed", "3"}, {"--fault-rate", "x"}} {
		var errb bytes.Buffer
		if code := run(context.Background(), append([]string{"mock", "--addr", "127.0.0.1:0"}, args...), &bytes.Buffer{}, &errb, func(string) string { return "" }); code != 2 || errb.Len() == 0 {
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
			if status, body := p.call(t, "POST", "/v2/payout-links", `{"amount":1}`); status != 201 {
				t.Fatalf("create: %d %s", status, body)
			}
			if status, _ := p.call(t, "GET", "/v2/payout-links", "", "X-Mock-Fault", "503"); status != 503 {
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
				if len(l) > 200 || !strings.Contains(l, "path=/api/v2/payout-links") || strings.Contains(l, "sk_test") {
					t.Errorf("a request line should be short, name the path and hold no secret: %s", l)
				}
			}
		})
	}
	var errb bytes.Buffer
	if code := run(context.Background(), []string{"mock", "--log", "loud"}, &bytes.Buffer{}, &errb, func(string) string { return "" }); code != 2 || !strings.Contains(errb.String(), "--log") {
		t.Errorf("--log loud: exit %d, %q", code, errb.String())
	}
}
