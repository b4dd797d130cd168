package batch

import (
	"context"
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

// cursor reads the entries of rows whose lines increase from call to call, a few hundred at a
// time: one query per chunk instead of one per row, and no read transaction held open (which
// would keep SQLite's write-ahead log from being folded back during a run).
type cursor struct {
	s    Store
	buf  []Entry // the entries read and not yet passed
	done bool    // no entries past buf
}

// cursorChunk is how many entries a cursor reads at a time (a variable for the tests).
var cursorChunk = 512

func newCursor(s Store) *cursor { return &cursor{s: s, done: s == nil} }

// entry returns the entry of line, which must not be below the line of the previous call.
func (c *cursor) entry(ctx context.Context, line int) (Entry, bool, error) {
	if len(c.buf) == 0 || line > c.buf[len(c.buf)-1].Line {
		if c.done {
			return Entry{}, false, nil
		}
		c.buf = c.buf[:0]
		for e, err := range c.s.Entries(ctx, line, cursorChunk) {
			if err != nil {
				return Entry{}, false, err
			}
			c.buf = append(c.buf, e)
		}
		c.done = len(c.buf) < cursorChunk
	}
	for len(c.buf) > 0 && c.buf[0].Line < line {
		c.buf = c.buf[1:]
	}
	if len(c.buf) > 0 && c.buf[0].Line == line {
		return c.buf[0], true, nil
	}
	return Entry{}, false, nil
}
