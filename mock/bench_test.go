package mock_test

// Throughput of the mock server for creates, with its request and answer validation against the
// spec (always on), next to a hand-written create handler doing the same work without validation
// (the floor: read the body, decode it, look the idempotency key up, build and encode a full
// link, keep it, answer it). Run with `make bench`.
//
// MockLoopback is the scenario of BENCHMARKS.md (e): creates over loopback HTTP from 8 client
// goroutines on the same machine. Each sub-benchmark reports creates/s and the 99th percentile
// of a create's latency (p99-ms); impl=mock also runs the floor and itself in turn, in phases of
// the same size, and reports the throughput ratio to the floor in the same run (x-floor-tput,
// higher is better) and the floor's p99 in those phases (floor-p99-ms).

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

var benchAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testAPIKey))

// createBodyHead and createBodyTail are a realistic create request, encoded from the generated
// type once (a renamed field fails to compile) and cut around its idempotency key.
var createBodyHead, createBodyTail = func() (string, string) {
	const key = "00000000-0000-4000-8000-000000000000"
	b, err := json.Marshal(gen.CreatePayoutLinkRequest{Amount: 1250,
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}, IdempotencyKey: api.Ptr(key), Memo: api.Ptr("March invoice"),
		Payee: gen.Payee{Email: api.Ptr("jsmith@example.com"), FirstName: api.Ptr("Jane"), LastName: api.Ptr("Smith")}})
	head, tail, ok := strings.Cut(string(b), key)
	if err != nil || !ok {
		panic(fmt.Sprintf("the create body %s: %v", b, err))
	}
	return head, tail
}()

// createBody is the create request with a fresh idempotency key: no more work per request than
// the body written out by hand it replaces, the same for the floor and the mock.
func createBody() []byte {
	return []byte(createBodyHead + uuid.NewString() + createBodyTail)
}

// floorHandler does what the mock does for a create, by hand and without validation: decode the
// body, answer the link an idempotency key already made, or build a full link (the fields and
// nulls the mock writes), encode it once, keep it by id and key, and answer it.
func floorHandler() http.Handler {
	type payee struct {
		FirstName   *string `json:"first_name"`
		LastName    *string `json:"last_name"`
		Email       *string `json:"email"`
		CountryCode *string `json:"country_code"`
		PhoneNumber *string `json:"phone_number"`
	}
	type req struct {
		Amount         int64           `json:"amount"`
		IdempotencyKey string          `json:"idempotency_key"`
		Memo           *string         `json:"memo"`
		Metadata       json.RawMessage `json:"metadata"`
		Payee          payee           `json:"payee"`
		Delivery       struct {
			Method string `json:"method"`
		} `json:"delivery"`
	}
	type delivery struct {
		Email  string `json:"email,omitempty"`
		Method string `json:"method"`
	}
	type link struct {
		Amount        int64           `json:"amount"`
		ClaimedUserID *string         `json:"claimed_user_id"`
		Created       string          `json:"created"`
		Delivery      delivery        `json:"delivery"`
		FlowID        string          `json:"flow_id"`
		FundingSource string          `json:"funding_source"`
		ID            string          `json:"id"`
		Link          string          `json:"link"`
		Memo          *string         `json:"memo"`
		Metadata      json.RawMessage `json:"metadata"`
		Payee         payee           `json:"payee"`
		Status        string          `json:"status"`
	}
	var mu sync.Mutex
	byID, byKey := map[string][]byte{}, map[string][]byte{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var in req
		if err != nil || json.Unmarshal(b, &in) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		mu.Lock()
		out, ok := byKey[in.IdempotencyKey]
		mu.Unlock()
		if !ok {
			id := uuid.NewString()
			l := link{Amount: in.Amount, Created: time.Now().UTC().Format(time.RFC3339Nano), FlowID: uuid.NewString(),
				FundingSource: "dots_balance", ID: id, Link: mock.LinkBase + id, Memo: in.Memo, Metadata: in.Metadata,
				Payee: in.Payee, Status: "created", Delivery: delivery{Method: in.Delivery.Method}}
			if in.Delivery.Method == "email" && in.Payee.Email != nil {
				l.Status, l.Delivery.Email = "sent", *in.Payee.Email
			}
			if l.Metadata == nil {
				l.Metadata = json.RawMessage("null")
			}
			out, _ = json.Marshal(l)
			mu.Lock()
			byID[id] = out
			if in.IdempotencyKey != "" {
				byKey[in.IdempotencyKey] = out
			}
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Request-Id", "req_"+uuid.NewString()[:24])
		w.Header().Set("Content-Length", strconv.Itoa(len(out)))
		w.WriteHeader(http.StatusCreated)
		_, _ = w.Write(out)
	})
}

func newCreate(b *testing.B, url string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(createBody()))
	if err != nil {
		b.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Authorization", benchAuth)
	return r
}

// floorRate is the floor's creates/s of the handler benchmark, for its ratio.
var floorRate struct {
	sync.Mutex
	handler float64
}

func reportRate(b *testing.B, n int64, d time.Duration) float64 {
	rate := float64(n) / d.Seconds()
	b.ReportMetric(rate, "creates/s")
	return rate
}

