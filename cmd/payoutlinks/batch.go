package main

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/batch/pgqueue"
	"github.com/payoutkit/dots-go/gen"
	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

var batchUsage = `Usage: payoutlinks batch [flags] FILE.csv
       payoutlinks batch work --journal postgres://...        join a Postgres run as a worker
       payoutlinks batch status --journal FILE|postgres://...  each row's state, and the totals
       payoutlinks batch reconcile --journal FILE|postgres://... [--out FILE.csv]
                                                              compare the journal with Dots
       payoutlinks batch plan FILE.csv                        write a plan for someone to approve
       payoutlinks batch apply PLAN                           pay the planned file, if unchanged

Pay everyone in a CSV file: one payout link per row, crash-safe. Every row is checked first, and
nothing is sent if any row is bad. Each row's idempotency key is committed to a journal (an SQLite
database, FILE.csv.journal) before the row is sent, and its outcome after; running the same
command again resumes, and never pays a row twice.

Columns: reference (your own name for the payout, such as an invoice number), amount (cents,
required), ` + strings.Join(batch.Columns()[2:], ", ") + `, and metadata.KEY for any KEY.

A reference is paid once, whatever the file or journal: each row's idempotency key is derived
from its reference, its link carries the reference as metadata batch_reference, and before
sending, the links on Dots of the last --lookback (90 days) are searched for the references of
the rows the journal does not have. A row whose reference has a link is already made (or, if
the link's amount differs, failed as a conflict, with nothing sent). A file without a reference
column is refused unless --allow-no-reference is given; two rows with one reference (or, without
references, two rows alike) are refused, naming both lines.

Before anything is sent, the command prints what it is about to pay: the links, their total and
the totals by delivery method (Dots pays in USD). On a terminal it asks "Pay N links, $X in all?
[y/N]" and sends nothing unless answered yes; when stdin is not a terminal (a script, a cron job)
it needs --yes. A row over --max-amount (default $10,000) is refused.

With --journal postgres://... the journal is in Postgres, shared by machines: the command queues
the file's rows (once; a changed row is refused as with SQLite) and works them, and
'payoutlinks batch work --journal postgres://...' on other machines works them too. Each row is
created exactly once, whatever happens to the workers. Run 'payoutlinks batch SUBCOMMAND --help'
for the subcommands.

Exit codes: 0 every row has its link; 1 some row failed or was not sent (stopped by Ctrl-C, or
Dots could not be reached: the run stops after 10 creates in a row could not reach it); 2 bad
usage or input (nothing was sent); 3 the outcome of some row is unknown: a create of it may have
reached Dots (run the same command again).

Flags:
`

// batchClientOptions are added to the client's options (the tests shorten its retries).
var batchClientOptions []api.Option

