package batch

import (
	"context"
	"fmt"
	"iter"
	"time"
)

// Store is the journal of one batch, as the runner reads and writes it: for each row (by line)
// its entry, committed before the row is sent, and its outcome after; the keys each row was
// given; and the runs. The SQLite Journal is one (Run uses it); package batch/pgqueue keeps one
// in Postgres, which RunOn and its workers on other machines share. The payout logic is the
// runner's, written once: a Store only keeps what it is given, and refuses a write made against
// a row that changed under it.
type Store interface {
	// Entries walks the entries of the rows from line from on, in line order: at most limit of
	// them (0: all).
	Entries(ctx context.Context, from, limit int) iter.Seq2[Entry, error]
	// Uncertain walks the entries in state Sending or Unknown whose key was made at cutoff or
	// earlier.
	Uncertain(ctx context.Context, cutoff time.Time) iter.Seq2[Entry, error]
	// LinesAfter returns how many rows have a line above last, and the first of them.
	LinesAfter(ctx context.Context, last int) (n, first int, err error)
	// Keys returns every key the row at line was given, oldest first, and when the oldest was
	// made.
	Keys(ctx context.Context, line int) ([]string, time.Time, error)
	// Write commits the writes. With wait it returns once they are durable; without, it may
	// return at once, and the next Flush reports their errors.
	Write(ctx context.Context, wait bool, ws ...Write) error
	// Flush returns once every write made so far is durable, with the errors of those nobody
	// waited for.
	Flush(ctx context.Context) error
	// BeginRun records the start of a run and returns its number (1, 2, ...); EndRun its end.
	BeginRun(ctx context.Context, now time.Time) (int, error)
	EndRun(ctx context.Context, run int, now time.Time) error
}

// WriteOp is what a Write does.
type WriteOp int

const (
	// InsertRow writes the entry of a row the store does not have, with its first key; it fails
	// if the row, or the key, is there already.
	InsertRow WriteOp = iota
	// UpdateRow writes a row's entry under its current key; it fails unless the row's key is
	// Entry.Key (another run changed it).
	UpdateRow
	// RekeyRow gives a row the new key Entry.Key in place of OldKey, and keeps it among the row's
	// keys; it fails unless the row's key is OldKey.
	RekeyRow
)

// Write is one change to a Store.
type Write struct {
	Op     WriteOp
	Entry  Entry
	OldKey string // for RekeyRow
}

// journalStore is the SQLite journal as a Store.
type journalStore struct{ j *Journal }

func (s journalStore) Entries(ctx context.Context, from, limit int) iter.Seq2[Entry, error] {
	if limit <= 0 {
		return s.j.entries(ctx, "WHERE line >= ? ORDER BY line", from)
	}
	return s.j.entries(ctx, "WHERE line >= ? ORDER BY line LIMIT ?", from, limit)
}

func (s journalStore) Uncertain(ctx context.Context, cutoff time.Time) iter.Seq2[Entry, error] {
	return s.j.entries(ctx, "WHERE state IN (?, ?) AND key_created <= ?", string(Sending), string(Unknown), cutoff.UTC().Format(timeFormat))
}

func (s journalStore) LinesAfter(ctx context.Context, last int) (int, int, error) {
	return s.j.linesAfter(ctx, last)
}

func (s journalStore) Keys(ctx context.Context, line int) ([]string, time.Time, error) {
	return s.j.keysOf(ctx, line)
}

func (s journalStore) Write(_ context.Context, wait bool, ws ...Write) error {
	writes := make([]*write, len(ws))
	for i, w := range ws {
		writes[i] = &write{e: w.Entry, oldKey: w.OldKey}
		switch w.Op {
		case InsertRow:
			writes[i].op = opInsert
		case UpdateRow:
			writes[i].op = opUpdate
		case RekeyRow:
			writes[i].op = opRekey
		default:
			return fmt.Errorf("batch: journal: unknown write %d", w.Op)
		}
		if wait {
			writes[i].done = make(chan error, 1)
		}
		if err := s.j.submit(writes[i], false); err != nil {
			return err
		}
	}
	if !wait {
		return nil
	}
	var err error
	for _, w := range writes {
		if e := <-w.done; e != nil && err == nil {
			err = e
		}
	}
	return err
}

func (s journalStore) Flush(context.Context) error { return s.j.flush() }

func (s journalStore) BeginRun(ctx context.Context, now time.Time) (int, error) {
	return s.j.beginRun(ctx, now)
}

func (s journalStore) EndRun(_ context.Context, run int, now time.Time) error {
	return s.j.endRun(run, now)
}

// cursor reads the entries of rows whose lines increase from call to call, a few hundred at a
// time: one query per chunk instead of one per row, and no read transaction held open (which
// would keep SQLite's write-ahead log from being folded back during a run).
type cursor struct {
	s    Store
	buf  []Entry
	from int  // the next line to read from
	done bool // no entries past buf
}

// cursorChunk is how many entries a cursor reads at a time (a variable for the tests).
var cursorChunk = 512

func newCursor(s Store) *cursor { return &cursor{s: s} }

// entry returns the entry of line, which must not be below the line of the previous call.
func (c *cursor) entry(ctx context.Context, line int) (Entry, bool, error) {
	for {
		for len(c.buf) > 0 && c.buf[0].Line < line {
			c.buf = c.buf[1:]
		}
		if len(c.buf) > 0 {
			if c.buf[0].Line == line {
				return c.buf[0], true, nil
			}
			return Entry{}, false, nil
		}
		if c.done && line >= c.from {
			return Entry{}, false, nil
		}
		c.buf, c.done = c.buf[:0], false
		from := line
		for e, err := range c.s.Entries(ctx, from, cursorChunk) {
			if err != nil {
				return Entry{}, false, err
			}
			c.buf = append(c.buf, e)
		}
		c.from = from
		if len(c.buf) < cursorChunk {
			c.done = true
		}
		if len(c.buf) > 0 {
			c.from = c.buf[len(c.buf)-1].Line + 1
		}
		if len(c.buf) == 0 {
			return Entry{}, false, nil
		}
	}
}