// BenchmarkMockHandler is the handler alone (no network), on GOMAXPROCS goroutines.
func BenchmarkMockHandler(b *testing.B) {
	run := func(b *testing.B, h http.Handler, check func()) float64 {
		b.ReportAllocs()
		var n atomic.Int64
		url := "http://mock/api" + opCreate.path
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, newCreate(b, url))
				if w.Code != http.StatusCreated {
					b.Errorf("status %d: %s", w.Code, w.Body)
					return
				}
				n.Add(1)
			}
		})
		d := time.Since(start)
		b.StopTimer()
		if check != nil {
			check()
		}
		return reportRate(b, n.Load(), d)
	}
	b.Run("impl=floor", func(b *testing.B) {
		r := run(b, floorHandler(), nil)
		floorRate.Lock()
		floorRate.handler = r
		floorRate.Unlock()
	})
	for _, m := range mockImpls {
		b.Run("impl="+m.name, func(b *testing.B) {
			s := mock.New(append(m.opts, mock.WithCredentials(testClientID, testAPIKey))...)
			defer s.Close()
			r := run(b, s.Handler(), func() {
				if v := s.Violations(); len(v) > 0 {
					b.Fatalf("the mock broke the spec: %v", v[0])
				}
			})
			floorRate.Lock()
			if floorRate.handler > 0 {
				b.ReportMetric(floorRate.handler/r, "x-floor-time")
			}
			floorRate.Unlock()
		})
	}
}

// mockImpls are the mock's configurations measured: as `payoutlinks mock` runs it (requests
// checked against the spec, answers not: impl=mock), and as Go tests run it (answers checked
// too: impl=mock-checked).
var mockImpls = []struct {
	name string
	opts []mock.Option
}{
	{"mock", []mock.Option{mock.WithAnswerChecks(false)}},
	{"mock-checked", nil},
}

// loopbackClients is how many client goroutines send creates at once in MockLoopback.
const loopbackClients = 8

// loopbackPhase sends n creates to url from loopbackClients goroutines sharing hc, and returns
// the wall time and every create's latency, sorted.
func loopbackPhase(b *testing.B, hc *http.Client, url string, n int) (time.Duration, []time.Duration) {
	var next atomic.Int64
	lat := make([][]time.Duration, loopbackClients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range loopbackClients {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				t0 := time.Now()
				resp, err := hc.Do(newCreate(b, url))
				if err != nil {
					b.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusCreated {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	return wall, all
}

// p99 is the 99th percentile of sorted latencies, in milliseconds.
func p99(sorted []time.Duration) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return float64(sorted[len(sorted)*99/100]) / float64(time.Millisecond)
}

// BenchmarkMockLoopback is creates over loopback HTTP from 8 client goroutines (client and
// server share the machine's cores).
func BenchmarkMockLoopback(b *testing.B) {
	client := func(b *testing.B) *http.Client {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2 * loopbackClients
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	floor := httptest.NewServer(floorHandler())
	defer floor.Close()
	floorURL := floor.URL + "/api" + opCreate.path
	b.Run("impl=floor", func(b *testing.B) {
		hc := client(b)
		wall, lat := loopbackPhase(b, hc, floorURL, b.N)
		reportRate(b, int64(b.N), wall)
		b.ReportMetric(p99(lat), "p99-ms")
	})
	for _, m := range mockImpls {
		b.Run("impl="+m.name, func(b *testing.B) {
			s := mock.NewServer(append(m.opts, mock.WithCredentials(testClientID, testAPIKey))...)
			defer s.Close()
			url := s.BaseURL() + opCreate.path
			hc := client(b)
			wall, lat := loopbackPhase(b, hc, url, b.N)
			reportRate(b, int64(b.N), wall)
			b.ReportMetric(p99(lat), "p99-ms")
			b.StopTimer()
			if b.N >= 100 {
				// The floor and the mock in turn, so that the machine's drift hits both alike.
				per := max(b.N/4, 200)
				var mockWall, floorWall time.Duration
				var floorLat []time.Duration
				for range 4 {
					w, l := loopbackPhase(b, hc, floorURL, per)
					floorWall += w
					floorLat = append(floorLat, l...)
					w, _ = loopbackPhase(b, hc, url, per)
					mockWall += w
				}
				slices.Sort(floorLat)
				b.ReportMetric(float64(floorWall)/float64(mockWall), "x-floor-tput")
				b.ReportMetric(p99(floorLat), "floor-p99-ms")
			}
			if v := s.Violations(); len(v) > 0 {
				b.Fatalf("the mock broke the spec: %v", v[0])
			}
		})
	}
}

// TestFloorHandlerAnswersLinks keeps the floor honest: it answers a link for each create, the
// same one for a repeated key.
func TestFloorHandlerAnswersLinks(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(floorHandler())
	defer ts.Close()
	body := createBody()
	var ids []string
	for range 2 {
		resp, err := http.Post(ts.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		var l struct {
			ID     string  `json:"id"`
			Status string  `json:"status"`
			Memo   *string `json:"memo"`
		}
		err = json.NewDecoder(resp.Body).Decode(&l)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 201 || l.Status != "sent" || l.Memo == nil || *l.Memo != "March invoice" {
			t.Fatalf("%d %+v %v", resp.StatusCode, l, err)
		}
		ids = append(ids, l.ID)
	}
	if ids[0] != ids[1] {
		t.Errorf("a repeated key made %v", ids)
	}
}
