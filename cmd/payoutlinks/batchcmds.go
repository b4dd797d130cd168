package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/batch/pgqueue"
)

// batchCommands are the subcommands of batch: payoutlinks batch work|status|reconcile|plan|apply.
var batchCommands map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int

func init() {
	batchCommands = map[string]func(context.Context, []string, io.Writer, io.Writer, func(string) (string, bool)) int{
		"work": runBatchWork, "status": runBatchStatus, "reconcile": runBatchReconcile, "plan": runBatchPlan, "apply": runBatchApply,
	}
}

// isPostgres reports whether a journal is a Postgres URL rather than an SQLite file.
func isPostgres(journal string) bool {
	return strings.HasPrefix(journal, "postgres://") || strings.HasPrefix(journal, "postgresql://")
}

// redactURL hides the password of a Postgres URL.
func redactURL(journal string) string {
	if !isPostgres(journal) {
		return journal
	}
	u, err := url.Parse(journal)
	if err != nil {
		return "postgres://(unreadable URL)"
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// redactErr is err with the journal URL's password, if any, taken out of its text.
func redactErr(err error, journal string) error {
	u, perr := url.Parse(journal)
	if perr != nil {
		return err
	}
	pw := u.Query().Get("password")
	if p, ok := u.User.Password(); ok {
		pw = p
	}
	if pw != "" && strings.Contains(err.Error(), pw) {
		return errors.New(strings.ReplaceAll(err.Error(), pw, "xxxxx"))
	}
	return err
}

// parseSub parses the flags of a batch command, which may come after its arguments too; it
// returns the arguments, or an exit code. A bad flag is named on stderr, with hint, the command
// that gives usage.
func parseSub(fs *flag.FlagSet, args []string, usage, hint string, stdout, stderr io.Writer) ([]string, int, bool) {
	var pos []string
	for rest := args; ; {
		if err := fs.Parse(rest); errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			printFlags(stdout, fs)
			return nil, exitOK, false
		} else if err != nil {
			return nil, fail(stderr, exitUsage, "%s: %s\nRun '%s' for usage.", fs.Name(), flagMessage(err), hint), false
		}
		if fs.NArg() == 0 {
			return pos, 0, true
		}
		pos, rest = append(pos, fs.Arg(0)), fs.Args()[1:]
	}
}

// openStore opens a journal to read it: an SQLite file, or a batch of a Postgres journal (the
// only one it holds, unless name says which). close releases it.
func openStore(ctx context.Context, journal, name string) (s batch.Store, label string, close func(), err error) {
	if !isPostgres(journal) {
		j, err := batch.OpenJournalReadOnly(ctx, journal)
		if err != nil {
			return nil, "", nil, err
		}
		return j.Store(), journal, func() { _ = j.Close() }, nil
	}
	q, err := pgqueue.Connect(ctx, journal, pgqueue.Options{})
	if err != nil {
		return nil, "", nil, redactErr(err, journal)
	}
	if name == "" {
		names, err := q.Batches(ctx)
		switch {
		case err != nil:
			q.Close()
			return nil, "", nil, err
		case len(names) != 1:
			q.Close()
			return nil, "", nil, fmt.Errorf("the journal holds %d batches (%s): name one with --batch NAME", len(names), strings.Join(names, ", "))
		}
		name = names[0]
	}
	return q.Journal(name), name, func() { _ = q.Close() }, nil
}

const batchWorkUsage = `Usage: payoutlinks batch work --journal postgres://... [flags]

Join the payout runs of a Postgres journal as a worker, from any machine: take the rows that
'payoutlinks batch FILE.csv --journal postgres://...' (or a service's outbox) queued, and create
their links, each exactly once, whatever happens to the other workers. It returns once no row is
waiting or being worked (with --stay, only when stopped: Ctrl-C or SIGTERM, after the rows in
hand are done). Credentials come from the DOTS_* variables, as for a batch.

Flags:
`

func runBatchWork(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := newFlagSet("payoutlinks batch work")
	journal := fs.String("journal", "", "the Postgres `URL` of the journal (postgres://...)")
	concurrency := fs.Int("concurrency", 8, "`N` rows in flight at once in this process")
	rate := fs.Float64("rate", 0, "at most `N` creates per second from this process (0: no cap)")
	retryDelay := fs.Duration("retry-delay", time.Second, "wait this `DURATION` before a row whose outcome is unknown is attempted again (doubled each time, at most 30s)")
	jobTimeout := fs.Duration("job-timeout", time.Minute, "the longest an attempt at a row may take (`DURATION`)")
	stay := fs.Bool("stay", false, "keep working until stopped, even when no row is waiting")
	env := fs.String("env", "", "`sandbox|production` (default: DOTS_ENV, else sandbox)")
	pos, code, ok := parseSub(fs, args, batchWorkUsage, "payoutlinks batch work --help", stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) > 0:
		return fail(stderr, exitUsage, "payoutlinks batch work: unexpected argument %q", pos[0])
	case !isPostgres(*journal):
		return fail(stderr, exitUsage, "payoutlinks batch work: give the Postgres journal: --journal postgres://...")
	case *concurrency < 1 || *rate < 0 || *retryDelay <= 0 || *jobTimeout <= 0:
		return fail(stderr, exitUsage, "payoutlinks batch work: --concurrency must be at least 1, --rate not negative, --retry-delay and --job-timeout positive")
	}
	throttle := batch.NewThrottle(*rate)
	client, err := batchClient(*env, throttle, lookup)
	if err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch work: %v", err)
	}
	q, err := pgqueue.Connect(ctx, *journal, pgqueue.Options{RetryDelay: *retryDelay, JobTimeout: *jobTimeout})
	if err == nil {
		defer q.Close()
		fmt.Fprintf(stderr, "note: using %s; working journal %s\n", client.BaseURL(), redactURL(*journal))
		err = q.Work(ctx, client, pgqueue.WorkOptions{Concurrency: *concurrency, UntilDone: !*stay,
			Payer: batch.NewPayer(client, batch.Options{Throttle: throttle, RetryDelay: *retryDelay})})
	}
	if err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch work: %v", redactErr(err, *journal))
	}
	return exitOK
}

