package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/batch"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/pgtest"
)

// totals is the line of status for three made rows of sampleCSV.
var totals = regexp.MustCompile(`\n  made\s+3 rows\s+\$69\.80\n`)

// batchSub runs a subcommand of batch, as a script would.
func batchSub(t *testing.T, getenv func(string) string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = runBatch(context.Background(), args, &out, &errb, setOnly(getenv))
	if strings.Contains(out.String()+errb.String(), testAPIKey) {
		t.Fatal("the API key appears in the command's output")
	}
	return code, out.String(), errb.String()
}

// TestBatchPlanThenApply: plan writes what the file pays and its hash, sending nothing; apply
// pays exactly the planned file; a file changed after planning is refused, naming both hashes,
// and nothing is sent.
func TestBatchPlanThenApply(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)
	plan := filepath.Join(filepath.Dir(path), "march.plan.json")
	code, out, errOut := batchSub(t, getenv, "plan", "--out", plan, path)
	if code != 0 {
		t.Fatalf("plan: exit %d: %s", code, errOut)
	}
	var p batchPlan
	b, err := os.ReadFile(plan)
	if err != nil || json.Unmarshal(b, &p) != nil {
		t.Fatalf("the plan file: %v\n%s", err, b)
	}
	if p.Rows != 3 || p.Total != 6980 || p.Methods["email"].Rows != 1 || p.Methods["sms"].Total != 5000 || len(p.SHA256) != 64 ||
		!strings.Contains(out, p.SHA256) || len(srv.Requests()) != 0 {
		t.Fatalf("plan %+v; stdout %s; %d requests", p, out, len(srv.Requests()))
	}

	// Someone changes an amount after the plan was approved: apply refuses it.
	changed := strings.Replace(sampleCSV, "5000,", "50000,", 1)
	if err := os.WriteFile(path, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = batchSub(t, getenv, "apply", plan)
	if code != exitUsage || !strings.Contains(errOut, "changed since it was planned") || !strings.Contains(errOut, p.SHA256) {
		t.Fatalf("apply of a changed file: exit %d: %s", code, errOut)
	}
	if len(srv.Requests()) != 0 {
		t.Fatalf("apply of a changed file sent %d requests", len(srv.Requests()))
	}

	// The planned bytes again: apply pays them, without asking (the plan is the approval).
	if err := os.WriteFile(path, []byte(sampleCSV), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, errOut = batchSub(t, getenv, "apply", plan)
	if code != 0 || !strings.Contains(errOut, "3 links made") {
		t.Fatalf("apply: exit %d: %s", code, errOut)
	}
	var total dots.Amount
	for _, l := range srv.Links() {
		total += l.Amount
	}
	if len(srv.Links()) != 3 || total != 6980 {
		t.Fatalf("%d links, %d cents", len(srv.Links()), total)
	}
	if _, err := os.Stat(path + ".journal"); err != nil {
		t.Fatalf("apply keeps the journal beside the planned file: %v", err)
	}
}

// TestBatchStatusAndReconcile: status lists each row and the totals; reconcile settles a paid
// batch, and names a row whose link Dots lacks (missing) and a second link carrying a row's
// key (unexpected_link), with the action, in its output and its CSV, and exits 1.
func TestBatchStatusAndReconcile(t *testing.T) {
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)
	if code, _, errOut := batchCmd(t, getenv, path); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	journal := path + ".journal"
	code, out, errOut := batchSub(t, getenv, "status", "--journal", journal)
	if code != 0 || len(regexp.MustCompile(`(?m)^\d+\s+made\s`).FindAllString(out, -1)) != 3 || !totals.MatchString(out) {
		t.Fatalf("status: exit %d:\n%s%s", code, out, errOut)
	}
	report := filepath.Join(t.TempDir(), "reconcile.csv")
	code, out, errOut = batchSub(t, getenv, "reconcile", "--journal", journal, "--out", report)
	if code != 0 || !strings.Contains(out, "3 paid, 0 failed, 0 unknown, 0 missing, 0 with unexpected links; 3 of 3 settled") {
		t.Fatalf("reconcile: exit %d:\n%s%s", code, out, errOut)
	}

	// A second link with the first row's key appears on Dots (made by hand, say).
	key := batch.ReferenceKey("2026-03-001")
	client, err := api.NewClient(testClientID, testAPIKey, api.WithBaseURL(srv.BaseURL()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250,
		Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")}, Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail},
		Metadata: dots.Metadata{batch.MetadataKey: key}}); err != nil {
		t.Fatal(err)
	}
	code, out, _ = batchSub(t, getenv, "reconcile", "--journal", journal, "--out", report)
	if code != exitFailed || !strings.Contains(out, "line 2: unexpected_link") || !strings.Contains(out, "cancel what is not meant to be paid") ||
		!strings.Contains(out, "2 paid, 0 failed, 0 unknown, 0 missing, 1 with unexpected links; 2 of 3 settled") {
		t.Fatalf("reconcile with a second link: exit %d:\n%s", code, out)
	}
	standings := readStandings(t, report)
	if standings["2"] != "unexpected_link" || standings["3"] != "paid" || standings["4"] != "paid" {
		t.Fatalf("report %v", standings)
	}

	// Dots forgets every link (a journal pointed at the wrong environment, say).
	srv.Reset()
	code, out, _ = batchSub(t, getenv, "reconcile", "--journal", journal, "--out", report)
	if code != exitFailed || !strings.Contains(out, "0 paid, 0 failed, 0 unknown, 3 missing") || !strings.Contains(out, "line 3: missing") {
		t.Fatalf("reconcile with no links: exit %d:\n%s", code, out)
	}
}