// runBatch is the batch command: payoutlinks batch [flags] FILE.csv.
func runBatch(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) > 0 {
		if sub, ok := batchCommands[args[0]]; ok {
			return sub(ctx, args[1:], stdout, stderr, lookup)
		}
	}
	fs := newFlagSet("payoutlinks batch")
	dryRun := fs.Bool("dry-run", false, "check every row and send nothing")
	journalPath := fs.String("journal", "", "the journal: an SQLite `FILE` (default FILE.csv.journal), or a Postgres URL\n"+
		"(postgres://...) that workers on other machines share ('payoutlinks batch work')")
	batchName := fs.String("batch", "", "with a Postgres journal, the batch's `NAME` in it (default: the file's name)")
	jobTimeout := fs.Duration("job-timeout", time.Minute, "with a Postgres journal, the longest an attempt at a row may take (`DURATION`); a\n"+
		"dead worker's rows go to others after this and 10s more")
	resultsPath := fs.String("results", "", "write each row's result to this `FILE` (default FILE.results.csv)")
	concurrency := fs.Int("concurrency", 4, "`N` creates in flight at once")
	rate := fs.Float64("rate", 0, "at most `N` creates per second (0: no cap)")
	retries := fs.Int("retries", 5, "`N` times a row whose outcome is unknown is sent again with its key in this run")
	retryDelay := fs.Duration("retry-delay", time.Second, "wait this `DURATION` before the first of those retries (doubled each time, at most 30s)")
	every := fs.Duration("progress-every", 5*time.Second, "when stderr is not a terminal, print progress every `DURATION`")
	maxAmount := fs.Int64("max-amount", int64(batch.DefaultMaxAmount), "refuse the batch if a row is over this many `CENTS` (a typo of a few zeros)")
	allowNoRef := fs.Bool("allow-no-reference", false, "pay a file without a reference column: each row gets a random key, and is safe from\n"+
		"being paid twice only within this file and its journal")
	lookback := batch.DefaultLookback
	fs.Var(durationOrDays{&lookback}, "lookback", "look this far back among the links on Dots for the references of rows the journal\n"+
		"does not have: a `PERIOD` in days (90d) or a duration (36h)")
	env := fs.String("env", "", "`sandbox|production` (default: DOTS_ENV, else sandbox)")
	useMock := fs.Bool("mock", false, "refused: a batch never runs against the built-in mock server")
	yes := fs.Bool("yes", false, "pay without asking (required when stdin is not a terminal)")
	files, code, ok := parseSub(fs, args, batchUsage, "payoutlinks help batch", stdout, stderr)
	switch {
	case !ok:
		return code
	case len(files) > 1:
		return fail(stderr, exitUsage, "payoutlinks batch: give one CSV file, not %q and %q", files[0], files[1])
	case *useMock:
		return fail(stderr, exitUsage, "payoutlinks batch: --mock is refused: the built-in mock server ends with the command, and the journal "+
			"would record links that do not exist. To try a batch, run 'payoutlinks mock' and set DOTS_BASE_URL to its base URL.")
	case len(files) == 0:
		return fail(stderr, exitUsage, "payoutlinks batch: give the CSV file to pay: payoutlinks batch FILE.csv (--help for more)")
	case *concurrency < 1:
		return fail(stderr, exitUsage, "payoutlinks batch: --concurrency must be at least 1")
	case *rate < 0:
		return fail(stderr, exitUsage, "payoutlinks batch: --rate must not be negative")
	case *retries < 0:
		return fail(stderr, exitUsage, "payoutlinks batch: --retries must not be negative")
	case *retryDelay <= 0 || *every <= 0:
		return fail(stderr, exitUsage, "payoutlinks batch: --retry-delay and --progress-every must be positive")
	case *maxAmount < 1:
		return fail(stderr, exitUsage, "payoutlinks batch: --max-amount must be at least 1 (cents)")
	}
	file := files[0]
	if *retries == 0 {
		*retries = -1 // batch.Options reads 0 as its default
	}
	*journalPath = cmp.Or(*journalPath, file+".journal")
	*resultsPath = cmp.Or(*resultsPath, strings.TrimSuffix(file, filepath.Ext(file))+".results.csv")
	*batchName = cmp.Or(*batchName, filepath.Base(file))
	if _, err := os.Stat(file); err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch: %v", err)
	}
	rows := batch.CSVFile(file)
	opts := batch.Options{Concurrency: *concurrency, Retries: *retries, RetryDelay: *retryDelay, MaxAmount: dots.Amount(*maxAmount),
		AllowNoReference: *allowNoRef, Lookback: lookback}
	if *dryRun {
		return dryRunBatch(ctx, rows, *journalPath, *batchName, opts, stdout, stderr)
	}

	throttle := batch.NewThrottle(*rate)
	client, err := batchClient(*env, throttle, lookup)
	if err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch: %v", err)
	}
	fmt.Fprintf(stderr, "note: using %s; journal %s\n", client.BaseURL(), redactURL(*journalPath))
	var store batch.Store
	if isPostgres(*journalPath) {
		q, err := pgqueue.Connect(ctx, *journalPath, pgqueue.Options{RetryDelay: *retryDelay, JobTimeout: *jobTimeout})
		if err != nil {
			return fail(stderr, exitFailed, "payoutlinks batch: %v", redactErr(err, *journalPath))
		}
		defer q.Close()
		store, opts.Dispatcher = q.Journal(*batchName), q.Dispatcher(*batchName)
		// This process works the batch too, beside the workers of other machines.
		workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
		var worker sync.WaitGroup
		worker.Go(func() {
			_ = q.Work(workCtx, client, pgqueue.WorkOptions{Concurrency: *concurrency,
				Payer: batch.NewPayer(client, batch.Options{Throttle: throttle, RetryDelay: *retryDelay})})
		})
		defer func() {
			stopWork()
			worker.Wait()
		}()
	} else {
		j, err := batch.OpenJournal(ctx, *journalPath)
		if err != nil {
			return fail(stderr, exitFailed, "payoutlinks batch: %v", err)
		}
		defer func() {
			if err := j.Close(); err != nil {
				fmt.Fprintf(stderr, "payoutlinks batch: closing the journal: %v\n", err)
			}
		}()
		store = j.Store()
	}

	results, err := newResultsFile(*resultsPath)
	if err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch: %v", err)
	}
	defer results.abort()
	prog := newProgress(stderr, *every)
	opts.Throttle, opts.Progress, opts.Results = throttle, prog.update, results.write
	opts.Confirm = func(p batch.Plan) error {
		printPlan(stderr, p)
		switch {
		case *yes:
			return nil
		case !stdinIsTerminal():
			return errNeedYes
		}
		fmt.Fprintf(stderr, "Pay %d links, %s in all? [y/N] ", p.Send.Rows, dollars(int64(p.Send.Amount)))
		if answer, err := readAnswer(ctx, stdin); err != nil || (answer != "y" && answer != "yes") {
			return errNotConfirmed
		}
		return nil
	}
	rep, runErr := batch.RunOn(ctx, client, rows, store, opts)
	prog.finish()
	if rep == nil || rep.Run == 0 {
		// Nothing was sent: bad rows, a bad header, or a journal that does not match.
		return reportRefusal(runErr, stderr)
	}
	if err := results.commit(); err != nil {
		fmt.Fprintf(stderr, "payoutlinks batch: writing the results: %v\n", err)
		runErr = errors.Join(runErr, err)
	}
	printSummary(stdout, stderr, rep, redactURL(*journalPath), *resultsPath)
	if runErr != nil {
		fmt.Fprintf(stderr, "payoutlinks batch: %v\n", runErr)
	}
	if rep.NotSent > 0 {
		fmt.Fprintf(stderr, "%d rows were not sent (nothing reached Dots for them): run the same command again to send them\n", rep.NotSent)
	}
	switch {
	case rep.Unknown > 0:
		return fail(stderr, exitUnknown, "%d rows have no known outcome yet: run the same command again to resolve them (each is sent again with its own key, or looked up)", rep.Unknown)
	case rep.Failed > 0 || rep.NotSent > 0 || runErr != nil:
		return exitFailed
	}
	return exitOK
}

