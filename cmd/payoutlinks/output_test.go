package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// singleDashFlag finds a flag written -flag at the start of a line or after a space.
var singleDashFlag = regexp.MustCompile(`(^|\s)-[A-Za-z]`)

func TestHelpAndVersion(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // on stdout
	}{
		{"--help", []string{"--help"}, []string{"Commands:", "create", "redeliver", "Exit status:", "3  the outcome is unknown", "DOTS_CLIENT_ID"}},
		{"-h", []string{"-h"}, []string{"Commands:", "Exit status:"}},
		{"help", []string{"help"}, []string{"Commands:", "Exit status:"}},
		{"help create", []string{"help", "create"}, []string{"Usage: payoutlinks create", "--amount CENTS", "--idempotency-key KEY", "--mock", "--no-reuse-check", "static mock", "Exit status:"}},
		{"create --help", []string{"create", "--help"}, []string{"Usage: payoutlinks create", "--amount CENTS"}},
		{"list -h", []string{"list", "-h"}, []string{"--output json|ndjson|table", "--all", "--limit N"}},
		{"help redeliver", []string{"help", "redeliver"}, []string{`"redelivered": false`, "exits 1"}},
		{"help mock", []string{"help", "mock"}, []string{"Usage: payoutlinks mock", "X-Mock-Fault", "--fault-rate"}},
		{"mock --help", []string{"mock", "--help"}, []string{"Usage: payoutlinks mock", "--max-links"}},
		{"help with flags before it", []string{"--env", "production", "help", "get"}, []string{"Usage: payoutlinks get ID"}},
		{"version", []string{"version"}, []string{api.Version, runtime.Version()}},
		{"version --help", []string{"version", "--help"}, []string{"Usage: payoutlinks version\n"}},
		{"version -h", []string{"version", "-h"}, []string{"Usage: payoutlinks version\n"}},
		{"help version", []string{"help", "version"}, []string{"Usage: payoutlinks version\n"}},
		{"--version", []string{"--version"}, []string{api.Version, runtime.Version()}},
		{"--version before a command", []string{"--version", "create"}, []string{api.Version, runtime.Version()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			code, out, errOut := c.run(tt.args...)
			if code != 0 || errOut != "" {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout does not say %q:\n%s", w, out)
				}
			}
			if m := singleDashFlag.FindString(out); m != "" {
				t.Errorf("a flag is written with one dash (%q):\n%s", m, out)
			}
			if len(c.srv.Requests()) > 0 {
				t.Errorf("help sent %d requests", len(c.srv.Requests()))
			}
		})
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // on stderr
	}{
		{"no command", nil, []string{"Usage:", "Commands:"}},
		{"unknown command", []string{"pay"}, []string{`unknown command "pay"`}},
		{"unknown global flag", []string{"--bogus", "get", "x"}, []string{"flag provided but not defined: --bogus"}},
		{"unknown command flag", []string{"get", "--bogus", "x"}, []string{"flag provided but not defined: --bogus", "Usage: payoutlinks get ID"}},
		{"a flag without its value", []string{"create", "--amount"}, []string{"flag needs an argument: --amount"}},
		{"a bool flag with a value", []string{"list", "--all=maybe"}, []string{"--all"}},
		{"dollars", []string{"create", "--amount", "12.50", "--method", "link"}, []string{`invalid value "12.50" for flag --amount`, "amounts are in cents", "--amount 1250"}},
		{"dollars with a sign", []string{"create", "--amount", "$0.5", "--method", "link"}, []string{"amounts are in cents", "--amount 50"}},
		{"a fraction of a cent", []string{"create", "--amount", "12.505"}, []string{"whole numbers of cents"}},
		{"words", []string{"create", "--amount", "ten"}, []string{"whole numbers of cents"}},
		{"create with an argument", []string{"create", "--amount", "5", "now"}, []string{"create takes flags only"}},
		{"list with an argument", []string{"list", "all"}, []string{"list takes flags only"}},
		{"unknown output", []string{"list", "--output", "xml"}, []string{`--output "xml"`, "json, ndjson or table"}},
		{"two ids", []string{"cancel", "a", "b"}, []string{"exactly one"}},
		{"two ids, flags between", []string{"cancel", "a", "--env", "sandbox", "b"}, []string{"exactly one"}},
		{"flags after --", []string{"get", "a", "--", "--env", "sandbox"}, []string{"exactly one"}},
		{"-- as a flag's value ends nothing", []string{"create", "--memo", "--", "now", "--amount", "5"}, []string{"create takes flags only, not now\n"}},
		{"create without --amount", []string{"create", "--email", "jsmith@example.com", "--method", "email"}, []string{"--amount is required", "in cents"}},
		{"version with an argument", []string{"version", "now"}, []string{"takes no arguments", "Usage: payoutlinks version"}},
		{"version with a flag", []string{"version", "--env", "sandbox"}, []string{"flag provided but not defined: --env"}},
		{"help for an unknown command", []string{"help", "pay"}, []string{`unknown command "pay"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCLI(t)
			code, out, errOut := c.run(tt.args...)
			if code != 2 || out != "" {
				t.Fatalf("exit %d (want 2), stdout %q", code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr does not say %q:\n%s", w, errOut)
				}
			}
			if m := singleDashFlag.FindString(errOut); m != "" {
				t.Errorf("a flag is written with one dash (%q):\n%s", m, errOut)
			}
			if len(c.srv.Requests()) > 0 {
				t.Errorf("a usage error sent %d requests", len(c.srv.Requests()))
			}
		})
	}
}

func TestListEmpty(t *testing.T) {
	c := newCLI(t)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"list"}, "{\n  \"data\": [],\n  \"has_more\": false\n}\n"},
		{[]string{"list", "--all"}, "{\n  \"data\": [],\n  \"has_more\": false\n}\n"},
		{[]string{"list", "--output", "ndjson"}, ""},
		{[]string{"list", "--all", "--output", "ndjson"}, ""},
	} {
		code, out, errOut := c.run(tt.args...)
		if code != 0 || out != tt.want {
			t.Errorf("%v: exit %d, stdout %q, want %q; stderr %s", tt.args, code, out, tt.want, errOut)
		}
	}
	code, out, _ := c.run("list", "--output", "table")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.HasPrefix(out, "ID ") {
		t.Errorf("an empty table: exit %d, %q, want the header alone", code, out)
	}
}

func TestListOutputs(t *testing.T) {
	c := newCLI(t)
	c.create("--amount", "1250", "--email", "jsmith@example.com", "--method", "email")
	c.create("--amount", "5", "--country-code", "1", "--phone", "2025550139", "--method", "sms")
	c.create("--amount", "100000", "--first-name", "Ada", "--last-name", "Lovelace", "--method", "link")
	canceled := c.create("--amount", "999", "--method", "link")
	if code, _, errOut := c.run("cancel", canceled.ID); code != 0 {
		t.Fatal(errOut)
	}
	c.create("--amount", "42", "--email", "a.much.longer.address@example.com", "--method", "all")

	code, onePage, _ := c.run("list", "--limit", "100")
	page := decode[gen.PayoutLinkList](t, onePage)
	if code != 0 || len(page.Data) != 5 || page.HasMore {
		t.Fatalf("list: exit %d, %d links", code, len(page.Data))
	}

	t.Run("--all prints what one page prints", func(t *testing.T) {
		code, out, errOut := c.run("list", "--all", "--limit", "2")
		if code != 0 || out != onePage {
			t.Fatalf("exit %d, stderr %s; list --all --limit 2:\n%s\nlist --limit 100:\n%s", code, errOut, out, onePage)
		}
	})

	t.Run("ndjson", func(t *testing.T) {
		code, out, _ := c.run("list", "--all", "--limit", "2", "--output", "ndjson")
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		if code != 0 || len(lines) != len(page.Data) {
			t.Fatalf("exit %d, %d lines:\n%s", code, len(lines), out)
		}
		for i, line := range lines {
			if l := decode[gen.PayoutLink](t, line); l.ID != page.Data[i].ID || l.Amount != page.Data[i].Amount {
				t.Errorf("line %d is %s, want link %s", i+1, line, page.Data[i].ID)
			}
		}
		code, out, errOut := c.run("list", "--limit", "2", "--output", "ndjson")
		if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "--starting-after "+page.Data[1].ID) {
			t.Fatalf("one ndjson page: exit %d, stdout %s, stderr %s", code, out, errOut)
		}
	})

	t.Run("table", func(t *testing.T) {
		for _, args := range [][]string{{"list", "--limit", "100", "--output", "table"}, {"list", "--all", "--output", "table"}} {
			code, out, _ := c.run(args...)
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if code != 0 || len(lines) != 1+len(page.Data) {
				t.Fatalf("%v: exit %d:\n%s", args, code, out)
			}
			header := lines[0]
			for i, l := range page.Data {
				row := lines[i+1]
				cents := int64(l.Amount)
				for col, want := range map[string]string{
					"ID": l.ID, "STATUS": string(l.Status), "AMOUNT": fmt.Sprintf("$%d.%02d", cents/100, cents%100),
					"METHOD": string(l.Delivery.Method), "CREATED (UTC)": l.Created.UTC().Format("2006-01-02 15:04:05"),
				} {
					at := strings.Index(header, col)
					if at < 0 || !strings.HasPrefix(row[at:], want+" ") {
						t.Errorf("%v: row %d has no %s %q under its header:\n%s\n%s", args, i+1, col, want, header, row)
					}
				}
			}
			for _, payee := range []string{"jsmith@example.com", "+1 2025550139", "Ada Lovelace", "a.much.longer.address@example.com"} {
				if !strings.Contains(out, payee) {
					t.Errorf("%v: the table does not show the payee %q:\n%s", args, payee, out)
				}
			}
		}
	})

	t.Run("--all prints each page before it asks for the next", func(t *testing.T) {
		for _, format := range []string{"json", "ndjson", "table"} {
			w := &requestsAtWrite{srv: c.srv}
			before := len(c.srv.Requests())
			code := run(fastRetries(), []string{"list", "--all", "--limit", "2", "--output", format}, w, io.Discard, lookupIn(c.env))
			pages := len(c.srv.Requests()) - before
			if code != 0 || pages != 3 || len(w.seen) == 0 {
				t.Fatalf("%s: exit %d after %d pages, %d writes", format, code, pages, len(w.seen))
			}
			if first := w.seen[0] - before; first >= pages {
				t.Errorf("%s: the first link was printed after all %d pages were read", format, pages)
			}
		}
	})

	t.Run("--all streams and stops at a failed page", func(t *testing.T) {
		c.srv.SetFaults(func(r *http.Request) *mock.Fault {
			if r.URL.Query().Get("starting_after") != "" {
				return &mock.Fault{Status: 400}
			}
			return nil
		})
		defer c.srv.SetFaults(nil)
		code, out, errOut := c.run("list", "--all", "--limit", "2", "--output", "ndjson")
		if code != 1 || strings.Count(out, "\n") != 2 || !strings.Contains(errOut, "the list stopped after 2 links") {
			t.Fatalf("exit %d, stdout:\n%s\nstderr:\n%s", code, out, errOut)
		}
		code, out, _ = c.run("list", "--all", "--limit", "2")
		if code != 1 || !strings.HasPrefix(out, "{\n  \"data\": [") || json.Valid([]byte(out)) {
			t.Fatalf("a JSON list that stopped must not parse as a whole one: exit %d\n%s", code, out)
		}
	})
}

// requestsAtWrite records, at each write, how many requests the server had received.
type requestsAtWrite struct {
	srv  *mock.Server
	seen []int
}

func (w *requestsAtWrite) Write(p []byte) (int, error) {
	w.seen = append(w.seen, len(w.srv.Requests()))
	return len(p), nil
}

// TestExitCodeOfEveryError: the mapping from the SDK's errors to exit codes, including the
// errors that are two things at once (an *api.Error whose outcome is unknown).
func TestExitCodeOfEveryError(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, 0},
		{"a 503 after the retries", &api.Error{Call: api.Call{OutcomeUnknown: true}, StatusCode: 503}, 3},
		{"a 400 after a 503 was applied", &api.Error{Call: api.Call{OutcomeUnknown: true}, StatusCode: 400}, 3},
		{"a dropped connection", &api.RequestError{Call: api.Call{OutcomeUnknown: true}}, 3},
		{"a broken answer", fmt.Errorf("create: %w", &api.ContractError{ContractFinding: api.ContractFinding{Direction: "response"}}), 3},
		{"a 404", &api.Error{StatusCode: 404}, 1},
		{"a refused connection", &api.RequestError{Call: api.Call{Attempts: 3}}, 1},
		{"a reused key", &api.KeyReusedError{IdempotencyKey: "k", Fields: []string{"amount"}}, 1},
		{"not redelivered", notRedelivered{id: "x", status: "canceled"}, 1},
		{"something else", errors.New("disk full"), 1},
		{"invalid input", &api.InvalidRequestError{Fields: []api.FieldError{{Field: "amount", Problem: "must be at least 1 cent"}}}, 2},
		{"invalid input, wrapped", fmt.Errorf("create: %w", &api.InvalidRequestError{}), 2},
		{"a usage error", usagef("give exactly one payout-link ID"), 2},
		{"a link made but not printed", &unshownError{id: "x", key: "k", err: errors.New("broken pipe")}, 3},
	}
	for _, tt := range tests {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("%s: exit %d, want %d", tt.name, got, tt.want)
		}
	}
}
