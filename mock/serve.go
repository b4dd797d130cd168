package mock

import (
	"context"
	"errors"
	"net"
	"net/http"
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

// DefaultTimeouts are the timeouts of a server without WithTimeouts.
var DefaultTimeouts = Timeouts{ReadHeader: 10 * time.Second, Read: 10 * time.Second, Write: 30 * time.Second, Idle: 60 * time.Second}

// WithTimeouts sets the timeouts of the connections NewServer and Serve accept.
func WithTimeouts(t Timeouts) Option { return func(s *Server) { s.timeouts = t } }

func (t Timeouts) configure(hs *http.Server) {
	hs.ReadHeaderTimeout, hs.ReadTimeout, hs.WriteTimeout, hs.IdleTimeout = t.ReadHeader, t.Read, t.Write, t.Idle
}

// Serve serves the Handler on ln with the server's Timeouts until Shutdown or Close, as a
// public-facing server: slow headers and bodies are cut, idle connections closed, and each
// client is served on its own goroutine. It returns http.ErrServerClosed after Shutdown or Close.
func (s *Server) Serve(ln net.Listener) error {
	hs := &http.Server{Handler: s.Handler()}
	s.timeouts.configure(hs)
	s.servedMu.Lock()
	closed := s.closed
	if !closed {
		s.served = append(s.served, hs)
	}
	s.servedMu.Unlock()
	if closed {
		return http.ErrServerClosed
	}
	return hs.Serve(ln)
}

// Shutdown stops what Serve serves gracefully: injected delays end at once (their requests end
// unanswered), the listeners and idle connections close, and Shutdown waits for the other
// requests in flight until ctx ends. Then it closes the server as Close does.
func (s *Server) Shutdown(ctx context.Context) error {
	var errs []error
	for _, hs := range s.stop() {
		errs = append(errs, hs.Shutdown(ctx))
	}
	s.Close()
	return errors.Join(errs...)
}

// stop ends the delays, keeps Serve from starting, and returns what Serve serves.
func (s *Server) stop() []*http.Server {
	s.servedMu.Lock()
	defer s.servedMu.Unlock()
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	return s.served
}