const batchStatusUsage = `Usage: payoutlinks batch status --journal FILE|postgres://... [--batch NAME]

Print each row of a batch's journal (line, state, amount, key, link, attempts, last error) and the
totals by state, from any machine. Needs no credentials: it reads the journal only.

Exit codes: 0 every row has its outcome (made or failed); 3 some row has none yet; 1 the journal
could not be read.

Flags:
`

func runBatchStatus(ctx context.Context, args []string, stdout, stderr io.Writer, _ func(string) (string, bool)) int {
	fs := newFlagSet("payoutlinks batch status")
	journal := fs.String("journal", "", "the journal: an SQLite `FILE`, or a Postgres URL")
	name := fs.String("batch", "", "with a Postgres journal, the batch's `NAME` (needed when it holds several)")
	pos, code, ok := parseSub(fs, args, batchStatusUsage, "payoutlinks batch status --help", stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) > 0 || *journal == "":
		return fail(stderr, exitUsage, "payoutlinks batch status: give the journal, and nothing else: --journal FILE|postgres://...")
	}
	s, label, closeStore, err := openStore(ctx, *journal, *name)
	if err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch status: %v", err)
	}
	defer closeStore()
	sums := map[batch.State]batch.Sum{}
	rows := 0
	fmt.Fprintf(stdout, "%-7s %-9s %12s  %-36s  %-24s %8s  %s\n", "line", "state", "amount", "key", "link", "attempts", "error")
	for e, err := range s.Entries(ctx, 0, 0) {
		if err != nil {
			return fail(stderr, exitFailed, "payoutlinks batch status: %v", err)
		}
		rows++
		sums[e.State] = batch.Sum{Rows: sums[e.State].Rows + 1, Amount: sums[e.State].Amount + e.Amount}
		fmt.Fprintf(stdout, "%-7d %-9s %12s  %-36s  %-24s %8d  %s\n", e.Line, e.State, dollars(int64(e.Amount)), e.Key, e.LinkID, e.Attempts, e.Error)
	}
	fmt.Fprintf(stdout, "\n%s: %d rows\n", label, rows)
	for _, st := range []batch.State{batch.Made, batch.Failed, batch.Sending, batch.Unknown, batch.NotSent} {
		if x, ok := sums[st]; ok {
			fmt.Fprintf(stdout, "  %-9s %6d rows  %14s\n", st, x.Rows, dollars(int64(x.Amount)))
		}
	}
	if sums[batch.Made].Rows+sums[batch.Failed].Rows < rows {
		return exitUnknown
	}
	return exitOK
}

