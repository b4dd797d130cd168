package api_test

// The tests of the spec-evolution suite (TestEvolution in evolution_test.go at the repository's
// root, make evolution). In a temporary copy of the repository the suite adds fields, enum values,
// query parameters and operations to openapi.yaml, each named by a made-up word and a suffix
// (WORD+"str" is a new string field of PayoutLink), regenerates gen/, and runs make test with
// DOTS_EVOLUTION=WORD.
// These tests then prove each addition end to end through api.Client, Generated() and the mock.
// They reach what was added by its JSON name, through reflection, so they compile against any
// gen/ and the compiler, vet and staticcheck see them in every make check; without
// DOTS_EVOLUTION they skip.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/spec"
)

// evoWord returns the made-up word of the suite's edit, and skips the test outside the edited copy.
func evoWord(t *testing.T) string {
	t.Helper()
	w := os.Getenv("DOTS_EVOLUTION")
	if w == "" {
		t.Skip("runs in the copy of the repository whose openapi.yaml TestEvolution edited (make evolution sets DOTS_EVOLUTION)")
	}
	return w
}

// evoAt walks v by JSON names (a struct field) and indexes (a slice element), through pointers,
// to what the edited spec added; the test fails where the generated code lacks it.
func evoAt(t *testing.T, v any, path ...string) reflect.Value {
	t.Helper()
	at := reflect.ValueOf(v)
	for _, step := range path {
		for at.Kind() == reflect.Pointer {
			if at.IsNil() {
				t.Fatalf("nil pointer before %q in %v", step, path)
			}
			at = at.Elem()
		}
		switch at.Kind() {
		case reflect.Struct:
			var next reflect.Value
			for i := range at.NumField() {
				if name, _, _ := strings.Cut(at.Type().Field(i).Tag.Get("json"), ","); name == step {
					next = at.Field(i)
				}
			}
			if !next.IsValid() {
				t.Fatalf("%s has no field with the JSON name %q: did make generate run on the edited spec?", at.Type(), step)
			}
			at = next
		case reflect.Slice:
			i, err := strconv.Atoi(step)
			if err != nil || i >= at.Len() {
				t.Fatalf("no element %q in %v (length %d)", step, path, at.Len())
			}
			at = at.Index(i)
		default:
			t.Fatalf("cannot take %q of a %s", step, at.Type())
		}
	}
	return at
}

// evoSet sets the field of *v at path to x, which must be of the field's type.
func evoSet(t *testing.T, v any, x any, path ...string) {
	t.Helper()
	f := evoAt(t, v, path...)
	if f.Type() != reflect.TypeOf(x) {
		t.Fatalf("the field %v is a %s, want %T", path, f.Type(), x)
	}
	f.Set(reflect.ValueOf(x))
}

// evoSetEnum sets the optional enum field of *v at path (a pointer to a generated string type,
// which has no name at compile time) to value.
func evoSetEnum(t *testing.T, v any, value string, path ...string) {
	t.Helper()
	f := evoAt(t, v, path...)
	if f.Kind() != reflect.Pointer || f.Type().Elem().Kind() != reflect.String {
		t.Fatalf("the field %v is a %s, want a pointer to an enum", path, f.Type())
	}
	e := reflect.New(f.Type().Elem())
	e.Elem().SetString(value)
	f.Set(e)
}

// evoValid calls the Valid method of an enum value.
func evoValid(t *testing.T, v reflect.Value) bool {
	t.Helper()
	e, ok := v.Interface().(interface{ Valid() bool })
	if !ok || v.Kind() != reflect.String {
		t.Fatalf("%s is not a generated enum type (a string type with Valid)", v.Type())
	}
	return e.Valid()
}

// evoJSON is s with every "~" replaced by the made-up word.
func evoJSON(w, s string) string { return strings.ReplaceAll(s, "~", w) }

const evoID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

// The link in canonical forms, and in the forms the real API is known to drift to.
const (
	evoLink = `{"id":"` + evoID + `","amount":1250,"created":"2024-07-11T12:31:33Z","status":"~status",
		"delivery":{"method":"~method"},"payee":{"email":"jsmith@example.com"},
		"~str":"evolved","~int":5000,"~when":"2024-07-11T12:31:33.5Z","~obj":{"~inner":"inside"},
		"~objs":[{"~count":7},{"~count":8}],"~strs":["x","y"],"~kind":"~two"}`
	evoDriftLink = `{"id":"` + evoID + `","amount":1250.0,"created":"2024-07-11T12:31:33.479437","status":"~status",
		"~int":5000.0,"~when":"2024-07-11T12:31:33.479437","~objs":[{"~count":7.0}],"~kind":"~one"}`
	evoNullLink = `{"id":"` + evoID + `","~when":null}`
)

