package mock_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// dial opens a raw connection to the server, closed at the end of the test.
func dial(t *testing.T, s *mock.Server) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// requestLine is the first line of an HTTP/1.1 request to e on the mock ("/api" is BaseURL's path).
func requestLine(e endpoint) string { return e.method + " /api" + e.path + " HTTP/1.1\r\n" }

// createHead is the start of a create request with a body of n bytes.
func createHead(n int) string {
	return requestLine(opCreate) + fmt.Sprintf("Host: mock\r\nAuthorization: %s\r\n"+
		"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n", benchAuth, n)
}

// cutBody is the start of a create body that never ends, which no encoder writes.
const cutBody = `{"amount":`

// closedWithin reports how long the server took to close conn, failing the test after limit.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, conn)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
}

// TestSlowBodyIsCut: a body sent at one byte every 50 ms is answered 408 once the read timeout
// of WithTimeouts is over (well before DefaultTimeouts.Read), and nothing is made.
func TestSlowBodyIsCut(t *testing.T) {
	t.Parallel()
	const read = 500 * time.Millisecond
	s := newServer(t, mock.WithTimeouts(mock.Timeouts{ReadHeader: read, Read: read, Write: time.Minute, Idle: time.Minute}))
	start := time.Now() // before the server can start its timer
	conn := dial(t, s)
	if _, err := io.WriteString(conn, createHead(100)+cutBody); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_, _ = conn.Write([]byte(" "))
			}
		}
	}()
	_ = conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a slow body: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	took := time.Since(start)
	if resp.StatusCode != http.StatusRequestTimeout || !strings.Contains(string(body), `"error_code":"request-timeout"`) {
		t.Errorf("%d %s, want 408 request-timeout", resp.StatusCode, body)
	}
	if took < read || took > mock.DefaultTimeouts.Read/2 {
		t.Errorf("cut after %v; want after the read timeout of %v, and long before the default's", took, read)
	}
	if s.LinkCount() != 0 {
		t.Errorf("%d links from a body that never arrived", s.LinkCount())
	}
}

// TestSlowHeadersAndIdleConnectionsAreClosed: headers that do not arrive in time, and a
// keep-alive connection left idle, are closed by the server.
func TestSlowHeadersAndIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	headers := newServer(t, mock.WithTimeouts(mock.Timeouts{ReadHeader: 300 * time.Millisecond, Idle: time.Minute}))
	start := time.Now() // before the server can start its timer
	slow := dial(t, headers)
	if _, err := io.WriteString(slow, requestLine(opList)+"Host: mock\r\n"); err != nil {
		t.Fatal(err)
	}
	closedWithin(t, slow, 60*time.Second)
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("closed after %v, before the header timeout", took)
	}

	const idleTimeout = 300 * time.Millisecond
	s := newServer(t, mock.WithTimeouts(mock.Timeouts{ReadHeader: time.Minute, Idle: idleTimeout}))
	idle := dial(t, s)
	br := bufio.NewReader(idle)
	start = time.Now() // before the answer, after which the idle timer starts
	if _, err := io.WriteString(idle, requestLine(opList)+"Host: mock\r\nAuthorization: "+benchAuth+"\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 || resp.Close {
		t.Fatalf("list: %v %v; want 200 on a connection kept alive", resp, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	closedWithin(t, idle, 60*time.Second)
	if took := time.Since(start); took < idleTimeout {
		t.Errorf("idle connection closed after %v, before the idle timeout", took)
	}
}

// TestSlowClientsDoNotBlockOthers holds 1,000 connections open in the middle of their headers
// or bodies, and serves creates meanwhile.
func TestSlowClientsDoNotBlockOthers(t *testing.T) {
	t.Parallel()
	const slowClients = 1000
	s := newServer(t, mock.WithTimeouts(mock.Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: time.Minute, Idle: time.Minute}))
	addr := strings.TrimPrefix(s.URL, "http://")
	conns := make([]net.Conn, 0, slowClients)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range slowClients {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow client %d: %v", i, err)
		}
		conns = append(conns, c)
		part := requestLine(opCreate) + "Host: mock\r\n" // headers never end
		if i%2 == 1 {
			part = createHead(100) + cutBody // the body never ends
		}
		if _, err := io.WriteString(c, part); err != nil {
			t.Fatal(err)
		}
	}
	// The server accepts connections in order: the creates below are served after it took all
	// the slow ones.
	client := freshClient()
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			r, err := tryCall(context.Background(), client, s, opCreate, gen.CreatePayoutLinkRequest{Amount: dots.Amount(i + 1)})
			if err != nil || r.status != http.StatusCreated {
				t.Errorf("create %d beside the slow clients: %v %d", i, err, r.status)
			}
		})
	}
	wg.Wait()
	// The slow clients are all still connected: they were not cut to make room.
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("slow client %d was answered or closed: %v", i, err)
		}
	}
	if s.LinkCount() != 20 {
		t.Errorf("%d links, want 20", s.LinkCount())
	}
}

// TestDelayOutlastsTheWriteTimeout: an injected delay longer than the write timeout is still
// answered: the server extends the write deadline by the delay.
func TestDelayOutlastsTheWriteTimeout(t *testing.T) {
	t.Parallel()
	const write, delay = 200 * time.Millisecond, 600 * time.Millisecond
	s := newServer(t, mock.WithTimeouts(mock.Timeouts{ReadHeader: time.Minute, Read: time.Minute, Write: write, Idle: time.Minute}))
	start := time.Now()
	r, err := tryCall(t.Context(), freshClient(), s, opCreate, gen.CreatePayoutLinkRequest{Amount: 3}, header("X-Mock-Fault", "delay="+delay.String()))
	if err != nil || r.status != http.StatusCreated {
		t.Fatalf("%v %d %s", err, r.status, r.body)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("answered after %v, before the delay", took)
	}
}

// TestServeAndShutdown serves on a listener of the caller's, with the Timeouts, and stops.
func TestServeAndShutdown(t *testing.T) {
	t.Parallel()
	s := mock.New(mock.WithTimeouts(mock.Timeouts{Idle: 50 * time.Millisecond}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	base := "http://" + ln.Addr().String() + "/api"
	req, _ := http.NewRequest(opList.method, base+opList.path, nil)
	req.Header.Set("Authorization", benchAuth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("list: %d", resp.StatusCode)
	}
	// A request in an injected delay does not hold Shutdown up: the delay ends.
	go func() {
		req, _ := http.NewRequest(opList.method, base+opList.path, nil)
		req.Header.Set("Authorization", benchAuth)
		req.Header.Set("X-Mock-Fault", "delay=1h")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	waitFor(t, "the delayed request", func() bool { return len(s.Requests()) == 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve returned %v", err)
	}
	if err := s.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v", err)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}