// dryRunBatch checks every row (and compares it with the journal, if there is one: an SQLite
// file, or the batch's rows in Postgres) and sends nothing.
func dryRunBatch(ctx context.Context, rows iter.Seq2[batch.Row, error], journalPath, batchName string, opts batch.Options, stdout, stderr io.Writer) int {
	var s batch.Store
	if _, err := os.Stat(journalPath); err == nil || isPostgres(journalPath) {
		js, _, closeStore, err := openStore(ctx, journalPath, batchName)
		if err != nil {
			return fail(stderr, exitFailed, "payoutlinks batch: %v", err)
		}
		defer closeStore()
		s = js
	}
	rep, err := batch.CheckOn(ctx, rows, s, opts)
	if rep == nil {
		return reportRefusal(err, stderr)
	}
	bad := 0
	var invalid *batch.InvalidError
	if errors.As(err, &invalid) {
		bad = len(invalid.Rows)
	}
	_ = writeJSON(stdout, map[string]any{"dry_run": true, "rows": rep.Rows, "total": rep.Total, "bad_rows": bad, "methods": methodsJSON(rep.Methods)})
	if err != nil {
		return reportRefusal(err, stderr)
	}
	fmt.Fprintf(stderr, "dry run: %d rows, %s in all (USD), every row passes the checks; nothing was sent\n", rep.Rows, dollars(int64(rep.Total)))
	printMethods(stderr, rep.Methods)
	return exitOK
}

// printMethods prints a line per delivery method: its rows and their sum.
func printMethods(w io.Writer, methods map[gen.DeliveryMethod]batch.Sum) {
	for _, m := range slices.Sorted(maps.Keys(methods)) {
		name := string(m)
		if name == "" {
			name = "(no method)"
		}
		fmt.Fprintf(w, "  %-12s %6d rows  %14s\n", name, methods[m].Rows, dollars(int64(methods[m].Amount)))
	}
}

// methodsJSON is the sums by delivery method as the JSON summary and the plan write them.
func methodsJSON(methods map[gen.DeliveryMethod]batch.Sum) map[string]batchPlanTotal {
	out := map[string]batchPlanTotal{}
	for m, s := range methods {
		out[string(m)] = batchPlanTotal{Rows: s.Rows, Total: s.Amount}
	}
	return out
}

