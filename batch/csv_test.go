package batch

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
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

func TestReadCSVRefusesFilesThatAreNotWhatTheySeem(t *testing.T) {
	// A file saved as Latin-1: "Jürgen" is the bytes J \xfc r g e n.
	rows, err := readAll(t, "amount,email,method,first_name,metadata.city\n"+
		"1250,a@example.com,email,Ann,Oslo\n"+
		"5000,j@example.com,email,J\xfcrgen,K\xf6ln\n")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || len(rows[0].Problems) != 0 || rows[1].Line != 3 || len(rows[1].Problems) != 2 {
		t.Fatalf("rows %+v", rows)
	}
	msg := RowError{Line: rows[1].Line, Fields: rows[1].Problems}.Error()
	for _, want := range []string{`line 3: first_name (payee.first_name): is not UTF-8 text ("J\xfcrgen")`, "Latin-1 or Windows-1252", "save it again as UTF-8",
		`metadata.city: is not UTF-8 text ("K\xf6ln")`} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}

	for _, tc := range []struct{ name, text, column, problem string }{
		{"semicolons", "amount;email;method\n1250;a@example.com;email\n", "amount;email;method", "separated by semicolons"},
		{"a Latin-1 header", "amount,pr\xe9nom\n1250,Ann\n", "pr\xe9nom", "Latin-1 or Windows-1252"},
	} {
		_, err := readAll(t, tc.text)
		var he *HeaderError
		if !errors.As(err, &he) || he.Column != tc.column || !strings.Contains(he.Problem, tc.problem) {
			t.Errorf("%s: err = %v, want a HeaderError for %q: %s", tc.name, err, tc.column, tc.problem)
		}
	}
}

func TestReadCSVCapsTheSizeOfARecord(t *testing.T) {
	head := "amount,email,method,memo\n1250,a@example.com,email,ok\n"
	for _, tc := range []struct {
		name string
		text string
		line int // the line refused, 0 for none
	}{
		{"a 10 MiB memo", head + "1300,b@example.com,email," + strings.Repeat("x", 10<<20) + "\n", 3},
		{"a memo just over the limit", head + "1300,b@example.com,email," + strings.Repeat("x", MaxRecordBytes) + "\n", 3},
		{"a memo just under it", head + "1300,b@example.com,email," + strings.Repeat("x", MaxRecordBytes-100) + "\n1400,c@example.com,email,\n", 0},
		{"a quoted cell that never ends, after blank lines", head + "\n\r\n\"1300\n" + strings.Repeat("x,y\n", 1<<20), 5},
		{"a huge header", "amount,email," + strings.Repeat("x", 10<<20) + "\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "in.csv")
			if err := os.WriteFile(path, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var rows []Row
			var err error
			for r, e := range CSVFile(path) {
				if err = e; e != nil {
					break
				}
				rows = append(rows, r)
			}
			runtime.ReadMemStats(&after)
			var fe *FileError
			switch {
			case tc.line == 0 && (err != nil || len(rows) != 3):
				t.Fatalf("%d rows, %v", len(rows), err)
			case tc.line == 0:
				if p := rows[1].Problems; len(p) != 0 || len(*rows[1].Payout.Memo) != MaxRecordBytes-100 {
					t.Fatalf("the long memo: %v", p)
				}
			case !errors.As(err, &fe) || fe.Line != tc.line || !strings.Contains(err.Error(), "over 64 KiB"):
				t.Fatalf("err = %v, want a FileError for line %d saying the limit", err, tc.line)
			}
			// The reader holds no more than about a record: never the whole cell.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Fatalf("reading allocated %d KiB", alloc>>10)
			}
		})
	}
}
