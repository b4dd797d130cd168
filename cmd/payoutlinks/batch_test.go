package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

func init() {
	// Short client retries for every batch the tests run, in this process or in a child.
	batchClientOptions = []api.Option{api.WithRetryPolicy(api.RetryPolicy{MaxRetries: 2, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})}
	// Whatever runs the tests, stdin is no terminal unless a test says so.
	stdinIsTerminal = func() bool { return false }
}

// batchEnv points the batch command at a mock that insists on the test credentials.
func batchEnv(t *testing.T, opts ...mock.Option) (*mock.Server, func(string) string) {
	t.Helper()
	srv := mock.NewServer(append([]mock.Option{mock.WithCredentials(testClientID, testAPIKey)}, opts...)...)
	t.Cleanup(func() {
		if v := srv.Violations(); len(v) > 0 {
			t.Errorf("the mock answered outside the spec: %v", v[:min(len(v), 5)])
		}
		srv.Close()
	})
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": srv.BaseURL()}
	return srv, func(k string) string { return env[k] }
}

func writeCSV(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "payouts.csv")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// batchCmd runs the batch command as a script would: with --yes.
func batchCmd(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runBatch(context.Background(), append([]string{"--yes"}, args...), &out, &errb, setOnly(getenv))
	if strings.Contains(out.String()+errb.String(), testAPIKey) {
		t.Fatal("the API key appears in the command's output")
	}
	return code, out.String(), errb.String()
}

// failCreates makes the mock answer the next creates with faults, one each, in order; other
// requests (the listings of links) are answered as usual.
func failCreates(srv *mock.Server, faults ...mock.Fault) {
	var mu sync.Mutex
	srv.SetFaults(func(r *http.Request) *mock.Fault {
		mu.Lock()
		defer mu.Unlock()
		if r.Method != http.MethodPost || len(faults) == 0 {
			return nil
		}
		f := faults[0]
		faults = faults[1:]
		return &f
	})
}

// creates counts the creates the mock received from request from on.
func creates(srv *mock.Server, from int) int {
	n := 0
	for _, r := range srv.Requests()[from:] {
		if r.Operation == "create-payout-link" {
			n++
		}
	}
	return n
}

// repeat is n times the same fault.
func repeat(n int, f mock.Fault) []mock.Fault {
	out := make([]mock.Fault, n)
	for i := range out {
		out[i] = f
	}
	return out
}

func readResults(t *testing.T, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "line,key,outcome,link_id,status,link_url,amount,error" {
		t.Fatalf("results header %v", recs[0])
	}
	var out []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		out = append(out, m)
	}
	return out
}

const sampleCSV = `amount,email,country_code,phone,method,memo,first_name,last_name,reference
1250,jsmith@example.com,,,email,March invoice,Jane,Smith,2026-03-001
5000,,1,2025550139,sms,March invoice,Raj,Patel,2026-03-002
730,lee@example.com,,,link,,Lee,Wong,2026-03-003
`

func TestBatchPaysTheFileAndResumes(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)
	code, out, errOut := batchCmd(t, getenv, path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("stdout is not the JSON summary: %v\n%s", err, out)
	}
	if sum["made"] != 3.0 || sum["amount"] != 6980.0 || sum["unknown"] != 0.0 || sum["run"] != 1.0 {
		t.Fatalf("summary %v", sum)
	}
	if !strings.Contains(errOut, "3 links made, 0 already made, 0 failed, 0 unknown") || !strings.Contains(errOut, "$69.80") {
		t.Fatalf("stderr summary: %s", errOut)
	}
	results := readResults(t, filepath.Join(filepath.Dir(path), "payouts.results.csv"))
	links := map[string]gen.PayoutLink{}
	for _, l := range srv.Links() {
		links[l.ID] = l
	}
	if len(results) != 3 || len(links) != 3 {
		t.Fatalf("%d results, %d links", len(results), len(links))
	}
	wantLines := []string{"2", "3", "4"}
	wantRef := []string{"2026-03-001", "2026-03-002", "2026-03-003"}
	for i, r := range results {
		l := links[r["link_id"]]
		if r["line"] != wantLines[i] || r["outcome"] != "made" || l.Metadata[batch.MetadataReference] != wantRef[i] ||
			r["key"] != batch.ReferenceKey(wantRef[i]) ||
			l.Metadata[batch.MetadataKey] != r["key"] || r["link_url"] != l.Link || r["status"] != string(l.Status) ||
			r["amount"] != fmt.Sprint(int64(l.Amount)) {
			t.Fatalf("result %v for link %+v", r, l)
		}
	}
	if l := links[results[1]["link_id"]]; l.Payee.PhoneNumber != "2025550139" || l.Delivery.Method != gen.DeliveryMethodSms || l.Memo != "March invoice" {
		t.Fatalf("the sms row's link: %+v", l)
	}

	// The journal is a plain SQLite file that operators can query.
	db, err := sql.Open("sqlite", path+".journal")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var made, attempts int
	if err := db.QueryRow("SELECT count(*), sum(attempts) FROM rows WHERE state = 'made' AND link_id IS NOT NULL").Scan(&made, &attempts); err != nil {
		t.Fatal(err)
	}
	if made != 3 || attempts != 3 {
		t.Fatalf("journal: %d made rows, %d attempts", made, attempts)
	}

	// The same command again sends nothing and says so.
	before := len(srv.Requests())
	code, out, errOut = batchCmd(t, getenv, path)
	if code != 0 || !strings.Contains(errOut, "0 links made, 3 already made") {
		t.Fatalf("second run: exit %d: %s", code, errOut)
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("the second run sent %d requests", n)
	}
	for _, r := range readResults(t, filepath.Join(filepath.Dir(path), "payouts.results.csv")) {
		if r["outcome"] != "already_made" || r["link_id"] == "" {
			t.Fatalf("second run's result %v", r)
		}
	}
	_ = out
}