const batchReconcileUsage = `Usage: payoutlinks batch reconcile --journal FILE|postgres://... [--batch NAME] [--out FILE.csv]

Compare a batch's journal with the links Dots holds (found by their metadata batch_key) and print,
per row, where it stands and the action to take:

  paid             the journal says made, and Dots holds exactly its link, for its amount
  failed           Dots refused it (or a conflict), and holds no link for it
  unknown          the journal has no outcome yet (run the batch again; the action says more)
  missing          no link on Dots where one is expected (made, but no link carries its key;
                   or never sent)
  unexpected_link  a link the journal does not account for: a second link for a row, a link
                   for a failed or unsent row, or one for another amount

The report goes to stdout, and as CSV to --out (line, key, amount, state, standing, link_id,
links, action). Credentials come from the DOTS_* variables.

Exit codes: 0 every row is settled (paid, or failed with no link); 1 some row is not, or the
journal or Dots could not be read.

Flags:
`

func runBatchReconcile(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := newFlagSet("payoutlinks batch reconcile")
	journal := fs.String("journal", "", "the journal: an SQLite `FILE`, or a Postgres URL")
	name := fs.String("batch", "", "with a Postgres journal, the batch's `NAME` (needed when it holds several)")
	out := fs.String("out", "", "write the report as CSV to this `FILE` too")
	env := fs.String("env", "", "`sandbox|production` (default: DOTS_ENV, else sandbox)")
	pos, code, ok := parseSub(fs, args, batchReconcileUsage, "payoutlinks batch reconcile --help", stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) > 0 || *journal == "":
		return fail(stderr, exitUsage, "payoutlinks batch reconcile: give the journal, and nothing else: --journal FILE|postgres://...")
	}
	client, err := batchClient(*env, batch.NewThrottle(0), lookup)
	if err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch reconcile: %v", err)
	}
	s, label, closeStore, err := openStore(ctx, *journal, *name)
	if err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch reconcile: %v", err)
	}
	defer closeStore()
	rows, err := batch.Reconcile(ctx, client, s)
	var f *os.File
	if err == nil && *out != "" {
		f, err = os.Create(*out)
	}
	if err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch reconcile: %v", err)
	}
	w := csv.NewWriter(io.Discard)
	if f != nil {
		defer f.Close()
		w = csv.NewWriter(f)
		_ = w.Write([]string{"line", "key", "amount", "state", "standing", "link_id", "links", "action"})
	}
	counts := map[batch.Standing]int{}
	for _, r := range rows {
		counts[r.Standing]++
		ids := make([]string, len(r.Links))
		for i, l := range r.Links {
			ids[i] = l.ID
		}
		if !r.Settled() {
			fmt.Fprintf(stdout, "line %d: %s (journal: %s): %s\n", r.Entry.Line, r.Standing, r.Entry.State, r.Action)
		}
		_ = w.Write([]string{strconv.Itoa(r.Entry.Line), r.Entry.Key, strconv.FormatInt(int64(r.Entry.Amount), 10), string(r.Entry.State),
			string(r.Standing), r.Entry.LinkID, strings.Join(ids, " "), r.Action})
	}
	if w.Flush(); f != nil {
		if err := errors.Join(w.Error(), f.Sync()); err != nil {
			return fail(stderr, exitFailed, "payoutlinks batch reconcile: %v", err)
		}
	}
	settled := counts[batch.StandingPaid] + counts[batch.StandingFailed]
	fmt.Fprintf(stdout, "%s: %d rows: %d paid, %d failed, %d unknown, %d missing, %d with unexpected links; %d of %d settled\n", label, len(rows),
		counts[batch.StandingPaid], counts[batch.StandingFailed], counts[batch.StandingUnknown], counts[batch.StandingMissing],
		counts[batch.StandingUnexpected], settled, len(rows))
	if settled != len(rows) {
		return exitFailed
	}
	return exitOK
}

