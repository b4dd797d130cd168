package batch

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

func readAll(t *testing.T, text string) ([]Row, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	var rows []Row
	for r, err := range CSVFile(path) {
		if err != nil {
			return rows, err
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func TestReadCSV(t *testing.T) {
	text := "\ufeff Amount ,EMAIL,country_code,phone,method,memo,description,first_name,last_name,user_id,metadata.Invoice,metadata.team\n" +
		"1250, jsmith@example.com ,,,Email,\"March, part 1\",internal,Jane,Smith,,2026-03,\n" +
		"5000,,1,2025550139,sms,\"two\nlines\",,,,3c90c3cc-0d44-4b50-8888-8dd25736052a,,ops\n" +
		"\n" + // blank lines are skipped, and counted
		"12.50,,,,,,,,,,,\n" +
		"abc,,,,,,,,,,,\n" +
		",,,,,,,,,,,\n" +
		"1,2\n"
	rows, err := readAll(t, text)
	if err != nil {
		t.Fatal(err)
	}
	want := []Row{
		{Line: 2, Payout: gen.CreatePayoutLinkRequest{Amount: 1250,
			Payee:    gen.Payee{Email: api.Ptr("jsmith@example.com"), FirstName: api.Ptr("Jane"), LastName: api.Ptr("Smith")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}, Memo: api.Ptr("March, part 1"), Description: api.Ptr("internal"),
			Metadata: dots.Metadata{"Invoice": "2026-03"}}},
		{Line: 3, Payout: gen.CreatePayoutLinkRequest{Amount: 5000,
			Payee:    gen.Payee{CountryCode: api.Ptr("1"), PhoneNumber: api.Ptr("2025550139")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodSms}, Memo: api.Ptr("two\nlines"),
			UserID: api.Ptr("3c90c3cc-0d44-4b50-8888-8dd25736052a"), Metadata: dots.Metadata{"team": "ops"}}},
		{Line: 6, Problems: []api.FieldError{{Field: "amount", Problem: `"12.50": amounts are in cents, with no decimal point (1250 for $12.50)`}}},
		{Line: 7, Problems: []api.FieldError{{Field: "amount", Problem: `"abc" is not a whole number of cents (1250 for $12.50)`}}},
		{Line: 8, Problems: []api.FieldError{{Field: "amount", Problem: "is required (cents, 1250 for $12.50)"}}},
		{Line: 9, Problems: []api.FieldError{{Field: "row", Problem: "has 2 cells, the header has 12"}}},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(rows), len(want), rows)
	}
	for i := range want {
		if !reflect.DeepEqual(rows[i], want[i]) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, rows[i], want[i])
		}
	}
}

func TestReadCSVHeaderErrors(t *testing.T) {
	for _, tc := range []struct{ text, column, problem string }{
		{"", "amount", "the file is empty"},
		{"email\na@example.com\n", "amount", "is missing"},
		{"amount,emial\n1,a\n", "emial", "unknown column"},
		{"amount,Amount\n1,1\n", "Amount", "appears twice"},
		{"amount,,email\n1,,a\n", "", "header cell 2 is empty"},
		{"amount,metadata.\n1,a\n", "metadata.", "needs a key"},
		{"amount,metadata.batch_key\n1,a\n", "metadata.batch_key", "the runner sets"},
	} {
		_, err := readAll(t, tc.text)
		var he *HeaderError
		if !errors.As(err, &he) || he.Column != tc.column || !strings.Contains(he.Problem, tc.problem) {
			t.Errorf("%q: err = %v, want a HeaderError for %q: %s", tc.text, err, tc.column, tc.problem)
		}
	}
}

func TestCSVFileCanBeWalkedAgainAndStops(t *testing.T) {
	rows, err := readAll(t, csvText(50))
	if err != nil || len(rows) != 50 {
		t.Fatalf("%d rows, %v", len(rows), err)
	}
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(csvText(50)), 0o600); err != nil {
		t.Fatal(err)
	}
	src := CSVFile(path)
	for range 2 {
		n := 0
		for r, err := range src {
			if err != nil {
				t.Fatal(err)
			}
			if n++; r.Line != n+1 {
				t.Fatalf("row %d has line %d", n, r.Line)
			}
			if n == 10 {
				break // a walk can stop early
			}
		}
	}
	if _, err := readAll(t, ""); err == nil {
		t.Fatal("an empty file read without error")
	}
	for _, err := range CSVFile(filepath.Join(t.TempDir(), "missing.csv")) {
		if !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want not-exist", err)
		}
	}
}

func TestColumnNamesTheCSVColumnOfAField(t *testing.T) {
	for field, col := range map[string]string{"payee.email": "email", "payee.phone_number": "phone", "delivery.method": "method",
		"amount": "amount", "metadata.invoice": "metadata.invoice", "funding_source": ""} {
		if got := Column(field); got != col {
			t.Errorf("Column(%q) = %q, want %q", field, got, col)
		}
	}
	e := RowError{Line: 7, Fields: []api.FieldError{{Field: "payee.email", Problem: "bad"}, {Field: "amount", Problem: "zero"}}}
	if got := e.Error(); got != "line 7: email (payee.email): bad; amount: zero" {
		t.Fatalf("RowError = %q", got)
	}
}