func TestBatchRefusesBadRowsAndNamesThem(t *testing.T) {
	bad := `amount,email,method,phone,user_id
1250,jsmith@example.com,email,,
12.50,jsmith@example.com,email,,
0,not-an-email,email,,
700,,sms,2025550139,
800,a@example.com,email,,not-a-uuid
"900,a@example.com
`
	for _, dry := range []bool{true, false} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			srv, getenv := batchEnv(t)
			path := writeCSV(t, bad)
			args := []string{path}
			if dry {
				args = []string{"--dry-run", path}
			}
			code, _, errOut := batchCmd(t, getenv, args...)
			if code != 2 {
				t.Fatalf("exit %d, want 2: %s", code, errOut)
			}
			for _, want := range []string{
				"line 3: amount: \"12.50\": amounts are in cents",
				"line 4: amount: number must be at least 1; email (payee.email): must be an email address",
				"line 5: phone (payee.phone_number): delivery by sms needs payee.country_code",
				"line 6: user_id: must be a UUID",
				"line 7: row: ",
				"5 of 6 rows are bad; nothing was sent",
			} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			if strings.Contains(errOut, "line 2:") {
				t.Errorf("the good row is named:\n%s", errOut)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Fatalf("%d requests sent", n)
			}
			if _, err := os.Stat(path + ".journal"); dry && err == nil {
				t.Fatal("a dry run made a journal")
			}
			var keys int
			if db, err := sql.Open("sqlite", path+".journal"); err == nil && !dry {
				defer db.Close()
				if err := db.QueryRow("SELECT count(*) FROM keys").Scan(&keys); err != nil || keys != 0 {
					t.Fatalf("%d keys committed (%v) for a refused batch", keys, err)
				}
			}
		})
	}
}

func TestBatchDryRunOfAGoodFile(t *testing.T) {
	path := writeCSV(t, sampleCSV)
	// No credentials: a dry run needs none, and sends nothing.
	code, out, errOut := batchCmd(t, func(string) string { return "" }, "--dry-run", path)
	if code != 0 || !strings.Contains(errOut, "3 rows, $69.80 in all") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var sum map[string]any
	if err := json.Unmarshal([]byte(out), &sum); err != nil || sum["rows"] != 3.0 || sum["total"] != 6980.0 || sum["bad_rows"] != 0.0 {
		t.Fatalf("summary %v (%v)", sum, err)
	}
	// Rows and sums by delivery method, on stderr and in the summary.
	for _, re := range []string{`email\s+1 rows\s+\$12\.50`, `sms\s+1 rows\s+\$50\.00`, `link\s+1 rows\s+\$7\.30`} {
		if !regexp.MustCompile(re).MatchString(errOut) {
			t.Errorf("stderr lacks %s:\n%s", re, errOut)
		}
	}
	if m, _ := sum["methods"].(map[string]any); fmt.Sprint(m["sms"]) != "map[rows:1 total:5000]" {
		t.Errorf("summary's methods: %v", sum["methods"])
	}
}

