package batch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"os"
	"strings"
	"sync"
	"time"

	dots "github.com/payoutkit/dots-go"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver, registered as "sqlite"
)

// schema is the journal's layout, version 1 (PRAGMA user_version). Times are UTC, written as
// 2006-01-02T15:04:05.000000000Z, which SQLite's date functions read.
const schema = `
BEGIN;
CREATE TABLE runs (
  run      INTEGER PRIMARY KEY,          -- 1, 2, ...: one per Run on this journal
  started  TEXT NOT NULL,
  finished TEXT                          -- NULL while running, or after a crash
);
CREATE TABLE rows (
  line        INTEGER PRIMARY KEY,       -- the row's line in the CSV file (the header is line 1)
  key         TEXT NOT NULL UNIQUE,      -- its idempotency key, also the link's metadata batch_key
  key_created TEXT NOT NULL,             -- when that key was committed
  hash        TEXT NOT NULL,             -- SHA-256 of the row's payout: a changed row is refused
  amount      INTEGER NOT NULL,          -- cents
  state       TEXT NOT NULL,             -- sending | not_sent | unknown | made | failed
  link_id     TEXT,                      -- the payout link, once made
  link_status TEXT,
  link_url    TEXT,
  found       INTEGER NOT NULL DEFAULT 0,-- 1 when the link was found by its batch_key, not returned by a create
  error       TEXT,                      -- the last error, if any
  attempts    INTEGER NOT NULL DEFAULT 0,-- creates sent for the row, over all runs
  run         INTEGER NOT NULL,          -- the run that last changed the row
  updated     TEXT NOT NULL
);
CREATE TABLE keys (                      -- every key a row was given (a new one only after 23 h)
  key     TEXT PRIMARY KEY,
  line    INTEGER NOT NULL,
  created TEXT NOT NULL
);
CREATE INDEX rows_state ON rows(state);
CREATE INDEX keys_line ON keys(line);
PRAGMA user_version = 1;
COMMIT;
`

const timeFormat = "2006-01-02T15:04:05.000000000Z"

// State is where a row of the journal stands.
type State string

const (
	// Sending: the row's key and hash are committed and its create may have been sent; no
	// outcome is known yet. This is what a crash leaves behind; the next run sends the row
	// again with the same key.
	Sending State = "sending"
	// NotSent: the row's key is committed, and no create with it reached Dots: every attempt
	// failed before sending (a refused connection, a name that does not resolve, a 429), or the
	// run stopped first. The next run sends it. A row is set back to Sending (durably) before
	// it is sent again, so a crash never leaves a row that may have been sent as NotSent.
	NotSent State = "not_sent"
	// Unknown: a create was sent and its outcome is unknown (a timeout, a 5xx, a dropped
	// connection). The next run sends the row again with the same key.
	Unknown State = "unknown"
	// Made: the row's payout link exists (LinkID). Final.
	Made State = "made"
	// Failed: Dots refused the row, or answered with a link another request made earlier with
	// its key. Nothing was paid for it. Final.
	Failed State = "failed"
)

// Entry is what the journal holds for one row.
type Entry struct {
	// Line identifies the row (Row.Line).
	Line int
	// Key is the row's idempotency key, also its link's metadata batch_key.
	Key string
	// KeyCreated is when Key was committed; after 23 hours the row is looked up before it is
	// sent again (Dots forgets keys after 24).
	KeyCreated time.Time
	// Hash is the SHA-256 of the row's payout, hex.
	Hash string
	// Amount is the row's amount in cents.
	Amount dots.Amount
	// State is where the row stands.
	State State
	// LinkID, LinkStatus and LinkURL describe the link, once made.
	LinkID, LinkStatus, LinkURL string
	// Found is set when the link was found by its batch_key rather than returned by a create.
	Found bool
	// Error is the last error, if any.
	Error string
	// Attempts counts the creates that may have reached Dots for the row, over all runs.
	Attempts int
	// Run is the run that last changed the row.
	Run int
	// Updated is when the row last changed.
	Updated time.Time
}

