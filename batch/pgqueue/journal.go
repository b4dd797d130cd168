package pgqueue

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"iter"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/batch"
)

// Journal is the journal of one batch in Postgres, a batch.Store: what batch.RunOn and the
// workers read and write. Get it with Queue.Journal.
type Journal struct {
	q     *Queue
	batch string
}

var _ batch.Store = (*Journal)(nil)

// Journal returns the journal of the batch named name (a file's name, say).
func (q *Queue) Journal(name string) *Journal { return &Journal{q: q, batch: name} }

// Name returns the batch's name.
func (j *Journal) Name() string { return j.batch }

const (
	insertRow = `INSERT INTO dots_batch_rows (batch, reference, line, key, key_created, hash, amount, state, link_id, link_status, link_url,
  found, error, attempts, run, updated) VALUES ($1, nullif($2, ''), $3, $4, $5, $6, $7, $8, nullif($9, ''), nullif($10, ''), nullif($11, ''), $12,
  nullif($13, ''), $14, $15, $16)`
	updateRow = `UPDATE dots_batch_rows SET reference = coalesce(nullif($2::text, ''), reference), key = $4, key_created = $5, hash = $6, amount = $7, state = $8, link_id = nullif($9, ''),
  link_status = nullif($10, ''), link_url = nullif($11, ''), found = $12, error = nullif($13, ''), attempts = $14, run = $15, updated = $16
  WHERE batch = $1 AND line = $3 AND key = $17`
	insertKey   = `INSERT INTO dots_batch_keys (batch, key, line, created) VALUES ($1, $2, $3, $4)`
	selectEntry = `SELECT line, key, key_created, hash, amount, state, coalesce(link_id, ''), coalesce(link_status, ''),
  coalesce(link_url, ''), found, coalesce(error, ''), attempts, run, updated FROM dots_batch_rows`
)

// rowArgs are the arguments of insertRow for e, in batch with reference ($1 to $16).
func rowArgs(batchName, reference string, e batch.Entry) []any {
	return []any{batchName, reference, e.Line, e.Key, e.KeyCreated, e.Hash, int64(e.Amount), string(e.State), e.LinkID, e.LinkStatus,
		e.LinkURL, e.Found, e.Error, e.Attempts, e.Run, e.Updated}
}

func scanEntry(s pgx.Row) (batch.Entry, error) {
	var e batch.Entry
	var amount int64
	var state string
	err := s.Scan(&e.Line, &e.Key, &e.KeyCreated, &e.Hash, &amount, &state, &e.LinkID, &e.LinkStatus, &e.LinkURL, &e.Found, &e.Error,
		&e.Attempts, &e.Run, &e.Updated)
	e.Amount, e.State = dots.Amount(amount), batch.State(state)
	return e, err
}

// Entry returns what the journal holds for the row at line; ok is false when it holds nothing.
func (j *Journal) Entry(ctx context.Context, line int) (e batch.Entry, ok bool, err error) {
	e, err = scanEntry(j.q.pool.QueryRow(ctx, selectEntry+" WHERE batch = $1 AND line = $2", j.batch, line))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return batch.Entry{}, false, nil
	case err != nil:
		return batch.Entry{}, false, fmt.Errorf("pgqueue: journal %s: row %d: %w", j.batch, line, err)
	}
	return e, true, nil
}

// Entries walks the entries of the rows from line from on, in line order, at most limit (0: all).
func (j *Journal) Entries(ctx context.Context, from, limit int) iter.Seq2[batch.Entry, error] {
	if limit <= 0 {
		return j.query(ctx, " WHERE batch = $1 AND line >= $2 ORDER BY line", j.batch, from)
	}
	return j.query(ctx, " WHERE batch = $1 AND line >= $2 ORDER BY line LIMIT $3", j.batch, from, limit)
}

// Uncertain walks the entries in state sending or unknown whose key was made at cutoff or before.
func (j *Journal) Uncertain(ctx context.Context, cutoff time.Time) iter.Seq2[batch.Entry, error] {
	return j.query(ctx, " WHERE batch = $1 AND state IN ('sending', 'unknown') AND key_created <= $2 ORDER BY line", j.batch, cutoff)
}