func TestBatchUsageAndHeaderErrors(t *testing.T) {
	_, getenv := batchEnv(t)
	good := writeCSV(t, sampleCSV)
	for _, tc := range []struct {
		name   string
		args   []string
		getenv func(string) string
		code   int
		want   string
	}{
		{"no file", nil, getenv, 2, "give the CSV file"},
		{"two files", []string{good, good}, getenv, 2, "give one CSV file"},
		{"missing file", []string{filepath.Join(t.TempDir(), "none.csv")}, getenv, 2, "no such file"},
		{"mock refused", []string{"--mock", good}, getenv, 2, "--mock is refused"},
		{"unknown flag as --flag", []string{"--nope", good}, getenv, 2, "flag provided but not defined: --nope"},
		{"bad concurrency", []string{"--concurrency", "0", good}, getenv, 2, "--concurrency"},
		{"bad retries", []string{"--retries", "-1", good}, getenv, 2, "--retries"},
		{"bad progress interval", []string{"--progress-every", "0s", good}, getenv, 2, "--progress-every"},
		{"bad lookback", []string{"--lookback", "soon", good}, getenv, 2, "invalid value \"soon\" for flag --lookback: want a number of days such as 90d"},
		{"no lookback", []string{"--lookback", "0d", good}, getenv, 2, "for flag --lookback: want a number of days"},
		{"a lookback past forever", []string{"--lookback", "9999999999d", good}, getenv, 2, "for flag --lookback: want a number of days"},
		{"flag after the file", []string{good, "--rate"}, getenv, 2, "flag needs an argument"},
		{"no credentials", []string{good}, func(string) string { return "" }, 2, "DOTS_CLIENT_ID is not set"},
		{"unknown env", []string{"--env", "staging", good}, getenv, 2, "unknown environment"},
		{"unknown column", []string{writeCSV(t, "amount,emial\n100,a@example.com\n")}, getenv, 2, `column "emial": unknown column`},
		{"no amount", []string{writeCSV(t, "email\na@example.com\n")}, getenv, 2, `column "amount": is missing`},
		{"reserved metadata", []string{writeCSV(t, "amount,metadata.batch_key\n100,x\n")}, getenv, 2, "metadata.batch_key"},
		{"empty file", []string{writeCSV(t, "")}, getenv, 2, "the file is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := runBatch(context.Background(), tc.args, &out, &errb, setOnly(tc.getenv))
			if code != tc.code || !strings.Contains(errb.String(), tc.want) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s", code, tc.code, tc.want, errb.String())
			}
		})
	}
	// Help goes to stdout, flags written --flag, as for every command; so does 'help batch'.
	for _, args := range [][]string{{"batch", "--help"}, {"help", "batch"}} {
		var out, errb bytes.Buffer
		code := run(context.Background(), args, &out, &errb, func(k string) (string, bool) { v := getenv(k); return v, v != "" })
		if code != 0 || !strings.Contains(out.String(), "Exit codes: 0 every row") || !strings.Contains(out.String(), "  --concurrency") || errb.Len() != 0 {
			t.Fatalf("%v: exit %d, stdout %q, stderr %q", args, code, out.String(), errb.String())
		}
	}
}

