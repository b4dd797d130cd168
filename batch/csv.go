package batch

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// MetadataPrefix starts the CSV columns whose values go into the link's metadata:
// "metadata.invoice" sets Metadata["invoice"].
const MetadataPrefix = "metadata."

// column is what a CSV column sets: a field of the create request (as the SDK's checks name
// it), how, and for metadata.KEY columns the key.
type column struct {
	name, field string
	set         func(p *gen.CreatePayoutLinkRequest, v string)
	metaKey     string
}

// columns are the CSV columns of payee and delivery fields, besides reference, amount and
// metadata.KEY. The one list of them: the reader, Columns, Column and the help text use it.
var columns = []column{
	{"email", "payee.email", func(p *gen.CreatePayoutLinkRequest, v string) { p.Payee.Email = &v }, ""},
	{"country_code", "payee.country_code", func(p *gen.CreatePayoutLinkRequest, v string) { p.Payee.CountryCode = &v }, ""},
	{"phone", "payee.phone_number", func(p *gen.CreatePayoutLinkRequest, v string) { p.Payee.PhoneNumber = &v }, ""},
	{"method", "delivery.method", func(p *gen.CreatePayoutLinkRequest, v string) {
		p.Delivery.Method = gen.DeliveryMethod(strings.ToLower(v))
	}, ""},
	{"memo", "memo", func(p *gen.CreatePayoutLinkRequest, v string) { p.Memo = &v }, ""},
	{"description", "description", func(p *gen.CreatePayoutLinkRequest, v string) { p.Description = &v }, ""},
	{"first_name", "payee.first_name", func(p *gen.CreatePayoutLinkRequest, v string) { p.Payee.FirstName = &v }, ""},
	{"last_name", "payee.last_name", func(p *gen.CreatePayoutLinkRequest, v string) { p.Payee.LastName = &v }, ""},
	{"user_id", "user_id", func(p *gen.CreatePayoutLinkRequest, v string) { p.UserID = &v }, ""},
}

// Columns returns the CSV columns ReadCSV knows, besides the metadata.KEY ones.
func Columns() []string {
	out := []string{"reference", "amount"}
	for _, c := range columns {
		out = append(out, c.name)
	}
	return out
}