// batchPlan is what 'batch plan' writes and 'batch apply' reads: the file to pay, its hash, and
// what the checks made of it.
type batchPlan struct {
	File             string                    `json:"file"`
	SHA256           string                    `json:"sha256"`
	Rows             int                       `json:"rows"`
	Total            dots.Amount               `json:"total"`
	Methods          map[string]batchPlanTotal `json:"methods"`
	MaxAmount        dots.Amount               `json:"max_amount"`
	AllowNoReference bool                      `json:"allow_no_reference,omitempty"`
	Created          time.Time                 `json:"created"`
}

type batchPlanTotal struct {
	Rows  int         `json:"rows"`
	Total dots.Amount `json:"total"`
}

const batchPlanUsage = `Usage: payoutlinks batch plan [flags] FILE.csv

Check every row as a run would (nothing is sent, no credentials needed) and write a plan: the
file, the SHA-256 of its bytes, its rows, their total, and the rows and total by delivery method.
A second person reviews the plan and pays it with 'payoutlinks batch apply PLAN', which refuses a
file whose bytes are not the ones planned.

Exit codes: 0 the plan was written; 2 a bad row or file (no plan written).

Flags:
`

func runBatchPlan(ctx context.Context, args []string, stdout, stderr io.Writer, _ func(string) (string, bool)) int {
	fs := newFlagSet("payoutlinks batch plan")
	out := fs.String("out", "", "write the plan to this `FILE` (default FILE.plan.json)")
	maxAmount := fs.Int64("max-amount", int64(batch.DefaultMaxAmount), "refuse the batch if a row is over this many `CENTS`")
	allowNoRef := fs.Bool("allow-no-reference", false, "plan a file without a reference column (see 'payoutlinks batch --help')")
	pos, code, ok := parseSub(fs, args, batchPlanUsage, "payoutlinks batch plan --help", stdout, stderr)
	switch {
	case !ok:
		return code
	case len(pos) != 1:
		return fail(stderr, exitUsage, "payoutlinks batch plan: give one CSV file: payoutlinks batch plan FILE.csv")
	case *maxAmount < 1:
		return fail(stderr, exitUsage, "payoutlinks batch plan: --max-amount must be at least 1 (cents)")
	}
	file := pos[0]
	data, err := os.ReadFile(file)
	if err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch plan: %v", err)
	}
	opts := batch.Options{MaxAmount: dots.Amount(*maxAmount), AllowNoReference: *allowNoRef}
	rep, err := batch.Check(ctx, rowsOf(data), nil, opts)
	if rep == nil || err != nil {
		return reportRefusal(err, stderr)
	}
	sum := sha256.Sum256(data)
	abs, _ := filepath.Abs(file)
	p := batchPlan{File: abs, SHA256: hex.EncodeToString(sum[:]), Rows: rep.Rows, Total: rep.Total, Methods: methodsJSON(rep.Methods),
		MaxAmount: opts.MaxAmount, AllowNoReference: *allowNoRef, Created: time.Now().UTC().Truncate(time.Second)}
	*out = cmp.Or(*out, strings.TrimSuffix(file, filepath.Ext(file))+".plan.json")
	b, _ := json.MarshalIndent(p, "", "  ")
	if err := os.WriteFile(*out, append(b, '\n'), 0o644); err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch plan: %v", err)
	}
	fmt.Fprintf(stderr, "plan: %d rows, %s in all (USD), sha256 %s\n", p.Rows, dollars(int64(p.Total)), p.SHA256)
	printMethods(stderr, rep.Methods)
	fmt.Fprintf(stderr, "written to %s; pay it with: payoutlinks batch apply %s\n", *out, *out)
	_ = writeJSON(stdout, p)
	return exitOK
}

