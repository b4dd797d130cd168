package spec

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/http"
	"strings"

	"github.com/payoutkit/dots-go/internal/codec"
)

// Router finds the operation a request goes to: an http.ServeMux with one method+path pattern
// per operation ("POST /api/v2/payout-links/{payout_link_id}/redeliver"), so Go's own matching
// decides, and path parameters come from Request.PathValue. It is the one router of the SDK:
// the client's pipeline, the mock and the test servers all use it.
type Router struct {
	mux  *http.ServeMux
	spec *Spec
}

type matchKey struct{}

// match is where a Router's handlers write what they matched.
type match struct {
	op     *Operation
	params map[string]string
}

// Router returns a router for requests whose paths start with basePath (such as "/api", the path
// of the spec's servers; "" for none) followed by the spec's paths.
func (s *Spec) Router(basePath string) *Router {
	rt := &Router{mux: http.NewServeMux(), spec: s}
	for _, op := range s.ops {
		rt.mux.HandleFunc(op.Method+" "+strings.TrimSuffix(basePath, "/")+op.Path, func(_ http.ResponseWriter, r *http.Request) {
			m := r.Context().Value(matchKey{}).(*match)
			m.op = op
			for _, name := range op.params {
				if m.params == nil {
					m.params = map[string]string{}
				}
				m.params[name] = r.PathValue(name)
			}
		})
	}
	return rt
}

// Match returns the operation of r and its path parameters, unescaped.
func (rt *Router) Match(r *http.Request) (*Operation, map[string]string, bool) {
	m := &match{}
	rt.mux.ServeHTTP(sink{}, r.WithContext(context.WithValue(r.Context(), matchKey{}, m)))
	return m.op, m.params, m.op != nil
}

// Spec returns the spec the router routes by.
func (rt *Router) Spec() *Spec { return rt.spec }

// sink is a ResponseWriter that keeps the header of what ServeMux itself answers (404, 405 with
// Allow) and drops the rest.
type sink http.Header

func (s sink) Header() http.Header       { return http.Header(s) }
func (sink) Write(b []byte) (int, error) { return len(b), nil }
func (sink) WriteHeader(int)             {}

type opKey struct{}

// OperationOf returns the operation Middleware matched for the request of ctx.
func OperationOf(ctx context.Context) (*Operation, bool) {
	op, ok := ctx.Value(opKey{}).(*Operation)
	return op, ok
}

// MiddlewareOptions say what Middleware does besides routing. The zero value validates requests
// and answers the ones that break the spec itself.
type MiddlewareOptions struct {
	// BasePath is what every path starts with before the spec's paths, such as "/api".
	BasePath string
	// Refuse gets every request that breaks the spec, and reports whether it answered it; one it
	// did not answer goes on to the handler all the same. nil answers 401 (for credentials) or
	// 400 with an Error body naming every violation, as Dots would.
	Refuse func(w http.ResponseWriter, r *http.Request, op *Operation, vs []Violation) (answered bool)
	// Answered, if set, gets the violations of every answer the handler writes; validating
	// answers costs about as much as the request's, so it is off without it.
	Answered func(r *http.Request, op *Operation, status int, vs []Violation)
	// NotFound answers a request that no pattern matches, where http.ServeMux would answer 404,
	// or 405 for a path that takes other methods: then the Allow header is already set on w. nil
	// lets ServeMux answer.
	NotFound http.Handler
	// Mux, if set, is where the operations are registered, beside routes of your own outside
	// the spec (not validated; they share NotFound); nil makes a new one.
	Mux *http.ServeMux
}

// Middleware routes every request to an operation of the spec, validates it, and hands the ones
// that conform to next, with the operation in the context (OperationOf) and the path parameters
// in Request.PathValue. It is the validating front of the mock and of the test servers.
func (s *Spec) Middleware(next http.Handler, o MiddlewareOptions) http.Handler {
	mux := o.Mux
	if mux == nil {
		mux = http.NewServeMux()
	}
	refuse := o.Refuse
	if refuse == nil {
		refuse = refuseJSON
	}
	for _, op := range s.ops {
		mux.HandleFunc(op.Method+" "+strings.TrimSuffix(o.BasePath, "/")+op.Path, func(w http.ResponseWriter, r *http.Request) {
			body, err := readBody(r)
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid-input", "$: the request body could not be read")
				return
			}
			params := map[string]string{}
			for _, name := range op.params {
				params[name] = r.PathValue(name)
			}
			if vs := s.ValidateRequest(r.Context(), op, r, params, body); len(vs) > 0 && refuse(w, r, op, vs) {
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), opKey{}, op))
			if o.Answered == nil {
				next.ServeHTTP(w, r)
				return
			}
			rec := &recorder{ResponseWriter: w, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			if !rec.hijacked {
				o.Answered(r, op, rec.status, s.ValidateResponse(r.Context(), op, r, rec.status, w.Header(), rec.body.Bytes()))
			}
		})
	}
	if o.NotFound == nil {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		answer := sink{}
		h.ServeHTTP(answer, r) // ServeMux's own 404, or 405 with Allow
		if allow := answer.Header().Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		o.NotFound.ServeHTTP(w, r)
	})
}

// readBody reads the request body and puts it back, for the handler to read again.
func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(r.Body); err != nil {
		return nil, err
	}
	r.Body = readCloser{bytes.NewReader(b.Bytes())}
	return b.Bytes(), nil
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// refuseJSON answers a request that breaks the spec as Dots would: 401 for credentials, else
// 400, with an Error body naming every violation.
func refuseJSON(w http.ResponseWriter, _ *http.Request, _ *Operation, vs []Violation) bool {
	status, code := http.StatusBadRequest, "invalid-input"
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.String()
		if v.Path == "header Authorization" {
			status, code = http.StatusUnauthorized, "unauthorized"
		}
	}
	writeError(w, status, code, strings.Join(msgs, "; "))
	return true
}

// writeError writes an Error body of the spec.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	b, _ := codec.Marshal(map[string]any{"success": false, "error_code": code, "message": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// recorder keeps a copy of an answer for validation.
type recorder struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	wrote    bool
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// Hijack hands the connection over (the mock drops connections so); the answer is then not
// validated.
func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

// Flush sends what was written so far.
func (r *recorder) Flush() { _ = http.NewResponseController(r.ResponseWriter).Flush() }

// Unwrap lets http.ResponseController reach the writer underneath (deadlines).
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
