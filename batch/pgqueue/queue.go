// Package pgqueue runs batch payouts on Postgres, for payout runs that must not depend on one
// machine and for payouts that start inside a service: a journal in Postgres that several
// machines share, River (github.com/riverqueue/river) as the job queue, and a transactional
// outbox. The payout logic is package batch's, written once (batch.Payer): sticky unknown
// outcomes, the key-reuse check, the 23-hour rule with its batch_key lookup, the content hash.
//
// Each payout is a row of the table dots_batch_rows (the journal: its key, committed before the
// row is sent, its state and outcome, its link) and a River job whose arguments carry the row
// and its key. Both are written in one transaction: Enqueue writes them in the caller's own
// pgx.Tx, so a payout is queued if and only if the caller's change commits (the outbox), and a
// batch run (batch.RunOn with Queue.Dispatcher) writes them a chunk at a time. Workers
// (Queue.Work) on any number of machines take the jobs; each job is one attempt at its row
// (batch.Payer.Pay), whose outcome is committed before the job completes. A worker that dies
// mid-job leaves its job running until River rescues it (Options.RescueAfter), and the row is
// sent again with the same key, so Dots answers with the link that key made, if any: one link
// per row, whatever happens to the workers.
//
// The journal's tables are made, and River's migrations run, by Open, once per database.
// Importing this package links pgx and River; package batch (the SQLite journal) and the SDK
// link neither.
package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"

	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

// schema is the journal's layout in Postgres: the SQLite journal's tables, with the batch a row
// belongs to (one database holds many batches: files paid with the command line, and the outbox).
const schema = `
CREATE TABLE IF NOT EXISTS dots_batch_runs (
  batch    text NOT NULL,
  run      integer NOT NULL,
  started  timestamptz NOT NULL,
  finished timestamptz,
  PRIMARY KEY (batch, run)
);
CREATE TABLE IF NOT EXISTS dots_batch_rows (
  batch       text NOT NULL,         -- the batch: a file's name, or the outbox's
  line        bigint NOT NULL,       -- the row's line in its file, or its number in the outbox
  reference   text,                  -- its reference, if any
  key         text NOT NULL,         -- its idempotency key, also its link's metadata batch_key
  key_created timestamptz NOT NULL,
  hash        text NOT NULL,         -- SHA-256 of the row's content: a changed row is refused
  amount      bigint NOT NULL,       -- cents
  state       text NOT NULL,         -- not_sent | sending | unknown | made | failed
  link_id     text,
  link_status text,
  link_url    text,
  found       boolean NOT NULL DEFAULT false,
  error       text,
  attempts    integer NOT NULL DEFAULT 0,
  run         integer NOT NULL,
  updated     timestamptz NOT NULL,
  PRIMARY KEY (batch, line),
  UNIQUE (batch, key)
) WITH (fillfactor = 70);                -- room on each page: a row's updates are HOT (no index changes)
CREATE TABLE IF NOT EXISTS dots_batch_keys (
  batch   text NOT NULL,
  key     text NOT NULL,
  line    bigint NOT NULL,
  created timestamptz NOT NULL,
  PRIMARY KEY (batch, key)
);
CREATE INDEX IF NOT EXISTS dots_batch_keys_line ON dots_batch_keys (batch, line);
CREATE SEQUENCE IF NOT EXISTS dots_batch_outbox_line;
`

// migrationLock is the advisory lock under which Open migrates: several workers may start at
// once.
const migrationLock = 0x646f7473 // "dots"

// Kind is the River job kind of a payout.
const Kind = "dots_payout_link"

// DefaultOutbox is the batch of the rows Enqueue queues, unless Options.Outbox says otherwise.
const DefaultOutbox = "outbox"

