package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/internal/pgtest"
	"github.com/payoutkit/dots-go/mock"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// referencesCSV writes a CSV file of n rows with references INV-0..., amounts 100+i and a
// metadata.row column holding the row's line.
func referencesCSV(t testing.TB, dir string, n int) string {
	t.Helper()
	var text strings.Builder
	text.WriteString("reference,amount,email,method,memo,metadata.row\n")
	for i := range n {
		fmt.Fprintf(&text, "INV-%d,%d,payee%d@example.com,email,batch %d,%d\n", i, 100+i, i, i, i+2)
	}
	path := filepath.Join(dir, "payouts.csv")
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// childProc is the batch command running in a child process (TestBatchChild).
type childProc struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	code   int
}

func startChild(t *testing.T, baseURL string, args ...string) *childProc {
	t.Helper()
	c := &childProc{cmd: exec.Command(os.Args[0], "-test.run=^TestBatchChild$", "-test.count=1"), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childEnv+"="+strings.Join(args, "\x1f"), "DOTS_CLIENT_ID="+testClientID, "DOTS_API_KEY="+testAPIKey,
		"DOTS_BASE_URL="+baseURL)
	c.cmd.Stderr = &c.stderr
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := c.cmd.Wait()
		c.code = c.cmd.ProcessState.ExitCode()
		if err != nil && c.code == 0 {
			c.code = -1
		}
		close(c.done)
	}()
	return c
}

// The size of TestBatchWorkersSurviveKills: go test runs a smaller storm; make crash (which CI
// runs) the one of issue 19, 5,000 rows through 20 kills.
var (
	crashRows  = flag.Int("crash.rows", 1000, "rows in TestBatchWorkersSurviveKills")
	crashKills = flag.Int("crash.kills", 5, "worker kills in TestBatchWorkersSurviveKills")
)

// TestBatchWorkersSurviveKills pays -crash.rows rows with a Postgres journal and three worker
// processes (the command that queued the file, and two 'batch work'), through a mock in chaos
// mode (0.2), while a random worker is killed with SIGKILL -crash.kills times and started again;
// then the mock must hold exactly one link per row, with the row's amount, and the reconciliation
// must say every row is settled.
func TestBatchWorkersSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("the crash test of the Postgres workers takes half a minute or more")
	}
	db := pgtest.Database(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 11))
	srv, _ := batchEnv(t, mock.WithChaos(0.2, seed))
	rows, kills := *crashRows, *crashKills
	dir := t.TempDir()
	path := referencesCSV(t, dir, rows)
	common := []string{"--journal", db, "--concurrency", "16", "--retry-delay", "10ms", "--job-timeout", "5s"}
	commands := [3][]string{
		append([]string{"--yes", "--retries", "1", path}, common...),
		append([]string{"work"}, common...),
		append([]string{"work"}, common...),
	}
	start := time.Now()
	var procs [3]*childProc
	for i := range procs {
		procs[i] = startChild(t, srv.BaseURL(), commands[i]...)
	}
	var mu sync.Mutex
	killed := 0
	submitted := false // the first command ran to its end: every row has its outcome
	deadline := time.After(10 * time.Minute)
	for !submitted || killed < kills {
		select {
		case <-deadline:
			for _, p := range procs {
				_ = p.cmd.Process.Kill()
			}
			t.Fatalf("not done after 10 minutes: %d kills, worker 0 said:\n%s", killed, procs[0].stderr.String())
		case <-time.After(time.Duration(100+rnd.IntN(600)) * time.Millisecond):
		}
		// Workers that ended by themselves: the first command ran to its end (or stopped on a
		// listing that failed in the storm: then it runs again); 'batch work' found nothing to
		// do (the rows were not queued yet, or were all done).
		for i, p := range procs {
			select {
			case <-p.done:
			default:
				continue
			}
			switch {
			case i == 0 && p.code == 0:
				submitted = true
				if killed >= kills {
					continue
				}
			case i == 0 && (p.code == 3 || (p.code == 1 && strings.Contains(p.stderr.String(), "among the links on Dots, nothing was sent"))):
			case i != 0 && p.code == 0:
			default:
				t.Fatalf("worker %d exited %d:\n%s", i, p.code, p.stderr.String())
			}
			procs[i] = startChild(t, srv.BaseURL(), commands[i]...)
		}
		if killed < kills {
			i := rnd.IntN(3)
			select {
			case <-procs[i].done:
			default:
				_ = procs[i].cmd.Process.Kill() // SIGKILL
				<-procs[i].done
				mu.Lock()
				killed++
				mu.Unlock()
				procs[i] = startChild(t, srv.BaseURL(), commands[i]...)
			}
		}
	}
	for _, p := range procs {
		<-p.done
	}
	elapsed := time.Since(start)

	// One link per row, with its amount.
	byRow := map[string]int{}
	duplicates, wrong := 0, 0
	for _, l := range srv.Links() {
		row := l.Metadata.Get("row")
		if byRow[row]++; byRow[row] > 1 {
			duplicates++
		}
		var line int
		fmt.Sscan(row, &line)
		if l.Amount != dots.Amount(100+line-2) || l.Metadata.Get(batch.MetadataReference) != fmt.Sprint("INV-", line-2) {
			wrong++
			t.Errorf("link %s: amount %d, metadata %v", l.ID, l.Amount, l.Metadata)
		}
	}
	missing := 0
	for i := range rows {
		if byRow[fmt.Sprint(i+2)] == 0 {
			missing++
		}
	}
	t.Logf("%d rows, 3 workers, %d kills: %d links, %d duplicates, %d missing, %d wrong, in %s", rows, killed, len(srv.Links()), duplicates,
		missing, wrong, elapsed.Round(time.Second))
	if duplicates > 0 || missing > 0 {
		t.Fatalf("%d duplicates, %d missing", duplicates, missing)
	}

	// The reconciliation says every row is settled (the storm over: listing is not the test).
	srv.SetChaosRate(0)
	report := filepath.Join(dir, "reconcile.csv")
	var out, errb bytes.Buffer
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": srv.BaseURL()}
	if code := runBatch(context.Background(), []string{"reconcile", "--journal", db, "--out", report}, &out, &errb, lookupIn(env)); code != 0 {
		t.Fatalf("reconcile exited %d:\n%s%s", code, out.String(), errb.String())
	}
	t.Log(strings.TrimSpace(out.String()))
	f, err := os.Open(report)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != rows+1 {
		t.Fatalf("the report has %d rows", len(recs)-1)
	}
	for _, r := range recs[1:] {
		if r[4] != "paid" {
			t.Errorf("report: %v", r)
		}
	}
}

