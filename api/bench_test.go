package api_test

// Benchmarks of the SDK against a hand-written client (the "floor"), measured in the same run.
// Run them with `make bench` (benchstat prints ratios to the floor), or directly:
//
//	go test -run '^$' -bench . -benchmem ./api ./mock
//
// Every group has the floor as a sub-benchmark of its own and then the SDK variants; each of
// those also runs the floor, interleaved with itself (see run), and reports, besides ns/op, B/op
// and allocs/op, its ratio to the floor in the same run: x-floor-time (time per op),
// x-floor-allocs (allocations per op) and, for the parallel group, x-floor-tput (throughput,
// higher is better). BENCHMARKS.md explains the scenarios and the results.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/spec"
)

// ---- The floor: what a competent developer writes by hand with net/http and encoding/json ----

type floorCreateRequest struct {
	Amount         int64          `json:"amount"`
	Payee          *floorPayee    `json:"payee,omitempty"`
	Delivery       *floorDelivery `json:"delivery,omitempty"`
	Memo           string         `json:"memo,omitempty"`
	IdempotencyKey string         `json:"idempotency_key,omitempty"`
}

type floorPayee struct {
	FirstName   string `json:"first_name,omitempty"`
	LastName    string `json:"last_name,omitempty"`
	Email       string `json:"email,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

type floorDelivery struct {
	Method      string `json:"method,omitempty"`
	Email       string `json:"email,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	PhoneNumber string `json:"phone_number,omitempty"`
}

type floorLink struct {
	ID             string            `json:"id"`
	Created        time.Time         `json:"created"`
	Link           string            `json:"link"`
	Amount         int64             `json:"amount"`
	Status         string            `json:"status"`
	Payee          floorPayee        `json:"payee"`
	Delivery       floorDelivery     `json:"delivery"`
	TaxExempt      bool              `json:"tax_exempt"`
	ClaimedUserID  *string           `json:"claimed_user_id"`
	FlowID         string            `json:"flow_id"`
	TransferID     *string           `json:"transfer_id"`
	Memo           string            `json:"memo"`
	Description    string            `json:"description"`
	Metadata       map[string]string `json:"metadata"`
	AccountingData struct {
		QuickbooksAccountID *int64 `json:"quickbooks_account_id"`
		QuickbooksClassID   *int64 `json:"quickbooks_class_id"`
	} `json:"accounting_data"`
	FundingSource string `json:"funding_source"`
}

type floorPage struct {
	Data    []floorLink `json:"data"`
	HasMore bool        `json:"has_more"`
}

// floorClient is the hand-written client: a precomputed Basic header, json.Marshal,
// http.NewRequestWithContext, io.ReadAll and json.Unmarshal.
type floorClient struct {
	hc   *http.Client
	base string
	auth string
}

func newFloor(hc *http.Client, base string) *floorClient {
	return &floorClient{hc: hc, base: base,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testAPIKey))}
}

func (f *floorClient) do(req *http.Request, want int, v any) error {
	req.Header.Set("Authorization", f.auth)
	req.Header.Set("Accept", "application/json")
	resp, err := f.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("dots: %s: %s", resp.Status, b)
	}
	return json.Unmarshal(b, v)
}

// create sends the same body as the SDK: the same fields and a fresh idempotency key.
func (f *floorClient) create(ctx context.Context) (*floorLink, error) {
	body, err := json.Marshal(floorCreateRequest{
		Amount:         1250,
		Payee:          &floorPayee{FirstName: "Jane", LastName: "Smith", Email: "jsmith@example.com"},
		Delivery:       &floorDelivery{Method: "email"},
		Memo:           "March invoice",
		IdempotencyKey: uuid.NewString(),
	})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.base+"/v2/payout-links", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	var link floorLink
	if err := f.do(req, http.StatusCreated, &link); err != nil {
		return nil, err
	}
	return &link, nil
}

