package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"
	"strconv"
	"strings"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
)

// command is one of the commands that call the Dots API.
type command struct {
	name     string
	synopsis string // its arguments, as in "ID"
	summary  string // one line for 'payoutlinks --help'
	help     string // the paragraph of its own --help
	// setup declares the command's flags on fs and returns prepare, which checks what is left
	// after the flags and returns what to do; it may add client options to choice. Nothing is
	// sent before prepare says yes.
	setup func(fs *flag.FlagSet, choice *clientChoice) prepare
}

// prepare checks a command's arguments and returns its action.
type prepare func(args []string) (action, error)

// action does a command's calls with c and prints the result on stdout.
type action func(ctx context.Context, c *api.Client, stdout, stderr io.Writer) error

var apiCommands = []command{
	{"create", "--amount CENTS [--email ADDRESS | --country-code DIGITS --phone DIGITS] --method METHOD [flags]",
		"create a payout link and print it",
		"Create a payout link and print it. The idempotency key of the create is printed on stderr once\n" +
			"the request was sent: keep it, and give it to --idempotency-key to retry the same payout.\n" +
			"With --idempotency-key, the link Dots answers is compared with the request: a link that key\n" +
			"made earlier for another payout is a reused key (printed, exit 1; nothing new was paid).\n" +
			"--no-reuse-check skips that comparison, for a static mock that answers every create with one\n" +
			"canned link (such as Prism serving Dots' spec).",
		createFlags},
	{"get", "ID", "print one payout link", "Print one payout link.",
		idCommand(func(ctx context.Context, c *api.Client, id string) (any, error) { return c.GetPayoutLink(ctx, id) })},
	{"list", "[--limit N] [--starting-after ID] [--all] [--output json|ndjson|table]",
		"print payout links, newest first",
		"Print one page of payout links, newest first, or every link with --all (printed as the\n" +
			"pages arrive). --output json (the default) prints {\"data\": [...], \"has_more\": ...};\n" +
			"ndjson one link per line; table a table for people.",
		listFlags},
	{"cancel", "ID", "cancel a payout link that was not claimed", "Cancel a payout link that was not claimed yet and print it.",
		idCommand(func(ctx context.Context, c *api.Client, id string) (any, error) { return c.CancelPayoutLink(ctx, id) })},
	{"redeliver", "ID", "send a payout link to the payee again",
		"Send a payout link to the payee again and print the result. Dots delivers a link at most\n" +
			"5 times in all, and a canceled or claimed link not at all: then the result says\n" +
			"\"redelivered\": false and the command exits 1.",
		redeliverFlags},
}

func commandNamed(name string) (command, bool) {
	for _, c := range apiCommands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// flags declares every flag of the command on fs: its own, and --env and --mock, whose defaults
// are the global flags' values.
func (c command) flags(fs *flag.FlagSet, global clientChoice) (prepare, *clientChoice) {
	choice := global
	fs.StringVar(&choice.env, "env", global.env, "which Dots: `sandbox|production` (default: DOTS_ENV, else sandbox)")
	fs.BoolVar(&choice.mock, "mock", global.mock, "answer from a built-in mock server; nothing real is paid")
	return c.setup(fs, &choice), &choice
}

func (c command) printHelp(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: payoutlinks %s %s\n\n%s\n\nFlags:\n", c.name, c.synopsis, c.help)
	printFlags(w, fs)
	fmt.Fprintf(w, "\n%s", exitStatusHelp)
}

// usageFailure reports a mistake in the command line on stderr.
func (c command) usageFailure(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "payoutlinks %s: %s\nUsage: payoutlinks %s %s\nRun 'payoutlinks help %s' for its flags.\n",
		c.name, msg, c.name, c.synopsis, c.name)
	return exitUsage
}

func (c command) run(ctx context.Context, global clientChoice, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := newFlagSet("payoutlinks " + c.name)
	prep, choice := c.flags(fs, global)
	args, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.printHelp(stdout, fs)
			return exitOK
		}
		return c.usageFailure(stderr, flagMessage(err))
	}
	act, err := prep(args)
	if err != nil {
		return c.usageFailure(stderr, err.Error())
	}
	client, cleanup, err := newClient(*choice, stderr, lookup)
	if err != nil {
		printError(stderr, err, apiKey(lookup))
		return exitCode(err)
	}
	defer cleanup()
	if err := act(ctx, client, stdout, stderr); err != nil {
		printError(stderr, err, apiKey(lookup))
		return exitCode(err)
	}
	return exitOK
}

// parseInterspersed parses the flags of fs wherever they stand among args, as in
// "get ID --env sandbox" (the flag package alone stops at the first argument that is not a
// flag), and returns the other arguments in order. "--" ends the flags: what follows it is
// arguments, even when it starts with "-".
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 || endedByDashes(fs, args[:len(args)-fs.NArg()]) {
			return append(rest, fs.Args()...), nil
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// endedByDashes reports whether the flags parsed from parsed ended at a "--" of their own,
// rather than at an argument; a "--" that is a flag's value ("--memo --") does not end them.
func endedByDashes(fs *flag.FlagSet, parsed []string) bool {
	for i := 0; i < len(parsed); i++ {
		if parsed[i] == "--" {
			return true
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(parsed[i], "-"), "=")
		f := fs.Lookup(name)
		if f == nil || hasValue {
			continue
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); !ok || !b.IsBoolFlag() {
			i++ // the next argument is this flag's value
		}
	}
	return false
}

func idCommand(call func(ctx context.Context, c *api.Client, id string) (any, error)) func(*flag.FlagSet, *clientChoice) prepare {
	return func(*flag.FlagSet, *clientChoice) prepare {
		return func(args []string) (action, error) {
			id, err := oneID(args)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context, c *api.Client, stdout, _ io.Writer) error {
				v, err := call(ctx, c, id)
				if err != nil {
					return err
				}
				return writeJSON(stdout, v)
			}, nil
		}
	}
}

