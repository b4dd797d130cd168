package mock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// Fake credentials, shaped like Dots' test keys.
const (
	testClientID = "pk_test_4f9c2mockclientid"
	testAPIKey   = "sk_test_8d1e7mocksecretkey"
)

// newServer starts a server that the test closes, and whose answers must all match the spec.
func newServer(t *testing.T, opts ...mock.Option) *mock.Server {
	t.Helper()
	s := mock.NewServer(opts...)
	t.Cleanup(func() {
		s.Close()
		if v := s.Violations(); len(v) > 0 {
			t.Errorf("the mock wrote answers the spec does not allow:\n%s", strings.Join(v, "\n"))
		}
	})
	return s
}

// reply is an answer as the tests read it.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) link(t *testing.T) gen.PayoutLink {
	t.Helper()
	var l gen.PayoutLink
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("body %s is not a payout link: %v", r.body, err)
	}
	return l
}

func (r reply) errorBody(t *testing.T) (code, message string) {
	t.Helper()
	var e struct {
		Success   *bool   `json:"success"`
		Message   *string `json:"message"`
		ErrorCode *string `json:"error_code"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("body %s is not an Error: %v", r.body, err)
	}
	if e.Success == nil || *e.Success || e.ErrorCode == nil || e.Message == nil {
		t.Fatalf("error body %s lacks success=false, message or error_code", r.body)
	}
	return *e.ErrorCode, *e.Message
}

// genBase is the server the tests hand the generated request builders; route cuts it off again.
// It ends in "/": a builder resolves its path against the server as a relative URL, which
// drops the server's last segment when it has no "/" after it.
const genBase = "http://mock.test/"

// endpoint is where a request goes: a method, and a path under BaseURL (under URL when the path
// starts with "@").
type endpoint struct{ method, path string }

// route is the endpoint of a request a generated builder made on genBase, as in
// route(gen.NewGetPayoutLinkRequest(genBase, id)): the test names the operation, its path
// parameters and its query through the generated code, so a renamed one fails to compile.
// Tests of routing itself (unknown paths, a wrong method, the /_mock triggers, which are not in
// the spec) write their path out and call send.
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

// opt changes a request before it is sent.
type opt func(*http.Request)

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func noAuth() opt { return func(r *http.Request) { r.Header.Del("Authorization") } }

func basic(id, key string) opt { return func(r *http.Request) { r.SetBasicAuth(id, key) } }

// call makes one request with test credentials to e; body is a value to encode (a
// gen.CreatePayoutLinkRequest), a string of JSON written out (for a body the generated types
// cannot express), or nil. It fails the test on a transport error.
func call(t *testing.T, s *mock.Server, e endpoint, body any, opts ...opt) reply {
	t.Helper()
	r, err := tryCall(context.Background(), s.Client(), s, e, body, opts...)
	if err != nil {
		t.Fatalf("%s %s: %v", e.method, e.path, err)
	}
	return r
}

// send is call to a path written out: for a test of routing, or of a path the spec has not.
func send(t *testing.T, s *mock.Server, method, path string, body any, opts ...opt) reply {
	t.Helper()
	return call(t, s, endpoint{method, path}, body, opts...)
}

// tryCall is call with a client of the test's, returning the transport's error.
func tryCall(ctx context.Context, c *http.Client, s *mock.Server, e endpoint, body any, opts ...opt) (reply, error) {
	method, path := e.method, e.path
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return reply{}, err
		}
		rd = bytes.NewReader(raw)
	}
	url := s.BaseURL() + path
	if root, ok := strings.CutPrefix(path, "@"); ok {
		url = s.URL + root
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return reply{}, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(testClientID, testAPIKey)
	for _, o := range opts {
		o(req)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{resp.StatusCode, resp.Header, b}, nil
}

// freshClient does not reuse connections, so Go's transport never retries a request on its own
// after a dropped connection.
func freshClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// create makes a link and fails the test unless it gets 201.
func create(t *testing.T, s *mock.Server, body any) gen.PayoutLink {
	t.Helper()
	r := call(t, s, opCreate, body)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	return r.link(t)
}

// waitFor polls cond until it holds or a second has passed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	// Generous, so a loaded machine does not fail a test that only polls for a condition.
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