// walk reads every link, 100 a page, as the SDK's iterator does.
func (f *floorClient) walk(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		q := url.Values{"limit": {"100"}}
		if after != "" {
			q.Set("starting_after", after)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.base+"/v2/payout-links?"+q.Encode(), nil)
		if err != nil {
			return n, err
		}
		var page floorPage
		if err := f.do(req, http.StatusOK, &page); err != nil {
			return n, err
		}
		n += len(page.Data)
		if !page.HasMore || len(page.Data) == 0 {
			return n, nil
		}
		after = page.Data[len(page.Data)-1].ID
	}
}

// ---- The SDK, and the bare generated client ----

var (
	benchEmail = "jsmith@example.com"
	benchFirst = "Jane"
	benchLast  = "Smith"
	benchMemo  = "March invoice"
)

func sdkCreateBody() gen.CreatePayoutLinkRequest {
	return gen.CreatePayoutLinkRequest{
		Amount:   1250,
		Payee:    gen.Payee{FirstName: &benchFirst, LastName: &benchLast, Email: &benchEmail},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
		Memo:     &benchMemo,
	}
}

func newBenchSDK(b testing.TB, hc *http.Client, base string, opts ...api.Option) *api.Client {
	b.Helper()
	c, err := api.NewClient(testClientID, testAPIKey, append([]api.Option{api.WithBaseURL(base), api.WithHTTPClient(hc)}, opts...)...)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// sdkCreate is a create through api.Client: input checks, a fresh idempotency key, auth, the
// retry wrapper, and the typed decode.
func sdkCreate(c *api.Client) func(context.Context) error {
	return func(ctx context.Context) error {
		link, err := c.CreatePayoutLink(ctx, sdkCreateBody())
		if err == nil && link.ID == "" {
			err = fmt.Errorf("no id")
		}
		return err
	}
}

// genCreate is a create through the bare generated client with a request editor for auth.
func genCreate(b *testing.B, hc *http.Client, base string) func(context.Context) error {
	b.Helper()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testAPIKey))
	g, err := gen.NewClientWithResponses(base, gen.WithHTTPClient(hc),
		gen.WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
			req.Header.Set("Authorization", auth)
			return nil
		}))
	if err != nil {
		b.Fatal(err)
	}
	return func(ctx context.Context) error {
		body := sdkCreateBody()
		body.IdempotencyKey = api.Ptr(uuid.NewString())
		resp, err := g.CreatePayoutLinkWithResponse(ctx, body)
		if err != nil {
			return err
		}
		if resp.JSON201 == nil || resp.JSON201.ID == "" {
			return fmt.Errorf("status %d", resp.StatusCode())
		}
		return nil
	}
}

func floorCreate(f *floorClient) func(context.Context) error {
	return func(ctx context.Context) error {
		link, err := f.create(ctx)
		if err == nil && link.ID == "" {
			err = fmt.Errorf("no id")
		}
		return err
	}
}

// ---- Transports ----

// cannedTransport answers every request in memory with the same response, after reading the
// request body as a real transport would: it measures the client-side cost only.
type cannedTransport struct {
	status int
	body   []byte
	ctype  []string
	clen   []string
}

func newCanned(status int, body string) *cannedTransport {
	return &cannedTransport{status: status, body: []byte(body), ctype: []string{"application/json"},
		clen: []string{strconv.Itoa(len(body))}}
}

func (t *cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		Status: strconv.Itoa(t.status), StatusCode: t.status, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": t.ctype, "Content-Length": t.clen},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}, nil
}

// loopback serves the canned create answer on a loopback port with keep-alive connections.
func loopback(b *testing.B) (*http.Client, string) {
	b.Helper()
	body := []byte(linkJSON)
	clen := strconv.Itoa(len(body))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{clen}
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}, srv.URL + "/api"
}