// Journal is a batch's durable record, an SQLite database: before a row is sent its idempotency
// key and the hash of its content are committed, and after, its outcome. Open it with
// OpenJournal; it is safe for concurrent use. Operators can read it with the sqlite3 shell while
// a run goes on (see the README for the schema and queries).
//
// Commits are durable: the database is in WAL mode with synchronous=FULL, so a committed key
// survives a crash of the process or of the machine. Commits of concurrent workers are grouped
// into one transaction (one fsync).
type Journal struct {
	path     string
	db       *sql.DB
	readOnly bool

	mu        sync.RWMutex // guards closed: held for reading while a write is queued
	closed    bool
	errMu     sync.Mutex
	asyncErr  error // what writes nobody waited for failed with, until flush reports it
	queue     chan *write
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

// writeOp is what a write does.
type writeOp int

const (
	opInsert writeOp = iota // a new row with its first key (fails if the row exists)
	opRekey                 // a row's new key, replacing oldKey (fails if the key is not oldKey)
	opUpdate                // a row's state under its current key (fails if the key changed)
	opSQL                   // a statement of its own
)

type write struct {
	op     writeOp
	e      Entry
	oldKey string // for opRekey
	sql    string // for opSQL
	args   []any
	done   chan error
}

// OpenJournal opens the journal at path, creating it (and its schema) if it does not exist.
func OpenJournal(ctx context.Context, path string) (*Journal, error) {
	return openJournal(ctx, path, false)
}

// OpenJournalReadOnly opens an existing journal to read it (a dry run compares rows with it);
// it fails if there is none.
func OpenJournalReadOnly(ctx context.Context, path string) (*Journal, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("batch: journal: %w", err)
	}
	return openJournal(ctx, path, true)
}

func openJournal(ctx context.Context, path string, readOnly bool) (*Journal, error) {
	if strings.ContainsAny(path, "?#") || path == "" {
		return nil, fmt.Errorf("batch: journal path %q: must be a file name without '?' or '#'", path)
	}
	dsn := path + "?_busy_timeout=10000&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate"
	if readOnly {
		dsn = path + "?_busy_timeout=10000&_query_only=1"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("batch: journal %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	j := &Journal{path: path, db: db, readOnly: readOnly, queue: make(chan *write, 64),
		stop: make(chan struct{}), done: make(chan struct{})}
	if err := j.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	go j.writer()
	return j, nil
}

func (j *Journal) migrate(ctx context.Context) error {
	var version int
	if err := j.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("batch: journal %s: %w", j.path, err)
	}
	switch {
	case version == 1:
		return nil
	case version != 0:
		return fmt.Errorf("batch: journal %s has schema version %d; this version reads 1", j.path, version)
	case j.readOnly:
		return fmt.Errorf("batch: %s is not a batch journal", j.path)
	}
	var tables int
	if err := j.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&tables); err != nil {
		return fmt.Errorf("batch: journal %s: %w", j.path, err)
	}
	if tables > 0 {
		return fmt.Errorf("batch: %s is an SQLite database, but not a batch journal", j.path)
	}
	if _, err := j.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("batch: journal %s: creating the schema: %w", j.path, err)
	}
	return nil
}

// Path returns the journal's file name.
func (j *Journal) Path() string { return j.path }

// Close waits for pending commits and closes the journal, folding its write-ahead log into the
// database file.
func (j *Journal) Close() error {
	var err error
	j.closeOnce.Do(func() {
		j.mu.Lock()
		j.closed = true
		j.mu.Unlock()
		close(j.stop)
		<-j.done
		if !j.readOnly {
			_, err = j.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		}
		err = errors.Join(err, j.db.Close())
	})
	return err
}

// writer commits queued writes, as many as are waiting in one transaction: concurrent workers
// share an fsync.
func (j *Journal) writer() {
	defer close(j.done)
	for {
		var first *write
		select {
		case first = <-j.queue:
		case <-j.stop:
			// Commit what is still queued, then stop.
			for {
				select {
				case w := <-j.queue:
					j.answer(w, j.commit([]*write{w}))
				default:
					return
				}
			}
		}
		group := []*write{first}
	more:
		for len(group) < 256 {
			select {
			case w := <-j.queue:
				group = append(group, w)
			default:
				break more
			}
		}
		err := j.commit(group)
		for _, w := range group {
			j.answer(w, err)
		}
	}
}

// answer tells a write's submitter how its commit went; a write nobody waits for keeps its
// error for the next flush.
func (j *Journal) answer(w *write, err error) {
	if w.done != nil {
		w.done <- err
		return
	}
	if err != nil {
		j.errMu.Lock()
		j.asyncErr = errors.Join(j.asyncErr, err)
		j.errMu.Unlock()
	}
}

