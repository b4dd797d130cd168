package batch_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// payBatch pays the CSV file at path with client, keeping its journal beside it, and prints the
// report. Run it again after a crash: it resumes where the journal says.
func payBatch(ctx context.Context, client *api.Client, path string) error {
	journal, err := batch.OpenJournal(ctx, path+".journal")
	if err != nil {
		return err
	}
	defer journal.Close()
	rep, err := batch.Run(ctx, client, batch.CSVFile(path), journal, batch.Options{Concurrency: 4})
	var invalid *batch.InvalidError
	switch {
	case errors.As(err, &invalid):
		for _, row := range invalid.Rows {
			fmt.Println(row) // "line 7: email (payee.email): must be an email address ..."
		}
		return err // nothing was sent
	case err != nil:
		return err
	}
	fmt.Printf("made %d, already made %d, failed %d, unknown %d: $%.2f\n",
		rep.Made, rep.AlreadyMade, rep.Failed, rep.Unknown, float64(rep.Amount)/100)
	if rep.Unknown > 0 {
		return errors.New("some outcomes are unknown: run the batch again")
	}
	return nil
}

// Example pays a CSV file against the mock, then runs it again, as a resume after a crash
// would: every row is already made, and nothing is sent twice.
func Example() {
	srv := mock.NewServer()
	defer srv.Close()
	client, err := api.NewClient("pk_test_example", "sk_test_example", api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "batch")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "payouts.csv")
	csv := `reference,amount,email,method,memo
2026-03-001,1250,jsmith@example.com,email,March invoice
2026-03-002,5000,rpatel@example.com,email,March invoice
`
	if err := os.WriteFile(path, []byte(csv), 0o600); err != nil {
		log.Fatal(err)
	}
	for range 2 {
		if err := payBatch(context.Background(), client, path); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(srv.LinkCount(), "links")
	// Output:
	// made 2, already made 0, failed 0, unknown 0: $62.50
	// made 0, already made 2, failed 0, unknown 0: $62.50
	// 2 links
}

// ExampleCheck checks rows built in code, sending nothing: a dry run.
func ExampleCheck() {
	rows := batch.Rows(
		batch.Row{Line: 1, Reference: "2026-03-001", Payout: payout(1250, "jsmith@example.com")},
		batch.Row{Line: 2, Reference: "2026-03-002", Payout: payout(0, "not an email")},
	)
	rep, err := batch.Check(context.Background(), rows, nil, batch.Options{})
	var invalid *batch.InvalidError
	if errors.As(err, &invalid) {
		for _, row := range invalid.Rows {
			fmt.Println(row)
		}
	}
	fmt.Println(rep.Rows, "rows,", len(invalid.Rows), "bad")
	// Output:
	// line 2: amount: number must be at least 1; email (payee.email): must be an email address such as jsmith@example.com
	// 2 rows, 1 bad
}

// ExampleReadCSV reads rows from any source of CSV text; each walk opens it again.
func ExampleReadCSV() {
	text := "amount,email,method,metadata.invoice\n1250,jsmith@example.com,email,2026-03-001\n12.50,x@example.com,email,\n"
	rows := batch.ReadCSV(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(text)), nil })
	for row, err := range rows {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(row.Line, row.Payout.Amount, row.Payout.Metadata.Get("invoice"), row.Problems)
	}
	// Output:
	// 2 1250 2026-03-001 []
	// 3 0  [amount: "12.50": amounts are in cents, with no decimal point (1250 for $12.50)]
}

// ExampleThrottle paces a batch at 10 creates a second, and pauses all its workers at the first
// 429, for as long as its Retry-After says, by giving the client the throttle's transport.
func ExampleThrottle() {
	throttle := batch.NewThrottle(10)
	client, err := api.NewClient("pk_test_example", "sk_test_example",
		api.WithHTTPClient(&http.Client{Transport: throttle.Transport(nil)}))
	if err != nil {
		log.Fatal(err)
	}
	journal, err := batch.OpenJournal(context.Background(), "payouts.csv.journal")
	if err != nil {
		log.Fatal(err)
	}
	defer journal.Close()
	_, err = batch.Run(context.Background(), client, batch.CSVFile("payouts.csv"), journal,
		batch.Options{Concurrency: 8, Throttle: throttle})
	if err != nil {
		log.Fatal(err)
	}
}

func payout(cents int64, email string) gen.CreatePayoutLinkRequest {
	return gen.CreatePayoutLinkRequest{Amount: dots.Amount(cents), Payee: gen.Payee{Email: api.Ptr(email)},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}
}
