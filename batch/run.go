package batch

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"math"
	"net/http"
	"sync"
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
	// Payout is the create request. Leave IdempotencyKey unset and metadata batch_key out: the
	// runner sets both to the row's key.
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
}

// DefaultMaxAmount is the largest amount of a row unless Options.MaxAmount says otherwise:
// 1,000,000 cents, $10,000. A typo of a few zeros is refused rather than paid.
const DefaultMaxAmount dots.Amount = 1_000_000

// Progress is how far a run has got.
type Progress struct {
	// Total is the number of rows; Done the rows settled in this run so far.
	Total, Done int
	// Made, AlreadyMade, Failed and Unknown count the settled rows by outcome.
	Made, AlreadyMade, Failed, Unknown int
	// Started is when the sending began.
	Started time.Time
}

// Outcome is what became of a row.
type Outcome string

const (
	// OutcomeMade: this run made the row's link (or a create with its key returned it).
	OutcomeMade Outcome = "made"
	// OutcomeAlreadyMade: the link was made by an earlier run, or found by its batch_key.
	OutcomeAlreadyMade Outcome = "already_made"
	// OutcomeFailed: Dots refused the row; nothing was paid for it.
	OutcomeFailed Outcome = "failed"
	// OutcomeUnknown: a create may have been applied and its outcome is not known yet; run the
	// batch again to resolve it (it is sent again with the same key).
	OutcomeUnknown Outcome = "unknown"
	// OutcomeNotSent: the run stopped before the row was sent.
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

// Check reads every row and runs on each the checks Run makes before sending anything, with the
// same options, sending nothing: the SDK's checks on the request the row would send, and
// Options.MaxAmount. With a journal (nil is allowed) it also compares each row with the one whose
// key was committed: a row that changed is bad. It returns the number of rows and their total
// (overall and by delivery method); when any row is bad, or the total does not fit in an int64,
// the error is an *InvalidError naming every bad row by line and field.
func Check(ctx context.Context, rows iter.Seq2[Row, error], j *Journal, opts Options) (*Report, error) {
	c, err := newChecker(opts)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	overflow := false
	var bad []RowError
	maxLine := 0
	var cur *cursor
	if j != nil {
		cur = j.cursor()
	}
	for row, err := range rows {
		if err != nil {
			return nil, err
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		problems := c.check(ctx, row)
		if !rep.add(row) && !overflow {
			overflow = true
			problems = append(problems, api.FieldError{Field: "amount", Problem: fmt.Sprintf(
				"brings the batch's total over %s, the largest sum there is: split the batch", usd(math.MaxInt64))})
		}
		if row.Line <= maxLine {
			problems = append(problems, api.FieldError{Field: "row", Problem: fmt.Sprintf("Row.Line must be positive and increase from row to row (%d follows %d)", row.Line, maxLine)})
		}
		maxLine = max(maxLine, row.Line)
		if len(problems) == 0 && cur != nil {
			e, ok, err := cur.entry(ctx, row.Line)
			if err != nil {
				return nil, err
			}
			if p, err := changed(row, e, ok); err != nil {
				return nil, err
			} else if p != nil {
				problems = append(problems, *p)
			}
		}
		if len(problems) > 0 {
			bad = append(bad, RowError{Line: row.Line, Fields: problems})
		}
	}
	if j != nil {
		n, first, err := j.linesAfter(ctx, maxLine)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			bad = append(bad, RowError{Line: first, Fields: []api.FieldError{{Field: "row", Problem: fmt.Sprintf(
				"the journal has %d rows from line %d on, which the input no longer has: is it the file the journal was made for?", n, first)}}})
		}
	}
	if len(bad) > 0 {
		return rep, &InvalidError{Rows: bad, Total: rep.Rows}
	}
	return rep, nil
}

// changed compares a row with its journal entry: a row whose content differs from the one whose
// key was committed is never sent with that key.
func changed(row Row, e Entry, ok bool) (*api.FieldError, error) {
	if !ok {
		return nil, nil
	}
	h, err := hash(row.Payout)
	if err != nil {
		return nil, err
	}
	if h == e.Hash {
		return nil, nil
	}
	what := "its key " + e.Key + " was committed"
	if e.State == Made {
		what = "its link " + e.LinkID + " was made"
	}
	return &api.FieldError{Field: "row", Problem: fmt.Sprintf("changed since %s (%s); it is not sent: restore the row, or pay a changed row from a new file",
		what, e.KeyCreated.UTC().Format(time.RFC3339))}, nil
}

// Run pays a batch: it checks every row (Check), and sends nothing if any is bad; then it
// creates one payout link per row, journaling each row's key before the row is sent and its
// outcome after. Running it again with the same rows and journal resumes: rows with a link are
// skipped, rows left without an outcome are sent again with their key (Dots answers with the
// link the key made, if any), and rows whose key is older than StaleAfter are first looked up by
// their metadata batch_key. Every link carries its row's key as metadata batch_key.
//
// The report counts every row by outcome. The error is an *InvalidError or *HeaderError when
// nothing was sent, ctx's error (wrapped) when the run was interrupted (the report then says
// what was done), or a journal or listing error.
func Run(ctx context.Context, client *api.Client, rows iter.Seq2[Row, error], j *Journal, opts Options) (*Report, error) {
	if client == nil || j == nil || rows == nil {
		return nil, errors.New("batch: Run needs a client, rows and a journal")
	}
	if j.readOnly {
		return nil, fmt.Errorf("batch: journal %s is open read-only", j.path)
	}
	r, err := newRunner(client, j, opts)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	checked, err := Check(ctx, rows, j, opts)
	if err != nil {
		return checked, err
	}
	if r.run, err = j.beginRun(ctx, r.now()); err != nil {
		return nil, err
	}
	r.progress.Total = checked.Rows
	sendErr := r.send(ctx, rows)
	// Every outcome is committed before the report reads them, whatever happened.
	if err := j.flush(); err != nil {
		return nil, errors.Join(sendErr, err)
	}
	rep, err := r.report(context.WithoutCancel(ctx), rows)
	if rep != nil {
		rep.Elapsed = time.Since(start)
	}
	if err == nil {
		err = j.endRun(r.run, r.now())
	}
	if sendErr != nil {
		return rep, sendErr
	}
	return rep, err
}

type runner struct {
	client   *api.Client
	j        *Journal
	opts     Options
	throttle *Throttle
	checker  *checker
	now      func() time.Time
	run      int

	mu       sync.Mutex // guards progress and the calls to opts.Progress
	progress Progress

	// The stale-key lookup made before sending: the links found (by line), and the rows it
	// covered. Only the feeder reads them.
	stale    map[int]gen.PayoutLink
	lookedUp map[int]bool
	feed     *cursor // the feeder's reader of the journal
}

func newRunner(client *api.Client, j *Journal, opts Options) (*runner, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 4
	}
	if opts.Retries == 0 {
		opts.Retries = 5
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	t := opts.Throttle
	if t == nil {
		t = NewThrottle(opts.Rate)
	}
	c, err := newChecker(opts)
	if err != nil {
		return nil, err
	}
	return &runner{client: client, j: j, opts: opts, throttle: t, checker: c, now: opts.Now}, nil
}

// job is one row on its way.
type job struct {
	row       Row
	hash      string
	e         Entry // the journal's entry (zero until the key is committed)
	has       bool
	rounds    int  // retries used in this run
	uncertain bool // a create with e.Key may have been applied (in this run or an earlier one)
	notFound  bool // the stale-key lookup before sending found no link for the row
}

// send walks the rows again and sends those without a final outcome, Concurrency at a time.
func (r *runner) send(ctx context.Context, rows iter.Seq2[Row, error]) error {
	r.progress.Started = time.Now()
	if err := r.lookupStale(ctx); err != nil {
		return err
	}
	r.feed = r.j.cursor()
	jobs := make(chan *job)
	var pending sync.WaitGroup // rows fed and not yet settled (in flight or waiting to retry)
	stop := make(chan struct{})
	var stopOnce sync.Once
	var stopErr error
	abort := func(err error) {
		stopOnce.Do(func() { stopErr = err; close(stop) })
	}
	var workers sync.WaitGroup
	for range r.opts.Concurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for jb := range jobs {
				r.work(ctx, jb, stop, abort, func(delay time.Duration) {
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
				}, pending.Done)
			}
		}()
	}
	// The feeder gives new rows their keys a few at a time, in one commit, before any of them
	// is handed to a worker: one fsync for several rows instead of one each.
	var chunk []*job
	errStopped := errors.New("stopped")
	dispatch := func() error {
		defer func() { chunk = chunk[:0] }()
		if err := r.keyNew(chunk); err != nil {
			return err
		}
		for _, jb := range chunk {
			pending.Add(1)
			select {
			case jobs <- jb:
			case <-stop:
				pending.Done()
				return errStopped
			case <-ctx.Done():
				pending.Done()
				return errStopped
			}
		}
		return nil
	}
	feedErr := func() error {
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
			if chunk = append(chunk, jb); len(chunk) == keyChunk {
				if err := dispatch(); err != nil {
					return err
				}
			}
		}
		return dispatch()
	}()
	if errors.Is(feedErr, errStopped) {
		feedErr = nil
	}
	if feedErr != nil {
		abort(feedErr)
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

// keyChunk is how many new rows get their keys in one commit.
const keyChunk = 16

// keyNew commits a fresh key for every job of the chunk that has none, and returns once they
// are durable.
func (r *runner) keyNew(chunk []*job) error {
	now := r.now()
	var entries []Entry
	for _, jb := range chunk {
		if jb.has {
			continue
		}
		jb.e = Entry{Line: jb.row.Line, Key: api.NewIdempotencyKey(), KeyCreated: now, Hash: jb.hash,
			Amount: jb.row.Payout.Amount, State: Sending, Run: r.run, Updated: now}
		jb.has = true
		entries = append(entries, jb.e)
	}
	return r.j.putKeys(entries)
}

// prepare reads a row's journal entry and returns its job, or nil for a row already settled
// (which it counts).
func (r *runner) prepare(ctx context.Context, row Row) (*job, error) {
	// The rows were checked, but a file can change between two walks: check again (it costs
	// microseconds) rather than send a row nobody checked.
	if p := r.checker.check(ctx, row); len(p) > 0 {
		return nil, fmt.Errorf("batch: the input changed during the run: %w", &InvalidError{Rows: []RowError{{Line: row.Line, Fields: p}}, Total: r.progress.Total})
	}
	h, err := hash(row.Payout)
	if err != nil {
		return nil, err
	}
	e, ok, err := r.feed.entry(ctx, row.Line)
	if err != nil {
		return nil, err
	}
	if ok && e.Hash != h {
		p, _ := changed(row, e, ok)
		return nil, fmt.Errorf("batch: the input changed during the run: %w", &InvalidError{Rows: []RowError{{Line: row.Line, Fields: []api.FieldError{*p}}}, Total: r.progress.Total})
	}
	if ok && (e.State == Made || e.State == Failed) {
		if e.State == Made {
			r.settle(OutcomeAlreadyMade)
		} else {
			r.settle(OutcomeFailed)
		}
		return nil, nil
	}
	jb := &job{row: row, hash: h, e: e, has: ok, uncertain: ok}
	if r.lookedUp[row.Line] {
		if link, found := r.stale[row.Line]; found {
			o, _, err := r.record(ctx, jb, Made, &link, true, nil)
			if err == nil {
				r.settle(o)
			}
			return nil, err
		}
		jb.notFound = true
	}
	return jb, nil
}

// settle counts a row as settled in this run and reports progress.
func (r *runner) settle(o Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := &r.progress
	p.Done++
	switch o {
	case OutcomeMade:
		p.Made++
	case OutcomeAlreadyMade:
		p.AlreadyMade++
	case OutcomeFailed:
		p.Failed++
	default:
		p.Unknown++
	}
	if r.opts.Progress != nil {
		r.opts.Progress(*p)
	}
}

// work takes one row as far as it goes in one attempt: it either settles it (done), or hands
// it back to retry after a delay.
func (r *runner) work(ctx context.Context, jb *job, stop <-chan struct{}, abort func(error), retry func(time.Duration), done func()) {
	select {
	case <-stop:
		r.settle(OutcomeUnknown)
		done()
		return
	default:
	}
	o, again, err := r.attempt(ctx, jb)
	if err != nil {
		abort(err)
	}
	if again && err == nil && ctx.Err() == nil && jb.rounds < r.opts.Retries {
		d := min(r.opts.RetryDelay<<jb.rounds, 30*time.Second)
		jb.rounds++
		retry(d)
		return
	}
	r.settle(o)
	done()
}

// attempt sends a row once (after committing its key) and journals the outcome. again says the
// row is worth another try in this run. An error (from the journal) stops the run.
func (r *runner) attempt(ctx context.Context, jb *job) (o Outcome, again bool, err error) {
	if err := r.throttle.Wait(ctx); err != nil {
		return OutcomeUnknown, false, nil
	}
	now := r.now()
	if now.Sub(jb.e.KeyCreated) >= StaleAfter {
		// Dots may have forgotten this key: look for the row's link before sending anything.
		if !jb.notFound {
			link, found, err := r.find(ctx, jb)
			if err != nil {
				return r.record(ctx, jb, Unknown, nil, false, fmt.Errorf("the key is over %v old and looking up its link failed: %w", StaleAfter, err))
			}
			if found {
				return r.record(ctx, jb, Made, link, true, nil)
			}
		}
		jb.notFound = false
		old := jb.e.Key
		jb.e.Key, jb.e.KeyCreated, jb.e.State, jb.e.Run, jb.e.Updated = api.NewIdempotencyKey(), now, Sending, r.run, now
		if err := r.j.rekey(jb.e, old); err != nil {
			return OutcomeUnknown, false, err
		}
		jb.uncertain = false
	}
	jb.e.Attempts++
	link, err := r.client.CreatePayoutLink(ctx, request(jb.row.Payout, jb.e.Key))
	var apiErr *api.Error
	var invalid *api.InvalidRequestError
	var contract *api.ContractError
	switch {
	case err == nil:
		r.throttle.succeeded()
		return r.record(ctx, jb, Made, link, false, nil)
	case errors.Is(err, api.ErrIdempotencyKeyReused):
		// Never a success: the link is another payout's.
		return r.record(ctx, jb, Failed, nil, false, fmt.Errorf("%w (Dots answered with link %s; nothing was paid for this row)", err, link.ID))
	case errors.Is(err, api.ErrOutcomeUnknown):
		jb.uncertain = true
		o, _, jerr := r.record(ctx, jb, Unknown, nil, false, err)
		return o, true, jerr
	case errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusTooManyRequests:
		r.throttle.limited(r.opts.RetryDelay)
		o, _, jerr := r.record(ctx, jb, jb.e.State, nil, false, err)
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
			return r.record(ctx, jb, Made, link, true, nil)
		}
		return r.record(ctx, jb, Failed, nil, false, fmt.Errorf("%w (no link carries its batch_key)", err))
	case errors.As(err, &invalid), errors.As(err, &contract):
		return r.record(ctx, jb, Failed, nil, false, err)
	case ctx.Err() != nil:
		o, _, jerr := r.record(context.WithoutCancel(ctx), jb, jb.e.State, nil, false, fmt.Errorf("interrupted: %w", err))
		return o, false, jerr
	}
	// Not sent (a refused connection, a name that does not resolve): worth another try.
	o, _, jerr := r.record(ctx, jb, jb.e.State, nil, false, err)
	return o, true, jerr
}