// rowsOf reads the rows of a CSV file held in memory.
func rowsOf(data []byte) func(func(batch.Row, error) bool) {
	return batch.ReadCSV(func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(string(data))), nil })
}

const batchApplyUsage = `Usage: payoutlinks batch apply [flags] PLAN

Pay the file of a plan that 'payoutlinks batch plan' wrote, as 'payoutlinks batch --yes FILE.csv'
would (the plan is the approval), only if the file's bytes are the ones planned: a file whose
SHA-256 differs from the plan's is refused, and nothing is sent. The bytes checked are the bytes
paid (the file is read once). The other flags are those of 'payoutlinks batch' (--journal,
--results, --concurrency, --rate, ...); --max-amount and --allow-no-reference come from the plan.

Exit codes: those of 'payoutlinks batch'; 2 also when the file is not the one planned.

Flags:
`

func runBatchApply(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) == 0 {
		return fail(stderr, exitUsage, "payoutlinks batch apply: give the plan: payoutlinks batch apply PLAN (--help for more)")
	}
	planPath, rest := args[len(args)-1], args[:len(args)-1]
	if planPath == "--help" || planPath == "-h" || planPath == "-help" {
		fmt.Fprint(stdout, batchApplyUsage)
		return exitOK
	}
	b, err := os.ReadFile(planPath)
	if err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch apply: %v", err)
	}
	var p batchPlan
	if err := json.Unmarshal(b, &p); err != nil || p.File == "" || len(p.SHA256) != 64 {
		return fail(stderr, exitUsage, "payoutlinks batch apply: %s is not a plan written by 'payoutlinks batch plan'", planPath)
	}
	data, err := os.ReadFile(p.File)
	if err != nil {
		return fail(stderr, exitUsage, "payoutlinks batch apply: the plan's file: %v; nothing was sent", err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != p.SHA256 {
		return fail(stderr, exitUsage, "payoutlinks batch apply: %s changed since it was planned (sha256 %s, the plan says %s): it is not paid; "+
			"plan it again and have the new plan approved; nothing was sent", p.File, hex.EncodeToString(sum[:]), p.SHA256)
	}
	// The bytes checked are the bytes paid: a copy the file's later changes cannot reach.
	tmp, err := os.CreateTemp(filepath.Dir(p.File), "."+filepath.Base(p.File)+".applied.*.csv")
	if err != nil {
		return fail(stderr, exitFailed, "payoutlinks batch apply: %v", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil || tmp.Close() != nil {
		return fail(stderr, exitFailed, "payoutlinks batch apply: writing a copy of the file: %v", err)
	}
	base := strings.TrimSuffix(p.File, filepath.Ext(p.File))
	// The caller's flags may name the journal and the results; the checks are the plan's.
	flags := append([]string{"--journal", p.File + ".journal", "--results", base + ".results.csv", "--batch", filepath.Base(p.File)}, rest...)
	flags = append(flags, "--yes", "--max-amount", strconv.FormatInt(int64(p.MaxAmount), 10),
		"--allow-no-reference="+strconv.FormatBool(p.AllowNoReference), "--", tmp.Name())
	return runBatch(ctx, flags, stdout, stderr, lookup)
}
