package batch

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestCursorReadsEntriesInChunks(t *testing.T) {
	defer func(n int) { cursorChunk = n }(cursorChunk)
	cursorChunk = 3
	j := tempJournal(t)
	ctx := context.Background()
	now := time.Now().UTC()
	have := map[int]bool{}
	for _, line := range []int{2, 3, 5, 8, 9, 10, 11, 20, 21, 40} {
		have[line] = true
		if err := j.putKeys([]Entry{{Line: line, Key: fmt.Sprint("k", line), KeyCreated: now, Hash: "h", State: Made, Updated: now}}); err != nil {
			t.Fatal(err)
		}
	}
	for _, walk := range [][]int{
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 19, 20, 21, 22, 39, 40, 41, 50},
		{2, 9, 40},
		{11, 12, 13},
		{41},
	} {
		c := j.cursor()
		for _, line := range walk {
			e, ok, err := c.entry(ctx, line)
			if err != nil {
				t.Fatal(err)
			}
			if ok != have[line] || (ok && (e.Line != line || e.Key != fmt.Sprint("k", line))) {
				t.Fatalf("walk %v: line %d: %+v, %v", walk, line, e, ok)
			}
		}
	}
}

func TestJournalOpenAndSchema(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "b.journal")
	j, err := OpenJournal(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)
	e := Entry{Line: 2, Key: "3c90c3cc-0d44-4b50-8888-8dd25736052a", KeyCreated: now, Hash: "abc", Amount: 1250, State: Made,
		LinkID: "link-1", LinkStatus: "sent", LinkURL: "https://example.com/l", Found: true, Error: "", Attempts: 2, Run: 1, Updated: now}
	if err := j.putKeys([]Entry{e}); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + "-wal"); err == nil {
		if fi, _ := os.Stat(path + "-wal"); fi.Size() > 0 {
			t.Fatalf("the write-ahead log keeps %d bytes after Close", fi.Size())
		}
	}
	// Reopened, it reads back what was written; the times in a form SQLite's functions read.
	j = mustJournal(t, path)
	got, ok, err := j.Entry(ctx, 2)
	if err != nil || !ok || got != e {
		t.Fatalf("entry %+v, %v, %v; want %+v", got, ok, err, e)
	}
	var syncMode int // per connection: 2 is FULL, a commit durable across a power cut
	if err := j.db.QueryRow("PRAGMA synchronous").Scan(&syncMode); err != nil || syncMode != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", syncMode, err)
	}
	db, err := sql.Open("sqlite", path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var mode, hours string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode %q, %v", mode, err)
	}
	if err := db.QueryRow("SELECT strftime('%H:%M', key_created) FROM rows WHERE line = 2").Scan(&hours); err != nil || hours != "09:30" {
		t.Fatalf("SQLite reads key_created as %q, %v", hours, err)
	}

	// Anything else is refused.
	other := filepath.Join(dir, "other.db")
	odb, _ := sql.Open("sqlite", other)
	if _, err := odb.Exec("CREATE TABLE t (x)"); err != nil {
		t.Fatal(err)
	}
	odb.Close()
	if _, err := OpenJournal(ctx, other); err == nil {
		t.Fatal("an SQLite database that is not a journal was opened")
	}
	if _, err := OpenJournalReadOnly(ctx, filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read-only open of a missing journal: %v", err)
	}
	if _, err := OpenJournal(ctx, filepath.Join(dir, "a?b")); err == nil {
		t.Fatal("a path with '?' was accepted")
	}
	ro, err := OpenJournalReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.putKeys([]Entry{e}); err == nil {
		t.Fatal("a read-only journal took a write")
	}
}