// record commits a row's state and returns the outcome it stands for.
func (r *runner) record(ctx context.Context, jb *job, s State, link *gen.PayoutLink, found bool, cause error) (Outcome, bool, error) {
	e := &jb.e
	e.State, e.Found, e.Run, e.Updated, e.Error = s, found, r.run, r.now(), ""
	if cause != nil {
		e.Error = cause.Error()
	}
	if link != nil {
		e.LinkID, e.LinkStatus, e.LinkURL = link.ID, string(link.Status), link.Link
	}
	if err := r.j.putLater(*e); err != nil {
		return OutcomeUnknown, false, err
	}
	switch {
	case s == Made && found:
		return OutcomeAlreadyMade, false, nil
	case s == Made:
		return OutcomeMade, false, nil
	case s == Failed:
		return OutcomeFailed, false, nil
	}
	return OutcomeUnknown, false, nil
}

// report walks the rows and the journal together: the final counts, and each row's result.
func (r *runner) report(ctx context.Context, rows iter.Seq2[Row, error]) (*Report, error) {
	rep := &Report{Run: r.run}
	cur := r.j.cursor()
	for row, err := range rows {
		if err != nil {
			return nil, err
		}
		e, ok, err := cur.entry(ctx, row.Line)
		if err != nil {
			return nil, err
		}
		res := result(row, e, ok, r.run)
		rep.add(row)
		switch res.Outcome {
		case OutcomeMade:
			rep.Made++
			rep.Amount += res.Amount
		case OutcomeAlreadyMade:
			rep.AlreadyMade++
			rep.Amount += res.Amount
		case OutcomeFailed:
			rep.Failed++
		case OutcomeUnknown:
			rep.Unknown++
		case OutcomeNotSent:
			rep.NotSent++
		}
		if r.opts.Results != nil {
			if err := r.opts.Results(res); err != nil {
				return rep, err
			}
		}
	}
	return rep, nil
}