type evoAnswer struct {
	status int
	body   string
}

type evoRequest struct {
	method, path, auth string
	body               []byte
}

// evoServer answers from a script and checks every request, and every answer it gives, against
// the edited spec: requests must conform; answers may break it only by known drift.
type evoServer struct {
	t       *testing.T
	mu      sync.Mutex
	script  []evoAnswer
	seen    []evoRequest
	offSpec bool // the answers break the spec on purpose: not checked
	srv     *httptest.Server
}

func newEvoServer(t *testing.T, script ...evoAnswer) *evoServer {
	sp, err := spec.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	router := sp.Router("/api")
	s := &evoServer{t: t, script: script}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, evoRequest{r.Method, r.URL.Path, r.Header.Get("Authorization"), body})
		if len(s.script) == 0 {
			s.mu.Unlock()
			t.Errorf("an unscripted request: %s %s", r.Method, r.URL.Path)
			w.WriteHeader(http.StatusTeapot)
			return
		}
		a, offSpec := s.script[0], s.offSpec
		s.script = s.script[1:]
		s.mu.Unlock()
		if op, params, ok := router.Match(r); !ok {
			t.Errorf("%s %s is no operation of the edited spec", r.Method, r.URL.Path)
		} else {
			if len(body) == 0 {
				body = nil
			}
			if vs := sp.ValidateRequest(r.Context(), op, r, params, body); len(vs) > 0 {
				t.Errorf("the SDK sent a request that breaks the edited spec: %v", vs)
			}
			h := http.Header{"Content-Type": {"application/json"}}
			for _, v := range sp.ValidateResponse(r.Context(), op, r, a.status, h, []byte(a.body)) {
				if !v.Drift && !offSpec {
					t.Errorf("the test's answer breaks the edited spec: %v", v)
				}
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *evoServer) requests() []evoRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.seen)
}

// client is a client of the server with contract validation in report mode: findings collects
// what the validator reported.
func (s *evoServer) client(findings *[]api.ContractFinding, opts ...api.Option) *api.Client {
	var mu sync.Mutex
	c, err := api.NewClient("pk_test_evolution", "sk_test_evolution", append([]api.Option{api.WithBaseURL(s.srv.URL + "/api"),
		api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond}),
		api.WithContractValidation(api.ContractReport),
		api.WithContractReporter(func(f api.ContractFinding) {
			mu.Lock()
			defer mu.Unlock()
			*findings = append(*findings, f)
		})}, opts...)...)
	if err != nil {
		s.t.Fatal(err)
	}
	return c
}

// evoSetNest sets the request's new object: a string, an integer, false for the boolean that
// defaults to true, and the object inside it with false for its boolean. Its scalars are pointers
// (the object is a request schema), so false and 0 are sent rather than left out.
func evoSetNest(t *testing.T, b *gen.CreatePayoutLinkRequest, w string) {
	t.Helper()
	evoSet(t, b, api.Ptr("L-1"), w+"nest", w+"label")
	evoSet(t, b, api.Ptr[dots.Int](3), w+"nest", w+"count")
	evoSet(t, b, api.Ptr(false), w+"nest", w+"on")
	evoSet(t, b, api.Ptr[dots.Int](2), w+"nest", w+"deep", w+"depth")
	evoSet(t, b, api.Ptr(false), w+"nest", w+"deep", w+"far")
}

// evoNestJSON is the new object evoSetNest sets, as JSON.
const evoNestJSON = `{"~label":"L-1","~count":3,"~on":false,"~deep":{"~depth":2,"~far":false}}`

