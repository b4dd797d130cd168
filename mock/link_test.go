package mock

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
)

// TestLinkBuilderIsDrivenBySpec builds a link from a made-up spec whose fields the mock has no
// Go code for: what is echoed, defaulted and written as null follows the spec alone.
func TestLinkBuilderIsDrivenBySpec(t *testing.T) {
	t.Parallel()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile("testdata/echo-spec.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatal(err)
	}
	ls, err := newLinkSchema(spec.New(doc), "make-thing")
	if err != nil {
		t.Fatal(err)
	}
	in := parseObject([]byte(`{
		"amount": 5, "reference": "R-1", "priority": 7.0, "urgent": false, "tags": ["a", "b"],
		"secret_note": "not in the answer", "id": "from the client",
		"payee": {"middle_name": "Q", "shoe_size": 44},
		"delivery": {"method": "email", "email": "claimed@example.com", "language": "fr"}
	}`))
	if in == nil {
		t.Fatal("the body is not read as an object")
	}
	got := ls.build(in, map[string]any{"id": "made-by-mock", "amount": int64(5), "claimed_user_id": nil,
		"delivery": map[string]any{"method": "email"}})
	b, err := codec.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	// Sorted keys: the codec writes maps as encoding/json does.
	want := `{"amount":5,"claimed_user_id":null,"currency":"USD",` +
		`"delivery":{"language":"fr","method":"email"},"id":"made-by-mock","metadata":null,` +
		`"payee":{"email":null,"first_name":null,"middle_name":"Q","shoe_size":44},` +
		`"priority":7,"reference":"R-1","tags":["a","b"],"urgent":false}`
	if string(b) != want {
		t.Errorf("built\n%s\nwant\n%s", b, want)
	}
	// memo is in factsNull, but this spec does not let it be null: it is left out, not null.
	if _, ok := got["memo"]; ok {
		t.Errorf("memo written although the spec forbids null: %v", got["memo"])
	}

	if _, err := newLinkSchema(spec.New(doc), "no-such-operation"); err == nil || !strings.Contains(err.Error(), "no-such-operation") {
		t.Errorf("a missing operation: %v", err)
	}
}

// serverRequest is the request a generated builder made, as the mock's handler receives it: the
// test names the operation through the generated code, so a renamed one fails to compile.
func serverRequest(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err) // a builder fails only on a server or a parameter it cannot write
	}
	return httptest.NewRequest(r.Method, r.URL.RequestURI(), r.Body)
}

// TestOperationWithoutHandler: an operation of the spec the mock has no handler for answers 501
// with an Error body that names it, and the answer is one the spec allows (5XX).
func TestOperationWithoutHandler(t *testing.T) {
	t.Parallel()
	s := New()
	defer s.Close()
	delete(s.handlers, "redeliver-payout-link")
	r := serverRequest(gen.NewRedeliverPayoutLinkRequest("/api/", "3c90c3cc-0d44-4b50-8888-8dd25736052a"))
	r.SetBasicAuth("pk_test_x", "sk_test_x")
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	var e struct {
		Success   *bool  `json:"success"`
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || w.Code != http.StatusNotImplemented ||
		e.Success == nil || *e.Success || e.ErrorCode != "not-implemented" || !strings.Contains(e.Message, "redeliver-payout-link") {
		t.Errorf("%d %s, want 501 not-implemented naming the operation", w.Code, w.Body)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
	if rs := s.Requests(); len(rs) != 1 || rs[0].Operation != "redeliver-payout-link" || rs[0].Status != 501 {
		t.Errorf("recorded %+v", rs)
	}
}

// TestAnswerChecks: an answer that departs from the spec is reported in Violations (and still
// written), unless WithAnswerChecks(false) turned the checks off.
func TestAnswerChecks(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		s := New(WithAnswerChecks(on))
		s.handlers["get-payout-link"] = func(c *call) { c.applied(http.StatusOK)([]byte(`{"amount":"twelve"}`), nil) }
		r := serverRequest(gen.NewGetPayoutLinkRequest("/api/", "3c90c3cc-0d44-4b50-8888-8dd25736052a"))
		r.SetBasicAuth("pk_test_x", "sk_test_x")
		w := httptest.NewRecorder()
		s.Handler().ServeHTTP(w, r)
		v := s.Violations()
		if w.Code != 200 || (len(v) == 1 && strings.Contains(v[0], "$.amount")) != on || (!on && len(v) > 0) {
			t.Errorf("checks %v: %d, violations %v", on, w.Code, v)
		}
		s.Close()
	}
}