// result is a row's result from its journal entry, as of run.
func result(row Row, e Entry, ok bool, run int) Result {
	res := Result{Line: row.Line, Amount: row.Payout.Amount, Outcome: OutcomeNotSent}
	if !ok {
		return res
	}
	res.Key, res.LinkID, res.Status, res.LinkURL, res.Error = e.Key, e.LinkID, e.LinkStatus, e.LinkURL, e.Error
	switch e.State {
	case Made:
		res.Outcome = OutcomeMade
		if e.Found || e.Run < run {
			res.Outcome = OutcomeAlreadyMade
		}
	case Failed:
		res.Outcome = OutcomeFailed
	default:
		res.Outcome = OutcomeUnknown
		if res.Error == "" {
			res.Error = "no outcome recorded: the run stopped while the row was being sent"
		}
	}
	return res
}

// lookupStale looks up, in one walk of the links, every row whose key is over StaleAfter old and
// has no outcome: Dots may have forgotten those keys, so they are not sent again blindly.
func (r *runner) lookupStale(ctx context.Context) error {
	cutoff := r.now().Add(-StaleAfter).UTC().Format(timeFormat)
	keys := map[string]int{}
	var since time.Time
	for e, err := range r.j.entries(ctx, "WHERE state IN (?, ?) AND key_created <= ?", string(Sending), string(Unknown), cutoff) {
		if err != nil {
			return err
		}
		ks, oldest, err := r.j.keysOf(ctx, e.Line)
		if err != nil {
			return err
		}
		for _, k := range ks {
			keys[k] = e.Line
		}
		if since.IsZero() || oldest.Before(since) {
			since = oldest
		}
	}
	if len(keys) == 0 {
		return nil
	}
	found, err := r.findLinks(ctx, keys, since)
	if err != nil {
		return fmt.Errorf("batch: looking up the links of rows whose keys are over %v old: %w", StaleAfter, err)
	}
	r.stale, r.lookedUp = found, map[int]bool{}
	for _, line := range keys {
		r.lookedUp[line] = true
	}
	return nil
}

