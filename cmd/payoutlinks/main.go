// Command payoutlinks creates, reads, lists, cancels and redelivers Dots payout links from a
// terminal, and serves the mock Dots server for contract tests in any language.
//
//	payoutlinks create --amount 1250 --email jsmith@example.com --method email [--memo ...]
//	payoutlinks get ID
//	payoutlinks list [--limit N] [--all]
//	payoutlinks cancel ID
//	payoutlinks redeliver ID
//	payoutlinks mock [--addr 127.0.0.1:12111]
//
// Credentials and endpoint come from DOTS_CLIENT_ID, DOTS_API_KEY, DOTS_ENV and DOTS_BASE_URL
// (which wins). With credentials the sandbox is used unless --env production or
// DOTS_ENV=production is given; with none, an in-process mock server answers and a note on
// stderr says so. Results are JSON on stdout; notes and errors go to stderr.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `payoutlinks: pay someone with a Dots payout link.

Usage:
  payoutlinks [--env sandbox|production] COMMAND [flags] [ID]

Commands:
  create     create a payout link (--amount in cents; --email/--phone and --method)
  get        read a payout link:            payoutlinks get ID
  list       list payout links:             payoutlinks list [--limit N] [--all]
  cancel     cancel a payout link:          payoutlinks cancel ID
  redeliver  send a payout link again:      payoutlinks redeliver ID
  mock       serve the mock Dots server:    payoutlinks mock [--addr 127.0.0.1:12111]

Environment:
  DOTS_CLIENT_ID, DOTS_API_KEY  credentials; without them a built-in mock server answers
  DOTS_ENV                      sandbox (the default here) or production
  DOTS_BASE_URL                 a base URL such as http://127.0.0.1:12111/api (wins over DOTS_ENV)