func oneID(args []string) (string, error) {
	if len(args) != 1 {
		return "", usagef("give exactly one payout-link ID")
	}
	return args[0], nil
}

func redeliverFlags(*flag.FlagSet, *clientChoice) prepare {
	return func(args []string) (action, error) {
		id, err := oneID(args)
		if err != nil {
			return nil, err
		}
		return func(ctx context.Context, c *api.Client, stdout, _ io.Writer) error {
			res, err := c.RedeliverPayoutLink(ctx, id)
			if err != nil {
				return err
			}
			if err := writeJSON(stdout, res); err != nil {
				return err
			}
			if !res.Redelivered {
				return notRedelivered{id: id, status: string(res.PayoutLink.Status)}
			}
			return nil
		}, nil
	}
}

// notRedelivered is a redeliver Dots answered with "redelivered": false.
type notRedelivered struct{ id, status string }

func (e notRedelivered) Error() string {
	return fmt.Sprintf("Dots did not redeliver payout link %s (status %q): a link is delivered at most 5 times in all, and a canceled or claimed one not at all", e.id, e.status)
}

// centsFlag is --amount: a whole number of cents. A sum in dollars ("12.50") is refused with the
// amount in cents it stands for.
type centsFlag struct{ v *int64 }

func (c centsFlag) String() string {
	if c.v == nil {
		return "0"
	}
	return strconv.FormatInt(*c.v, 10)
}

func (c centsFlag) Set(s string) error {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		*c.v = n
		return nil
	}
	if dollars := strings.TrimPrefix(s, "$"); strings.Contains(dollars, ".") {
		if r, ok := new(big.Rat).SetString(dollars); ok {
			if cents := r.Mul(r, big.NewRat(100, 1)); cents.IsInt() {
				return fmt.Errorf("amounts are in cents: for $%s give --amount %s", dollars, cents.RatString())
			}
		}
	}
	return errors.New("amounts are whole numbers of cents, such as 1250 for $12.50")
}

// metadataFlag collects repeated --metadata key=value pairs; every value is a string.
type metadataFlag dots.Metadata

func (m metadataFlag) String() string { return "" }

func (m metadataFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return errors.New("want key=value")
	}
	m[k] = val
	return nil
}

func createFlags(fs *flag.FlagSet, choice *clientChoice) prepare {
	var amount int64
	fs.Var(centsFlag{&amount}, "amount", "the amount in `CENTS` (required): 1250 is $12.50")
	email := fs.String("email", "", "the payee's email `ADDRESS` (needed by --method email)")
	countryCode := fs.String("country-code", "", "the payee's phone dialling prefix, `DIGITS` such as 1")
	phone := fs.String("phone", "", "the payee's phone number without the prefix, `DIGITS` (needed by --method sms)")
	first := fs.String("first-name", "", "the payee's first `NAME`")
	last := fs.String("last-name", "", "the payee's last `NAME`")
	method := fs.String("method", "", "how Dots delivers the link: `"+enumValues(gen.DeliveryMethodValues())+"` (link sends nothing: you hand it over)")
	message := fs.String("message", "", "the SMS `TEXT` carrying the link")
	memo := fs.String("memo", "", "a note the payee sees (`TEXT`)")
	desc := fs.String("description", "", "an internal note the payee never sees (`TEXT`)")
	userID := fs.String("user-id", "", "pay this Dots user (`UUID`)")
	key := fs.String("idempotency-key", "", "the idempotency `KEY` (a UUID) of an earlier create, to retry it safely within 24 hours (default: a new one)")
	meta := metadataFlag{}
	fs.Var(meta, "metadata", "`key=value` to keep with the link (repeatable)")
	noReuseCheck := fs.Bool("no-reuse-check", false, "do not compare the link answered for --idempotency-key with the request\n"+
		"(for a static mock such as Prism, which answers every create with one canned link; never against Dots)")
	return func(args []string) (action, error) {
		if len(args) > 0 {
			return nil, usagef("create takes flags only, not %s", strings.Join(args, " "))
		}
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "amount" })
		if !given {
			return nil, usagef("--amount is required: the amount in cents, such as --amount 1250 for $12.50")
		}
		if *noReuseCheck {
			choice.opts = append(choice.opts, api.WithKeyReuseCheck(false))
		}
		b := gen.CreatePayoutLinkRequest{
			Amount:         dots.Amount(amount),
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
		return func(ctx context.Context, c *api.Client, stdout, stderr io.Writer) error {
			link, used, err := c.CreatePayoutLinkWithKey(ctx, b)
			if mayHaveReachedDots(err) {
				fmt.Fprintf(stderr, "idempotency key: %s\n", used)
			}
			if err != nil {
				if errors.Is(err, api.ErrIdempotencyKeyReused) && link != nil {
					// The link exists, made earlier for another request with this key: show it, and fail.
					_ = writeJSON(stdout, link)
				}
				return err
			}
			if err := writeJSON(stdout, link); err != nil {
				return &unshownError{id: link.ID, key: used, err: err}
			}
			return nil
		}, nil
	}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// writeJSON prints a result as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// enumValues lists an enum's values as the generated code names them, for help texts: a value
// added to the spec shows up by regenerating.
func enumValues[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, "|")
}
