package batch

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"strconv"
	"strings"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// MetadataPrefix starts the CSV columns whose values go into the link's metadata:
// "metadata.invoice" sets Metadata["invoice"].
const MetadataPrefix = "metadata."

// columns maps each CSV column to the field of the create request it sets, as the SDK's checks
// name it.
var columns = map[string]string{
	"amount":       "amount",
	"email":        "payee.email",
	"country_code": "payee.country_code",
	"phone":        "payee.phone_number",
	"first_name":   "payee.first_name",
	"last_name":    "payee.last_name",
	"method":       "delivery.method",
	"memo":         "memo",
	"description":  "description",
	"user_id":      "user_id",
}

// Columns returns the CSV columns ReadCSV knows, besides the metadata.KEY ones.
func Columns() []string {
	return []string{"amount", "email", "country_code", "phone", "method", "memo", "description", "first_name", "last_name", "user_id"}
}

// Column returns the CSV column that sets a field of the create request, as the SDK's checks
// name fields ("payee.email" is set by "email"), or "" when no column sets it.
func Column(field string) string {
	for col, f := range columns {
		if f == field {
			return col
		}
	}
	if k, ok := strings.CutPrefix(field, "metadata."); ok {
		return MetadataPrefix + k
	}
	return ""
}

// HeaderError is a CSV file whose header cannot be read as a batch: a missing amount column,
// an unknown or repeated column. Nothing is sent.
type HeaderError struct {
	// Column is the column at fault ("amount" when it is missing).
	Column string
	// Problem says what is wrong.
	Problem string
}

// Error reads like "header: column "amout": unknown column (...)".
func (e *HeaderError) Error() string {
	return fmt.Sprintf("header: column %q: %s", e.Column, e.Problem)
}

// CSVFile reads the payouts of the CSV file at path (see ReadCSV). The file is opened again each
// time the rows are walked, and streamed: Run walks them more than once, in flat memory.
func CSVFile(path string) iter.Seq2[Row, error] {
	return ReadCSV(func() (io.ReadCloser, error) { return os.Open(path) })
}

// ReadCSV reads payouts from a CSV file with a header, one row per payout, calling open each time
// the rows are walked. Columns:
//
//	amount                  cents, required: 1250 is $12.50
//	email                   payee.email
//	country_code, phone     payee.country_code and payee.phone_number (digits only)
//	method                  delivery.method: sms, email, link or all
//	memo, description       the note the payee sees, and your internal note
//	first_name, last_name   the payee's name
//	user_id                 pay this Dots user (a UUID)
//	metadata.KEY            metadata KEY of the link (any number of such columns)
//
// Column names are matched without regard to case or surrounding spaces; cells are trimmed, and
// an empty cell leaves its field unset. A header that lacks amount, names an unknown column or
// names one twice is a *HeaderError (yielded once, as the first element). A cell that cannot be
// read (an amount that is not whole cents) or a record with the wrong number of cells is a
// problem of that row (Row.Problems); the walk goes on. Row.Line is the line the record starts
// on, the header being line 1.
func ReadCSV(open func() (io.ReadCloser, error)) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		f, err := open()
		if err != nil {
			yield(Row{}, err)
			return
		}
		defer f.Close()
		r := csv.NewReader(f)
		r.ReuseRecord = true
		header, err := r.Read()
		if err == io.EOF {
			yield(Row{}, &HeaderError{Column: "amount", Problem: "the file is empty; it needs a header with an amount column"})
			return
		}
		if err != nil {
			yield(Row{}, fmt.Errorf("reading the header: %w", err))
			return
		}
		cols, err := readHeader(header)
		if err != nil {
			yield(Row{}, err)
			return
		}
		for {
			rec, err := r.Read()
			if err == io.EOF {
				return
			}
			var row Row
			var perr *csv.ParseError
			switch {
			case err == nil:
				line, _ := r.FieldPos(0)
				row = parseRecord(line, cols, rec)
			case errors.As(err, &perr) && errors.Is(err, csv.ErrFieldCount):
				row = Row{Line: perr.StartLine, Problems: []api.FieldError{{Field: "row",
					Problem: fmt.Sprintf("has %d cells, the header has %d", len(rec), len(cols))}}}
			case errors.As(err, &perr):
				row = Row{Line: perr.StartLine, Problems: []api.FieldError{{Field: "row", Problem: perr.Err.Error()}}}
			default:
				yield(Row{}, fmt.Errorf("reading the file: %w", err))
				return
			}
			if !yield(row, nil) {
				return
			}
		}
	}
}