func readStandings(t *testing.T, path string) map[string]string {
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
	if strings.Join(recs[0], ",") != "line,key,amount,state,standing,link_id,links,action" {
		t.Fatalf("header %v", recs[0])
	}
	out := map[string]string{}
	for _, r := range recs[1:] {
		out[r[0]] = r[4]
	}
	return out
}

// TestBatchPostgresJournal pays a file with a Postgres journal; the same command again sends
// nothing; a changed row is refused and named, with nothing sent; status reads the journal from
// anywhere; and the journal URL's password never appears in the output.
func TestBatchPostgresJournal(t *testing.T) {
	db := pgtest.Database(t)
	srv, getenv := batchEnv(t)
	path := writeCSV(t, sampleCSV)
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("password", "hunter2-pw") // the test server trusts any password
	u.RawQuery = q.Encode()
	withPassword := u.String()
	code, out, errOut := batchCmd(t, getenv, "--journal", withPassword, path)
	if code != 0 || !strings.Contains(errOut, "3 links made, 0 already made") || strings.Contains(out+errOut, "hunter2-pw") {
		t.Fatalf("exit %d:\n%s%s", code, out, errOut)
	}
	before := len(srv.Requests())
	code, _, errOut = batchCmd(t, getenv, "--journal", db, path)
	if code != 0 || !strings.Contains(errOut, "0 links made, 3 already made") || len(srv.Requests()) != before {
		t.Fatalf("again: exit %d, %d requests:\n%s", code, len(srv.Requests())-before, errOut)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(sampleCSV, "730,", "731,", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		code, _, errOut = batchCmd(t, getenv, "--journal", db, "--dry-run="+fmt.Sprint(dry), path)
		if code != exitUsage || !strings.Contains(errOut, "line 4: row: changed since its link") || len(srv.Requests()) != before {
			t.Fatalf("changed row (dry run %v): exit %d:\n%s", dry, code, errOut)
		}
	}
	code, out, _ = batchSub(t, getenv, "status", "--journal", db)
	if code != 0 || !strings.Contains(out, "payouts.csv: 3 rows") || !totals.MatchString(out) {
		t.Fatalf("status: exit %d:\n%s", code, out)
	}
}