// ---- Ratios to the floor ----
//
// A shared machine's speed drifts, so a ratio of two sub-benchmarks run one after the other
// measures the drift too. Each SDK sub-benchmark therefore also runs the floor itself, in spans
// interleaved with its own (the floor's time and allocations are kept out of the sub-benchmark's
// ns/op, B/op and allocs/op), and reports its ratio to the floor from those pairs: x-floor-time
// and x-floor-allocs (lower is better) or, for throughput, x-floor-tput (higher is better). The
// floor has a sub-benchmark of its own too, for the table, which reports 1.

// pairSpan is about how long one side runs before the other takes over: long against a garbage
// collection cycle, so that each side pays for the collections its own garbage causes.
const pairSpan = 100 * time.Millisecond

type op func(context.Context) error

func mallocs() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.Mallocs
}

// run times op; when floor is not nil, it also reports the ratio of op to floor, and returns
// both times per operation.
func run(b *testing.B, fn, floor op) (ns, floorNs float64) {
	b.ReportAllocs()
	ctx := context.Background()
	var (
		n, floorN, batch int
		floorTime        time.Duration
		floorAllocs      uint64
		start            = mallocs()
	)
	runFloor := func(k int) {
		b.StopTimer()
		m0 := mallocs()
		t0 := time.Now()
		for range k {
			if err := floor(ctx); err != nil {
				b.Fatal(err)
			}
		}
		floorTime += time.Since(t0)
		floorN += k
		floorAllocs += mallocs() - m0
		b.StartTimer()
	}
	if floor != nil {
		// Warm both up, then size the batches so that each side runs about pairSpan, long
		// enough to pay for the garbage collections its own allocations cause.
		for range 20 {
			if fn(ctx) != nil || floor(ctx) != nil {
				break
			}
		}
		t0 := time.Now()
		for range 20 {
			if err := fn(ctx); err != nil {
				b.Fatal(err)
			}
		}
		batch = int(min(max(pairSpan/max(time.Since(t0)/20, 1), 1), 1<<16))
		start = mallocs()
	}
	for b.Loop() {
		if err := fn(ctx); err != nil {
			b.Fatal(err)
		}
		if n++; floor != nil && n%batch == 0 {
			runFloor(batch)
		}
	}
	ns = float64(b.Elapsed().Nanoseconds()) / float64(n)
	if floor == nil {
		b.ReportMetric(1, "x-floor-time")
		b.ReportMetric(1, "x-floor-allocs")
		return ns, ns
	}
	if floorN == 0 {
		runFloor(max(batch, 1))
	}
	own := float64(mallocs()-start-floorAllocs) / float64(n)
	perFloor := float64(floorTime.Nanoseconds()) / float64(floorN)
	b.ReportMetric(ns/perFloor, "x-floor-time")
	b.ReportMetric(own/(float64(floorAllocs)/float64(floorN)), "x-floor-allocs")
	return ns, perFloor
}

// runParallel measures op with b.RunParallel (ns/op is wall time over all operations). When
// floor is not nil, it then runs phases of floor and op in turn, each on GOMAXPROCS goroutines,
// and reports the throughput ratio x-floor-tput (op's operations per second over the floor's;
// higher is better) and x-floor-time (its inverse).
func runParallel(b *testing.B, fn, floor op) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := fn(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if floor == nil {
		b.ReportMetric(1, "x-floor-time")
		b.ReportMetric(1, "x-floor-tput")
		return
	}
	if b.N < 100 {
		return
	}
	b.StopTimer()
	per := max(b.N/4, 200)
	var fnWall, floorWall time.Duration
	for range 4 {
		floorWall += phase(b, floor, per)
		fnWall += phase(b, fn, per)
	}
	b.ReportMetric(float64(fnWall)/float64(floorWall), "x-floor-time")
	b.ReportMetric(float64(floorWall)/float64(fnWall), "x-floor-tput")
}

// phase runs n operations on GOMAXPROCS goroutines and returns the wall time.
func phase(b *testing.B, fn op, n int) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	t0 := time.Now()
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			ctx := context.Background()
			for left.Add(-1) >= 0 {
				if err := fn(ctx); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(t0)
}

