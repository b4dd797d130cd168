package batch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// Row is one payout of a batch.
type Row struct {
	// Line identifies the row in the journal: positive, increasing from row to row, and the
	// same each time the rows are walked. ReadCSV sets it to the line the record starts on.
	Line int
	// Reference names the payout for good, such as an invoice number: the row's key is derived
	// from it (ReferenceKey), its link carries it as metadata batch_reference, and Run looks for
	// it among the links on Dots before sending the row, so that a reference is paid once,
	// whatever the file, the journal or the run. Rows without one are refused unless
	// Options.AllowNoReference is set (they then get random keys, kept in the journal).
	Reference string
	// Payout is the create request. Leave IdempotencyKey unset, and metadata batch_key and
	// batch_reference out: the runner sets them.
	Payout gen.CreatePayoutLinkRequest
	// Problems lists what the reader could not read (a cell that is not a number); such a row
	// is bad, and the batch is not sent.
	Problems []api.FieldError
}

// Rows returns a walk over rows held in memory, for Run and Check.
func Rows(rows ...Row) iter.Seq2[Row, error] {
	return func(yield func(Row, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// StaleAfter is the age of a key after which a row is not sent again with it blindly: Dots
// forgets keys after 24 hours, so the runner looks for the row's link by its batch_key first,
// and gives the row a new key only if there is none.
const StaleAfter = 23 * time.Hour

// Options tune Run. The zero value is usable.
type Options struct {
	// Concurrency is how many creates are in flight at once (default 4).
	Concurrency int
	// Rate caps the creates started per second, all workers together (0: no cap). Ignored when
	// Throttle is set.
	Rate float64
	// Throttle paces the batch; nil makes one from Rate. See Throttle for pausing the whole batch
	// at the first 429.
	Throttle *Throttle
	// Retries is how many more times, within this run, a row whose outcome is unknown (or
	// that could not be sent: a 429 after the client's retries, a refused connection) is sent
	// again with its key (default 5; negative: none). Rows still unresolved are reported as
	// unknown; the next run sends them again.
	Retries int
	// RetryDelay is the wait before the first of those retries, doubled for each next one, at
	// most 30 s (default 1 s). A 429 after the client's retries pauses the whole batch for as
	// long, doubled for each 429 in a row.
	RetryDelay time.Duration
	// Now is the clock of the journal and of the 23-hour rule (default time.Now).
	Now func() time.Time
	// Progress, if set, is called after each row is settled in this run (skipped, made,
	// failed or left unknown), one call at a time.
	Progress func(Progress)
	// Results, if set, gets every row's result at the end of the run, in the order of the rows,
	// one call at a time; an error it returns stops the run's report and is returned.
	Results func(Result) error
	// MaxAmount is the largest amount of a row, in cents (default DefaultMaxAmount, $10,000): a
	// row above it is bad, and the batch is not sent. Check applies it too.
	MaxAmount dots.Amount
	// AllowNoReference lets rows without a Reference through (Check and Run refuse them
	// otherwise, with a *NoReferenceError). Such a row gets a random key, kept in the journal:
	// it is safe from being paid twice only within its journal, not from a copy of the file,
	// another journal or a later file that holds it again.
	AllowNoReference bool
	// Lookback is how far back Run looks among the links on Dots for the references of rows
	// the journal does not have (default DefaultLookback, 90 days). A reference paid longer ago
	// than that is not seen, and would be paid again.
	Lookback time.Duration
	// Confirm, if set, is called once every row passed the checks and the lookups were made,
	// before anything is sent (and only if there is something to send), with what the run is
	// about to send. Nothing is sent unless it returns nil; Run returns its error, wrapped.
	Confirm func(Plan) error
	// MaxUnreachable is how many creates in a row may fail to reach Dots at all (a refused
	// connection, a name that does not resolve: the create surely was not sent) before the run
	// stops with an error matching ErrUnreachable (default DefaultMaxUnreachable; negative:
	// never). The rows never sent are reported not sent.
	MaxUnreachable int
	// Dispatcher, if set, hands the rows to send to other workers instead of the run's own
	// (Concurrency, Rate, Throttle and Retries are then theirs): package batch/pgqueue's queue
	// in Postgres, worked from any machine. The checks, the lookups, Confirm and the report are
	// the run's, as without it.
	Dispatcher Dispatcher
}

// Dispatcher hands the rows of a run to workers elsewhere (Options.Dispatcher).
type Dispatcher interface {
	// Dispatch commits the entries of the new rows among rows (Pending.New), with their keys,
	// and queues every row for a worker, in one go: it returns once that is durable, and no
	// row may be sent before its entry is committed. A row already queued is not queued twice.
	Dispatch(ctx context.Context, run int, rows []Pending) error
	// Wait returns once every row dispatched in run has an outcome or will get none in this
	// run (its worker gave up on it, leaving it unknown or not sent), calling settled once for
	// each such row with its outcome.
	Wait(ctx context.Context, run int, settled func(Outcome)) error
}

// Pending is a row a run dispatches: its entry (with its key), new when the journal does not
// have it yet.
type Pending struct {
	Row   Row
	Entry Entry
	New   bool
}

// DefaultMaxUnreachable is how many creates in a row may fail to reach Dots before a run stops,
// unless Options.MaxUnreachable says otherwise.
const DefaultMaxUnreachable = 10

// ErrUnreachable matches (with errors.Is) the error of a run stopped because Dots could not be
// reached (Options.MaxUnreachable): nothing was sent for the rows reported not sent.
var ErrUnreachable = errors.New("batch: Dots cannot be reached")

// DefaultLookback is how far back Run looks for references on Dots unless Options.Lookback says
// otherwise: 90 days.
const DefaultLookback = 90 * 24 * time.Hour

// DefaultMaxAmount is the largest amount of a row unless Options.MaxAmount says otherwise:
// 1,000,000 cents, $10,000. A typo of a few zeros is refused rather than paid.
const DefaultMaxAmount dots.Amount = 1_000_000

// Progress is how far a run has got.
type Progress struct {
	// Total is the number of rows; Done the rows settled in this run so far.
	Total, Done int
	// Made, AlreadyMade, Failed, Unknown and NotSent count the settled rows by outcome.
	Made, AlreadyMade, Failed, Unknown, NotSent int
	// Started is when the sending began.
	Started time.Time
}

// Outcome is what became of a row.
type Outcome string

const (
	// OutcomeMade: this run made the row's link (or a create with its key returned it).
	OutcomeMade Outcome = "made"
	// OutcomeAlreadyMade: the link was made by an earlier run, or found on Dots by its
	// batch_key or batch_reference.
	OutcomeAlreadyMade Outcome = "already_made"
	// OutcomeFailed: Dots refused the row; nothing was paid for it.
	OutcomeFailed Outcome = "failed"
	// OutcomeUnknown: a create of the row may have reached Dots and been applied, and its
	// outcome is not known yet; run the batch again to resolve it (it is sent again with the
	// same key, or looked up).
	OutcomeUnknown Outcome = "unknown"
	// OutcomeNotSent: no create of the row reached Dots: the run stopped before the row was
	// sent, or every attempt failed before sending (Dots could not be reached). Nothing was paid
	// for it; run the batch again to send it.
	OutcomeNotSent Outcome = "not_sent"
)

// Result is what became of one row, as the results file lists it.
type Result struct {
	// Line is the row's line.
	Line int
	// Key is its idempotency key (and its link's batch_key); empty when it was never sent.
	Key string
	// Outcome is what became of it.
	Outcome Outcome
	// LinkID, Status and LinkURL describe its link, when there is one.
	LinkID, Status, LinkURL string
	// Amount is the row's amount in cents.
	Amount dots.Amount
	// Error is the last error, if any.
	Error string
}

// Report sums up a batch after a run (or a check).
type Report struct {
	// Run is the run's number in the journal (1 for the first run).
	Run int
	// Rows is the number of rows; Total the sum of their amounts, in cents (meaningless when
	// the check failed because the sum overflows).
	Rows  int
	Total dots.Amount
	// Methods sums the rows by delivery method (the empty method for rows that set none). Dots
	// pays in USD only.
	Methods map[gen.DeliveryMethod]Sum
	// Made, AlreadyMade, Failed, Unknown and NotSent count the rows by outcome.
	Made, AlreadyMade, Failed, Unknown, NotSent int
	// Amount is the sum, in cents, of the rows whose link exists (made or already made).
	Amount dots.Amount
	// Elapsed is how long the run took.
	Elapsed time.Duration
}

// Plan is what a run is about to send, as Options.Confirm sees it.
type Plan struct {
	// Rows is the number of rows of the batch; Total the sum of their amounts, in cents.
	Rows  int
	Total dots.Amount
	// Done counts the rows that will not be sent: their link exists (in the journal, or found on
	// Dots by their reference or key), or they failed.
	Done int
	// Send sums the rows to send (those an earlier run left unknown included: they are sent
	// again with their key, and Dots answers with the link it made, if any), and Methods sums
	// them by delivery method. Dots pays in USD only.
	Send    Sum
	Methods map[gen.DeliveryMethod]Sum
}

// Sum is a number of rows and the sum of their amounts, in cents.
type Sum struct {
	Rows   int
	Amount dots.Amount
}

// add counts a row in the report's totals. It returns false, and leaves the sums as they were,
// when one would overflow.
func (rep *Report) add(row Row) bool {
	rep.Rows++
	if rep.Methods == nil {
		rep.Methods = map[gen.DeliveryMethod]Sum{}
	}
	return addTo(&rep.Total, rep.Methods, row)
}

// addTo adds a row to a total and to the sum of its delivery method, or, if either would
// overflow, to neither and returns false.
func addTo(total *dots.Amount, methods map[gen.DeliveryMethod]Sum, row Row) bool {
	a := row.Payout.Amount
	m := methods[row.Payout.Delivery.Method]
	t, ok1 := addCents(*total, a)
	ma, ok2 := addCents(m.Amount, a)
	if !ok1 || !ok2 {
		return false
	}
	*total, methods[row.Payout.Delivery.Method] = t, Sum{Rows: m.Rows + 1, Amount: ma}
	return true
}

// addCents returns a+b, or false if the sum does not fit in an int64.
func addCents(a, b dots.Amount) (dots.Amount, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return a, false
	}
	return s, true
}

// tally counts an outcome among made, already made, failed, unknown and not sent.
func tally(o Outcome, made, alreadyMade, failed, unknown, notSent *int) {
	switch o {
	case OutcomeMade:
		*made++
	case OutcomeAlreadyMade:
		*alreadyMade++
	case OutcomeFailed:
		*failed++
	case OutcomeNotSent:
		*notSent++
	default:
		*unknown++
	}
}

// Check reads every row and runs on each the checks Run makes before sending anything, with the
// same options, sending nothing: the SDK's checks on the request the row would send,
// Options.MaxAmount, and a reference in every row unless Options.AllowNoReference is set. Two
// rows with the same reference, or without references and alike in every field, are one payout
// twice: the second is bad, and names the first. With a journal (nil is allowed) it also
// compares each row with the one whose key was committed: a row that changed is bad.
//
// It returns the number of rows and their total (overall and by delivery method). When any row
// is bad, or the total does not fit in an int64, the error is an *InvalidError naming every bad
// row by line and field; when rows lack a reference, a *NoReferenceError (both, joined, when
// both).
func Check(ctx context.Context, rows iter.Seq2[Row, error], j *Journal, opts Options) (*Report, error) {
	var s Store
	if j != nil {
		s = j.Store()
	}
	return CheckOn(ctx, rows, s, opts)
}

// CheckOn is Check with the rows compared with any Store (nil is allowed), such as a journal in
// Postgres (package batch/pgqueue).
func CheckOn(ctx context.Context, rows iter.Seq2[Row, error], s Store, opts Options) (*Report, error) {
	rep, _, err := check(ctx, rows, s, opts)
	return rep, err
}

// index is what a check learnt of the rows for the run: each row's line by its fingerprint,
// negated for rows the journal has as sent or settled (its rules keep them from being paid
// twice), and how many rows are to be looked up on Dots by their reference (rows with one that
// the journal does not have, or has as never sent: another file may have paid it since).
type index struct {
	lines   map[[16]byte]int
	lookups int
}

func check(ctx context.Context, rows iter.Seq2[Row, error], s Store, opts Options) (*Report, *index, error) {
	rep, idx, cur := &Report{}, &index{lines: map[[16]byte]int{}}, newCursor(s)
	noRef := &NoReferenceError{}
	overflow, maxLine := false, 0
	var bad []RowError
	for row, err := range rows {
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return nil, nil, err
		}
		problems := checkRow(ctx, row, opts.maxAmount())
		if !rep.add(row) && !overflow {
			overflow = true
			problems = append(problems, api.FieldError{Field: "amount", Problem: fmt.Sprintf(
				"brings the batch's total over %s, the largest sum there is: split the batch", usd(math.MaxInt64))})
		}
		if row.Line <= maxLine {
			problems = append(problems, api.FieldError{Field: "row", Problem: fmt.Sprintf("Row.Line must be positive and increase from row to row (%d follows %d)", row.Line, maxLine)})
		}
		maxLine = max(maxLine, row.Line)
		// (An empty cell of a reference column is a problem of its row, named as such.)
		if row.Reference == "" && !opts.AllowNoReference && !slices.ContainsFunc(row.Problems, func(f api.FieldError) bool { return f.Field == "reference" }) {
			if noRef.Rows++; noRef.Rows == 1 {
				noRef.Line = row.Line
			}
		} else if len(problems) == 0 {
			p, err := idx.add(ctx, row, cur)
			if err != nil {
				return nil, nil, err
			}
			if p != nil {
				problems = append(problems, *p)
			}
		}
		if len(problems) > 0 {
			bad = append(bad, RowError{Line: row.Line, Fields: problems})
		}
	}
	if s != nil {
		n, first, err := s.LinesAfter(ctx, maxLine)
		if err != nil {
			return nil, nil, err
		}
		if n > 0 {
			bad = append(bad, RowError{Line: first, Fields: []api.FieldError{{Field: "row", Problem: fmt.Sprintf(
				"the journal has %d rows from line %d on, which the input no longer has: is it the file the journal was made for?", n, first)}}})
		}
	}
	var errs []error
	if len(bad) > 0 {
		errs = append(errs, &InvalidError{Rows: bad, Total: rep.Rows})
	}
	if noRef.Rows > 0 {
		noRef.Total = rep.Rows
		errs = append(errs, noRef)
	}
	return rep, idx, errors.Join(errs...)
}

// add indexes a good row: it compares it with its journal entry and with the rows before, and
// returns its problem, if any.
func (idx *index) add(ctx context.Context, row Row, cur *cursor) (*api.FieldError, error) {
	fp, h, err := fingerprint(row)
	if err != nil {
		return nil, err
	}
	e, ok, err := cur.entry(ctx, row.Line)
	if err != nil {
		return nil, err
	}
	if p := changed(h, e, ok); p != nil {
		return p, nil
	}
	if first, dup := idx.lines[fp]; dup {
		first = max(first, -first)
		if row.Reference != "" {
			return &api.FieldError{Field: "reference", Problem: fmt.Sprintf("%q is also the reference of line %d: a reference names one payout; give each its own", row.Reference, first)}, nil
		}
		return &api.FieldError{Field: "row", Problem: fmt.Sprintf("is the same payout as line %d, alike in every field, and would be paid twice: "+
			"if both are meant, give the rows references of their own (or make them differ, in memo say)", first)}, nil
	}
	line := row.Line
	switch {
	case ok && e.State != NotSent:
		line = -line
	case row.Reference != "":
		idx.lookups++
	}
	idx.lines[fp] = line
	return nil, nil
}

// changed compares a row's hash with its journal entry: a row whose content differs from the one
// whose key was committed is never sent with that key.
func changed(h string, e Entry, ok bool) *api.FieldError {
	if !ok || h == e.Hash {
		return nil
	}
	what := "its key " + e.Key + " was committed"
	if e.State == Made {
		what = "its link " + e.LinkID + " was made"
	}
	return &api.FieldError{Field: "row", Problem: fmt.Sprintf("changed since %s (%s); it is not sent: restore the row, or pay the changed row "+
		"from a new file (under a new reference)", what, e.KeyCreated.UTC().Format(time.RFC3339))}
}

// Run pays a batch: it checks every row (Check), and sends nothing if any is bad; it looks for
// the references of the rows its journal does not have among the links on Dots, and asks
// Options.Confirm, if set; then it creates one payout link per row, journaling each row's key
// before the row is sent and its outcome after. Running it again with the same rows and journal
// resumes: rows with a link are skipped, rows left without an outcome are sent again with their
// key (Dots answers with the link the key made, if any), and rows whose key is older than
// StaleAfter are first looked up by their metadata batch_key. Every link carries its row's key as
// metadata batch_key, and its reference as metadata batch_reference. See the package doc.
//
// The report counts every row by outcome. The error is an *InvalidError, *NoReferenceError,
// *HeaderError or *FileError when nothing was sent (the report is then nil, or its Run is 0, as
// it is when a lookup failed or Confirm said no); ctx's error (wrapped) when the run was
// interrupted, or one matching ErrUnreachable when Dots could not be reached (the report then
// says what was done); or a journal or listing error.
func Run(ctx context.Context, client *api.Client, rows iter.Seq2[Row, error], j *Journal, opts Options) (*Report, error) {
	if j == nil {
		return nil, errors.New("batch: Run needs a client, rows and a journal")
	}
	if j.readOnly {
		return nil, fmt.Errorf("batch: journal %s is open read-only", j.path)
	}
	return RunOn(ctx, client, rows, j.Store(), opts)
}

// RunOn is Run with any Store as the journal, such as one in Postgres (package batch/pgqueue),
// whose Dispatcher (Options.Dispatcher) hands the rows to workers on any machine.
func RunOn(ctx context.Context, client *api.Client, rows iter.Seq2[Row, error], s Store, opts Options) (*Report, error) {
	if client == nil || s == nil || rows == nil {
		return nil, errors.New("batch: Run needs a client, rows and a journal")
	}
	r := &runner{payer: payer{Payer: NewPayer(client, opts), s: s}}
	start := time.Now()
	checked, idx, err := check(ctx, rows, s, opts)
	if err != nil {
		return checked, err
	}
	r.idx = idx
	if r.found, err = r.lookupReferences(ctx); err != nil {
		return checked, err
	}
	if err := r.lookupStale(ctx); err != nil {
		return checked, err
	}
	if opts.Confirm != nil {
		p, err := r.plan(ctx, rows, checked)
		if err != nil {
			return checked, err
		}
		if p.Send.Rows > 0 {
			if err := opts.Confirm(p); err != nil {
				return checked, fmt.Errorf("batch: not confirmed, nothing was sent: %w", err)
			}
		}
	}
	if r.run, err = s.BeginRun(ctx, r.now()); err != nil {
		return nil, err
	}
	r.progress.Total = checked.Rows
	sendErr := r.send(ctx, rows)
	// Every outcome is committed before the report reads them, whatever happened.
	ctx = context.WithoutCancel(ctx)
	if err := s.Flush(ctx); err != nil {
		return nil, errors.Join(sendErr, err)
	}
	rep, err := r.report(ctx, rows)
	if rep != nil {
		rep.Elapsed = time.Since(start)
	}
	if err == nil {
		err = s.EndRun(ctx, r.run, r.now())
	}
	return rep, cmp.Or(sendErr, err)
}

type runner struct {
	payer

	mu       sync.Mutex // guards progress and the calls to opts.Progress
	progress Progress

	// What the check found (the rows' fingerprints), and the lookups made before sending: the
	// links found by reference or by the keys of stale rows (by line), and the rows the latter
	// covered. Only the feeder reads them.
	idx      *index
	found    map[int]foundLink
	lookedUp map[int]bool
	feed     *cursor // the feeder's reader of the journal
}

// Payer makes one attempt at a row whose key is committed, and journals its outcome: the payout
// logic of a batch, which Run's workers and package batch/pgqueue's workers share. It commits
// "sending" before the first create of a row that was never sent; sends the create with the
// row's key; keeps an outcome that may have been applied unknown (sticky: a later refusal of the
// same key is looked up before the row is failed); fails a create answered with another payout's
// link (api.ErrIdempotencyKeyReused); and, for a key over StaleAfter old whose create may have
// reached Dots, looks for the row's link by its batch_key before sending anything (a random key
// is then replaced by a new one). Make one with NewPayer; it is safe for concurrent use.
type Payer struct {
	client   *api.Client
	opts     Options
	throttle *Throttle
	streak   atomic.Int64 // creates in a row that could not reach Dots
}

// NewPayer returns a Payer that sends with client, paced by opts.Throttle (or one made from
// opts.Rate), with opts.Now, opts.RetryDelay and opts.MaxUnreachable.
func NewPayer(client *api.Client, opts Options) *Payer {
	// (0 or less: the default; for Retries and MaxUnreachable, less than 0 is none.)
	opts.Concurrency = cmp.Or(max(opts.Concurrency, 0), 4)
	opts.Retries = cmp.Or(opts.Retries, 5)
	opts.RetryDelay = cmp.Or(max(opts.RetryDelay, 0), time.Second)
	opts.Lookback = cmp.Or(max(opts.Lookback, 0), DefaultLookback)
	opts.MaxUnreachable = cmp.Or(opts.MaxUnreachable, DefaultMaxUnreachable)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Throttle == nil {
		opts.Throttle = NewThrottle(opts.Rate)
	}
	return &Payer{client: client, opts: opts, throttle: opts.Throttle}
}

func (p *Payer) now() time.Time { return p.opts.Now() }

// Pay makes one attempt at the row whose entry e is in s (its key committed, in a run numbered
// run), and commits its outcome to s before it returns. The outcome is final when it is
// OutcomeMade, OutcomeAlreadyMade or OutcomeFailed; otherwise again says the row is worth
// another attempt later (OutcomeUnknown and OutcomeNotSent). An error is the store's, or
// ErrUnreachable's: the outcome is then not journaled.
func (p *Payer) Pay(ctx context.Context, s Store, run int, row Row, e Entry) (o Outcome, again bool, err error) {
	if e.Line != row.Line {
		return OutcomeNotSent, false, fmt.Errorf("batch: the entry of line %d is not the row's (line %d)", e.Line, row.Line)
	}
	if h, err := RowHash(row); err != nil || h != e.Hash {
		return OutcomeNotSent, false, errors.Join(err, fmt.Errorf("batch: row %d is not the row whose key was committed", row.Line))
	}
	switch e.State {
	case Made:
		return OutcomeAlreadyMade, false, nil
	case Failed:
		return OutcomeFailed, false, nil
	}
	jb := &job{row: row, hash: e.Hash, e: e, has: true, uncertain: e.State == Sending || e.State == Unknown}
	return payer{Payer: p, s: s, run: run}.attempt(ctx, jb)
}

// payer is a Payer at work on one store, in one run.
type payer struct {
	*Payer
	s   Store
	run int
}

// job is one row on its way.
type job struct {
	row       Row
	hash      string
	e         Entry // the journal's entry (zero until the key is committed)
	has       bool
	rounds    int  // retries used in this run
	uncertain bool // a create with e.Key may have reached Dots (in this run or an earlier one)
	notFound  bool // the stale-key lookup before sending found no link for the row
}

// keyChunk is how many new rows get their keys in one commit (a chunk of the run's own
// workers), dispatchChunk how many rows a Dispatcher gets at a time.
const keyChunk, dispatchChunk = 16, 256

// errStopped ends the feeding of a run whose workers stopped.
var errStopped = errors.New("stopped")

// send walks the rows again and hands those without a final outcome to the Dispatcher, or to
// the run's own workers, Concurrency at a time.
func (r *runner) send(ctx context.Context, rows iter.Seq2[Row, error]) error {
	r.progress.Started = time.Now()
	r.feed = newCursor(r.s)
	if d := r.opts.Dispatcher; d != nil {
		err := r.feedRows(ctx, rows, nil, dispatchChunk, func(chunk []*job) error {
			ps := make([]Pending, len(chunk))
			for i, jb := range chunk {
				ps[i] = Pending{Row: jb.row, Entry: jb.e, New: !jb.has}
				if ps[i].New {
					// Queued, not sent: the worker commits "sending" before it sends.
					ps[i].Entry = r.newEntry(jb, r.now())
					ps[i].Entry.State = NotSent
				}
			}
			return d.Dispatch(ctx, r.run, ps)
		})
		if err == nil && ctx.Err() == nil {
			err = d.Wait(ctx, r.run, r.settle)
		}
		if err == nil && ctx.Err() != nil {
			err = fmt.Errorf("batch: interrupted: %w", ctx.Err())
		}
		return err
	}
	jobs := make(chan *job)
	var pending sync.WaitGroup // rows fed and not yet settled (in flight or waiting to retry)
	stop := make(chan struct{})
	var stopOnce sync.Once
	var stopErr error
	abort := func(err error) { stopOnce.Do(func() { stopErr = err; close(stop) }) }
	var workers sync.WaitGroup
	for range r.opts.Concurrency {
		workers.Go(func() {
			for jb := range jobs {
				delay, again := r.work(ctx, jb, stop, abort)
				if !again {
					pending.Done()
					continue
				}
				go func() {
					t := time.NewTimer(delay)
					defer t.Stop()
					select {
					case <-t.C:
					case <-ctx.Done():
					case <-stop:
					}
					jobs <- jb // the row is still pending, so jobs is open
				}()
			}
		})
	}
	// New rows get their keys a chunk at a time, in one commit, before any of them is handed to
	// a worker: one fsync for several rows instead of one each.
	err := r.feedRows(ctx, rows, stop, keyChunk, func(chunk []*job) error {
		if err := r.keyNew(chunk); err != nil {
			return err
		}
		for i, jb := range chunk {
			pending.Add(1)
			select {
			case jobs <- jb:
				continue
			case <-stop:
			case <-ctx.Done():
			}
			pending.Done()
			// The rest of the chunk has keys and was never sent.
			for _, jb := range chunk[i:] {
				o, _, err := r.unsent(jb, errNotReached)
				if err != nil {
					return err
				}
				r.settle(o)
			}
			return errStopped
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStopped) {
		abort(err)
	}
	pending.Wait()
	close(jobs)
	workers.Wait()
	if stopErr != nil {
		return stopErr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("batch: interrupted: %w", err)
	}
	return nil
}

// feedRows prepares the rows and hands those to send to flush, size at a time, until the rows
// end, ctx does, or stop is closed.
func (r *runner) feedRows(ctx context.Context, rows iter.Seq2[Row, error], stop <-chan struct{}, size int, flush func([]*job) error) error {
	var chunk []*job
	for row, err := range rows {
		if err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-ctx.Done():
			return nil
		default:
		}
		jb, err := r.prepare(ctx, row)
		if err != nil {
			return err
		}
		if jb == nil {
			continue
		}
		if chunk = append(chunk, jb); len(chunk) == size {
			if err := flush(chunk); err != nil {
				return err
			}
			chunk = chunk[:0]
		}
	}
	if len(chunk) == 0 {
		return nil
	}
	return flush(chunk)
}

// keyNew commits a fresh key for every job of the chunk that has none, and returns once they
// are durable.
func (r *runner) keyNew(chunk []*job) error {
	now := r.now()
	var ws []Write
	for _, jb := range chunk {
		if !jb.has {
			jb.e, jb.has = r.newEntry(jb, now), true
			ws = append(ws, Write{Op: InsertRow, Entry: jb.e})
		}
	}
	if len(ws) == 0 {
		return nil
	}
	return r.s.Write(context.Background(), true, ws...)
}

// newEntry is the journal entry of a row that has none: its key is derived from its reference,
// or random for a row without one.
func (r payer) newEntry(jb *job, now time.Time) Entry {
	return Entry{Line: jb.row.Line, Key: NewKey(jb.row), KeyCreated: now, Hash: jb.hash, Amount: jb.row.Payout.Amount, State: Sending, Run: r.run, Updated: now}
}

// plan walks the rows with the journal and what the lookups found: what the run is about to send.
func (r *runner) plan(ctx context.Context, rows iter.Seq2[Row, error], checked *Report) (Plan, error) {
	p := Plan{Rows: checked.Rows, Total: checked.Total, Methods: map[gen.DeliveryMethod]Sum{}}
	cur := newCursor(r.s)
	for row, err := range rows {
		if err != nil {
			return p, err
		}
		e, ok, err := cur.entry(ctx, row.Line)
		if err != nil {
			return p, err
		}
		if _, found := r.found[row.Line]; found || (ok && (e.State == Made || e.State == Failed)) {
			p.Done++
			continue
		}
		p.Send.Rows++
		addTo(&p.Send.Amount, p.Methods, row) // within the checked total: no overflow
	}
	return p, nil
}

// prepare reads a row's journal entry and returns its job, or nil for a row already settled
// (which it counts).
func (r *runner) prepare(ctx context.Context, row Row) (*job, error) {
	changedErr := func(fields ...api.FieldError) error {
		return fmt.Errorf("batch: the input changed during the run: %w", &InvalidError{Rows: []RowError{{Line: row.Line, Fields: fields}}, Total: r.progress.Total})
	}
	// The rows were checked, but a file can change between two walks: check again (it costs
	// microseconds) rather than send a row nobody checked.
	if p := checkRow(ctx, row, r.opts.maxAmount()); len(p) > 0 {
		return nil, changedErr(p...)
	}
	fp, h, err := fingerprint(row)
	if err != nil {
		return nil, err
	}
	if line := r.idx.lines[fp]; max(line, -line) != row.Line {
		return nil, changedErr(api.FieldError{Field: "row", Problem: "is not the row the check read on this line"})
	}
	e, ok, err := r.feed.entry(ctx, row.Line)
	if err != nil {
		return nil, err
	}
	if p := changed(h, e, ok); p != nil {
		return nil, changedErr(*p)
	}
	switch {
	case ok && e.State == Made:
		r.settle(OutcomeAlreadyMade)
		return nil, nil
	case ok && e.State == Failed:
		r.settle(OutcomeFailed)
		return nil, nil
	}
	jb := &job{row: row, hash: h, e: e, has: ok, uncertain: ok && (e.State == Sending || e.State == Unknown)}
	link, found := r.found[row.Line]
	if jb.notFound = !found && r.lookedUp[row.Line]; !found {
		return jb, nil
	}
	if !ok {
		jb.e = r.newEntry(jb, r.now())
	}
	o, _, err := r.recordFound(ctx, jb, link)
	if err == nil {
		r.settle(o)
	}
	return nil, err
}

// recordFound records a row's link found on Dots (by its reference, or by its key): the row is
// made, unless the link's amount is not the row's: then it is a conflict, and the row fails
// with nothing sent.
func (r payer) recordFound(ctx context.Context, jb *job, link foundLink) (Outcome, bool, error) {
	if link.amount == jb.row.Payout.Amount {
		return r.record(ctx, jb, Made, &link, true, nil)
	}
	by := "its key " + jb.e.Key
	if jb.row.Reference != "" {
		by = fmt.Sprintf("its reference %q", jb.row.Reference)
	}
	return r.record(ctx, jb, Failed, nil, false, fmt.Errorf("conflict: link %s (%s, status %s) already carries %s, and this row is for %s: "+
		"nothing was sent for it; if both payouts are meant, give this row a reference of its own", link.id, usd(link.amount), link.status, by,
		usd(jb.row.Payout.Amount)))
}

// settle counts a row as settled in this run and reports progress.
func (r *runner) settle(o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &r.progress
	p.Done++
	tally(o, &p.Made, &p.AlreadyMade, &p.Failed, &p.Unknown, &p.NotSent)
	if r.opts.Progress != nil {
		r.opts.Progress(*p)
	}
}

// work takes one row as far as it goes in one attempt: it settles it, or says to retry it after
// delay.
func (r *runner) work(ctx context.Context, jb *job, stop <-chan struct{}, abort func(error)) (delay time.Duration, again bool) {
	var o Outcome
	var err error
	select {
	case <-stop:
		o, _, err = r.unsent(jb, errNotReached)
	default:
		o, again, err = r.attempt(ctx, jb)
	}
	if err != nil {
		abort(err)
	}
	if again && err == nil && ctx.Err() == nil && jb.rounds < r.opts.Retries {
		jb.rounds++
		return min(r.opts.RetryDelay<<(jb.rounds-1), 30*time.Second), true
	}
	r.settle(o)
	return 0, false
}

// attempt sends a row once (after committing its key) and journals the outcome. again says the
// row is worth another try in this run. An error (from the journal) stops the run.
func (r payer) attempt(ctx context.Context, jb *job) (o Outcome, again bool, err error) {
	if err := r.throttle.Wait(ctx); err != nil {
		return r.unsent(jb, fmt.Errorf("interrupted before it was sent: %w", err))
	}
	now := r.now()
	if jb.uncertain && now.Sub(jb.e.KeyCreated) >= StaleAfter {
		// Dots may have forgotten this key, and a create with it may have been applied: look for
		// the row's link before sending anything.
		if !jb.notFound {
			link, found, err := r.find(ctx, jb)
			if err != nil {
				return r.record(ctx, jb, Unknown, nil, false, fmt.Errorf("the key is over %v old and looking up its link failed: %w", StaleAfter, err))
			}
			if found {
				return r.recordFound(ctx, jb, link)
			}
		}
		jb.notFound, jb.uncertain = false, false
		jb.e.KeyCreated, jb.e.State, jb.e.Run, jb.e.Updated = now, Sending, r.run, now
		w := Write{Op: UpdateRow, Entry: jb.e}
		if jb.row.Reference == "" {
			// A random key is replaced by a new one. A key derived from the reference cannot be: it
			// is sent again, new to Dots now.
			jb.e.Key = api.NewIdempotencyKey()
			w = Write{Op: RekeyRow, Entry: jb.e, OldKey: w.Entry.Key}
		}
		if err := r.s.Write(context.Background(), true, w); err != nil {
			return OutcomeUnknown, false, err
		}
	}
	if jb.e.State == NotSent {
		// From here on the row may be sent: a crash must leave it "sending", not "not sent".
		jb.e.State, jb.e.Run, jb.e.Updated = Sending, r.run, now
		if err := r.s.Write(context.Background(), true, Write{Op: UpdateRow, Entry: jb.e}); err != nil {
			return OutcomeUnknown, false, err
		}
	}
	if err := ctx.Err(); err != nil {
		return r.unsent(jb, fmt.Errorf("interrupted before it was sent: %w", err))
	}
	link, err := r.client.CreatePayoutLink(ctx, request(jb.row, jb.e.Key))
	if !surelyNotSent(err) {
		jb.e.Attempts++
		r.streak.Store(0)
	}
	var apiErr *api.Error
	var invalid *api.InvalidRequestError
	var contract *api.ContractError
	switch {
	case err == nil:
		r.throttle.succeeded()
		return r.record(ctx, jb, Made, &foundLink{link.ID, link.Status, link.Link, link.Amount}, false, nil)
	case errors.Is(err, api.ErrIdempotencyKeyReused):
		// Never a success: the link is another payout's.
		return r.record(ctx, jb, Failed, nil, false, fmt.Errorf("%w (Dots answered with link %s; nothing was paid for this row)", err, link.ID))
	case errors.Is(err, api.ErrOutcomeUnknown):
		jb.uncertain = true
		o, _, jerr := r.record(ctx, jb, Unknown, nil, false, err)
		return o, true, jerr
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
		// Dots turned it away: nothing was made.
		r.throttle.limited(r.opts.RetryDelay)
		o, _, jerr := r.unsent(jb, err)
		return o, true, jerr
	case errors.As(err, &apiErr):
		if !jb.uncertain {
			return r.record(ctx, jb, Failed, nil, false, err)
		}
		// An earlier create with this key may have been applied: only the listing can tell.
		link, found, ferr := r.find(ctx, jb)
		switch {
		case ferr != nil:
			return r.record(ctx, jb, Unknown, nil, false, fmt.Errorf("%w; an earlier attempt's outcome is unknown and looking up the link failed: %w", err, ferr))
		case found:
			return r.recordFound(ctx, jb, link)
		}
		return r.record(ctx, jb, Failed, nil, false, fmt.Errorf("%w (no link carries its batch_key)", err))
	case errors.As(err, &invalid), errors.As(err, &contract):
		return r.record(ctx, jb, Failed, nil, false, err)
	case !surelyNotSent(err):
		// No error of a known kind: the create may have reached Dots.
		jb.uncertain = true
		o, _, jerr := r.record(ctx, jb, Unknown, nil, false, err)
		return o, ctx.Err() == nil, jerr
	case ctx.Err() != nil:
		return r.unsent(jb, fmt.Errorf("interrupted before it was sent: %w", err))
	}
	// Not sent (a refused connection, a name that does not resolve): worth another try, unless
	// Dots has been out of reach for too many creates in a row.
	o, _, jerr := r.unsent(jb, err)
	if n := r.streak.Add(1); jerr == nil && r.opts.MaxUnreachable > 0 && n >= int64(r.opts.MaxUnreachable) {
		jerr = fmt.Errorf("batch: stopped: %d creates in a row could not reach Dots (the last: %v): %w", n, err, ErrUnreachable)
	}
	return o, true, jerr
}

// errNotReached is why a row the run stopped before sending is not sent.
var errNotReached = errors.New("the run stopped before the row was sent")

// surelyNotSent reports an error after which the create surely did not reach Dots: no usable
// answer, and the client knows the request was not sent (a refused connection, a name that
// does not resolve).
func surelyNotSent(err error) bool {
	var re *api.RequestError
	return errors.As(err, &re) && !errors.Is(err, api.ErrOutcomeUnknown)
}

// unsent records an attempt of the row that did not reach Dots, or was not made: the row is not
// sent, unless an earlier attempt may have been applied (it stays unknown).
func (r payer) unsent(jb *job, cause error) (Outcome, bool, error) {
	if jb.uncertain {
		return r.record(context.Background(), jb, jb.e.State, nil, false, fmt.Errorf("%w; an earlier attempt may have reached Dots", cause))
	}
	return r.record(context.Background(), jb, NotSent, nil, false, cause)
}

// record commits a row's state and returns the outcome it stands for.
func (r payer) record(_ context.Context, jb *job, s State, link *foundLink, found bool, cause error) (Outcome, bool, error) {
	e := &jb.e
	e.State, e.Found, e.Run, e.Updated, e.Error = s, found, r.run, r.now(), ""
	if cause != nil {
		e.Error = cause.Error()
	}
	if link != nil {
		e.LinkID, e.LinkStatus, e.LinkURL = link.id, string(link.status), link.url
	}
	op := UpdateRow
	if !jb.has {
		// A row first written with its outcome: its link was found before anything was sent.
		op, jb.has = InsertRow, true
	}
	if err := r.s.Write(context.Background(), false, Write{Op: op, Entry: *e}); err != nil {
		return OutcomeUnknown, false, err
	}
	return outcome(*e, r.run), false, nil
}

// outcome is what a row's journal entry stands for, as of run.
func outcome(e Entry, run int) Outcome {
	switch e.State {
	case Made:
		if e.Found || e.Run < run {
			return OutcomeAlreadyMade
		}
		return OutcomeMade
	case Failed:
		return OutcomeFailed
	case NotSent:
		return OutcomeNotSent
	}
	return OutcomeUnknown
}

// report walks the rows and the journal together: the final counts, and each row's result.
func (r *runner) report(ctx context.Context, rows iter.Seq2[Row, error]) (*Report, error) {
	rep := &Report{Run: r.run}
	cur := newCursor(r.s)
	for row, err := range rows {
		if err != nil {
			return nil, err
		}
		e, ok, err := cur.entry(ctx, row.Line)
		if err != nil {
			return nil, err
		}
		res := Result{Line: row.Line, Amount: row.Payout.Amount, Outcome: OutcomeNotSent}
		if ok {
			res.Key, res.LinkID, res.Status, res.LinkURL, res.Error = e.Key, e.LinkID, e.LinkStatus, e.LinkURL, e.Error
			if res.Outcome = outcome(e, r.run); res.Outcome == OutcomeUnknown && res.Error == "" {
				res.Error = "no outcome recorded: the run stopped while the row was being sent"
			}
		}
		rep.add(row)
		tally(res.Outcome, &rep.Made, &rep.AlreadyMade, &rep.Failed, &rep.Unknown, &rep.NotSent)
		if res.Outcome == OutcomeMade || res.Outcome == OutcomeAlreadyMade {
			rep.Amount += res.Amount
		}
		if r.opts.Results != nil {
			if err := r.opts.Results(res); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// lookupReferences walks the payout links on Dots, newest first, back to the start of the
// lookback window (or until every row it looks for is found), for the links of the rows that
// have a reference and that the journal does not have, or has as never sent: their reference may
// have been paid from another file or journal. It returns them by line.
func (r *runner) lookupReferences(ctx context.Context) (map[int]foundLink, error) {
	found := map[int]foundLink{}
	if r.idx.lookups == 0 {
		return found, nil
	}
	start := r.now().Add(-r.opts.Lookback)
	for link, err := range r.client.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: api.Ptr(100)}) {
		if err != nil {
			return nil, fmt.Errorf("batch: looking for the rows' references among the links on Dots, nothing was sent: %w", err)
		}
		if !link.Created.IsZero() && link.Created.Before(start) {
			break
		}
		ref := link.Metadata.Get(MetadataReference)
		if line := r.idx.lines[referenceUUID(ref)]; ref != "" && line > 0 {
			if _, dup := found[line]; !dup {
				found[line] = foundLink{link.ID, link.Status, link.Link, link.Amount} // the newest of its links
			}
			if len(found) == r.idx.lookups {
				break
			}
		}
	}
	return found, nil
}

// foundLink is what a run keeps of a link (a re-run of a big file finds a link per row).
type foundLink struct {
	id     string
	status gen.PayoutLinkStatus
	url    string
	amount dots.Amount
}

// lookupStale looks up, in one walk of the links, every row whose key is over StaleAfter old and
// has no outcome: Dots may have forgotten those keys, so they are not sent again blindly.
func (r *runner) lookupStale(ctx context.Context) error {
	var stale []Entry
	for e, err := range r.s.Uncertain(ctx, r.now().Add(-StaleAfter)) {
		if err != nil {
			return err
		}
		stale = append(stale, e)
	}
	keys, since, err := keysOf(ctx, r.s, stale...)
	if err != nil || len(keys) == 0 {
		return err
	}
	found, err := r.findLinks(ctx, keys, since)
	if err != nil {
		return fmt.Errorf("batch: looking up the links of rows whose keys are over %v old, nothing was sent: %w", StaleAfter, err)
	}
	maps.Copy(r.found, found)
	r.lookedUp = map[int]bool{}
	for _, line := range keys {
		r.lookedUp[line] = true
	}
	return nil
}

// keysOf returns every key of the rows of entries (key to line), and when the oldest was made.
func keysOf(ctx context.Context, s Store, entries ...Entry) (map[string]int, time.Time, error) {
	keys := map[string]int{}
	var since time.Time
	for _, e := range entries {
		ks, oldest, err := s.Keys(ctx, e.Line)
		if err != nil {
			return nil, time.Time{}, err
		}
		if len(ks) == 0 {
			ks, oldest = []string{e.Key}, e.KeyCreated
		}
		for _, k := range ks {
			keys[k] = e.Line
		}
		if since.IsZero() || oldest.Before(since) {
			since = oldest
		}
	}
	return keys, since, nil
}

// find looks for the link of one row by its keys.
func (r payer) find(ctx context.Context, jb *job) (foundLink, bool, error) {
	keys, since, err := keysOf(ctx, r.s, jb.e)
	if err != nil {
		return foundLink{}, false, err
	}
	found, err := r.findLinks(ctx, keys, since)
	link, ok := found[jb.row.Line]
	return link, ok, err
}

// lookupMargin allows for the difference between this machine's clock and Dots' when a walk of
// the links stops at links older than the keys it looks for.
const lookupMargin = time.Hour

// findLinks walks the payout links, newest first, for those whose metadata batch_key is one of
// keys (key to line), and returns them by line. It stops when every line has its link, or at
// links created over an hour before since (the oldest key's commit): no older link can carry
// one of the keys.
func (r payer) findLinks(ctx context.Context, keys map[string]int, since time.Time) (map[int]foundLink, error) {
	lines := len(slices.Compact(slices.Sorted(maps.Values(keys))))
	found := map[int]foundLink{}
	for link, err := range r.client.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: api.Ptr(100)}) {
		if err != nil {
			return nil, err
		}
		if line, ok := keys[link.Metadata.Get(MetadataKey)]; ok {
			if _, dup := found[line]; !dup {
				found[line] = foundLink{link.ID, link.Status, link.Link, link.Amount}
			}
		}
		if len(found) == lines || (!link.Created.IsZero() && link.Created.Before(since.Add(-lookupMargin))) {
			break
		}
	}
	return found, nil
}