// BenchmarkBatchPostgres pays b.N rows from a CSV file against one mock over loopback, twice in
// the same run: with the SQLite journal ('payoutlinks batch --concurrency 8', one process), and
// with a Postgres journal and three workers (the command, --concurrency 64, and two 'batch work'
// processes with as many). Each run pays its own references (the mock is reset between the
// two), the whole command included: the checks, the lookups, the journal, the results file. It
// reports rows/s of both and their ratio (x-sqlite-tput: Postgres over SQLite).
func BenchmarkBatchPostgres(b *testing.B) {
	db := pgtest.Database(b)
	srv := mock.NewServer(mock.WithCredentials(testClientID, testAPIKey))
	defer srv.Close()
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": srv.BaseURL()}
	write := func(prefix string) string {
		var text strings.Builder
		text.WriteString("reference,amount,email,method,memo,metadata.row\n")
		for i := range b.N {
			fmt.Fprintf(&text, "%s-%d,%d,payee%d@example.com,email,batch %d,%d\n", prefix, i, 100+i, i, i, i+2)
		}
		path := filepath.Join(b.TempDir(), prefix+".csv")
		if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
			b.Fatal(err)
		}
		return path
	}
	sqlitePath, pgPath := write("S"), write("P")
	// The two other workers start first, and wait for rows.
	var workers []*exec.Cmd
	for range 2 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBatchChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{"work", "--stay", "--journal", db, "--concurrency", "64"}, "\x1f"),
			"DOTS_CLIENT_ID="+testClientID, "DOTS_API_KEY="+testAPIKey, "DOTS_BASE_URL="+srv.BaseURL())
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		workers = append(workers, cmd)
	}
	defer func() {
		for _, w := range workers {
			_ = w.Process.Signal(os.Interrupt)
			_ = w.Wait()
		}
	}()
	run := func(args ...string) time.Duration {
		var errb bytes.Buffer
		start := time.Now()
		if code := runBatch(context.Background(), args, io.Discard, &errb, lookupIn(env)); code != 0 {
			b.Fatalf("exit %d: %s", code, errb.String())
		}
		if !strings.Contains(errb.String(), fmt.Sprintf("%d links made", b.N)) {
			b.Fatalf("not every row was made by this run:\n%s", errb.String())
		}
		return time.Since(start)
	}
	b.ResetTimer()
	sqlite := run("--yes", "--concurrency", "8", sqlitePath)
	srv.Reset()
	pg := run("--yes", "--concurrency", "64", "--journal", db, pgPath)
	b.StopTimer()
	sqliteRate, pgRate := float64(b.N)/sqlite.Seconds(), float64(b.N)/pg.Seconds()
	b.ReportMetric(pgRate, "pg-rows/s")
	b.ReportMetric(sqliteRate, "sqlite-rows/s")
	b.ReportMetric(pgRate/sqliteRate, "x-sqlite-tput")
}