func TestBatchExitCodesForFailedAndUnknownRows(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)

	// Dots refuses the first create: that row failed, the others are made: exit 1.
	failCreates(srv, mock.Fault{Status: 400})
	code, _, errOut := batchCmd(t, getenv, "--concurrency", "1", path)
	if code != 1 || !strings.Contains(errOut, "2 links made, 0 already made, 1 failed") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	res := readResults(t, filepath.Join(filepath.Dir(path), "payouts.results.csv"))
	if res[0]["outcome"] != "failed" || !strings.Contains(res[0]["error"], "400") || res[0]["link_id"] != "" {
		t.Fatalf("failed row's result %v", res[0])
	}

	// Every create of a new file is applied and its answer lost: unknown, exit 3, and the
	// advice to run again. --retries 0 sends each row once.
	path2 := writeCSV(t, strings.ReplaceAll(sampleCSV, "2026-03", "2026-04"))
	failCreates(srv, repeat(3*3, mock.Fault{Drop: mock.DropAfterApply})...)
	before := len(srv.Requests())
	code, out, errOut := batchCmd(t, getenv, "--retries", "0", path2)
	if n := creates(srv, before); n != 3*3 {
		t.Fatalf("%d creates for 3 rows sent once each (the client's own 2 retries included), want 9", n)
	}
	if code != 3 || !strings.Contains(errOut, "3 rows have no known outcome yet: run the same command again") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"unknown": 3`) {
		t.Fatalf("summary %s", out)
	}
	linksBefore := srv.LinkCount()
	srv.SetFaults(nil)
	code, _, errOut = batchCmd(t, getenv, path2)
	if code != 0 || !strings.Contains(errOut, "3 links made") {
		t.Fatalf("resume: exit %d: %s", code, errOut)
	}
	if srv.LinkCount() != linksBefore {
		t.Fatalf("the resume made %d more links; the keys should have found the ones made", srv.LinkCount()-linksBefore)
	}
}

func TestBatchChangedRowIsRefusedAndNamed(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)
	if code, _, errOut := batchCmd(t, getenv, path); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	before := len(srv.Requests())
	if err := os.WriteFile(path, []byte(strings.Replace(sampleCSV, "5000,", "9000,", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--dry-run", path}, {path}} {
		code, _, errOut := batchCmd(t, getenv, args...)
		if code != 2 || !strings.Contains(errOut, "line 3: row: changed since its link") {
			t.Fatalf("%v: exit %d: %s", args, code, errOut)
		}
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Fatalf("%d requests sent for a changed file", n)
	}
}

func TestBatchProgress(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)
	// The last create waits, so the run lasts long enough for several progress lines.
	failCreates(srv, mock.Fault{}, mock.Fault{}, mock.Fault{Delay: 600 * time.Millisecond})
	code, _, errOut := batchCmd(t, getenv, "--concurrency", "1", "--progress-every", "5ms", path)
	if code != 0 || !strings.Contains(errOut, "batch: 2/3 rows (made 2, already made 0, failed 0, unknown 0, not sent 0)") {
		t.Fatalf("exit %d: %s", code, errOut)
	}

	// On a terminal, a bar: rows done of total, rate and time left.
	old := isTerminal
	isTerminal = func(io.Writer) bool { return true }
	defer func() { isTerminal = old }()
	var errb bytes.Buffer
	code = runBatch(context.Background(), []string{"--yes", writeCSV(t, strings.ReplaceAll(sampleCSV, "2026-03", "2026-04"))}, io.Discard, &errb, setOnly(getenv))
	if code != 0 || !strings.Contains(errb.String(), "paying") || !strings.Contains(errb.String(), "3/3") || !strings.Contains(errb.String(), "rows/s") {
		t.Fatalf("exit %d, bar: %q", code, errb.String())
	}
}

// storm is the faults TestBatchSurvivesKills draws from (mock.WithChaos), all of them quick.
var storm = []mock.Fault{
	{Status: 503},
	{Status: 500, ApplyFirst: true},
	{Drop: mock.DropAfterApply},
	{Drop: mock.DropBeforeApply},
	{Status: 429, RetryAfter: "0"},
	{Body: mock.TruncatedBody},
	{Delay: 20 * time.Millisecond, Late: true},
}

const childEnv = "PAYOUTLINKS_BATCH_CHILD_ARGS"

// TestBatchChild is the batch command in a child process that TestBatchSurvivesKills kills.
func TestBatchChild(t *testing.T) {
	args := os.Getenv(childEnv)
	if args == "" {
		t.Skip("runs only as the child of TestBatchSurvivesKills")
	}
	os.Exit(runBatch(context.Background(), strings.Split(args, "\x1f"), io.Discard, os.Stderr, os.LookupEnv))
}

// TestBatchSurvivesKills pays a few hundred rows from a CSV file through a mock in chaos mode,
// in child processes killed with SIGKILL at random points, at least 20 times, each resumed by
// the same command; then every row must have exactly one link with its amount and metadata,
// and the journal and the results file must agree with the links.
func TestBatchSurvivesKills(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 7))
	srv, _ := batchEnv(t, mock.WithChaos(0.2, seed, storm...))
	const rows = 400
	var text strings.Builder
	text.WriteString("reference,amount,email,method,memo,metadata.row\n")
	for i := range rows {
		fmt.Fprintf(&text, "INV-%d,%d,payee%d@example.com,email,batch %d,%d\n", i, 100+i, i, i, i+2)
	}
	path := writeCSV(t, text.String())
	args := strings.Join([]string{"--yes", "--concurrency", "8", "--retries", "1", "--retry-delay", "1ms", path}, "\x1f")
	// child runs the command in a child process; killAt, if set, says when to SIGKILL it (it
	// is polled until then, or until the child ends by itself).
	child := func(killAt func() bool) (code int, stderr string) {
		t.Helper()
		cmd := exec.Command(os.Args[0], "-test.run=^TestBatchChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), childEnv+"="+args, "DOTS_CLIENT_ID="+testClientID, "DOTS_API_KEY="+testAPIKey,
			"DOTS_BASE_URL="+srv.BaseURL())
		var errb bytes.Buffer
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		var err error
	wait:
		for {
			select {
			case err = <-done:
				break wait
			case <-time.After(time.Millisecond):
				if killAt != nil && killAt() {
					_ = cmd.Process.Kill() // SIGKILL
					err = <-done
					break wait
				}
			}
		}
		if strings.Contains(errb.String(), testAPIKey) {
			t.Fatal("the API key appears in the child's output")
		}
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), errb.String()
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, errb.String()
	}
	creates := func() int {
		n := 0
		for _, r := range srv.Requests() {
			if r.Operation == "create-payout-link" {
				n++
			}
		}
		return n
	}

	// Kill children until the batch went through and there were at least 20 kills (once the
	// batch is through, a kill lands in a resume that finds every row done).
	kills, done := 0, false
	for (!done || kills < 20) && kills < 200 {
		start, began := creates(), time.Now()
		// Kill after a random number of creates reached the mock (mid-request, often), or after
		// a random time (during the checks, a commit, a pause, the results...).
		after := 1 + rnd.IntN(40)
		wait := time.Duration(rnd.IntN(150)) * time.Millisecond
		byCount := !done && rnd.IntN(3) > 0
		code, stderr := child(func() bool {
			if byCount {
				return creates()-start >= after
			}
			return time.Since(began) >= wait
		})
		switch code {
		case -1:
			kills++
		case 0:
			done = true
		case 3:
			// It ran to its end with rows left unknown: fine, the next run resolves them.
		case 1:
			// The listing of links failed in the storm before anything was sent: fine too.
			if !strings.Contains(stderr, "among the links on Dots, nothing was sent") {
				t.Fatalf("child exit 1:\n%s", stderr)
			}
		default:
			t.Fatalf("child exit %d:\n%s", code, stderr)
		}
	}
	// Resume to the end, faults and all; then without faults if rows are still unknown.
	code, stderr := 3, ""
	for i := 0; code != 0 && i < 5; i++ {
		if i == 3 {
			srv.SetChaosRate(0)
		}
		code, stderr = child(nil)
	}
	if code != 0 {
		t.Fatalf("the last run exited %d:\n%s", code, stderr)
	}
	t.Logf("%d kills; the last run: %s", kills, lastLine(stderr, "batch: "))

	links := map[string]gen.PayoutLink{}
	for _, l := range srv.Links() {
		if prev, dup := links[l.Metadata.Get("row")]; dup {
			t.Errorf("row %s has two links: %s and %s", l.Metadata.Get("row"), prev.ID, l.ID)
		}
		links[l.Metadata.Get("row")] = l
	}
	j, err := batch.OpenJournalReadOnly(context.Background(), path+".journal")
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	results := readResults(t, filepath.Join(filepath.Dir(path), "payouts.results.csv"))
	if len(results) != rows || len(links) != rows {
		t.Fatalf("%d results and %d links for %d rows", len(results), len(links), rows)
	}
	for i, res := range results {
		line := i + 2
		l, ok := links[fmt.Sprint(line)]
		e, _, err := j.Entry(context.Background(), line)
		switch {
		case err != nil:
			t.Fatal(err)
		case !ok:
			t.Errorf("line %d has no link", line)
		case l.Amount != dots.Amount(100+i) || l.Memo != fmt.Sprintf("batch %d", i) || l.Payee.Email != fmt.Sprintf("payee%d@example.com", i) ||
			l.Metadata[batch.MetadataKey] != e.Key || e.Key != batch.ReferenceKey(fmt.Sprint("INV-", i)) || l.Metadata[batch.MetadataReference] != fmt.Sprint("INV-", i):
			t.Errorf("line %d: link %+v, journal key %s", line, l, e.Key)
		case e.State != batch.Made || e.LinkID != l.ID || e.LinkURL != l.Link:
			t.Errorf("line %d: journal %+v, link %s", line, e, l.ID)
		case res["line"] != fmt.Sprint(line) || res["key"] != e.Key || res["link_id"] != l.ID || res["link_url"] != l.Link ||
			(res["outcome"] != "made" && res["outcome"] != "already_made"):
			t.Errorf("line %d: result %v, journal %+v", line, res, e)
		}
	}
}

// lastLine returns the last line of text that starts with prefix.
func lastLine(text, prefix string) string {
	out := ""
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = l
		}
	}
	return out
}

// BenchmarkBatchCommand pays b.N rows from a CSV file with references with 'payoutlinks batch
// --yes --concurrency 8' (no rate cap) against the mock over loopback, the lookup of the
// references, the journal and the results file included, and reports
// rows/s. In the same run, the floor: the same number of creates through the SDK from 8
// goroutines with no runner around them (no checks, no journal, no results); x-floor-tput is the
// command's throughput over the floor's.
func BenchmarkBatchCommand(b *testing.B) {
	srv := mock.NewServer()
	defer srv.Close()
	env := map[string]string{"DOTS_CLIENT_ID": testClientID, "DOTS_API_KEY": testAPIKey, "DOTS_BASE_URL": srv.BaseURL()}
	var text strings.Builder
	text.WriteString("reference,amount,email,method,memo,metadata.row\n")
	for i := range b.N {
		fmt.Fprintf(&text, "INV-%d,%d,payee%d@example.com,email,batch %d,%d\n", i, 100+i, i, i, i+2)
	}
	path := filepath.Join(b.TempDir(), "payouts.csv")
	if err := os.WriteFile(path, []byte(text.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var errb bytes.Buffer
	if code := runBatch(context.Background(), []string{"--yes", "--concurrency", "8", path}, io.Discard, &errb, lookupIn(env)); code != 0 {
		b.Fatalf("exit %d: %s", code, errb.String())
	}
	elapsed := time.Since(start)
	b.StopTimer()

	// The floor: b.N creates from 8 goroutines, nothing else.
	client, err := api.NewClient(testClientID, testAPIKey, api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	floorStart := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(b.N); i = next.Add(1) - 1 {
				_, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: dots.Amount(100 + i),
					Payee: gen.Payee{Email: api.Ptr(fmt.Sprintf("payee%d@example.com", i))}, Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
					Memo: api.Ptr(fmt.Sprintf("batch %d", i)), Metadata: dots.Metadata{"row": fmt.Sprint(i + 2)}})
				if err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	floor := time.Since(floorStart)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "rows/s")
	b.ReportMetric(float64(b.N)/floor.Seconds(), "floor-rows/s")
	b.ReportMetric(rate/(float64(b.N)/floor.Seconds()), "x-floor-tput")
}

// TestBatchRefusesFilesThatAreNotWhatTheySeem: a file saved as Latin-1, one separated by
// semicolons, and one with a 10 MiB memo are refused by the dry run and the run alike, naming
// the line (and the column) and what to do; nothing is sent.
func TestBatchRefusesFilesThatAreNotWhatTheySeem(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"latin-1", "amount,email,method,first_name\n1250,a@example.com,email,Ann\n5000,j@example.com,email,J\xfcrgen\n",
			[]string{`line 3: first_name (payee.first_name): is not UTF-8 text ("J\xfcrgen")`, "Latin-1 or Windows-1252", "save it again as UTF-8"}},
		{"semicolons", "amount;email;method\n1250;a@example.com;email\n", []string{"separated by semicolons", "commas"}},
		{"a 10 MiB memo", "amount,email,method,memo\n1250,a@example.com,email,ok\n1300,b@example.com,email," + strings.Repeat("x", 10<<20) + "\n",
			[]string{"line 3: the record is over 64 KiB", "nothing was sent"}},
	} {
		for _, dry := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/dry-run=%v", tc.name, dry), func(t *testing.T) {
				srv, getenv := batchEnv(t)
				args := []string{writeCSV(t, tc.text)}
				if dry {
					args = append(args, "--dry-run")
				}
				code, _, errOut := batchCmd(t, getenv, args...)
				if code != 2 {
					t.Fatalf("exit %d, want 2: %s", code, errOut)
				}
				for _, w := range tc.want {
					if !strings.Contains(errOut, w) {
						t.Errorf("stderr lacks %q:\n%.500s", w, errOut)
					}
				}
				if n := len(srv.Requests()); n != 0 {
					t.Fatalf("%d requests sent", n)
				}
			})
		}
	}
}

// TestBatchCapsAmounts: a row over --max-amount (default $10,000) is refused by line, and a total
// that does not fit in an int64 is refused rather than printed negative; nothing is sent.
func TestBatchCapsAmounts(t *testing.T) {
	const huge = "9223372036854775807" // 2^63-1 cents
	for _, tc := range []struct {
		name, text string
		args       []string
		code       int
		want       string
	}{
		{"over the default cap", "amount,email,method\n1000001,a@example.com,email\n", nil, 2,
			"line 2: amount: $10000.01 is over the batch's cap of $10000.00 a row"},
		{"under a raised cap", "amount,email,method\n1000001,a@example.com,email\n", []string{"--max-amount", "2000000"}, 0,
			"1 rows, $10000.01 in all (USD)"},
		{"a total that overflows", "amount,email,method\n" + huge + ",a@example.com,email\n" + huge + ",b@example.com,email\n",
			[]string{"--max-amount", huge}, 2, "line 3: amount: brings the batch's total over $92233720368547758.07"},
		{"a bad cap", "amount,email,method\n100,a@example.com,email\n", []string{"--max-amount", "0"}, 2, "--max-amount must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, getenv := batchEnv(t)
			code, out, errOut := batchCmd(t, getenv, append(tc.args, "--dry-run", "--allow-no-reference", writeCSV(t, tc.text))...)
			if code != tc.code || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "-$") {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s%s", code, tc.code, tc.want, errOut, out)
			}
		})
	}
}

// invoices is a CSV file of payouts with references INV-from .. INV-(to-1).
func invoices(from, to int, amount func(i int) int) string {
	var b strings.Builder
	b.WriteString("reference,amount,email,method\n")
	for i := from; i < to; i++ {
		fmt.Fprintf(&b, "INV-%d,%d,payee%d@example.com,email\n", i, amount(i), i)
	}
	return b.String()
}

// TestBatchNeverPaysAReferenceTwice pays 150 invoices, then runs them again as an operator
// might: a copy of the file, another --journal, the journal deleted, and a later file holding
// old rows beside new ones. Every invoice has one link, and nothing is sent twice (today's
// issue: 400 links for 150 invoices).
func TestBatchNeverPaysAReferenceTwice(t *testing.T) {
	srv, getenv := batchEnv(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	cents := func(i int) int { return 1000 + i }
	c := write("c.csv", invoices(0, 150, cents))
	if code, _, errOut := batchCmd(t, getenv, "--concurrency", "8", c); code != 0 || srv.LinkCount() != 150 {
		t.Fatalf("exit %d, %d links: %s", code, srv.LinkCount(), errOut)
	}
	copyCSV := write("c-copy.csv", invoices(0, 150, cents))
	for _, step := range []struct {
		name string
		args []string
		prep func()
	}{
		{"a copy of the file", []string{"--lookback", "7d", copyCSV}, nil},
		{"another journal", []string{"--journal", filepath.Join(dir, "other.journal"), c}, nil},
		{"the journal deleted", []string{c}, func() {
			if err := os.Remove(c + ".journal"); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		if step.prep != nil {
			step.prep()
		}
		before := len(srv.Requests())
		code, _, errOut := batchCmd(t, getenv, step.args...)
		if code != 0 || !strings.Contains(errOut, "0 links made, 150 already made") || creates(srv, before) != 0 {
			t.Fatalf("%s: exit %d, %d creates: %s", step.name, code, creates(srv, before), errOut)
		}
	}
	// A later file: 50 new invoices, then 100 old ones.
	d := write("d.csv", invoices(150, 200, cents)+strings.TrimPrefix(invoices(50, 150, cents), "reference,amount,email,method\n"))
	before := len(srv.Requests())
	if code, _, errOut := batchCmd(t, getenv, d); code != 0 || !strings.Contains(errOut, "50 links made, 100 already made") || creates(srv, before) != 50 {
		t.Fatalf("later file: exit %d, %d creates: %s", code, creates(srv, before), errOut)
	}
	if n := srv.LinkCount(); n != 200 {
		t.Fatalf("%d links for 200 invoices", n)
	}
	// An old invoice with another amount is a conflict: failed, nothing sent, exit 1.
	e := write("e.csv", invoices(7, 8, func(int) int { return 99 }))
	before = len(srv.Requests())
	code, _, errOut := batchCmd(t, getenv, e)
	res := readResults(t, filepath.Join(dir, "e.results.csv"))
	if code != 1 || creates(srv, before) != 0 || res[0]["outcome"] != "failed" || !strings.Contains(res[0]["error"], `conflict: link`) ||
		!strings.Contains(res[0]["error"], `already carries its reference "INV-7", and this row is for $0.99`) {
		t.Fatalf("conflict: exit %d, %d creates, result %v: %s", code, creates(srv, before), res, errOut)
	}
}

// TestBatchWithoutReferences: a file without a reference column is refused, saying why and what
// to do; with --allow-no-reference it is paid with random keys; two rows alike are refused,
// naming both lines.
func TestBatchWithoutReferences(t *testing.T) {
	srv, getenv := batchEnv(t)
	noRefs := "amount,email,method\n1250,a@example.com,email\n1300,b@example.com,email\n"
	code, _, errOut := batchCmd(t, getenv, writeCSV(t, noRefs))
	if code != 2 || !strings.Contains(errOut, "the file has no reference column") || !strings.Contains(errOut, "--allow-no-reference") ||
		len(srv.Requests()) != 0 {
		t.Fatalf("exit %d, %d requests: %s", code, len(srv.Requests()), errOut)
	}
	if code, _, errOut := batchCmd(t, getenv, "--allow-no-reference", writeCSV(t, noRefs)); code != 0 || srv.LinkCount() != 2 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, tc := range []struct {
		text, flag, want string
	}{
		{noRefs + "1250,a@example.com,email\n", "--allow-no-reference", "line 4: row: is the same payout as line 2"},
		{"reference,amount,email,method\nA-1,1250,a@example.com,email\nA-2,1300,b@example.com,email\nA-1,1400,c@example.com,email\n", "--yes",
			`line 4: reference: "A-1" is also the reference of line 2`},
		{"reference,amount,email,method\nA-1,1250,a@example.com,email\n,1300,b@example.com,email\n", "--yes", "line 3: reference: is empty"},
	} {
		before := len(srv.Requests())
		code, _, errOut := batchCmd(t, getenv, tc.flag, writeCSV(t, tc.text))
		if code != 2 || !strings.Contains(errOut, tc.want) || strings.Contains(errOut, "have no reference") || len(srv.Requests()) != before {
			t.Fatalf("exit %d, stderr lacks %q: %s", code, tc.want, errOut)
		}
	}
}

// cancelAfter is a log handler for the batch's client that cancels the command's context once n
// creates succeeded: Ctrl-C between two creates.
type cancelAfter struct {
	n      *atomic.Int32
	cancel context.CancelFunc
}

func (h cancelAfter) Enabled(context.Context, slog.Level) bool { return true }
func (h cancelAfter) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h cancelAfter) WithGroup(string) slog.Handler            { return h }
func (h cancelAfter) Handle(_ context.Context, r slog.Record) error {
	created := false
	r.Attrs(func(a slog.Attr) bool {
		created = created || (a.Key == "status" && a.Value.Int64() == http.StatusCreated)
		return true
	})
	if created && h.n.Add(-1) == 0 {
		h.cancel()
	}
	return nil
}

// TestBatchInterruptedReportsUnsentRowsNotSent: Ctrl-C after three creates. The rows never sent
// are "not sent", none is "unknown", and the command exits 1 (3 is for unknown rows); the same
// command again sends them, each once.
func TestBatchInterruptedReportsUnsentRowsNotSent(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, invoices(0, 20, func(i int) int { return 100 + i }))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := &atomic.Int32{}
	n.Store(3)
	defer func(old []api.Option) { batchClientOptions = old }(batchClientOptions)
	batchClientOptions = append(batchClientOptions[:len(batchClientOptions):len(batchClientOptions)],
		api.WithLogger(slog.New(cancelAfter{n: n, cancel: cancel})))
	var out, errb bytes.Buffer
	code := runBatch(ctx, []string{"--yes", "--concurrency", "1", path}, &out, &errb, setOnly(getenv))
	errOut := errb.String()
	if code != 1 || !strings.Contains(errOut, "3 links made, 0 already made, 0 failed, 0 unknown, 17 not sent") ||
		!strings.Contains(errOut, "17 rows were not sent (nothing reached Dots for them): run the same command again") ||
		strings.Contains(errOut, "no known outcome") {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	results := readResults(t, filepath.Join(filepath.Dir(path), "payouts.results.csv"))
	for _, r := range results[3:] {
		if r["outcome"] != "not_sent" || r["link_id"] != "" {
			t.Fatalf("result %v", r)
		}
	}
	batchClientOptions = batchClientOptions[:len(batchClientOptions)-1]
	if code, _, errOut := batchCmd(t, getenv, path); code != 0 || !strings.Contains(errOut, "17 links made, 3 already made") || srv.LinkCount() != 20 {
		t.Fatalf("the same command again: exit %d, %d links: %s", code, srv.LinkCount(), errOut)
	}
}

// TestBatchAsksBeforePaying: the command shows what it is about to pay (links, total, totals by
// delivery method) and pays only if told to: "y" on a terminal, --yes otherwise. A run with
// nothing left to send asks nothing.
func TestBatchAsksBeforePaying(t *testing.T) {
	for _, tc := range []struct {
		name     string
		terminal bool
		answer   string
		args     []string
		code     int
		want     string
	}{
		{"a script without --yes", false, "", nil, 2, "stdin is not a terminal, so there is no one to ask: pass --yes"},
		{"a script with --yes", false, "", []string{"--yes"}, 0, "3 links made"},
		{"a terminal, answered no", true, "n\n", nil, 1, "not confirmed; nothing was sent"},
		{"a terminal, no answer", true, "", nil, 1, "not confirmed; nothing was sent"},
		{"a terminal, answered yes", true, "y\n", nil, 0, "3 links made"},
		{"a terminal, answered YES", true, " YES\n", nil, 0, "3 links made"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, getenv := batchEnv(t)
			defer func(old io.Reader, oldTerm func() bool) { stdin, stdinIsTerminal = old, oldTerm }(stdin, stdinIsTerminal)
			stdin, stdinIsTerminal = strings.NewReader(tc.answer), func() bool { return tc.terminal }
			path := writeCSV(t, sampleCSV)
			var out, errb bytes.Buffer
			code := runBatch(context.Background(), append(tc.args, path), &out, &errb, setOnly(getenv))
			errOut := errb.String()
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Fatalf("exit %d (want %d), stderr lacks %q:\n%s", code, tc.code, tc.want, errOut)
			}
			for _, re := range []string{`batch: 3 rows, \$69\.80 in all \(USD\)\nto pay: 3 links, \$69\.80 in all \(USD\):\n`,
				`email\s+1 rows\s+\$12\.50`, `sms\s+1 rows\s+\$50\.00`, `link\s+1 rows\s+\$7\.30`} {
				if !regexp.MustCompile(re).MatchString(errOut) {
					t.Errorf("stderr lacks %s:\n%s", re, errOut)
				}
			}
			if asked := strings.Contains(errOut, "Pay 3 links, $69.80 in all? [y/N]"); asked != (tc.terminal && !slices.Contains(tc.args, "--yes")) {
				t.Errorf("asked: %v:\n%s", asked, errOut)
			}
			if made := srv.LinkCount(); (made == 3) != (tc.code == 0) || (made != 0 && made != 3) {
				t.Fatalf("%d links", made)
			}
			if tc.code != 0 {
				return
			}
			// Again: nothing to send, nothing asked, even without --yes.
			errb.Reset()
			if code := runBatch(context.Background(), []string{path}, &out, &errb, setOnly(getenv)); code != 0 || strings.Contains(errb.String(), "Pay ") {
				t.Fatalf("again: exit %d: %s", code, errb.String())
			}
		})
	}
	// Rows already paid are left out of what is asked.
	srv, getenv := batchEnv(t)
	if code, _, errOut := batchCmd(t, getenv, writeCSV(t, sampleCSV)); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	more := sampleCSV + "2000,new@example.com,,,email,,,,2026-03-004\n"
	defer func(old io.Reader, oldTerm func() bool) { stdin, stdinIsTerminal = old, oldTerm }(stdin, stdinIsTerminal)
	stdin, stdinIsTerminal = strings.NewReader("y\n"), func() bool { return true }
	var out, errb bytes.Buffer
	code := runBatch(context.Background(), []string{writeCSV(t, more)}, &out, &errb, setOnly(getenv))
	if code != 0 || !strings.Contains(errb.String(), "batch: 4 rows, $89.80 in all (USD); 3 of them already have their link or failed") ||
		!strings.Contains(errb.String(), "Pay 1 links, $20.00 in all? [y/N]") || srv.LinkCount() != 4 {
		t.Fatalf("exit %d, %d links: %s", code, srv.LinkCount(), errb.String())
	}
}

// setOnly reads a getenv's empty values as not set, as the tests' environments mean them.
func setOnly(getenv func(string) string) func(string) (string, bool) {
	return func(k string) (string, bool) { v := getenv(k); return v, v != "" }
}