// ---- (a) client-side cost: an in-memory transport ----

func BenchmarkCreateInMemory(b *testing.B) {
	hc := &http.Client{Transport: newCanned(http.StatusCreated, linkJSON)}
	const base = "https://api.dots.dev/api"
	floor := floorCreate(newFloor(hc, base))
	b.Run("impl=floor", func(b *testing.B) { run(b, floor, nil) })
	b.Run("impl=sdk", func(b *testing.B) { run(b, sdkCreate(newBenchSDK(b, hc, base)), floor) })
	// One middleware that only passes the request on: what WithMiddleware costs per attempt. Its
	// x-floor ratios are to impl=sdk, the same create without middleware, paired the same way.
	passOn := func(req *http.Request, next api.Next) (*http.Response, error) { return next(req) }
	b.Run("impl=sdk-middleware", func(b *testing.B) {
		run(b, sdkCreate(newBenchSDK(b, hc, base, api.WithMiddleware(passOn))), sdkCreate(newBenchSDK(b, hc, base)))
	})
	b.Run("impl=gen", func(b *testing.B) { run(b, genCreate(b, hc, base), floor) })
}

// ---- (b) a loopback httptest server ----

func BenchmarkCreateLoopback(b *testing.B) {
	hc, base := loopback(b)
	floor := floorCreate(newFloor(hc, base))
	b.Run("impl=floor", func(b *testing.B) { run(b, floor, nil) })
	b.Run("impl=sdk", func(b *testing.B) { run(b, sdkCreate(newBenchSDK(b, hc, base)), floor) })
	b.Run("impl=gen", func(b *testing.B) { run(b, genCreate(b, hc, base), floor) })
}

// ---- (c) throughput on loopback, b.RunParallel ----

func BenchmarkCreateParallel(b *testing.B) {
	hc, base := loopback(b)
	floor := floorCreate(newFloor(hc, base))
	b.Run("impl=floor", func(b *testing.B) { runParallel(b, floor, nil) })
	b.Run("impl=sdk", func(b *testing.B) { runParallel(b, sdkCreate(newBenchSDK(b, hc, base)), floor) })
	b.Run("impl=gen", func(b *testing.B) { runParallel(b, genCreate(b, hc, base), floor) })
}

// ---- (d) contract validation of the request and the response, on and off ----

func BenchmarkCreateContract(b *testing.B) {
	hc := &http.Client{Transport: newCanned(http.StatusCreated, linkJSON)}
	const base = "https://api.dots.dev/api"
	var found int
	reporter := api.WithContractReporter(func(api.ContractFinding) { found++ })
	floor := floorCreate(newFloor(hc, base))
	off := sdkCreate(newBenchSDK(b, hc, base))
	b.Run("impl=floor", func(b *testing.B) { run(b, floor, nil) })
	b.Run("impl=sdk", func(b *testing.B) { run(b, off, floor) })
	b.Run("impl=sdk-report", func(b *testing.B) {
		// Its floor here is the SDK without validation; validation-ns/op is what validation adds
		// to one call (the request and its response).
		on, without := run(b, sdkCreate(newBenchSDK(b, hc, base, api.WithContractValidation(api.ContractReport), reporter)), off)
		b.ReportMetric(on-without, "validation-ns/op")
	})
	if found > 0 {
		b.Fatalf("the canned traffic broke the contract %d times", found)
	}
}

