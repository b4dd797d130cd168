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

	mu       sync.RWMutex // guards closed and queue: held for reading while a write is queued
	closed   bool
	queue    chan *write // closed by Close
	done     chan struct{}
	errMu    sync.Mutex
	asyncErr error // what writes nobody waited for failed with, until flush reports it
}

// opSQL is a write of a statement of its own, besides the Store's writes.
const opSQL WriteOp = -1

type write struct {
	op     WriteOp
	e      Entry
	oldKey string // for RekeyRow
	sql    string // for opSQL
	args   []any
	done   chan error // nil when nobody waits
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
	j := &Journal{path: path, db: db, readOnly: readOnly, queue: make(chan *write, 64), done: make(chan struct{})}
	if err := j.migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	go j.writer()
	return j, nil
}

func (j *Journal) migrate(ctx context.Context) error {
	var version, tables int
	if err := j.db.QueryRowContext(ctx, "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)").
		Scan(&version, &tables); err != nil {
		return fmt.Errorf("batch: journal %s: %w", j.path, err)
	}
	switch {
	case version == 1:
		return nil
	case version != 0:
		return fmt.Errorf("batch: journal %s has schema version %d; this version reads 1", j.path, version)
	case j.readOnly:
		return fmt.Errorf("batch: %s is not a batch journal", j.path)
	case tables > 0:
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
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.queue)
	j.mu.Unlock()
	<-j.done
	var err error
	if !j.readOnly {
		_, err = j.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return errors.Join(err, j.db.Close())
}

// writer commits queued writes, as many as are waiting in one transaction: concurrent workers
// share an fsync. A write nobody waits for keeps its error for the next flush.
func (j *Journal) writer() {
	defer close(j.done)
	for w := range j.queue {
		group := []*write{w}
	more:
		for len(group) < 256 {
			select {
			case w, ok := <-j.queue:
				if !ok {
					break more
				}
				group = append(group, w)
			default:
				break more
			}
		}
		err := j.commit(group)
		for _, w := range group {
			if w.done != nil {
				w.done <- err
			} else if err != nil {
				j.errMu.Lock()
				j.asyncErr = errors.Join(j.asyncErr, err)
				j.errMu.Unlock()
			}
		}
	}
}

// The statements of the writes. A new key is inserted only for a row the journal does not
// have, a key is replaced only if it is still the one the run read, and an outcome is recorded
// only for the row's current key: a second run on the same journal at the same time fails its
// commit (and stops) rather than send a row with a key of its own.
const (
	insertRow = `INSERT INTO rows (key, key_created, hash, amount, state, link_id, link_status, link_url, found, error, attempts, run, updated, line)
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
		row := []any{e.Key, ts(e.KeyCreated), e.Hash, int64(e.Amount), string(e.State), null(e.LinkID), null(e.LinkStatus),
			null(e.LinkURL), e.Found, null(e.Error), e.Attempts, e.Run, ts(e.Updated), e.Line}
		var err error
		switch w.op {
		case opSQL:
			_, err = tx.Exec(w.sql, w.args...)
		case InsertRow:
			if _, err = exec(insertRow, row...); err == nil {
				_, err = exec(insertKey, e.Key, e.Line, ts(e.KeyCreated))
			}
			var coded interface{ Code() int }
			if errors.As(err, &coded) && coded.Code()&0xff == sqliteConstraint {
				err = fmt.Errorf("%w (%w)", errConcurrentRun, err)
			}
		default: // UpdateRow and RekeyRow
			match := e.Key
			if w.op == RekeyRow {
				match = w.oldKey
			}
			var res sql.Result
			if res, err = exec(updateRow, append(row, match)...); err == nil {
				if n, _ := res.RowsAffected(); n != 1 {
					err = errConcurrentRun
				}
			}
			if err == nil && w.op == RekeyRow {
				_, err = exec(insertKey, e.Key, e.Line, ts(e.KeyCreated))
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

// ts is a time as the journal writes it.
func ts(t time.Time) string { return t.UTC().Format(timeFormat) }

// submit queues writes and returns once those with a done channel are committed, with the first
// error. Once queued, a write is committed whatever the caller's context says: the caller may be
// about to send.
func (j *Journal) submit(ws ...*write) error {
	if j.readOnly {
		return fmt.Errorf("batch: journal %s is open read-only", j.path)
	}
	j.mu.RLock()
	if j.closed {
		j.mu.RUnlock()
		return fmt.Errorf("batch: journal %s is closed", j.path)
	}
	for _, w := range ws {
		j.queue <- w
	}
	j.mu.RUnlock()
	var err error
	for _, w := range ws {
		if w.done != nil {
			if e := <-w.done; err == nil {
				err = e
			}
		}
	}
	return err
}

// exec commits a statement of its own, and returns once it is durable.
func (j *Journal) exec(query string, args ...any) error {
	return j.submit(&write{op: opSQL, sql: query, args: args, done: make(chan error, 1)})
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
	keys, _, err := journalStore{j}.Keys(ctx, line)
	return keys, err
}

// Store returns the journal as a Store: for RunOn, CheckOn and Reconcile.
func (j *Journal) Store() Store { return journalStore{j} }

// journalStore is the SQLite journal as a Store.
type journalStore struct{ *Journal }

func (s journalStore) Entries(ctx context.Context, from, limit int) iter.Seq2[Entry, error] {
	if limit <= 0 {
		return s.entries(ctx, "WHERE line >= ? ORDER BY line", from)
	}
	return s.entries(ctx, "WHERE line >= ? ORDER BY line LIMIT ?", from, limit)
}

func (s journalStore) Uncertain(ctx context.Context, cutoff time.Time) iter.Seq2[Entry, error] {
	return s.entries(ctx, "WHERE state IN (?, ?) AND key_created <= ?", string(Sending), string(Unknown), ts(cutoff))
}

func (s journalStore) LinesAfter(ctx context.Context, last int) (n, first int, err error) {
	err = s.db.QueryRowContext(ctx, "SELECT count(*), coalesce(min(line), 0) FROM rows WHERE line > ?", last).Scan(&n, &first)
	if err != nil {
		return 0, 0, fmt.Errorf("batch: journal: %w", err)
	}
	return n, first, nil
}

func (s journalStore) Keys(ctx context.Context, line int) ([]string, time.Time, error) {
	var keys, oldest sql.NullString
	err := s.db.QueryRowContext(ctx, "SELECT group_concat(key, ' ' ORDER BY created), min(created) FROM keys WHERE line = ?", line).Scan(&keys, &oldest)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("batch: journal: %w", err)
	}
	if !keys.Valid {
		return nil, time.Time{}, nil
	}
	t, err := time.Parse(timeFormat, oldest.String)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("batch: journal: row %d: key created: %w", line, err)
	}
	return strings.Fields(keys.String), t, nil
}

func (s journalStore) Write(_ context.Context, wait bool, ws ...Write) error {
	writes := make([]*write, len(ws))
	for i, w := range ws {
		if w.Op < InsertRow || w.Op > RekeyRow {
			return fmt.Errorf("batch: journal: unknown write %d", w.Op)
		}
		writes[i] = &write{op: w.Op, e: w.Entry, oldKey: w.OldKey}
		if wait {
			writes[i].done = make(chan error, 1)
		}
	}
	return s.submit(writes...)
}

// Flush waits until every write queued so far is committed, and returns the errors of those
// nobody waited for.
func (s journalStore) Flush(context.Context) error {
	if err := s.exec("SELECT 1"); err != nil {
		return err
	}
	s.errMu.Lock()
	defer s.errMu.Unlock()
	err := s.asyncErr
	s.asyncErr = nil
	return err
}

func (s journalStore) BeginRun(ctx context.Context, now time.Time) (int, error) {
	if err := s.exec("INSERT INTO runs (started) VALUES (?)", ts(now)); err != nil {
		return 0, err
	}
	var run int
	if err := s.db.QueryRowContext(ctx, "SELECT max(run) FROM runs").Scan(&run); err != nil {
		return 0, fmt.Errorf("batch: journal: %w", err)
	}
	return run, nil
}

func (s journalStore) EndRun(_ context.Context, run int, now time.Time) error {
	return s.exec("UPDATE runs SET finished = ? WHERE run = ?", ts(now), run)
}