// column is what one header cell sets: a known column, or a metadata key.
type column struct {
	name    string // the column as the header names it, normalised
	metaKey string // for metadata.KEY columns
}

func readHeader(header []string) ([]column, error) {
	cols := make([]column, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a byte-order mark some spreadsheets write
		}
		h = strings.TrimSpace(h)
		name := strings.ToLower(h)
		switch {
		case columns[name] != "":
			cols[i] = column{name: name}
		case strings.HasPrefix(name, MetadataPrefix):
			key := h[len(MetadataPrefix):]
			switch {
			case key == "":
				return nil, &HeaderError{Column: h, Problem: "a metadata column needs a key, as in metadata.invoice"}
			case key == MetadataKey:
				return nil, &HeaderError{Column: h, Problem: "the runner sets metadata." + MetadataKey + " itself (the row's idempotency key)"}
			}
			name = MetadataPrefix + key
			cols[i] = column{name: name, metaKey: key}
		case name == "":
			return nil, &HeaderError{Column: h, Problem: fmt.Sprintf("header cell %d is empty", i+1)}
		default:
			return nil, &HeaderError{Column: h, Problem: "unknown column (known: " + strings.Join(Columns(), ", ") + ", and metadata.KEY)"}
		}
		if seen[name] {
			return nil, &HeaderError{Column: h, Problem: "appears twice"}
		}
		seen[name] = true
	}
	if !seen["amount"] {
		return nil, &HeaderError{Column: "amount", Problem: "is missing; it is required (cents, 1250 for $12.50)"}
	}
	return cols, nil
}

// parseRecord turns one CSV record into a row. Problems name the CSV column.
func parseRecord(line int, cols []column, rec []string) Row {
	row := Row{Line: line}
	p := &row.Payout
	for i, c := range cols {
		v := strings.TrimSpace(rec[i])
		if c.metaKey != "" {
			if v != "" {
				if p.Metadata == nil {
					p.Metadata = dots.Metadata{}
				}
				p.Metadata[c.metaKey] = v
			}
			continue
		}
		if v == "" {
			if c.name == "amount" {
				row.Problems = append(row.Problems, api.FieldError{Field: "amount", Problem: "is required (cents, 1250 for $12.50)"})
			}
			continue
		}
		switch c.name {
		case "amount":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				problem := fmt.Sprintf("%q is not a whole number of cents (1250 for $12.50)", v)
				if _, ferr := strconv.ParseFloat(v, 64); ferr == nil && strings.Contains(v, ".") {
					problem = fmt.Sprintf("%q: amounts are in cents, with no decimal point (1250 for $12.50)", v)
				}
				row.Problems = append(row.Problems, api.FieldError{Field: "amount", Problem: problem})
				continue
			}
			p.Amount = dots.Amount(n)
		case "email":
			p.Payee.Email = &v
		case "country_code":
			p.Payee.CountryCode = &v
		case "phone":
			p.Payee.PhoneNumber = &v
		case "first_name":
			p.Payee.FirstName = &v
		case "last_name":
			p.Payee.LastName = &v
		case "method":
			p.Delivery.Method = gen.DeliveryMethod(strings.ToLower(v))
		case "memo":
			p.Memo = &v
		case "description":
			p.Description = &v
		case "user_id":
			p.UserID = &v
		}
	}
	return row
}