// Column returns the CSV column that sets a field of the create request, as the SDK's checks
// name fields ("payee.email" is set by "email"), or "" when no column sets it.
func Column(field string) string {
	if i := slices.IndexFunc(columns, func(c column) bool { return c.field == field }); i >= 0 {
		return columns[i].name
	}
	if field == "amount" || strings.HasPrefix(field, MetadataPrefix) {
		return field
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

// FileError is a file that cannot be read on past a line: a record over MaxRecordBytes. Nothing
// is sent.
type FileError struct {
	// Line is the line the record starts on.
	Line int
	// Problem says what is wrong.
	Problem string
}

// Error reads like "line 7: the record is over 64 KiB, ...".
func (e *FileError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Problem) }

// MaxRecordBytes is the size of the largest CSV record (a row, all its cells) ReadCSV reads: a
// payout is a few hundred bytes, and a cell of megabytes is a file that is not what it seems.
// Reading stops at a longer record, holding at most this much of it in memory.
const MaxRecordBytes = 64 << 10

// CSVFile reads the payouts of the CSV file at path (see ReadCSV). The file is opened again each
// time the rows are walked, and streamed: Run walks them more than once, in flat memory.
func CSVFile(path string) iter.Seq2[Row, error] {
	return ReadCSV(func() (io.ReadCloser, error) { return os.Open(path) })
}

// ReadCSV reads payouts from a CSV file with a header, one row per payout, calling open each time
// the rows are walked. Its columns are reference (the payout's own reference, such as an invoice
// number: Row.Reference), amount (cents, required: 1250 is $12.50), the payee and delivery fields
// of Columns (each sets the field Column names: email sets payee.email), and metadata.KEY for any
// KEY of the link's metadata.
//
// Column names are matched without regard to case or surrounding spaces; cells are trimmed, and
// an empty cell leaves its field unset, except that a file with a reference column needs a
// reference in every row. A header that lacks amount, names an unknown column or names one twice
// is a *HeaderError (yielded once, as the first element). A cell that cannot be
// read (an amount that is not whole cents) or a record with the wrong number of cells is a
// problem of that row (Row.Problems); the walk goes on. Row.Line is the line the record starts
// on, the header being line 1.
//
// The text must be UTF-8: a cell that is not (a file saved as Latin-1 or Windows-1252) is a
// problem of its row, named by column. A header that is one cell holding ';' (a file separated
// by semicolons) is a *HeaderError. A record over MaxRecordBytes stops the walk with a
// *FileError naming its line.
func ReadCSV(open func() (io.ReadCloser, error)) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		f, err := open()
		if err != nil {
			yield(Row{}, err)
			return
		}
		defer f.Close()
		// The CSV reader reads through a cap, which refuses to go further than MaxRecordBytes
		// (and the buffer's read-ahead) past the start of the record being read.
		capped := &capReader{r: f, limit: MaxRecordBytes + readAhead}
		r := csv.NewReader(bufio.NewReaderSize(capped, readAhead))
		r.ReuseRecord = true
		var start int64 // where the record being read starts
		next := func() ([]string, error) {
			rec, err := r.Read()
			if capped.tripped || (err != io.EOF && r.InputOffset()-start > MaxRecordBytes) {
				return nil, &FileError{Line: lineAt(open, start), Problem: fmt.Sprintf("the record is over %d KiB, the limit (MaxRecordBytes): "+
					"a payout is a few hundred bytes, so this is not the file it seems (a cell that lost its closing quote?)", MaxRecordBytes>>10)}
			}
			start = r.InputOffset()
			capped.limit = start + MaxRecordBytes + readAhead
			return rec, err
		}
		var cols []column
		switch header, err := next(); {
		case err == io.EOF:
			yield(Row{}, &HeaderError{Column: "amount", Problem: "the file is empty; it needs a header with an amount column"})
			return
		case err == nil:
			if cols, err = readHeader(header); err != nil {
				yield(Row{}, err)
				return
			}
		case errors.As(err, new(*FileError)):
			yield(Row{}, err)
			return
		default:
			yield(Row{}, fmt.Errorf("reading the header: %w", err))
			return
		}
		for {
			rec, err := next()
			var row Row
			var perr *csv.ParseError
			switch {
			case err == io.EOF:
				return
			case err == nil:
				line, _ := r.FieldPos(0)
				row = parseRecord(line, cols, rec)
			case errors.As(err, &perr) && errors.Is(err, csv.ErrFieldCount):
				row = Row{Line: perr.StartLine, Problems: []api.FieldError{{Field: "row",
					Problem: fmt.Sprintf("has %d cells, the header has %d", len(rec), len(cols))}}}
			case errors.As(err, &perr):
				row = Row{Line: perr.StartLine, Problems: []api.FieldError{{Field: "row", Problem: perr.Err.Error()}}}
			case errors.As(err, new(*FileError)):
				yield(Row{}, err)
				return
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

// readAhead is the size of the reader's buffer: how far past a record it may have read.
const readAhead = 4 << 10

// capReader reads up to limit, the offset past which the record being read would be too large,
// and fails from there on.
type capReader struct {
	r       io.Reader
	n       int64 // bytes read so far
	limit   int64
	tripped bool
}

var errRecordTooLarge = errors.New("record too large")

func (c *capReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		c.tripped = true
		return 0, errRecordTooLarge
	}
	n, err := c.r.Read(p[:min(int64(len(p)), c.limit-c.n)])
	c.n += int64(n)
	return n, err
}

// lineAt returns the line of the record that starts at offset of the file, as encoding/csv counts
// lines: one more than the newlines before it, past any blank lines. It reads the file again
// (only when a record is refused).
func lineAt(open func() (io.ReadCloser, error), offset int64) int {
	f, err := open()
	if err != nil {
		return 0
	}
	defer f.Close()
	br := bufio.NewReader(f)
	line := 1
	for range offset {
		b, err := br.ReadByte()
		if err != nil {
			return line
		}
		if b == '\n' {
			line++
		}
	}
	for {
		b, _ := br.Peek(2)
		switch {
		case bytes.HasPrefix(b, []byte("\n")):
			_, _ = br.Discard(1)
		case bytes.HasPrefix(b, []byte("\r\n")):
			_, _ = br.Discard(2)
		default:
			return line
		}
		line++
	}
}

const encodingHint = "the file looks saved as Latin-1 or Windows-1252; save it again as UTF-8 (in Excel: CSV UTF-8)"

func readHeader(header []string) ([]column, error) {
	if len(header) == 1 && strings.Contains(header[0], ";") {
		return nil, &HeaderError{Column: header[0], Problem: "the header is one cell holding ';': the file looks separated by semicolons " +
			"(as spreadsheets set to some languages save CSV); save it with commas between the cells"}
	}
	for _, h := range header {
		if !utf8.ValidString(h) {
			return nil, &HeaderError{Column: h, Problem: "is not UTF-8 text: " + encodingHint}
		}
	}
	cols := make([]column, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff") // a byte-order mark some spreadsheets write
		}
		h = strings.TrimSpace(h)
		name := strings.ToLower(h)
		known := slices.IndexFunc(columns, func(c column) bool { return c.name == name })
		switch key := h[min(len(h), len(MetadataPrefix)):]; {
		case name == "reference" || name == "amount":
			cols[i] = column{name: name, field: name}
		case known >= 0:
			cols[i] = columns[known]
		case !strings.HasPrefix(name, MetadataPrefix):
			if name == "" {
				return nil, &HeaderError{Column: h, Problem: fmt.Sprintf("header cell %d is empty", i+1)}
			}
			return nil, &HeaderError{Column: h, Problem: "unknown column (known: " + strings.Join(Columns(), ", ") + ", and metadata.KEY)"}
		case key == "":
			return nil, &HeaderError{Column: h, Problem: "a metadata column needs a key, as in metadata.invoice"}
		case key == MetadataKey:
			return nil, &HeaderError{Column: h, Problem: "the runner sets metadata." + MetadataKey + " itself (the row's idempotency key)"}
		case key == MetadataReference:
			return nil, &HeaderError{Column: h, Problem: "the runner sets metadata." + MetadataReference + " itself, from the column reference"}
		default:
			name = MetadataPrefix + key
			cols[i] = column{name: name, field: name, metaKey: key}
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

// parseRecord turns one CSV record into a row. Problems name the CSV column. A cell that is not
// UTF-8 (a file saved by a spreadsheet as Latin-1 or Windows-1252: "Jürgen" is "J\xfcrgen") is a
// problem, and the row is read no further.
func parseRecord(line int, cols []column, rec []string) Row {
	row := Row{Line: line}
	for i, v := range rec {
		if !utf8.ValidString(v) {
			row.Problems = append(row.Problems, api.FieldError{Field: cols[i].field, Problem: "is not UTF-8 text (" + quoteStart(v) + "): " + encodingHint})
		}
	}
	if row.Problems != nil {
		return row
	}
	p := &row.Payout
	for i, c := range cols {
		v := strings.TrimSpace(rec[i])
		switch {
		case c.metaKey != "" && v != "":
			if p.Metadata == nil {
				p.Metadata = dots.Metadata{}
			}
			p.Metadata[c.metaKey] = v
		case c.metaKey != "":
		case v == "" && c.name == "amount":
			row.Problems = append(row.Problems, api.FieldError{Field: "amount", Problem: "is required (cents, 1250 for $12.50)"})
		case v == "" && c.name == "reference":
			row.Problems = append(row.Problems, api.FieldError{Field: "reference", Problem: "is empty: with a reference column, every row needs its own (an invoice number, say)"})
		case v == "":
		case c.name == "reference":
			row.Reference = v
		case c.name == "amount":
			n, err := strconv.ParseInt(v, 10, 64)
			if err == nil {
				p.Amount = dots.Amount(n)
				break
			}
			problem := fmt.Sprintf("%q is not a whole number of cents (1250 for $12.50)", v)
			if _, ferr := strconv.ParseFloat(v, 64); ferr == nil && strings.Contains(v, ".") {
				problem = fmt.Sprintf("%q: amounts are in cents, with no decimal point (1250 for $12.50)", v)
			}
			row.Problems = append(row.Problems, api.FieldError{Field: "amount", Problem: problem})
		default:
			c.set(p, v)
		}
	}
	return row
}

// quoteStart quotes the first few bytes of a cell, with its invalid bytes escaped.
func quoteStart(v string) string {
	if len(v) > 40 {
		return strconv.Quote(v[:40]) + "..."
	}
	return strconv.Quote(v)
}