// evoSameJSON reports whether a and b are the same JSON value, whatever their members' order.
func evoSameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// TestEvolvedFieldRoundTripsThroughTheMock: fields the request and the payout link both gained,
// a string and a new object with an object inside, go through the mock, which has no code for
// them, and come back on create, get and list: the object with its false booleans as false (a
// boolean that defaults to true left out would read back as true).
func TestEvolvedFieldRoundTripsThroughTheMock(t *testing.T) {
	t.Parallel()
	w := evoWord(t)
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	c, err := api.NewClient("pk_test_evolution", "sk_test_evolution", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	b := gen.CreatePayoutLinkRequest{Amount: 1250}
	evoSet(t, &b, api.Ptr("S-1"), w+"shared")
	evoSetNest(t, &b, w)
	link, err := c.CreatePayoutLink(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.GetPayoutLink(ctx, link.ID)
	if err != nil {
		t.Fatal(err)
	}
	page, err := c.ListPayoutLinks(ctx, nil)
	if err != nil || len(page.Data) != 1 {
		t.Fatalf("list: %v %v", page, err)
	}
	stored, _ := srv.LinkJSON(link.ID)
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(stored, &doc); err != nil {
		t.Fatal(err)
	}
	if !evoSameJSON(t, doc[w+"nest"], []byte(evoJSON(w, evoNestJSON))) {
		t.Errorf("the mock keeps %snest as %s, want %s", w, doc[w+"nest"], evoJSON(w, evoNestJSON))
	}
	for name, l := range map[string]gen.PayoutLink{"create": *link, "get": *got, "list": page.Data[0]} {
		if v := evoAt(t, l, w+"shared").Interface(); v != "S-1" {
			t.Errorf("%s answered %sshared %#v, want the request's S-1", name, w, v)
		}
		// The model read back, written again: false is there (a nil pointer would be left out).
		nest, err := json.Marshal(evoAt(t, l, w+"nest").Interface())
		if err != nil {
			t.Fatal(err)
		}
		if !evoSameJSON(t, nest, []byte(evoJSON(w, evoNestJSON))) {
			t.Errorf("%s answered %snest %s, want the request's %s", name, w, nest, evoJSON(w, evoNestJSON))
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("the mock answered outside the edited spec: %v", v)
	}
}

func TestEvolvedResponseFields(t *testing.T) {
	t.Parallel()
	w := evoWord(t)
	ctx := context.Background()
	get := map[string]func(c *api.Client) (gen.PayoutLink, error){
		"typed": func(c *api.Client) (gen.PayoutLink, error) {
			link, err := c.GetPayoutLink(ctx, evoID)
			if err != nil || link == nil {
				return gen.PayoutLink{}, err
			}
			return *link, nil
		},
		"generated": func(c *api.Client) (gen.PayoutLink, error) {
			resp, err := c.Generated().GetPayoutLinkWithResponse(ctx, evoID)
			if err != nil || resp.JSON200 == nil {
				return gen.PayoutLink{}, err
			}
			return *resp.JSON200, nil
		},
	}
	for name, get := range get {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			var findings []api.ContractFinding
			s := newEvoServer(t, evoAnswer{200, evoJSON(w, evoLink)}, evoAnswer{200, evoJSON(w, evoDriftLink)},
				evoAnswer{200, evoJSON(w, evoNullLink)})
			c := s.client(&findings)

			// Canonical forms: every new field, with the Go type the spec's kind maps to (an
			// interface holding a value equals another only when their types are the same).
			link, err := get(c)
			if err != nil {
				t.Fatal(err)
			}
			at := func(path ...string) any { return evoAt(t, link, path...).Interface() }
			when, isTime := at(w + "when").(dots.Timestamp)
			strs, isStrings := at(w + "strs").([]string)
			if at(w+"str") != "evolved" || at(w+"int") != dots.Int(5000) ||
				!isTime || !when.Equal(time.Date(2024, 7, 11, 12, 31, 33, 5e8, time.UTC)) ||
				at(w+"obj", w+"inner") != "inside" || !isStrings || !slices.Equal(strs, []string{"x", "y"}) ||
				evoAt(t, link, w+"objs").Len() != 2 || at(w+"objs", "1", w+"count") != dots.Int(8) ||
				evoAt(t, link, w+"kind").String() != w+"two" || !evoValid(t, evoAt(t, link, w+"kind")) {
				t.Errorf("canonical forms decoded as %+v", link)
			}
			if link.Status != gen.PayoutLinkStatus(w+"status") || !link.Status.Valid() ||
				link.Delivery.Method != gen.DeliveryMethod(w+"method") || !link.Delivery.Method.Valid() {
				t.Errorf("the new enum values decoded as %q, %q", link.Status, link.Delivery.Method)
			}
			if len(findings) != 0 {
				t.Errorf("canonical forms were reported: %+v", findings)
			}
			// Encoding the model writes the spec's forms back.
			b, err := json.Marshal(link)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"~str":"evolved"`, `"~int":5000,`, `"~when":"2024-07-11T12:31:33.5Z"`,
				`"~obj":{"~inner":"inside"}`, `"~objs":[{"~count":7},{"~count":8}]`, `"~strs":["x","y"]`, `"~kind":"~two"`} {
				if !strings.Contains(string(b), evoJSON(w, want)) {
					t.Errorf("the model encodes as %s, without %s", b, evoJSON(w, want))
				}
			}

			// The drift forms decode, are reported as known drift only, and encode canonically.
			if link, err = get(c); err != nil {
				t.Fatal(err)
			}
			when, isTime = at(w + "when").(dots.Timestamp)
			if at(w+"int") != dots.Int(5000) || !isTime || !when.Equal(time.Date(2024, 7, 11, 12, 31, 33, 479437000, time.UTC)) ||
				at(w+"objs", "0", w+"count") != dots.Int(7) || link.Amount != 1250 || evoAt(t, link, w+"kind").String() != w+"one" {
				t.Errorf("drift forms decoded as %+v", link)
			}
			var paths []string
			for _, f := range findings {
				if !f.OnlyDrift() {
					t.Errorf("a finding that is not only drift: %+v", f)
				}
				for _, v := range f.Violations {
					paths = append(paths, v.Path)
				}
			}
			slices.Sort(paths)
			want := []string{"$.amount", "$.created", "$." + w + "int", "$." + w + "objs.0." + w + "count", "$." + w + "when"}
			if !slices.Equal(paths, want) {
				t.Errorf("drift reported at %v, want %v", paths, want)
			}
			if b, err = json.Marshal(link); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`"~int":5000,`, `"~when":"2024-07-11T12:31:33.479437Z"`, `"~count":7}`} {
				if !strings.Contains(string(b), evoJSON(w, want)) {
					t.Errorf("the model encodes as %s, without %s", b, evoJSON(w, want))
				}
			}

			// null reads as the zero value, which is left out when encoding.
			if link, err = get(c); err != nil {
				t.Fatal(err)
			}
			if when, _ := at(w + "when").(dots.Timestamp); !when.IsZero() {
				t.Errorf("null date-time read as %v", when)
			}
			if b, _ := json.Marshal(link); strings.Contains(string(b), w+"when") {
				t.Errorf("a zero time is encoded: %s", b)
			}
		})
	}
}

// TestEvolvedRequestFields: new optional request fields (a string, an integer, a boolean set to
// false, and a new object with an object inside) reach the wire through api.Client and
// Generated() as set, false included, and are left out when unset.
func TestEvolvedRequestFields(t *testing.T) {
	t.Parallel()
	w := evoWord(t)
	ctx := context.Background()
	created := evoJSON(w, `{"id":"`+evoID+`","amount":1250,"status":"created","delivery":{"method":"~method"},"payee":{"email":"jsmith@example.com"}}`)
	var findings []api.ContractFinding
	s := newEvoServer(t, evoAnswer{201, created}, evoAnswer{201, created}, evoAnswer{201, created}, evoAnswer{201, created})
	c := s.client(&findings)
	body := func(set bool) gen.CreatePayoutLinkRequest {
		b := gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethod(w + "method")}, IdempotencyKey: api.Ptr(api.NewIdempotencyKey())}
		if set {
			// Optional request scalars are pointers, as every request field of their kind, so
			// that false is sent: the new boolean, and those of the new object.
			evoSet(t, &b, api.Ptr("R-1"), w+"req")
			evoSet(t, &b, api.Ptr[dots.Int](42), w+"reqint")
			evoSet(t, &b, api.Ptr(false), w+"flag")
			evoSetNest(t, &b, w)
		}
		return b
	}
	if _, err := c.CreatePayoutLink(ctx, body(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreatePayoutLink(ctx, body(false)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Generated().CreatePayoutLinkWithResponse(ctx, body(true)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Generated().CreatePayoutLinkWithResponse(ctx, body(false)); err != nil {
		t.Fatal(err)
	}
	seen := s.requests()
	if len(seen) != 4 {
		t.Fatalf("%d requests, want 4", len(seen))
	}
	for i, r := range seen {
		var got map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		set := i%2 == 0
		_, hasReq := got[w+"req"]
		_, hasReqInt := got[w+"reqint"]
		_, hasFlag := got[w+"flag"]
		_, hasNest := got[w+"nest"]
		switch {
		case set && (string(got[w+"req"]) != `"R-1"` || string(got[w+"reqint"]) != "42" || string(got[w+"flag"]) != "false" ||
			!hasNest || !evoSameJSON(t, got[w+"nest"], []byte(evoJSON(w, evoNestJSON)))):
			t.Errorf("request %d: the set fields are not on the wire: %s", i, r.body)
		case !set && (hasReq || hasReqInt || hasFlag || hasNest):
			t.Errorf("request %d: unset fields are on the wire: %s", i, r.body)
		}
		if !strings.Contains(string(got["delivery"]), evoJSON(w, `"method":"~method"`)) {
			t.Errorf("request %d: the new delivery method is not on the wire: %s", i, r.body)
		}
	}
	if len(findings) != 0 {
		t.Errorf("contract findings: %+v", findings)
	}
}

// evoTransport is an http.RoundTripper made of a function.
type evoTransport func(*http.Request) (*http.Response, error)

func (f evoTransport) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestEvolvedQueryParameters: the new query parameters of list-payout-links, one of each type,
// go on the wire through Generated() as the spec says (a date-time as RFC 3339 with its time and
// fraction, false as false), and the mock, which has no code for them, filters by the field of
// the link each names; a parameter that names no field of the link is refused with 501.
func TestEvolvedQueryParameters(t *testing.T) {
	t.Parallel()
	w := evoWord(t)
	ctx := context.Background()
	srv := mock.NewServer()
	defer srv.Close()
	var mu sync.Mutex
	var sent url.Values // the query of the last request
	hc := &http.Client{Transport: evoTransport(func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		sent = r.URL.Query()
		mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, err := api.NewClient("pk_test_evolution", "sk_test_evolution", api.WithBaseURL(srv.BaseURL()), api.WithHTTPClient(hc), api.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s, ns int) dots.Timestamp {
		return dots.Timestamp{Time: time.Date(2030, 1, 2, h, m, s, ns, time.UTC)}
	}

	// Links with different values of the fields the parameters filter by, and one without them.
	names := map[string]string{} // by id
	for _, l := range []struct {
		name string
		due  dots.Timestamp
		num  dots.Int
		flag bool
		tier string
	}{{"a", at(9, 0, 0, 0), 7, false, w + "gold"}, {"b", at(15, 0, 0, 0), 8, true, w + "lead"}, {name: "none"}} {
		b := gen.CreatePayoutLinkRequest{Amount: 1250}
		if l.name != "none" {
			evoSet(t, &b, &l.due, w+"due")
			evoSet(t, &b, &l.num, w+"num")
			evoSet(t, &b, &l.flag, w+"flag")
			evoSetEnum(t, &b, l.tier, w+"tier")
		}
		link, err := c.CreatePayoutLink(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		names[link.ID] = l.name
	}

	tests := []struct {
		param  string // the parameter set, and its value on the wire
		wire   string
		set    func(p *gen.ListPayoutLinksParams)
		status int
		want   []string // the links listed
	}{
		{"", "", func(*gen.ListPayoutLinksParams) {}, 200, []string{"a", "b", "none"}},
		{"due_after", "2030-01-02T12:30:00Z", func(p *gen.ListPayoutLinksParams) { evoSet(t, p, api.Ptr(at(12, 30, 0, 0)), w+"due_after") }, 200, []string{"b"}},
		{"due_after", "2030-01-02T08:59:59.5Z", func(p *gen.ListPayoutLinksParams) { evoSet(t, p, api.Ptr(at(8, 59, 59, 5e8)), w+"due_after") }, 200, []string{"a", "b"}},
		{"num", "7", func(p *gen.ListPayoutLinksParams) { evoSet(t, p, api.Ptr(7), w+"num") }, 200, []string{"a"}},
		{"flag", "false", func(p *gen.ListPayoutLinksParams) { evoSet(t, p, api.Ptr(false), w+"flag") }, 200, []string{"a"}},
		{"flag", "true", func(p *gen.ListPayoutLinksParams) { evoSet(t, p, api.Ptr(true), w+"flag") }, 200, []string{"b"}},
		{"tier", w + "lead", func(p *gen.ListPayoutLinksParams) { evoSetEnum(t, p, w+"lead", w+"tier") }, 200, []string{"b"}},
		{"colour", "red", func(p *gen.ListPayoutLinksParams) { evoSet(t, p, api.Ptr("red"), w+"colour") }, 501, nil},
	}
	for _, tt := range tests {
		var p gen.ListPayoutLinksParams
		tt.set(&p)
		mu.Lock()
		sent = nil
		mu.Unlock()
		resp, err := c.Generated().ListPayoutLinksWithResponse(ctx, &p)
		mu.Lock()
		query := sent
		mu.Unlock()
		want := url.Values{}
		if tt.param != "" {
			want.Set(w+tt.param, tt.wire)
		}
		if !reflect.DeepEqual(query, want) {
			t.Errorf("%s: the query sent is %v, want %v (nil: nothing was sent)", tt.param, query, want)
		}
		if tt.status != 200 {
			var e *api.Error
			if !errors.As(err, &e) || e.StatusCode != tt.status || e.Operation != "list-payout-links" {
				t.Errorf("%s: err = %v, want a %d of list-payout-links", tt.param, err, tt.status)
			}
			continue
		}
		if err != nil || resp.JSON200 == nil {
			t.Errorf("%s=%s: %v", tt.param, tt.wire, err)
			continue
		}
		var got []string
		for _, l := range resp.JSON200.Data {
			got = append(got, names[l.ID])
		}
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s=%s listed %v, want %v", tt.param, tt.wire, got, tt.want)
		}
	}
	if v := srv.Violations(); len(v) > 0 {
		t.Errorf("the mock answered outside the edited spec: %v", v)
	}
}

func TestEvolvedEnums(t *testing.T) {
	t.Parallel()
	w := evoWord(t)
	if m := gen.DeliveryMethod(w + "method"); !slices.Contains(gen.DeliveryMethodValues(), m) || !m.Valid() {
		t.Errorf("DeliveryMethod lacks %s: %v", m, gen.DeliveryMethodValues())
	}
	if s := gen.PayoutLinkStatus(w + "status"); !slices.Contains(gen.PayoutLinkStatusValues(), s) || !s.Valid() {
		t.Errorf("PayoutLinkStatus lacks %s: %v", s, gen.PayoutLinkStatusValues())
	}
	var link gen.PayoutLink
	kind := evoAt(t, &link, w+"kind")
	if kind.SetString(w + "two"); !evoValid(t, kind) {
		t.Errorf("the new enum field's type does not know %stwo", w)
	}
	if kind.SetString("neither"); evoValid(t, kind) {
		t.Error("the new enum field's type takes any value as valid")
	}
}

// evoOperation calls the generated method of a new operation by its name, with the link id, and
// returns the status, the link answered and the error.
func evoOperation(t *testing.T, c *api.Client, method string) func() (int, *gen.PayoutLink, error) {
	t.Helper()
	call := reflect.ValueOf(c.Generated()).MethodByName(method)
	if !call.IsValid() {
		t.Fatalf("the generated client has no method %s", method)
	}
	return func() (status int, link *gen.PayoutLink, err error) {
		out := call.Call([]reflect.Value{reflect.ValueOf(context.Background()), reflect.ValueOf(evoID)})
		err, _ = out[1].Interface().(error)
		if resp := out[0]; !resp.IsNil() {
			status = int(resp.MethodByName("StatusCode").Call(nil)[0].Int())
			link, _ = resp.Elem().FieldByName("JSON200").Interface().(*gen.PayoutLink)
		}
		return status, link, err
	}
}

// TestEvolvedOperation: a new operation is reached through Generated() with the whole pipeline
// (auth, retries, typed errors), and gets the pipeline's rules for answers and outcomes, as every
// typed call does, whether it reads (GET) or may act (a POST without an idempotency key).
func TestEvolvedOperation(t *testing.T) {
	t.Parallel()
	w := evoWord(t)
	var findings []api.ContractFinding
	s := newEvoServer(t, evoAnswer{503, `{"message":"try later"}`}, evoAnswer{200, evoJSON(w, evoLink)},
		evoAnswer{404, `{"message":"no such link","error_code":"not-found"}`})
	c := s.client(&findings)
	// The new operation's method of the generated client, found by the name oapi-codegen gives
	// the operationId WORD-payout-link.
	newOp := evoOperation(t, c, strings.ToUpper(w[:1])+w[1:]+"PayoutLinkWithResponse")

	// Through Generated(), with the whole pipeline: a 503 is retried, and auth is sent each time.
	status, link, err := newOp()
	if err != nil {
		t.Fatal(err)
	}
	if status != 200 || link == nil || evoAt(t, link, w+"str").Interface() != "evolved" {
		t.Fatalf("the new operation answered %d %+v", status, link)
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk_test_evolution:sk_test_evolution"))
	seen := s.requests()
	if len(seen) != 2 {
		t.Fatalf("%d requests, want 2 (the 503, then its retry)", len(seen))
	}
	for _, r := range seen {
		if r.method != "GET" || r.path != "/api/v2/payout-links/"+evoID+"/"+w+"op" || r.auth != auth {
			t.Errorf("request %s %s with auth %t", r.method, r.path, r.auth == auth)
		}
	}

	// A 4xx is a typed *api.Error, and is not retried.
	_, _, err = newOp()
	var apiErr *api.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "not-found" || apiErr.Operation != w+"-payout-link" {
		t.Fatalf("err = %#v, want *api.Error 404 not-found of %s-payout-link", err, w)
	}
	if n := len(s.requests()); n != 3 {
		t.Errorf("%d requests after the 404, want 3", n)
	}
	if len(findings) != 0 {
		t.Errorf("contract findings: %+v", findings)
	}

	// Answers off the spec, to the GET and to a new POST: a 200 with values of the wrong type is
	// read, each such field empty, with a Warning naming it; a 200 that is no object is an
	// unknown outcome naming the operation, never the generated decoder's bare error. A 503 is
	// retried for the GET, and not for the POST, which may have acted: an unknown outcome too.
	odd := `{"id":"` + evoID + `","amount":1250,"~str":5,"~int":"many"}`
	goName := strings.ToUpper(w[:1]) + w[1:]
	for _, op := range []struct {
		id, call, method, path string
		attempts503            int
	}{
		{w + "-payout-link", goName + "PayoutLinkWithResponse", "GET", w + "op", 3},
		{w + "-act-payout-link", goName + "ActPayoutLinkWithResponse", "POST", w + "act", 1},
	} {
		t.Run(op.method, func(t *testing.T) {
			t.Parallel()
			s := newEvoServer(t, evoAnswer{200, evoJSON(w, odd)}, evoAnswer{200, `[1,2]`},
				evoAnswer{503, `{"message":"try later"}`}, evoAnswer{503, `{"message":"try later"}`}, evoAnswer{503, `{"message":"try later"}`})
			s.offSpec = true
			var warned []string
			var ignored []api.ContractFinding // report mode reports the answers off the spec
			c := s.client(&ignored, api.WithWarnings(func(_ context.Context, wa api.Warning) {
				if wa.Operation != op.id {
					t.Errorf("a warning of %q, want %q", wa.Operation, op.id)
				}
				warned = append(warned, wa.Field)
			}))
			call := evoOperation(t, c, op.call)

			status, link, err := call()
			slices.Sort(warned)
			if err != nil || status != 200 || link == nil || link.ID != evoID || link.Amount != 1250 ||
				evoAt(t, link, w+"str").Interface() != "" || evoAt(t, link, w+"int").Interface() != dots.Int(0) {
				t.Errorf("the answer with odd fields: %d %+v %v; want it read, odd fields empty", status, link, err)
			}
			if want := []string{w + "int", w + "str"}; !slices.Equal(warned, want) {
				t.Errorf("warnings for %v, want %v", warned, want)
			}

			_, _, err = call()
			var re *api.RequestError
			if !errors.Is(err, api.ErrOutcomeUnknown) || !errors.As(err, &re) || re.Operation != op.id {
				t.Errorf("the answer that is no object: err = %v; want an unknown outcome of %s", err, op.id)
			}

			_, _, err = call()
			var apiErr *api.Error
			if !errors.Is(err, api.ErrOutcomeUnknown) || !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Operation != op.id {
				t.Errorf("the 503: err = %v; want an unknown outcome of %s", err, op.id)
			}
			seen := s.requests()
			if len(seen) != 2+op.attempts503 {
				t.Errorf("%d requests, want %d", len(seen), 2+op.attempts503)
			}
			for _, r := range seen {
				if r.method != op.method || r.path != "/api/v2/payout-links/"+evoID+"/"+op.path {
					t.Errorf("request %s %s", r.method, r.path)
				}
			}
		})
	}
}