// The statements of the writes. A new key is inserted only for a row the journal does not
// have, a key is replaced only if it is still the one the run read, and an outcome is recorded
// only for the row's current key: a second run on the same journal at the same time fails its
// commit (and stops) rather than send a row with a key of its own.
const (
	insertRow = `INSERT INTO rows (line, key, key_created, hash, amount, state, link_id, link_status, link_url, found, error, attempts, run, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	updateRow = `UPDATE rows SET key = ?, key_created = ?, hash = ?, amount = ?, state = ?, link_id = ?, link_status = ?,
  link_url = ?, found = ?, error = ?, attempts = ?, run = ?, updated = ? WHERE line = ? AND key = ?`
	insertKey = `INSERT INTO keys (key, line, created) VALUES (?, ?, ?)`
)

// sqliteConstraint is SQLITE_CONSTRAINT, the primary result code of a constraint violation.
const sqliteConstraint = 19

// errConcurrentRun is a write that found the row changed by someone else.
var errConcurrentRun = errors.New("the row changed under this run: is another run using the journal?")

func (j *Journal) commit(group []*write) error {
	tx, err := j.db.Begin()
	if err != nil {
		return fmt.Errorf("batch: journal: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	stmts := map[string]*sql.Stmt{}
	exec := func(query string, args ...any) (sql.Result, error) {
		st := stmts[query]
		if st == nil {
			if st, err = tx.Prepare(query); err != nil {
				return nil, err
			}
			stmts[query] = st
		}
		return st.Exec(args...)
	}
	for _, w := range group {
		e := w.e
		var err error
		switch w.op {
		case opSQL:
			_, err = tx.Exec(w.sql, w.args...)
		case opInsert:
			if _, err = exec(insertRow, e.Line, e.Key, e.KeyCreated.UTC().Format(timeFormat), e.Hash, int64(e.Amount), string(e.State),
				null(e.LinkID), null(e.LinkStatus), null(e.LinkURL), e.Found, null(e.Error), e.Attempts, e.Run,
				e.Updated.UTC().Format(timeFormat)); err == nil {
				_, err = exec(insertKey, e.Key, e.Line, e.KeyCreated.UTC().Format(timeFormat))
			}
			var coded interface{ Code() int }
			if errors.As(err, &coded) && coded.Code()&0xff == sqliteConstraint {
				err = fmt.Errorf("%w (%w)", errConcurrentRun, err)
			}
		case opRekey, opUpdate:
			var res sql.Result
			match := e.Key
			if w.op == opRekey {
				match = w.oldKey
			}
			res, err = exec(updateRow, e.Key, e.KeyCreated.UTC().Format(timeFormat), e.Hash, int64(e.Amount), string(e.State),
				null(e.LinkID), null(e.LinkStatus), null(e.LinkURL), e.Found, null(e.Error), e.Attempts, e.Run,
				e.Updated.UTC().Format(timeFormat), e.Line, match)
			if err == nil {
				if n, _ := res.RowsAffected(); n != 1 {
					err = errConcurrentRun
				}
			}
			if err == nil && w.op == opRekey {
				_, err = exec(insertKey, e.Key, e.Line, e.KeyCreated.UTC().Format(timeFormat))
			}
		}
		if err != nil {
			return fmt.Errorf("batch: journal: row %d: %w", e.Line, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("batch: journal: %w", err)
	}
	return nil
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// submit queues a write and, with wait, waits until it is committed.
func (j *Journal) submit(w *write, wait bool) error {
	if j.readOnly {
		return fmt.Errorf("batch: journal %s is open read-only", j.path)
	}
	if wait && w.done == nil {
		w.done = make(chan error, 1)
	}
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return fmt.Errorf("batch: journal %s is closed", j.path)
	}
	j.queue <- w
	j.mu.RUnlock()
	if !wait {
		return nil
	}
	// Once queued, the write is committed whatever the caller's context says: the caller may be
	// about to send.
	return <-w.done
}

// putKeys commits new rows, each with its first key, and returns once all are durable: what
// must hold before any of them is sent.
func (j *Journal) putKeys(entries []Entry) error {
	ws := make([]*write, len(entries))
	for i, e := range entries {
		ws[i] = &write{op: opInsert, e: e, done: make(chan error, 1)}
		if err := j.submit(ws[i], false); err != nil {
			return err
		}
	}
	var errs []error
	for _, w := range ws {
		errs = append(errs, <-w.done)
	}
	return errors.Join(errs...)
}

// flush waits until every write queued so far is committed, and returns the errors of those
// nobody waited for.
func (j *Journal) flush() error {
	if err := j.submit(&write{op: opSQL, sql: "SELECT 1"}, true); err != nil {
		return err
	}
	j.errMu.Lock()
	defer j.errMu.Unlock()
	err := j.asyncErr
	j.asyncErr = nil
	return err
}

func (j *Journal) exec(query string, args ...any) error {
	return j.submit(&write{op: opSQL, sql: query, args: args}, true)
}

const selectEntry = `SELECT line, key, key_created, hash, amount, state, coalesce(link_id, ''), coalesce(link_status, ''),
  coalesce(link_url, ''), found, coalesce(error, ''), attempts, run, updated FROM rows`

func scanEntry(s interface{ Scan(...any) error }) (Entry, error) {
	var e Entry
	var created, updated, state string
	var amount int64
	if err := s.Scan(&e.Line, &e.Key, &created, &e.Hash, &amount, &state, &e.LinkID, &e.LinkStatus, &e.LinkURL,
		&e.Found, &e.Error, &e.Attempts, &e.Run, &updated); err != nil {
		return Entry{}, err
	}
	e.Amount, e.State = dots.Amount(amount), State(state)
	var err error
	if e.KeyCreated, err = time.Parse(timeFormat, created); err != nil {
		return Entry{}, fmt.Errorf("row %d: key_created: %w", e.Line, err)
	}
	if e.Updated, err = time.Parse(timeFormat, updated); err != nil {
		return Entry{}, fmt.Errorf("row %d: updated: %w", e.Line, err)
	}
	return e, nil
}

// Entry returns what the journal holds for the row at line; ok is false when it holds nothing
// (the row was never sent).
func (j *Journal) Entry(ctx context.Context, line int) (e Entry, ok bool, err error) {
	e, err = scanEntry(j.db.QueryRowContext(ctx, selectEntry+" WHERE line = ?", line))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Entry{}, false, nil
	case err != nil:
		return Entry{}, false, fmt.Errorf("batch: journal: row %d: %w", line, err)
	}
	return e, true, nil
}

func (j *Journal) cursor() *cursor { return newCursor(journalStore{j}) }

// Entries walks every row of the journal, in line order.
func (j *Journal) Entries(ctx context.Context) iter.Seq2[Entry, error] {
	return j.entries(ctx, "ORDER BY line")
}

func (j *Journal) entries(ctx context.Context, where string, args ...any) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		rows, err := j.db.QueryContext(ctx, selectEntry+" "+where, args...)
		if err != nil {
			yield(Entry{}, fmt.Errorf("batch: journal: %w", err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				yield(Entry{}, fmt.Errorf("batch: journal: %w", err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("batch: journal: %w", err))
		}
	}
}

// Keys returns every idempotency key the row at line was given, oldest first.
func (j *Journal) Keys(ctx context.Context, line int) ([]string, error) {
	keys, _, err := j.keysOf(ctx, line)
	return keys, err
}

// keysOf returns the keys of a row, oldest first, and when the oldest was committed.
func (j *Journal) keysOf(ctx context.Context, line int) ([]string, time.Time, error) {
	rows, err := j.db.QueryContext(ctx, "SELECT key, created FROM keys WHERE line = ? ORDER BY created", line)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("batch: journal: %w", err)
	}
	defer rows.Close()
	var keys []string
	var oldest time.Time
	for rows.Next() {
		var k, created string
		if err := rows.Scan(&k, &created); err != nil {
			return nil, time.Time{}, fmt.Errorf("batch: journal: %w", err)
		}
		t, err := time.Parse(timeFormat, created)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("batch: journal: key %s: %w", k, err)
		}
		if len(keys) == 0 {
			oldest = t
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("batch: journal: %w", err)
	}
	return keys, oldest, nil
}

// count returns how many rows have a line above last (rows the input no longer has).
func (j *Journal) linesAfter(ctx context.Context, last int) (n int, first int, err error) {
	err = j.db.QueryRowContext(ctx, "SELECT count(*), coalesce(min(line), 0) FROM rows WHERE line > ?", last).Scan(&n, &first)
	if err != nil {
		return 0, 0, fmt.Errorf("batch: journal: %w", err)
	}
	return n, first, nil
}

// beginRun records the start of a run and returns its number.
func (j *Journal) beginRun(ctx context.Context, now time.Time) (int, error) {
	if err := j.exec("INSERT INTO runs (started) VALUES (?)", now.UTC().Format(timeFormat)); err != nil {
		return 0, err
	}
	var run int
	if err := j.db.QueryRowContext(ctx, "SELECT max(run) FROM runs").Scan(&run); err != nil {
		return 0, fmt.Errorf("batch: journal: %w", err)
	}
	return run, nil
}

func (j *Journal) endRun(run int, now time.Time) error {
	return j.exec("UPDATE runs SET finished = ? WHERE run = ?", now.UTC().Format(timeFormat), run)
}

// Store returns the journal as a Store: for RunOn, CheckOn and Reconcile.
func (j *Journal) Store() Store { return journalStore{j} }