// Options tune a Queue. The zero value is usable.
type Options struct {
	// Outbox is the batch Enqueue puts rows in (default DefaultOutbox).
	Outbox string
	// Checks are the options of the checks Enqueue runs on each row (MaxAmount,
	// AllowNoReference), as batch.CheckRow reads them.
	Checks batch.Options
	// MaxAttempts is how many times a worker attempts a row before its job is given up (the
	// row then stays unknown or not sent, for a later run, or the reconciliation, to settle);
	// default 25.
	MaxAttempts int
	// RetryDelay is the wait before a row whose outcome is unknown is attempted again,
	// doubled for each attempt, at most 30 s (default 1 s).
	RetryDelay time.Duration
	// JobTimeout bounds one attempt (default 1 minute); RescueAfter is how long a job may be
	// running before River gives it to another worker, its worker presumed dead (default
	// JobTimeout plus 10 s; never less than JobTimeout, so that a live worker's attempt is
	// cancelled before another starts). River looks for such jobs every 30 s.
	JobTimeout, RescueAfter time.Duration
	// Logger gets River's log (nil: none).
	Logger *slog.Logger
}

// Queue is the journal and the job queue of batch payouts in one Postgres database. Open it
// with Open; it is safe for concurrent use.
type Queue struct {
	pool   *pgxpool.Pool
	ownsDB bool
	opts   Options
	insert *river.Client[pgx.Tx] // an insert-only client
	ws     []*writer             // the committers of the journal's writes
}