// BenchmarkValidator is the validator alone: one create request and its 201 response.
func BenchmarkValidator(b *testing.B) {
	v, err := spec.Embedded()
	if err != nil {
		b.Fatal(err)
	}
	op, _ := v.Operation("create-payout-link")
	body := sdkCreateBody()
	body.IdempotencyKey = api.Ptr("8e4c2a9e-6f1b-4c3a-9d2e-5b7a1f0c3d4e")
	built, err := gen.NewCreatePayoutLinkRequest("https://api.dots.dev/api/", body) // the "/" keeps /api
	if err != nil {
		b.Fatal(err)
	}
	reqBody, err := io.ReadAll(built.Body)
	if err != nil {
		b.Fatal(err)
	}
	// The request as a server receives it, with the method and URL the builder chose.
	req := httptest.NewRequest(built.Method, built.URL.String(), nil)
	req.Header.Set("Content-Type", built.Header.Get("Content-Type"))
	req.Header.Set("Authorization", "Basic "+testAuthValueForBench)
	respHeader := http.Header{"Content-Type": {"application/json"}}
	respBody := []byte(linkJSON)
	ctx := context.Background()
	check := func(vs []spec.Violation) {
		if len(vs) > 0 {
			b.Fatal(vs)
		}
	}
	b.Run("dir=request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(v.ValidateRequest(ctx, op, req, nil, reqBody))
		}
	})
	b.Run("dir=response", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(v.ValidateResponse(ctx, op, req, http.StatusCreated, respHeader, respBody))
		}
	})
	b.Run("dir=both", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			check(v.ValidateRequest(ctx, op, req, nil, reqBody))
			check(v.ValidateResponse(ctx, op, req, http.StatusCreated, respHeader, respBody))
		}
	})
}

// A fake credential that the secret scan does not look for (it is not the harness's).
var testAuthValueForBench = base64.StdEncoding.EncodeToString([]byte("pk_bench:sk_bench"))

// ---- (f) walking 1,000 links with the iterator, 100 a page ----

// pagedTransport serves 1,000 links in pages of 100, newest first, from memory.
type pagedTransport struct {
	pages [][]byte         // page bodies
	next  map[string]int   // starting_after id -> page index
	clen  map[int][]string // page index -> Content-Length
	ctype []string
}

func newPaged() *pagedTransport {
	t := &pagedTransport{next: map[string]int{}, clen: map[int][]string{}, ctype: []string{"application/json"}}
	const perPage, pages = 100, 10
	for p := range pages {
		var buf bytes.Buffer
		buf.WriteString(`{"data":[`)
		last := ""
		for i := range perPage {
			id := fmt.Sprintf("00000000-0000-4000-8000-%012d", p*perPage+i)
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(strings.ReplaceAll(linkJSON, linkID, id))
			last = id
		}
		fmt.Fprintf(&buf, `],"has_more":%t}`, p < pages-1)
		t.pages = append(t.pages, buf.Bytes())
		t.clen[p] = []string{strconv.Itoa(buf.Len())}
		t.next[last] = p + 1
	}
	return t
}

func (t *pagedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	p := 0
	if after := req.URL.Query().Get("starting_after"); after != "" {
		var ok bool
		if p, ok = t.next[after]; !ok {
			return nil, fmt.Errorf("unknown cursor %q", after)
		}
	}
	return &http.Response{
		Status: "200 OK", StatusCode: 200, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": t.ctype, "Content-Length": t.clen[p]},
		Body:          io.NopCloser(bytes.NewReader(t.pages[p])),
		ContentLength: int64(len(t.pages[p])),
		Request:       req,
	}, nil
}

func BenchmarkWalk1000(b *testing.B) {
	hc := &http.Client{Transport: newPaged()}
	const base = "https://api.dots.dev/api"
	f := newFloor(hc, base)
	floor := func(ctx context.Context) error {
		n, err := f.walk(ctx)
		if err == nil && n != 1000 {
			err = fmt.Errorf("walked %d links", n)
		}
		return err
	}
	b.Run("impl=floor", func(b *testing.B) { run(b, floor, nil) })
	b.Run("impl=sdk", func(b *testing.B) {
		c := newBenchSDK(b, hc, base)
		limit := 100
		run(b, func(ctx context.Context) error {
			n := 0
			for l, err := range c.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: &limit}) {
				if err != nil {
					return err
				}
				if l.ID != "" {
					n++
				}
			}
			if n != 1000 {
				return fmt.Errorf("walked %d links", n)
			}
			return nil
		}, floor)
	})
}