// reportRefusal explains why nothing was sent, naming every bad row.
func reportRefusal(err error, stderr io.Writer) int {
	var invalid *batch.InvalidError
	var noRef *batch.NoReferenceError
	switch {
	case errors.Is(err, errNeedYes):
		return fail(stderr, exitUsage, "payoutlinks batch: stdin is not a terminal, so there is no one to ask: pass --yes to pay the batch above; nothing was sent")
	case errors.Is(err, errNotConfirmed):
		return fail(stderr, exitFailed, "payoutlinks batch: not confirmed; nothing was sent")
	case errors.As(err, &noRef) && noRef.Rows == noRef.Total:
		fmt.Fprintln(stderr, "payoutlinks batch: the file has no reference column. Give each row a reference of its own (an invoice "+
			"number, say) in a column named reference: a reference is paid once, even from a copy of the file, with another journal, "+
			"or from a later file that holds the row again. Or pass --allow-no-reference to pay it as it is: each row then gets a "+
			"random key, and is kept from being paid twice only within this file and its journal.")
	case noRef != nil:
		fmt.Fprintf(stderr, "payoutlinks %v\n", noRef)
	}
	switch {
	case errors.As(err, &invalid):
		for _, r := range invalid.Rows {
			fmt.Fprintf(stderr, "%v\n", r)
		}
		return fail(stderr, exitUsage, "payoutlinks batch: %d of %d rows are bad; nothing was sent", len(invalid.Rows), invalid.Total)
	case noRef != nil:
		return fail(stderr, exitUsage, "payoutlinks batch: nothing was sent")
	case errors.As(err, new(*batch.HeaderError)), errors.As(err, new(*batch.FileError)):
		return fail(stderr, exitUsage, "payoutlinks batch: %v; nothing was sent", err)
	case err != nil:
		return fail(stderr, exitFailed, "payoutlinks batch: %v", err)
	}
	return exitOK
}

// Stdin, and whether it is a terminal: variables, so tests can pretend.
var (
	stdin           io.Reader = os.Stdin
	stdinIsTerminal           = func() bool { return term.IsTerminal(int(os.Stdin.Fd())) }
)

var (
	errNeedYes      = errors.New("stdin is not a terminal and --yes was not given")
	errNotConfirmed = errors.New("not confirmed")
)

// readAnswer reads a line from r, lowercased and trimmed; Ctrl-C while waiting ends the wait.
func readAnswer(ctx context.Context, r io.Reader) (string, error) {
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.ToLower(strings.TrimSpace(s))
	}()
	select {
	case s := <-line:
		return s, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// printPlan shows what the run is about to pay, before anything is sent.
func printPlan(w io.Writer, p batch.Plan) {
	fmt.Fprintf(w, "batch: %d rows, %s in all (USD)", p.Rows, dollars(int64(p.Total)))
	if p.Done > 0 {
		fmt.Fprintf(w, "; %d of them already have their link or failed, and are not sent again", p.Done)
	}
	fmt.Fprintf(w, "\nto pay: %d links, %s in all (USD):\n", p.Send.Rows, dollars(int64(p.Send.Amount)))
	printMethods(w, p.Methods)
}

// durationOrDays is a flag value in days ("90d") or as a Go duration ("36h").
type durationOrDays struct{ d *time.Duration }

func (f durationOrDays) String() string {
	if f.d == nil {
		return ""
	}
	if day := 24 * time.Hour; *f.d%day == 0 {
		return fmt.Sprintf("%dd", *f.d/day)
	}
	return f.d.String()
}

func (f durationOrDays) Set(s string) error {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if n, err = strconv.Atoi(days); n > int(math.MaxInt64/(24*time.Hour)) {
			n = -1 // past what a Duration holds
		}
		d = time.Duration(n) * 24 * time.Hour
	}
	if err != nil || d <= 0 {
		return errors.New("want a number of days such as 90d, or a duration such as 36h")
	}
	*f.d = d
	return nil
}

// batchClient makes the client from the DOTS_* variables as api.ReadEnv reads them (the sandbox
// unless production is asked for; --env wins over DOTS_ENV; a variable set but empty is refused,
// naming it). A batch never runs against a throwaway mock (its journal would record links that
// do not exist): it needs credentials.
func batchClient(envFlag string, throttle *batch.Throttle, lookup func(string) (string, bool)) (*api.Client, error) {
	e, err := api.ReadEnv(lookup)
	if err != nil {
		return nil, fmt.Errorf("%w: a batch needs real credentials (for a local mock, run 'payoutlinks mock' and set DOTS_BASE_URL and test credentials); --dry-run needs none", err)
	}
	if envFlag != "" {
		e.Environment = api.Environment(strings.ToLower(envFlag))
	}
	opts := append(e.Options(), api.WithUserAgent("payoutlinks-batch"), api.WithHTTPClient(&http.Client{Transport: throttle.Transport(nil)}))
	return api.NewClient(e.ClientID, e.APIKey, append(opts, batchClientOptions...)...)
}