func (j *Journal) query(ctx context.Context, where string, args ...any) iter.Seq2[batch.Entry, error] {
	return func(yield func(batch.Entry, error) bool) {
		rows, err := j.q.pool.Query(ctx, selectEntry+where, args...)
		if err != nil {
			yield(batch.Entry{}, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err))
			return
		}
		defer rows.Close()
		for rows.Next() {
			e, err := scanEntry(rows)
			if err != nil {
				yield(batch.Entry{}, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err))
				return
			}
			if !yield(e, nil) {
				return
			}
		}
		if err := rows.Err(); err != nil {
			yield(batch.Entry{}, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err))
		}
	}
}

// LinesAfter returns how many rows have a line above last, and the first of them.
func (j *Journal) LinesAfter(ctx context.Context, last int) (n, first int, err error) {
	err = j.q.pool.QueryRow(ctx, "SELECT count(*), coalesce(min(line), 0) FROM dots_batch_rows WHERE batch = $1 AND line > $2", j.batch, last).
		Scan(&n, &first)
	if err != nil {
		return 0, 0, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err)
	}
	return n, first, nil
}

// Keys returns every key the row at line was given, oldest first, and when the oldest was made.
func (j *Journal) Keys(ctx context.Context, line int) ([]string, time.Time, error) {
	rows, err := j.q.pool.Query(ctx, "SELECT key, created FROM dots_batch_keys WHERE batch = $1 AND line = $2 ORDER BY created", j.batch, line)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err)
	}
	defer rows.Close()
	var keys []string
	var oldest time.Time
	for rows.Next() {
		var k string
		var t time.Time
		if err := rows.Scan(&k, &t); err != nil {
			return nil, time.Time{}, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err)
		}
		if len(keys) == 0 {
			oldest = t
		}
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err)
	}
	return keys, oldest, nil
}

// Write commits the writes, grouped with those of the other workers of this process in one
// transaction; with wait, it returns once they are committed.
func (j *Journal) Write(ctx context.Context, wait bool, ws ...batch.Write) error {
	pws := make([]*pgWrite, len(ws))
	for i, w := range ws {
		pws[i] = &pgWrite{batch: j.batch, w: w}
		if wait {
			pws[i].done = make(chan error, 1)
		}
		if err := j.q.writer(j.batch, w.Entry.Line).submit(pws[i]); err != nil {
			return err
		}
	}
	if !wait {
		return nil
	}
	var err error
	for _, w := range pws {
		if e := <-w.done; e != nil && err == nil {
			err = e
		}
	}
	return err
}

// Flush returns once every write made so far is committed, with the errors of those nobody
// waited for.
func (j *Journal) Flush(ctx context.Context) error {
	errs := make([]error, len(j.q.ws))
	var wg sync.WaitGroup
	for i, w := range j.q.ws {
		wg.Go(func() { errs[i] = w.flush() })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// durable is a journal whose every write returns once committed, with its own error: what a
// worker needs, since its job must not complete before the row's outcome is committed.
type durable struct{ *Journal }

func (d durable) Write(ctx context.Context, _ bool, ws ...batch.Write) error {
	return d.Journal.Write(ctx, true, ws...)
}

// writers is how many committers a queue runs: the writes of a row always go to the same one, in
// order, and each commits as many writes as are waiting in one transaction.
const writers = 2

// writer returns the committer of a row.
func (q *Queue) writer(batchName string, line int) *writer {
	h := fnv.New32a()
	_, _ = h.Write([]byte(batchName))
	return q.ws[(int(h.Sum32())+line)%len(q.ws)]
}

// BeginRun records the start of a run of the batch and returns its number.
func (j *Journal) BeginRun(ctx context.Context, now time.Time) (int, error) {
	var run int
	err := j.q.pool.QueryRow(ctx, `INSERT INTO dots_batch_runs (batch, run, started)
  SELECT $1, coalesce(max(run), 0) + 1, $2 FROM dots_batch_runs WHERE batch = $1 RETURNING run`, j.batch, now).Scan(&run)
	if err != nil {
		return 0, fmt.Errorf("pgqueue: journal %s: %w", j.batch, err)
	}
	return run, nil
}

// EndRun records the end of a run.
func (j *Journal) EndRun(ctx context.Context, run int, now time.Time) error {
	if _, err := j.q.pool.Exec(ctx, "UPDATE dots_batch_runs SET finished = $3 WHERE batch = $1 AND run = $2", j.batch, run, now); err != nil {
		return fmt.Errorf("pgqueue: journal %s: %w", j.batch, err)
	}
	return nil
}

// errConcurrent is a write that found its row changed by someone else.
var errConcurrent = errors.New("the row changed under this worker: is another run using the journal?")

// pgWrite is a queued write (or, with flush, a marker that waits for those before it).
type pgWrite struct {
	batch string
	w     batch.Write
	flush bool
	done  chan error
}

// writer commits queued writes, as many as are waiting, in one transaction: the workers of a
// process share commits.
type writer struct {
	pool   *pgxpool.Pool
	mu     sync.RWMutex
	closed bool
	queue  chan *pgWrite
	stop   chan struct{}
	done   chan struct{}

	errMu    sync.Mutex
	asyncErr error
}

func newWriter(pool *pgxpool.Pool) *writer {
	w := &writer{pool: pool, queue: make(chan *pgWrite, 1024), stop: make(chan struct{}), done: make(chan struct{})}
	go w.run()
	return w
}

func (w *writer) submit(pw *pgWrite) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return errors.New("pgqueue: the queue is closed")
	}
	w.queue <- pw
	return nil
}