// ---- The codec decodes and encodes exactly as encoding/json does ----
//
// The SDK decodes success bodies and encodes create bodies with its codec (internal/codec:
// go-json-experiment with encoding/json's options). These tests hold it to encoding/json through
// the public API, for every generated type a call returns: a body the SDK decodes must give what
// json.Unmarshal gives (and fail where it fails), and a create must send the bytes json.Marshal
// writes.

var decodeSeeds = []string{
	linkJSON,
	`{}`, `null`, `[]`, `"x"`, ``, ` {"id":"a"} `, `{"id":"a"} x`,
	`{"id":"a","id":"b"}`, `{"ID":"x"}`, `{"Id":"x","id":"y"}`, `{"id":"\u0041\n"}`, `{"\u0069d":"x"}`,
	"{\"memo\":\"Jos\\u00e9 <&>\",\"description\":\"caf\xc3\xa9\",\"link\":\"bad \xff utf-8\"}",
	`{"amount":5000.0}`, `{"amount":"1250"}`, `{"amount":-0}`, `{"amount":1e3}`, `{"amount":99999999999999999999}`,
	`{"created":"2024-07-11T12:31:33.479437"}`, `{"created":"2024-07-11T12:31:33Z"}`, `{"created":null}`, `{"created":5}`,
	`{"metadata":"text"}`, `{"metadata":{"a":1,"b":"x","a":"y"}}`, `{"metadata":{}}`, `{"metadata":null}`, `{"metadata":[1]}`,
	`{"tax_exempt":null}`, `{"tax_exempt":"yes"}`, `{"payee":null}`, `{"payee":{"email":null,"first_name":"A"}}`, `{"payee":[]}`,
	`{"accounting_data":{"quickbooks_account_id":42,"quickbooks_class_id":1.5}}`, `{"status":"funds_pending","extra":{"a":[1,{"b":null}]}}`,
	`{"data":[` + linkJSON + `,null,{}],"has_more":true}`, `{"data":[]}`, `{"data":null,"has_more":null}`, `{"data":{}}`,
	`{"payout_link":` + linkJSON + `,"redelivered":true}`, `{"payout_link":null,"redelivered":false}`,
	`{"id":"a",}`, `{"id":"a"`, `{"id":tru}`, `{"x":[1,2,]}`, `{"x":"\q"}`, `{"x":01}`, "{\"x\":\"a\tb\"}",
}

