package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/google/uuid"
	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

// MetadataKey is the metadata key under which every link of a batch carries its row's
// idempotency key, so that the link can be found again by listing.
const MetadataKey = "batch_key"

// MetadataReference is the metadata key under which the link of a row with a reference carries
// it: Run looks for it in the links on Dots before sending a row, so that no reference is paid
// twice, whatever the file or the journal.
const MetadataReference = "batch_reference"

// ReferenceNamespace is the UUID namespace of the keys derived from references (ReferenceKey).
// It never changes: a reference has had the same key in every version.
var ReferenceNamespace = uuid.MustParse("8c590ea1-359a-4b62-8c33-1703975b0144")

// ReferenceKey returns the idempotency key of the row with this reference: the UUID version 5 of
// the reference in ReferenceNamespace. The same reference gets the same key in any file, journal
// or run, so Dots answers a second create of it, within the 24 hours it keeps keys, with the link
// the first one made.
func ReferenceKey(reference string) string { return referenceUUID(reference).String() }

func referenceUUID(reference string) uuid.UUID {
	return uuid.NewSHA1(ReferenceNamespace, []byte(reference))
}

// placeholderKey stands for the idempotency key a row will get: the checks see the request
// exactly as it will be sent, batch_key included.
const placeholderKey = "00000000-0000-4000-8000-000000000000"

// maxAmount is the batch's cap on the amount of a row.
func (o Options) maxAmount() dots.Amount {
	if o.MaxAmount <= 0 {
		return DefaultMaxAmount
	}
	return o.MaxAmount
}

// checkRow runs the SDK's checks (api.CheckCreatePayoutLink) on the request a row will send,
// without sending it, and the batch's cap on amounts, and returns the problems found.
func checkRow(ctx context.Context, row Row, maxAmount dots.Amount) []api.FieldError {
	problems := append([]api.FieldError(nil), row.Problems...)
	if row.Payout.IdempotencyKey != nil {
		problems = append(problems, api.FieldError{Field: "idempotency_key", Problem: "the runner sets it (one key per row, kept in the journal); leave it unset"})
	}
	if _, ok := row.Payout.Metadata[MetadataKey]; ok {
		problems = append(problems, api.FieldError{Field: "metadata." + MetadataKey, Problem: "the runner sets it to the row's idempotency key; leave it unset"})
	}
	if _, ok := row.Payout.Metadata[MetadataReference]; ok {
		problems = append(problems, api.FieldError{Field: "metadata." + MetadataReference, Problem: "the runner sets it to the row's reference (Row.Reference); leave it unset"})
	}
	if len(problems) > 0 {
		return problems // a row the reader could not read fully is not worth checking further
	}
	var invalid *api.InvalidRequestError
	switch err := api.CheckCreatePayoutLink(ctx, request(row, placeholderKey)); {
	case errors.As(err, &invalid):
		problems = invalid.Fields
	case err != nil:
		problems = []api.FieldError{{Field: "row", Problem: err.Error()}}
	}
	if a := row.Payout.Amount; a > maxAmount {
		problems = append(problems, api.FieldError{Field: "amount", Problem: fmt.Sprintf(
			"%s is over the batch's cap of %s a row (Options.MaxAmount; payoutlinks batch --max-amount CENTS)", usd(a), usd(maxAmount))})
	}
	return problems
}

// request is the create request a row sends with key: the row's payout with the key as its
// idempotency key and as metadata batch_key, and its reference, if any, as metadata
// batch_reference. Without a key, it is what the row's hash is taken of: no key, and no
// batch_key.
func request(row Row, key string) gen.CreatePayoutLinkRequest {
	p := row.Payout
	p.IdempotencyKey = nil
	if row.Reference != "" || key != "" {
		p.Metadata = maps.Clone(p.Metadata)
		if p.Metadata == nil {
			p.Metadata = dots.Metadata{}
		}
	}
	if row.Reference != "" {
		p.Metadata[MetadataReference] = row.Reference
	}
	if key != "" {
		p.Metadata[MetadataKey], p.IdempotencyKey = key, &key
	}
	return p
}

func contentSum(row Row) ([32]byte, error) {
	b, err := codec.Marshal(request(row, ""))
	if err != nil {
		return [32]byte{}, fmt.Errorf("batch: encoding a row: %w", err)
	}
	return sha256.Sum256(append([]byte("payout/v1\n"), b...)), nil
}