func (w *writer) flush() error {
	pw := &pgWrite{flush: true, done: make(chan error, 1)}
	if err := w.submit(pw); err != nil {
		return err
	}
	if err := <-pw.done; err != nil {
		return err
	}
	w.errMu.Lock()
	defer w.errMu.Unlock()
	err := w.asyncErr
	w.asyncErr = nil
	return err
}

func (w *writer) close() error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return nil
	}
	w.closed = true
	w.mu.Unlock()
	close(w.stop)
	<-w.done
	w.errMu.Lock()
	defer w.errMu.Unlock()
	return w.asyncErr
}

func (w *writer) run() {
	defer close(w.done)
	for {
		var first *pgWrite
		select {
		case first = <-w.queue:
		case <-w.stop:
			for {
				select {
				case pw := <-w.queue:
					w.answer([]*pgWrite{pw}, w.commit([]*pgWrite{pw}))
				default:
					return
				}
			}
		}
		group := []*pgWrite{first}
	more:
		for len(group) < 512 {
			select {
			case pw := <-w.queue:
				group = append(group, pw)
			default:
				break more
			}
		}
		w.answer(group, w.commit(group))
	}
}

func (w *writer) answer(group []*pgWrite, err error) {
	for _, pw := range group {
		if pw.done != nil {
			pw.done <- err
		} else if err != nil {
			w.errMu.Lock()
			w.asyncErr = errors.Join(w.asyncErr, err)
			w.errMu.Unlock()
		}
	}
}

// commit writes a group in one transaction, its statements sent together.
func (w *writer) commit(group []*pgWrite) error {
	ctx := context.Background()
	var b pgx.Batch
	var checked []*pgWrite // the writes whose first statement must change one row
	for _, pw := range group {
		if pw.flush {
			continue
		}
		e := pw.w.Entry
		args := rowArgs(pw.batch, "", e)
		switch pw.w.Op {
		case batch.InsertRow:
			b.Queue(insertRow, args...)
			b.Queue(insertKey, pw.batch, e.Key, e.Line, e.KeyCreated)
		case batch.UpdateRow:
			b.Queue(updateRow, append(args, e.Key)...)
		case batch.RekeyRow:
			b.Queue(updateRow, append(args, pw.w.OldKey)...)
			b.Queue(insertKey, pw.batch, e.Key, e.Line, e.KeyCreated)
		default:
			return fmt.Errorf("pgqueue: unknown write %d", pw.w.Op)
		}
		checked = append(checked, pw)
	}
	if len(checked) == 0 {
		return nil
	}
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, &b)
		defer br.Close()
		for _, pw := range checked {
			tag, err := br.Exec()
			if err == nil && tag.RowsAffected() != 1 {
				err = errConcurrent
			}
			if err == nil && pw.w.Op != batch.UpdateRow {
				_, err = br.Exec()
			}
			if err != nil {
				return fmt.Errorf("pgqueue: journal %s: row %d: %w", pw.batch, pw.w.Entry.Line, err)
			}
		}
		return br.Close()
	})
}

// Batches returns the names of the batches the journal holds, in order.
func (q *Queue) Batches(ctx context.Context) ([]string, error) {
	rows, err := q.pool.Query(ctx, "SELECT DISTINCT batch FROM dots_batch_rows ORDER BY batch")
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pgqueue: %w", err)
	}
	return names, nil
}