// find looks for the link of one row by its keys.
func (r *runner) find(ctx context.Context, jb *job) (*gen.PayoutLink, bool, error) {
	ks, oldest, err := r.j.keysOf(ctx, jb.row.Line)
	if err != nil {
		return nil, false, err
	}
	keys := map[string]int{}
	for _, k := range ks {
		keys[k] = jb.row.Line
	}
	found, err := r.findLinks(ctx, keys, oldest)
	if err != nil {
		return nil, false, err
	}
	link, ok := found[jb.row.Line]
	return &link, ok, nil
}

// lookupMargin allows for the difference between this machine's clock and Dots' when a walk of
// the links stops at links older than the keys it looks for.
const lookupMargin = time.Hour

// findLinks walks the payout links, newest first, for those whose metadata batch_key is one of
// keys (key to line), and returns them by line. It stops when every line has its link, or at
// links created over an hour before since (the oldest key's commit): no older link can carry
// one of the keys.
func (r *runner) findLinks(ctx context.Context, keys map[string]int, since time.Time) (map[int]gen.PayoutLink, error) {
	lines := map[int]bool{}
	for _, l := range keys {
		lines[l] = true
	}
	found := map[int]gen.PayoutLink{}
	cutoff := since.Add(-lookupMargin)
	for link, err := range r.client.PayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: api.Ptr(100)}) {
		if err != nil {
			return nil, err
		}
		if k := link.Metadata.Get(MetadataKey); k != "" {
			if line, ok := keys[k]; ok {
				if _, dup := found[line]; !dup {
					found[line] = link
				}
			}
		}
		if len(found) == len(lines) || (!link.Created.IsZero() && link.Created.Before(cutoff)) {
			break
		}
	}
	return found, nil
}
