package mock

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts are the limits a server puts on each connection, so that slow or idle clients cannot
// hold it: NewServer and Serve apply them. Zero leaves a limit out.
type Timeouts struct {
	// ReadHeader bounds reading a request's headers; a slower client is disconnected.
	ReadHeader time.Duration
	// Read bounds reading a whole request, body included, from its start; a slower body is
	// answered 408 with error_code request-timeout, and the connection closes.
	Read time.Duration
	// Write bounds handling and writing an answer, from the end of the request's headers. An
	// injected delay extends it by the delay.
	Write time.Duration
	// Idle is how long a keep-alive connection may wait for its next request before it is closed.
	Idle time.Duration
}

// DefaultTimeouts are the timeouts of a server without WithTimeouts: headers in 10 s, the whole
// request in 10 s, the answer in 30 s, and 60 s of idle keep-alive.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 60 * time.Second}

// WithTimeouts sets the timeouts of the connections NewServer and Serve accept (DefaultTimeouts
// without this option).
func WithTimeouts(t Timeouts) Option {
	return func(s *Server) { s.timeouts = t }
}

// configure applies the timeouts to hs.
func (t Timeouts) configure(hs *http.Server) {
	hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout = t.ReadHeader, t.Read, t.Write, t.Idle
}

// served is what Serve runs.
type served struct {
	mu  sync.Mutex
	hss []*http.Server
}

// Serve serves the Handler on ln with the server's Timeouts until Shutdown or Close, as a
// public-facing server: slow headers and bodies are cut, idle connections closed, and each
// client is served on its own goroutine, so slow clients do not hold up others. It returns
// http.ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler()}
	s.timeouts.configure(hs)
	s.served.mu.Lock()
	select {
	case <-s.done:
		s.served.mu.Unlock()
		return http.ErrServerClosed
	default:
	}
	s.served.hss = append(s.served.hss, hs)
	s.served.mu.Unlock()
	return hs.Serve(ln)
}

// Shutdown stops what Serve serves gracefully: injected delays end at once (their requests end
// unanswered, as with Close), the listeners close, idle connections close, and Shutdown waits for
// the other requests in flight until ctx ends. Then it closes the server as Close does.
func (s *Server) Shutdown(ctx context.Context) error {
	s.endDelays()
	s.served.mu.Lock()
	hss := s.served.hss
	s.served.mu.Unlock()
	var errs []error
	for _, hs := range hss {
		errs = append(errs, hs.Shutdown(ctx))
	}
	s.Close()
	return errors.Join(errs...)
}

// endDelays closes done, once: delays end, and Serve refuses to start.
func (s *Server) endDelays() {
	s.served.mu.Lock()
	defer s.served.mu.Unlock()
	s.doneOnce.Do(func() { close(s.done) })
}

// closeServed closes what Serve serves at once.
func (s *Server) closeServed() {
	s.served.mu.Lock()
	defer s.served.mu.Unlock()
	for _, hs := range s.served.hss {
		_ = hs.Close()
	}
}
