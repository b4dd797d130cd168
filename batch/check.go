package batch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

// MetadataKey is the metadata key under which every link of a batch carries its row's
// idempotency key, so that the link can be found again by listing.
const MetadataKey = "batch_key"

// checker runs the SDK's own checks on a create request without sending it: its client's
// transport never sends anything. A request that passes the checks reaches the transport, which
// records that and refuses it; one that fails them comes back as *api.InvalidRequestError.
type checker struct {
	client    *api.Client
	maxAmount dots.Amount
}

// errChecked is what the checker's transport answers: nothing is ever sent.
var errChecked = errors.New("batch: checked, not sent")

type checkedKey struct{}

// refuse is the checker's transport: it marks the request's context as having passed every check
// made before sending, and sends nothing.
type refuse struct{}

func (refuse) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_ = r.Body.Close()
	}
	if ok, _ := r.Context().Value(checkedKey{}).(*bool); ok != nil {
		*ok = true
	}
	return nil, errChecked
}

func newChecker(opts Options) (*checker, error) {
	// The address is never dialled: the transport refuses every request.
	c, err := api.NewClient("pk_check_only", "", api.WithBaseURL("http://127.0.0.1:9/api"),
		api.WithHTTPClient(&http.Client{Transport: refuse{}}), api.WithMaxRetries(0))
	if err != nil {
		return nil, fmt.Errorf("batch: making the checker: %w", err)
	}
	max := opts.MaxAmount
	if max <= 0 {
		max = DefaultMaxAmount
	}
	return &checker{client: c, maxAmount: max}, nil
}

// placeholderKey stands for the idempotency key a row will get: the checks see the request
// exactly as it will be sent, batch_key included.
const placeholderKey = "00000000-0000-4000-8000-000000000000"

// check runs the SDK's checks on the request a row will send, and the batch's cap on amounts,
// and returns the problems found.
func (c *checker) check(ctx context.Context, row Row) []api.FieldError {
	problems := append([]api.FieldError(nil), row.Problems...)
	if row.Payout.IdempotencyKey != nil {
		problems = append(problems, api.FieldError{Field: "idempotency_key", Problem: "the runner sets it (one key per row, kept in the journal); leave it unset"})
	}
	if _, ok := row.Payout.Metadata[MetadataKey]; ok {
		problems = append(problems, api.FieldError{Field: "metadata." + MetadataKey, Problem: "the runner sets it to the row's idempotency key; leave it unset"})
	}
	if len(problems) > 0 {
		return problems // a row the reader could not read fully is not worth checking further
	}
	passed := false
	_, err := c.client.CreatePayoutLink(context.WithValue(ctx, checkedKey{}, &passed), request(row.Payout, placeholderKey))
	var invalid *api.InvalidRequestError
	switch {
	case passed:
	case errors.As(err, &invalid):
		problems = invalid.Fields
	case err != nil:
		problems = []api.FieldError{{Field: "row", Problem: err.Error()}}
	default:
		problems = []api.FieldError{{Field: "row", Problem: "the checks neither passed nor refused it"}}
	}
	if a := row.Payout.Amount; a > c.maxAmount {
		problems = append(problems, api.FieldError{Field: "amount", Problem: fmt.Sprintf(
			"%s is over the batch's cap of %s a row (Options.MaxAmount; payoutlinks batch --max-amount CENTS)", usd(a), usd(c.maxAmount))})
	}
	return problems
}

// request is the create request a row sends with key: the row's payout with the key as its
// idempotency key and as metadata batch_key.
func request(p gen.CreatePayoutLinkRequest, key string) gen.CreatePayoutLinkRequest {
	meta := make(dots.Metadata, len(p.Metadata)+1)
	for k, v := range p.Metadata {
		meta[k] = v
	}
	meta[MetadataKey] = key
	p.Metadata = meta
	p.IdempotencyKey = &key
	return p
}

// hash is the hex SHA-256 of a row's payout as JSON (without key): what the journal compares to
// tell whether a row changed since its key was committed.
func hash(p gen.CreatePayoutLinkRequest) (string, error) {
	p.IdempotencyKey = nil
	b, err := codec.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("batch: encoding a row: %w", err)
	}
	sum := sha256.Sum256(append([]byte("payout/v1\n"), b...))
	return hex.EncodeToString(sum[:]), nil
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