// fingerprint names a row among the rows of a batch: the UUID of its key for a row with a
// reference (two rows with one reference are one payout), the first half of its content's hash
// for a row without (two rows alike in every field are one payout). h is the row's hash
// (RowHash).
func fingerprint(row Row) (fp [16]byte, h string, err error) {
	sum, err := contentSum(row)
	if copy(fp[:], sum[:16]); row.Reference != "" {
		fp = referenceUUID(row.Reference)
	}
	return fp, hex.EncodeToString(sum[:]), err
}

// usd writes cents as dollars, $1234.50.
func usd(cents dots.Amount) string {
	sign, c := "", uint64(cents)
	if cents < 0 {
		sign, c = "-", -c
	}
	return fmt.Sprintf("%s$%d.%02d", sign, c/100, c%100)
}

// RowError names the problems of one row of a batch.
type RowError struct {
	// Line is the row's line (Row.Line).
	Line int
	// Fields lists the problems. Field is the request field as the SDK names it ("payee.email"),
	// "row" for the row as a whole.
	Fields []api.FieldError
}

// Error reads like `line 7: email (payee.email): must be an email address such as ...`, with
// the CSV column that sets each field.
func (e RowError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		name := f.Field
		if col := Column(f.Field); col != "" && col != f.Field {
			name = col + " (" + f.Field + ")"
		}
		parts[i] = name + ": " + f.Problem
	}
	return fmt.Sprintf("line %d: %s", e.Line, strings.Join(parts, "; "))
}

// NoReferenceError is a batch with rows that have no reference (Row.Reference; the CSV column
// reference) when Options.AllowNoReference is not set. Nothing was sent.
type NoReferenceError struct {
	// Rows counts the rows without a reference, of Total; Line is the first one's.
	Rows, Total, Line int
}

// Error says why a reference matters.
func (e *NoReferenceError) Error() string {
	return fmt.Sprintf("batch: %d of %d rows have no reference (the first on line %d), nothing was sent: without a reference, "+
		"a row is kept from being paid twice only within its file and journal, and a copy of the file, another journal or "+
		"a later file with the same row pays it again; give every row a reference of its own (an invoice number, say: the "+
		"CSV column reference), or allow rows without (Options.AllowNoReference)", e.Rows, e.Total, e.Line)
}

// InvalidError is a batch with bad rows (or rows that changed since their keys were committed):
// nothing was sent.
type InvalidError struct {
	// Rows names every bad row, in the order read.
	Rows []RowError
	// Total is the number of rows read.
	Total int
}

// Error gives the count and the first bad row.
func (e *InvalidError) Error() string {
	if len(e.Rows) == 0 {
		return "batch: invalid"
	}
	return fmt.Sprintf("batch: %d of %d rows are bad, nothing was sent; first: %v", len(e.Rows), e.Total, e.Rows[0])
}

// CheckRow runs on one row the checks Check runs on each, with the same options: the SDK's
// checks on the request the row would send, Options.MaxAmount, and a reference unless
// Options.AllowNoReference is set. It returns an *InvalidError naming the row's problems, or a
// *NoReferenceError, or nil.
func CheckRow(ctx context.Context, row Row, opts Options) error {
	if row.Reference == "" && !opts.AllowNoReference {
		return &NoReferenceError{Rows: 1, Total: 1, Line: row.Line}
	}
	if p := checkRow(ctx, row, opts.maxAmount()); len(p) > 0 {
		return &InvalidError{Rows: []RowError{{Line: row.Line, Fields: p}}, Total: 1}
	}
	return nil
}

// RowHash is the hash of a row's content that a journal keeps (Entry.Hash): the hex SHA-256 of
// its payout as JSON, reference included and key left out. A row whose hash is not its entry's
// changed since its key was committed, and is never sent with that key.
func RowHash(row Row) (string, error) {
	sum, err := contentSum(row)
	return hex.EncodeToString(sum[:]), err
}

// NewKey returns the idempotency key a new row gets: derived from its reference (ReferenceKey),
// or, for a row without one, random.
func NewKey(row Row) string {
	if row.Reference != "" {
		return ReferenceKey(row.Reference)
	}
	return api.NewIdempotencyKey()
}