// resultsFile writes the results CSV to a temporary file beside its path, renamed into place
// once complete.
type resultsFile struct {
	path, tmp string
	f         *os.File
	w         *csv.Writer
}

var resultsHeader = []string{"line", "key", "outcome", "link_id", "status", "link_url", "amount", "error"}

func newResultsFile(path string) (*resultsFile, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("the results file: %w", err)
	}
	r := &resultsFile{path: path, tmp: f.Name(), f: f, w: csv.NewWriter(f)}
	if err := r.w.Write(resultsHeader); err != nil {
		r.abort()
		return nil, fmt.Errorf("the results file: %w", err)
	}
	return r, nil
}

func (r *resultsFile) write(res batch.Result) error {
	return r.w.Write([]string{strconv.Itoa(res.Line), res.Key, string(res.Outcome), res.LinkID, res.Status, res.LinkURL,
		strconv.FormatInt(int64(res.Amount), 10), res.Error})
}

func (r *resultsFile) commit() error {
	r.w.Flush()
	err := errors.Join(r.w.Error(), r.f.Sync(), r.f.Close())
	if err == nil {
		err = os.Rename(r.tmp, r.path)
	}
	return err
}

// abort removes the temporary file unless commit renamed it.
func (r *resultsFile) abort() {
	_ = r.f.Close()
	_ = os.Remove(r.tmp)
}

// progress shows how far the batch has got: a bar when stderr is a terminal, else a line every
// few seconds.
type progress struct {
	mu     sync.Mutex
	last   batch.Progress
	bar    *progressbar.ProgressBar
	out    io.Writer
	closed bool
	stop   chan struct{}
	ticker sync.WaitGroup
}

// isTerminal reports whether w is a terminal (a variable, so tests can pretend).
var isTerminal = func(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func newProgress(stderr io.Writer, every time.Duration) *progress {
	p := &progress{out: stderr, stop: make(chan struct{})}
	if isTerminal(stderr) {
		return p // the bar is made at the first update, once the total is known
	}
	p.ticker.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-t.C:
				p.mu.Lock()
				if p.last.Total > 0 {
					fmt.Fprintln(p.out, progressLine(p.last))
				}
				p.mu.Unlock()
			}
		}
	})
	return p
}

func (p *progress) update(s batch.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = s
	if p.closed || !isTerminal(p.out) {
		return
	}
	if p.bar == nil {
		p.bar = progressbar.NewOptions(s.Total, progressbar.OptionSetWriter(p.out), progressbar.OptionSetDescription("paying"),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("rows"),
			progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30))
	}
	_ = p.bar.Set(s.Done)
}

func (p *progress) finish() {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.stop)
		if p.bar != nil {
			_ = p.bar.Finish()
			fmt.Fprintln(p.out)
		}
	}
	p.mu.Unlock()
	p.ticker.Wait()
}

// progressLine is the line printed every few seconds when stderr is not a terminal.
func progressLine(s batch.Progress) string {
	elapsed := time.Since(s.Started)
	line := fmt.Sprintf("batch: %d/%d rows (made %d, already made %d, failed %d, unknown %d, not sent %d)", s.Done, s.Total,
		s.Made, s.AlreadyMade, s.Failed, s.Unknown, s.NotSent)
	if perSec := float64(s.Done) / elapsed.Seconds(); s.Done > 0 && elapsed > 0 {
		line += fmt.Sprintf(", %.0f rows/s, ETA %s", perSec, (time.Duration(float64(s.Total-s.Done) / perSec * float64(time.Second))).Round(time.Second))
	}
	return line
}

func printSummary(stdout, stderr io.Writer, rep *batch.Report, journal, results string) {
	fmt.Fprintf(stderr, "batch: %d rows: %d links made, %d already made, %d failed, %d unknown, %d not sent; %s paid out in links of %s in all (run %d, %s)\n",
		rep.Rows, rep.Made, rep.AlreadyMade, rep.Failed, rep.Unknown, rep.NotSent, dollars(int64(rep.Amount)), dollars(int64(rep.Total)),
		rep.Run, rep.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(stderr, "results: %s; journal: %s\n", results, journal)
	_ = writeJSON(stdout, map[string]any{
		"run": rep.Run, "rows": rep.Rows, "made": rep.Made, "already_made": rep.AlreadyMade, "failed": rep.Failed,
		"unknown": rep.Unknown, "not_sent": rep.NotSent, "amount": rep.Amount, "total": rep.Total,
		"journal": journal, "results": results,
	})
}
