package batch

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// fastRetries keeps the client's own retries short in tests.
var fastRetries = api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})

// newMock starts a mock Dots that fails the test if it answers outside the spec.
func newMock(t testing.TB, opts ...mock.Option) *mock.Server {
	t.Helper()
	srv := mock.NewServer(opts...)
	t.Cleanup(func() {
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("the mock answered outside the spec: %v", v[:min(len(v), 5)])
		}
		srv.Close()
	})
	return srv
}

func newClient(t testing.TB, baseURL string, opts ...api.Option) *api.Client {
	t.Helper()
	c, err := api.NewClient("pk_test_batch", "sk_test_batch_0c1d2e", append([]api.Option{api.WithBaseURL(baseURL), fastRetries}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustJournal(t testing.TB, path string) *Journal {
	t.Helper()
	j, err := OpenJournal(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

func tempJournal(t testing.TB) *Journal {
	t.Helper()
	return mustJournal(t, filepath.Join(t.TempDir(), "batch.journal"))
}

// payouts makes n valid rows, lines 2..n+1 as in a CSV file, each with its own reference
// ("inv-LINE"), amount and metadata so that every link can be told apart.
func payouts(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		line := i + 2
		rows[i] = Row{Line: line, Reference: fmt.Sprint("inv-", line), Payout: gen.CreatePayoutLinkRequest{
			Amount:   dots.Amount(100 + i),
			Payee:    gen.Payee{Email: api.Ptr(fmt.Sprintf("payee%d@example.com", i))},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
			Metadata: dots.Metadata{"row": fmt.Sprint(line)},
		}}
	}
	return rows
}

// withoutReferences strips the references of rows, for the tests of rows with random keys
// (Options.AllowNoReference).
func withoutReferences(rows []Row) []Row {
	for i := range rows {
		rows[i].Reference = ""
	}
	return rows
}

// csvText is the rows of payouts(n) as a CSV file without references.
func csvText(n int) string {
	var b strings.Builder
	b.WriteString("amount,email,method,metadata.row\n")
	for i := range n {
		fmt.Fprintf(&b, "%d,payee%d@example.com,email,%d\n", 100+i, i, i+2)
	}
	return b.String()
}

// failCreates makes the mock answer the next creates with faults, one each, in order; other
// requests (the listings of links) are answered as usual.
func failCreates(srv *mock.Server, faults ...mock.Fault) {
	var mu sync.Mutex
	srv.SetFaults(func(r *http.Request) *mock.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || len(faults) == 0 {
			return nil
		}
		f := faults[0]
		faults = faults[1:]
		return &f
	})
}

// repeat is n times the same fault.
func repeat(n int, f mock.Fault) []mock.Fault {
	out := make([]mock.Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

// storm is the faults the chaos tests draw from (mock.WithChaos): 5xx before and after applying,
// dropped connections, 429s, broken bodies and late applies, all of them quick.
var storm = []mock.Fault{
	{Status: 503},
	{Status: 500, ApplyFirst: true},
	{Drop: mock.DropAfterApply},
	{Drop: mock.DropBeforeApply},
	{Status: 429, RetryAfter: "0"},
	{Body: mock.TruncatedBody},
	{Delay: 20 * time.Millisecond, Late: true},
	{Status: 502},
}

// putKeys commits new rows, each with its first key.
func (j *Journal) putKeys(entries []Entry) error {
	ws := make([]Write, len(entries))
	for i, e := range entries {
		ws[i] = Write{Op: InsertRow, Entry: e}
	}
	return j.Store().Write(context.Background(), true, ws...)
}

func (j *Journal) cursor() *cursor { return newCursor(j.Store()) }