Run 'payoutlinks COMMAND --help' for the flags of a command.
`

// run is the whole command, with its environment passed in so tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	global := flag.NewFlagSet("payoutlinks", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = func() { fmt.Fprint(stderr, usage) }
	envFlag := global.String("env", "", "sandbox or production (default: DOTS_ENV, else sandbox)")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := rest[0], rest[1:]
	if cmd == "help" {
		fmt.Fprint(stderr, usage)
		return 0
	}
	if cmd == "mock" {
		return serveMock(ctx, rest, stderr, getenv)
	}
	c, ok := commands[cmd]
	if !ok {
		fmt.Fprintf(stderr, "payoutlinks: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	fs := flag.NewFlagSet("payoutlinks "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := fs.String("env", *envFlag, "sandbox or production")
	do := c.flags(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: payoutlinks %s %s\n\n%s\n\nFlags:\n", cmd, c.args, c.help)
		fs.PrintDefaults()
	}
	if err := fs.Parse(rest); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	client, cleanup, err := newClient(*env, stderr, getenv)
	if err != nil {
		fmt.Fprintf(stderr, "payoutlinks: %v\n", err)
		return 2
	}
	defer cleanup()
	result, err := do(ctx, client, fs.Args(), stderr)
	if err != nil {
		printError(stderr, err, getenv("DOTS_API_KEY"))
		if errors.Is(err, api.ErrIdempotencyKeyReused) {
			// The link exists, made earlier for another request with this key: show it, and fail.
			_ = writeJSON(stdout, result)
		}
		var usageErr usageError
		if errors.As(err, &usageErr) {
			return 2
		}
		return 1
	}
	if err := writeJSON(stdout, result); err != nil {
		fmt.Fprintf(stderr, "payoutlinks: writing the result: %v\n", err)
		return 1
	}
	return 0
}

// writeJSON prints a result as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// usageError is a mistake in the command line.
type usageError string

func (u usageError) Error() string { return string(u) }

type command struct {
	args, help string
	flags      func(fs *flag.FlagSet) func(ctx context.Context, c *api.Client, args []string, stderr io.Writer) (any, error)
}

var commands = map[string]command{
	"create": {"--amount CENTS [flags]", "Create a payout link and print it. The idempotency key used is printed on stderr: keep it to retry safely.", createFlags},
	"get":    {"ID", "Print one payout link.", idCommand(func(ctx context.Context, c *api.Client, id string) (any, error) { return c.GetPayoutLink(ctx, id) })},
	"cancel": {"ID", "Cancel a payout link that was not claimed and print it.", idCommand(func(ctx context.Context, c *api.Client, id string) (any, error) { return c.CancelPayoutLink(ctx, id) })},
	"redeliver": {"ID", "Send a payout link to the payee again (at most 5 deliveries in all) and print the result.",
		idCommand(func(ctx context.Context, c *api.Client, id string) (any, error) {
			return c.RedeliverPayoutLink(ctx, id)
		})},
	"list": {"[--limit N] [--all]", "Print one page of payout links, newest first, or every link with --all.", listFlags},
}

func idCommand(fn func(ctx context.Context, c *api.Client, id string) (any, error)) func(fs *flag.FlagSet) func(context.Context, *api.Client, []string, io.Writer) (any, error) {
	return func(fs *flag.FlagSet) func(context.Context, *api.Client, []string, io.Writer) (any, error) {
		return func(ctx context.Context, c *api.Client, args []string, _ io.Writer) (any, error) {
			if len(args) != 1 {
				return nil, usageError("give exactly one payout-link ID")
			}
			return fn(ctx, c, args[0])
		}
	}
}

// metadataFlag collects repeated --metadata key=value pairs.
type metadataFlag map[string]string

func (m metadataFlag) String() string { return "" }

func (m metadataFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	m[k] = val
	return nil
}

func createFlags(fs *flag.FlagSet) func(context.Context, *api.Client, []string, io.Writer) (any, error) {
	amount := fs.Int64("amount", 0, "amount in cents (required), e.g. 1250 for $12.50")
	email := fs.String("email", "", "payee email (needed by --method email)")
	countryCode := fs.String("country-code", "", "payee phone dialling prefix, digits, e.g. 1")
	phone := fs.String("phone", "", "payee phone number without the prefix, digits (needed by --method sms)")
	first := fs.String("first-name", "", "payee first name")
	last := fs.String("last-name", "", "payee last name")
	method := fs.String("method", "", "delivery: sms, email, link or all")
	message := fs.String("message", "", "SMS text carrying the link")
	memo := fs.String("memo", "", "note the payee sees")
	desc := fs.String("description", "", "internal note the payee never sees")
	userID := fs.String("user-id", "", "pay this Dots user (UUID)")
	key := fs.String("idempotency-key", "", "reuse this key (UUID) to retry an earlier create safely")
	meta := metadataFlag{}
	fs.Var(meta, "metadata", "key=value to keep with the link (repeatable)")
	return func(ctx context.Context, c *api.Client, args []string, stderr io.Writer) (any, error) {
		if len(args) > 0 {
			return nil, usageError("create takes flags only, not " + strings.Join(args, " "))
		}
		b := gen.CreatePayoutLinkRequest{
			Amount:         dots.Amount(*amount),
			Payee:          gen.Payee{Email: opt(*email), CountryCode: opt(*countryCode), PhoneNumber: opt(*phone), FirstName: opt(*first), LastName: opt(*last)},
			Delivery:       gen.Delivery{Method: gen.DeliveryMethod(*method), Message: opt(*message)},
			Memo:           opt(*memo),
			Description:    opt(*desc),
			UserID:         opt(*userID),
			IdempotencyKey: opt(*key),
		}
		if len(meta) > 0 {
			b.Metadata = dots.Metadata(meta)
		}
		link, used, err := c.CreatePayoutLinkWithKey(ctx, b)
		fmt.Fprintf(stderr, "idempotency key: %s\n", used)
		return link, err
	}
}

func listFlags(fs *flag.FlagSet) func(context.Context, *api.Client, []string, io.Writer) (any, error) {
	limit := fs.Int("limit", 0, "links per page, 1 to 100 (default: the API's)")
	all := fs.Bool("all", false, "walk every page and print all links")
	after := fs.String("starting-after", "", "start after this payout-link ID")
	return func(ctx context.Context, c *api.Client, args []string, _ io.Writer) (any, error) {
		if len(args) > 0 {
			return nil, usageError("list takes flags only")
		}
		var p gen.ListPayoutLinksParams
		if *limit != 0 {
			p.Limit = limit
		}
		p.StartingAfter = opt(*after)
		if !*all {
			return c.ListPayoutLinks(ctx, &p)
		}
		out := gen.PayoutLinkList{Data: []gen.PayoutLink{}}
		for l, err := range c.PayoutLinks(ctx, &p) {
			if err != nil {
				return nil, err
			}
			out.Data = append(out.Data, l)
		}
		return out, nil
	}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// newClient builds the client from the environment, or starts the built-in mock server.
func newClient(envFlag string, stderr io.Writer, getenv func(string) string) (*api.Client, func(), error) {
	env := strings.ToLower(envFlag)
	if env == "" {
		env = strings.ToLower(getenv("DOTS_ENV"))
	}
	if env == "" {
		env = string(api.Sandbox)
	}
	id := getenv("DOTS_CLIENT_ID")
	if id == "" {
		srv := mock.NewServer()
		fmt.Fprintf(stderr, "note: DOTS_CLIENT_ID is not set, so a built-in mock server answers (%s); nothing real is paid\n", srv.BaseURL())
		c, err := api.NewClient("pk_test_mock", "sk_test_mock", api.WithBaseURL(srv.BaseURL()), api.WithUserAgent("payoutlinks"))
		if err != nil {
			srv.Close()
			return nil, nil, err
		}
		return c, srv.Close, nil
	}
	opts := []api.Option{api.WithEnvironment(api.Environment(env)), api.WithUserAgent("payoutlinks")}
	if u := getenv("DOTS_BASE_URL"); u != "" {
		opts = append(opts, api.WithBaseURL(u))
	}
	c, err := api.NewClient(id, getenv("DOTS_API_KEY"), opts...)
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "note: using %s\n", c.BaseURL())
	return c, func() {}, nil
}

// credential matches what looks like an HTTP credential in text: a Basic or Bearer value.
var credential = regexp.MustCompile(`(?i)\b(basic|bearer)(\s+)[A-Za-z0-9+/=._~-]{6,}`)

// redactor writes to w with every credential-looking value and every given secret replaced by
// [redacted]: an error body may echo the request (a proxy's error page), and the text of an
// error may quote that body.
type redactor struct {
	w       io.Writer
	secrets []string
}

func (r redactor) Write(p []byte) (int, error) {
	s := credential.ReplaceAllString(string(p), "${1}${2}[redacted]")
	for _, secret := range r.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// printError says what went wrong, with what the user needs to act on it. Credentials (secrets,
// and anything shaped like a Basic or Bearer value) are redacted from all of it.
func printError(out io.Writer, err error, secrets ...string) {
	w := redactor{out, secrets}
	fmt.Fprintf(w, "payoutlinks: %v\n", err)
	var e *api.Error
	if errors.As(err, &e) {
		if e.RequestID != "" {
			fmt.Fprintf(w, "  request id: %s\n", e.RequestID)
		}
		if len(e.Body) > 0 && e.Message == "" {
			fmt.Fprintf(w, "  body: %s\n", strings.TrimSpace(string(e.Body)))
		}
	}
	if errors.Is(err, api.ErrIdempotencyKeyReused) {
		fmt.Fprintln(w, "  this key made another payout link earlier (printed on stdout); nothing new was paid: use a new key for a new payout")
	}
	if errors.Is(err, api.ErrOutcomeUnknown) {
		if key, ok := api.IdempotencyKeyOf(err); ok {
			fmt.Fprintf(w, "  the outcome is unknown: run the same create again with --idempotency-key %s (within 24 h) to get the link it made, if any\n", key)
		} else {
			fmt.Fprintln(w, "  the outcome is unknown: check with 'payoutlinks get' or 'list' before trying again")
		}
	}
}
