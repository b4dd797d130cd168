package mock_test

// Throughput of the mock server for creates, with its request and response validation against
// the spec (always on), next to a hand-written create handler (the floor: read the body, decode
// it into a plain struct, answer a canned link). Run with `make bench`; each sub-benchmark
// reports creates/s, and the mock's report its ratio to the floor measured in the same run.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/payoutkit/dots-go/mock"
)

var benchAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte(testClientID+":"+testAPIKey))

// createBody is a realistic create request with a fresh idempotency key.
func createBody() []byte {
	return []byte(`{"amount":1250,"delivery":{"method":"email"},"idempotency_key":"` + uuid.NewString() +
		`","memo":"March invoice","payee":{"email":"jsmith@example.com","first_name":"Jane","last_name":"Smith"}}`)
}

// floorHandler is the least a create handler does: read and decode the body, answer a link.
func floorHandler() http.Handler {
	type req struct {
		Amount         int64  `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
		Memo           string `json:"memo"`
		Payee          struct {
			Email     string `json:"email"`
			FirstName string `json:"first_name"`
			LastName  string `json:"last_name"`
		} `json:"payee"`
		Delivery struct {
			Method string `json:"method"`
		} `json:"delivery"`
	}
	type link struct {
		ID      string `json:"id"`
		Created string `json:"created"`
		Link    string `json:"link"`
		Amount  int64  `json:"amount"`
		Status  string `json:"status"`
		Memo    string `json:"memo"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		var in req
		if err != nil || json.Unmarshal(b, &in) != nil {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		id := uuid.NewString()
		out, _ := json.Marshal(link{ID: id, Created: time.Now().UTC().Format(time.RFC3339Nano),
			Link: mock.LinkBase + id, Amount: in.Amount, Status: "sent", Memo: in.Memo})
		w.Header().Set("Content-Type", "application/json")
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

// floorRate is the floor's creates/s of the last run, for the ratio.
var floorRate struct {
	sync.Mutex
	handler, loopback float64
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
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, newCreate(b, "http://mock/api/v2/payout-links"))
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
	b.Run("impl=mock", func(b *testing.B) {
		s := mock.New(mock.WithCredentials(testClientID, testAPIKey))
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

// BenchmarkMockLoopback is creates over loopback HTTP from GOMAXPROCS client goroutines (client
// and server share the machine's cores).
func BenchmarkMockLoopback(b *testing.B) {
	run := func(b *testing.B, url string, hc *http.Client) float64 {
		b.ReportAllocs()
		var n atomic.Int64
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
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
				n.Add(1)
			}
		})
		d := time.Since(start)
		b.StopTimer()
		return reportRate(b, n.Load(), d)
	}
	client := func(b *testing.B) *http.Client {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 2 * runtime.GOMAXPROCS(0)
		b.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr}
	}
	b.Run("impl=floor", func(b *testing.B) {
		srv := httptest.NewServer(floorHandler())
		defer srv.Close()
		r := run(b, srv.URL+"/api/v2/payout-links", client(b))
		floorRate.Lock()
		floorRate.loopback = r
		floorRate.Unlock()
	})
	b.Run("impl=mock", func(b *testing.B) {
		s := mock.NewServer(mock.WithCredentials(testClientID, testAPIKey))
		defer s.Close()
		r := run(b, s.BaseURL()+"/v2/payout-links", client(b))
		if v := s.Violations(); len(v) > 0 {
			b.Fatalf("the mock broke the spec: %v", v[0])
		}
		floorRate.Lock()
		if floorRate.loopback > 0 {
			b.ReportMetric(floorRate.loopback/r, "x-floor-time")
		}
		floorRate.Unlock()
	})
}