// Connect opens a pool on the database at url (postgres://...) and the queue on it (Open). The
// pool is pgx's default (pool_max_conns in the URL sets its size): on a small machine, few
// connections serve many workers best.
func Connect(ctx context.Context, url string, opts Options) (*Queue, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	q, err := Open(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	q.ownsDB = true
	return q, nil
}

// Open makes the journal's tables and runs River's migrations, if not done yet, and returns the
// queue on pool.
func Open(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Queue, error) {
	if opts.Outbox == "" {
		opts.Outbox = DefaultOutbox
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 25
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.JobTimeout <= 0 {
		opts.JobTimeout = time.Minute
	}
	if opts.RescueAfter < opts.JobTimeout {
		opts.RescueAfter = opts.JobTimeout + 10*time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := migrate(ctx, pool); err != nil {
		return nil, err
	}
	rc, err := river.NewClient(riverpgxv5.New(pool), &river.Config{Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	q := &Queue{pool: pool, opts: opts, insert: rc}
	for range writers {
		q.ws = append(q.ws, newWriter(pool))
	}
	return q, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	err := func() error {
		// River's migrations cannot all run in one transaction: they run under a session lock.
		conn, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
			return err
		}
		defer func() { _, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock) }()
		m, err := rivermigrate.New(riverpgxv5.New(pool), &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			return err
		}
		if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
			return fmt.Errorf("running the migrations of River: %w", err)
		}
		_, err = conn.Exec(ctx, schema)
		return err
	}()
	if err != nil {
		return fmt.Errorf("pgqueue: preparing the database: %w", err)
	}
	return nil
}

// Close waits for pending commits, and closes the pool if Connect opened it.
func (q *Queue) Close() error {
	var errs []error
	for _, w := range q.ws {
		errs = append(errs, w.close())
	}
	err := errors.Join(errs...)
	if q.ownsDB {
		q.pool.Close()
	}
	return err
}

// Pool returns the queue's pool.
func (q *Queue) Pool() *pgxpool.Pool { return q.pool }

// payoutArgs are a payout job's arguments: the row and its key, as it was enqueued. The row's
// entry in dots_batch_rows has the rest (its state, and its key now: a random key over 23 hours
// old may have been replaced).
type payoutArgs struct {
	Batch     string `json:"batch" river:"unique"`
	Line      int    `json:"line" river:"unique"`
	Run       int    `json:"run"`
	Key       string `json:"key"`
	Reference string `json:"reference,omitempty"`
	// Payout is the create request as JSON text (the SDK's codec), kept a string: River indexes
	// the arguments of every job (GIN), each key and value of each version, and a string is one
	// value.
	Payout string `json:"payout"`
}

// Kind is the job kind, Kind.
func (payoutArgs) Kind() string { return Kind }

func argsOf(batchName string, run int, row batch.Row, key string) (payoutArgs, error) {
	b, err := codec.Marshal(row.Payout)
	if err != nil {
		return payoutArgs{}, fmt.Errorf("pgqueue: encoding row %d: %w", row.Line, err)
	}
	return payoutArgs{Batch: batchName, Line: row.Line, Run: run, Key: key, Reference: row.Reference, Payout: string(b)}, nil
}

func (a payoutArgs) row() (batch.Row, error) {
	row := batch.Row{Line: a.Line, Reference: a.Reference}
	var p gen.CreatePayoutLinkRequest
	if err := codec.Unmarshal([]byte(a.Payout), &p); err != nil {
		return row, fmt.Errorf("pgqueue: the job of row %d of %s: %w", a.Line, a.Batch, err)
	}
	row.Payout = p
	return row, nil
}

// insertOpts make at most one live job per row: a row already queued (or whose job completed)
// is not queued again.
func (q *Queue) insertOpts() *river.InsertOpts {
	return &river.InsertOpts{MaxAttempts: q.opts.MaxAttempts, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// ConflictError is a row enqueued under a reference (or key) that a row of the same batch with
// other content holds: nothing was queued.
type ConflictError struct {
	Batch, Key string
	// Line is the row that holds the key.
	Line int
}

// Error names the row that holds the key.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("pgqueue: row %d of %s holds the key %s with other content: a reference names one payout; nothing was queued", e.Line, e.Batch, e.Key)
}

// Enqueue queues the payout of row in the caller's transaction tx: its entry in the journal of
// the outbox batch (Options.Outbox), with its key (derived from its reference, or random), and
// its job. Nothing is queued unless tx commits; once it does, a worker (Work) creates the row's
// link exactly once. The row is checked first (batch.CheckRow with Options.Checks): a bad row
// is an *batch.InvalidError, and nothing is written. Row.Line is ignored: the outbox numbers
// its rows. A row whose reference the outbox has already is not queued again: Enqueue returns
// its entry, or, if its content differs, a *ConflictError.
//
// The entry returned names the row (Entry.Line in the outbox, Entry.Key); Journal(...).Entry
// reads its state and link later.
func (q *Queue) Enqueue(ctx context.Context, tx pgx.Tx, row batch.Row) (batch.Entry, error) {
	if err := batch.CheckRow(ctx, row, q.opts.Checks); err != nil {
		return batch.Entry{}, err
	}
	h, err := batch.RowHash(row)
	if err != nil {
		return batch.Entry{}, err
	}
	if err := tx.QueryRow(ctx, "SELECT nextval('dots_batch_outbox_line')").Scan(&row.Line); err != nil {
		return batch.Entry{}, fmt.Errorf("pgqueue: %w", err)
	}
	now := time.Now()
	e := batch.Entry{Line: row.Line, Key: batch.NewKey(row), KeyCreated: now, Hash: h, Amount: row.Payout.Amount, State: batch.NotSent, Updated: now}
	tag, err := tx.Exec(ctx, insertRow+" ON CONFLICT (batch, key) DO NOTHING", rowArgs(q.opts.Outbox, row.Reference, e)...)
	if err != nil {
		return batch.Entry{}, fmt.Errorf("pgqueue: %w", err)
	}
	if tag.RowsAffected() == 0 {
		old, err := scanEntry(tx.QueryRow(ctx, selectEntry+" WHERE batch = $1 AND key = $2", q.opts.Outbox, e.Key))
		if err != nil {
			return batch.Entry{}, fmt.Errorf("pgqueue: %w", err)
		}
		if old.Hash != h {
			return batch.Entry{}, &ConflictError{Batch: q.opts.Outbox, Key: e.Key, Line: old.Line}
		}
		return old, nil
	}
	if _, err := tx.Exec(ctx, insertKey, q.opts.Outbox, e.Key, e.Line, e.KeyCreated); err != nil {
		return batch.Entry{}, fmt.Errorf("pgqueue: %w", err)
	}
	args, err := argsOf(q.opts.Outbox, 0, row, e.Key)
	if err != nil {
		return batch.Entry{}, err
	}
	if _, err := q.insert.InsertTx(ctx, tx, args, q.insertOpts()); err != nil {
		return batch.Entry{}, fmt.Errorf("pgqueue: queueing row %d: %w", row.Line, err)
	}
	return e, nil
}

// Outbox returns the journal of the rows Enqueue queues.
func (q *Queue) Outbox() *Journal { return q.Journal(q.opts.Outbox) }