func FuzzDecodeLikeEncodingJSON(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var warned int
		c := newBenchSDK(t, &http.Client{Transport: &cannedTransport{status: 200, body: body,
			ctype: []string{"application/json"}, clen: []string{strconv.Itoa(len(body))}}}, "https://api.dots.dev/api", api.WithMaxRetries(0),
			api.WithWarnings(func(_ context.Context, w api.Warning) { record(w.String()); warned++ }))
		ctx := context.Background()
		// Where encoding/json fails on a well-formed object (a value of the wrong type), the SDK
		// reads the rest and warns; it fails only where the body is no JSON object (or null) at all.
		object := json.Valid(body) && (bytes.HasPrefix(bytes.TrimSpace(body), []byte("{")) || string(bytes.TrimSpace(body)) == "null")
		check := func(name string, got any, err error, want any, wantErr error) {
			t.Helper()
			recordErr(err)
			switch {
			case wantErr != nil && object:
				if err != nil || warned == 0 {
					t.Fatalf("%s of %q: SDK error %v after %d warnings; encoding/json failed on one value (%v): want the rest and a warning", name, body, err, warned, wantErr)
				}
			case (err != nil) != (wantErr != nil):
				t.Fatalf("%s of %q: SDK error %v, encoding/json error %v", name, body, err, wantErr)
			case err == nil && !reflect.DeepEqual(got, want):
				t.Fatalf("%s of %q:\nSDK           %#v\nencoding/json %#v", name, body, got, want)
			}
			warned = 0
		}
		var link gen.PayoutLink
		wantErr := json.Unmarshal(body, &link)
		got, err := c.GetPayoutLink(ctx, linkID)
		check("get", deref(got), err, link, wantErr)
		var page gen.PayoutLinkList
		wantErr = json.Unmarshal(body, &page)
		gotPage, err := c.ListPayoutLinks(ctx, nil)
		check("list", deref(gotPage), err, page, wantErr)
		var res gen.RedeliverPayoutLinkResult
		wantErr = json.Unmarshal(body, &res)
		gotRes, err := c.RedeliverPayoutLink(ctx, linkID)
		check("redeliver", deref(gotRes), err, res, wantErr)
	})
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// sameJSON reports whether a and b hold the same JSON value.
func sameJSON(a, b []byte) bool {
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

// captureTransport keeps the last request body and answers a canned link.
type captureTransport struct {
	cannedTransport
	last []byte
}

func (t *captureTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.last, _ = io.ReadAll(req.Body)
	return t.cannedTransport.RoundTrip(req)
}

func FuzzEncodeLikeEncodingJSON(f *testing.F) {
	f.Add("March invoice", "Contractor payout", "Jane", "A-1001", uint8(0xff))
	f.Add("<b>&\u2028 \u2029\x01\x7f\\\"", "caf\xc3\xa9 \xff", "", "", uint8(0))
	f.Add("\t\n\r\b\f", "\u00e9\U0001F600", "O'Brien", "k", uint8(0x55))
	f.Fuzz(func(t *testing.T, memo, desc, name, meta string, mask uint8) {
		tr := &captureTransport{cannedTransport: *newCanned(http.StatusCreated, linkJSON)}
		c := newBenchSDK(t, &http.Client{Transport: tr}, "https://api.dots.dev/api", api.WithMaxRetries(0))
		key := "8e4c2a9e-6f1b-4c3a-9d2e-5b7a1f0c3d4e"
		body := gen.CreatePayoutLinkRequest{Amount: 1250, IdempotencyKey: api.Ptr(key)}
		if mask&1 != 0 {
			body.Memo = &memo
		}
		if mask&2 != 0 {
			body.Description = &desc
		}
		if mask&4 != 0 {
			body.Payee = gen.Payee{FirstName: &name, LastName: &memo, Email: &benchEmail}
			body.Delivery = gen.Delivery{Method: gen.DeliveryMethodEmail, Message: &desc}
		}
		if mask&8 != 0 && meta != "" {
			body.Metadata = dots.Metadata{meta: memo, "order": desc}
		}
		if mask&16 != 0 {
			yes, n := mask&32 != 0, dots.Int(mask)
			body.TaxExempt, body.ForceCollectComplianceInformation = &yes, &yes
			body.AccountingData = gen.AccountingData{QuickbooksAccountID: &n}
			body.PayoutFeeParty = gen.PayoutFeePartyUser
			body.FundingSource = gen.FundingSourceAch
		}
		if mask&64 != 0 {
			var step gen.AdditionalStep
			_ = step.FromStepName(gen.StepName("compliance"))
			body.AdditionalSteps = []gen.AdditionalStep{step}
		}
		want, err := json.Marshal(body)
		if err != nil {
			t.Skip(err)
		}
		if _, err := c.CreatePayoutLink(context.Background(), body); err != nil {
			var invalid *api.InvalidRequestError
			if errors.As(err, &invalid) {
				t.Skip("the input checks refuse it:", err)
			}
			t.Fatal(err)
		}
		// Byte for byte, except where a string is not valid UTF-8: encoding/json writes its
		// replacement character escaped (\ufffd), the codec as UTF-8; the JSON value is the same.
		valid := utf8.ValidString(memo) && utf8.ValidString(desc) && utf8.ValidString(name) && utf8.ValidString(meta)
		if valid && !bytes.Equal(tr.last, want) ||
			!sameJSON(tr.last, want) {
			t.Fatalf("the SDK sent\n%s\nencoding/json writes\n%s", tr.last, want)
		}
	})
}
