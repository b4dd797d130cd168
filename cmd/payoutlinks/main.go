// Command payoutlinks creates, reads, lists, cancels and redelivers Dots payout links from a
// terminal, and serves the mock Dots server for contract tests in any language.
//
//	payoutlinks create --amount 1250 --email jsmith@example.com --method email [--memo ...]
//	payoutlinks create ... --idempotency-key KEY [--no-reuse-check]
//	payoutlinks get ID [--env sandbox|production]
//	payoutlinks list [--limit N] [--all] [--output json|ndjson|table]
//	payoutlinks cancel ID
//	payoutlinks redeliver ID
//	payoutlinks mock [--addr 127.0.0.1:12111]
//	payoutlinks version
//
// Credentials and endpoint come from DOTS_CLIENT_ID, DOTS_API_KEY, DOTS_ENV and DOTS_BASE_URL
// (which wins), read by api.ReadEnv: the sandbox is used unless --env production or
// DOTS_ENV=production is given (--env wins over DOTS_ENV), and a variable set but empty is a
// usage error naming it. A built-in mock server answers only when none of those variables is set
// (not even to "") and no --env is given, or with --mock; it lives for one command, so for a
// mock that keeps its links run 'payoutlinks mock' and point DOTS_BASE_URL at it. Anything else
// without DOTS_CLIENT_ID and DOTS_API_KEY is a usage error, and nothing is sent. Results are
// JSON on stdout; notes, warnings (an odd field in a good answer) and errors go to stderr. Flags
// may come before or after a command's arguments; "--" ends them. create --no-reuse-check is for
// a static mock such as Prism, which answers every create with one canned link.
//
// Exit status: 0 success; 1 a definite failure; 2 usage or invalid input (nothing was sent);
// 3 the outcome is unknown (the request may have been applied).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"

	"github.com/payoutkit/dots-go/api"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.LookupEnv)
	stop()
	os.Exit(code)
}

// The exit status of every command.
const (
	exitOK      = 0 // success
	exitFailed  = 1 // a definite failure: Dots refused, not found, nothing reached Dots, a reused key
	exitUsage   = 2 // usage or invalid input: nothing was sent
	exitUnknown = 3 // the outcome is unknown: the request may have been applied
)

// ownCommand is a command that parses its own flags and returns its own exit status. Global
// flags given before it (--env, --mock) are passed on at the front of its arguments.
type ownCommand struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int
}

// ownCommands are dispatched by name, after the API commands; one line adds one.
var ownCommands = map[string]ownCommand{
	"batch": {"pay everyone in a CSV file, one link a row, safe across crashes", runBatch},
	"mock":  {"serve the mock Dots server for tests in any language", serveMock},
}

const exitStatusHelp = `Exit status:
  0  success
  1  a definite failure: Dots refused the request or does not know the link, the request
     never reached Dots (connection refused), the idempotency key had made another payout,
     or redeliver was answered "redelivered": false
  2  usage or invalid input: nothing was sent
  3  the outcome is unknown: the request may have been applied; the message says how to
     find out (for a create: run it again with the same --idempotency-key within 24 hours)
`

// usage is the text of 'payoutlinks --help'.
func usage() string {
	var b strings.Builder
	b.WriteString(`payoutlinks: pay someone with a Dots payout link.

Usage:
  payoutlinks [--env sandbox|production | --mock] COMMAND [flags] [ID]
  payoutlinks help [COMMAND]
  payoutlinks version

Commands:
`)
	for _, c := range apiCommands {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	for _, name := range slices.Sorted(maps.Keys(ownCommands)) {
		fmt.Fprintf(&b, "  %-10s %s\n", name, ownCommands[name].summary)
	}
	fmt.Fprintf(&b, "  %-10s %s\n", "version", "print the versions of the SDK and of Go")
	b.WriteString(`
Global flags (the API commands take them after their name, or after their ID, too):
  --env sandbox|production  the Dots environment (default: DOTS_ENV, else sandbox)
  --mock                    answer from a built-in mock server; nothing real is paid
  --version                 print the versions of the SDK and of Go
  --help                    print this help

Environment:
  DOTS_CLIENT_ID, DOTS_API_KEY  your App's credentials (both required)
  DOTS_ENV                      sandbox (the default) or production: real money moves only
                                when production is asked for (here or with --env, which wins)
  DOTS_BASE_URL                 a base URL such as http://127.0.0.1:12111/api (wins over DOTS_ENV)
  A variable set but empty is refused, naming it: a CI job whose secret is missing stops there.
  With none of these set (not even empty) and no --env, a built-in mock server answers, and a
  note on stderr says so; it lives for this one command, so 'get' of a link 'create' made in an
  earlier command finds nothing (404). For a mock that keeps its links across commands, run
  'payoutlinks mock' and set DOTS_BASE_URL to the base URL it prints.

Output: the result as JSON on stdout; notes, warnings and errors on stderr.

`)
	b.WriteString(exitStatusHelp)
	b.WriteString("\nRun 'payoutlinks help COMMAND' for the flags of a command.\n")
	return b.String()
}

// run is the whole command, with its environment passed in so tests can drive it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	global := newFlagSet("payoutlinks")
	envFlag := global.String("env", "", "`sandbox|production`")
	mockFlag := global.Bool("mock", false, "answer from a built-in mock server")
	version := global.Bool("version", false, "print the versions")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage())
			return exitOK
		}
		return fail(stderr, exitUsage, "payoutlinks: %s\nRun 'payoutlinks --help' for usage.", flagMessage(err))
	}
	if *version {
		printVersion(stdout)
		return exitOK
	}
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage())
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	switch name {
	case "help":
		return help(ctx, rest, stdout, stderr, lookup)
	case "version":
		return versionCommand(rest, stdout, stderr)
	}
	if own, ok := ownCommands[name]; ok {
		var pass []string
		if *envFlag != "" {
			pass = append(pass, "--env", *envFlag)
		}
		if *mockFlag {
			pass = append(pass, "--mock")
		}
		return own.run(ctx, append(pass, rest...), stdout, stderr, lookup)
	}
	c, ok := commandNamed(name)
	if !ok {
		return fail(stderr, exitUsage, "payoutlinks: unknown command %q\nRun 'payoutlinks --help' for the commands.", name)
	}
	return c.run(ctx, clientChoice{env: *envFlag, mock: *mockFlag}, rest, stdout, stderr, lookup)
}

// help prints the help asked for to stdout.
func help(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	if len(args) > 1 {
		return fail(stderr, exitUsage, "payoutlinks help: give one command name")
	}
	if c, ok := commandNamed(args[0]); ok {
		fs := newFlagSet("payoutlinks " + c.name)
		c.flags(fs, clientChoice{})
		c.printHelp(stdout, fs)
		return exitOK
	}
	if own, ok := ownCommands[args[0]]; ok {
		// Its help is all it prints, wherever it prints it.
		return own.run(ctx, []string{"--help"}, stdout, stdout, lookup)
	}
	switch args[0] {
	case "version":
		fmt.Fprint(stdout, versionHelp)
		return exitOK
	case "help":
		fmt.Fprint(stdout, usage())
		return exitOK
	}
	return fail(stderr, exitUsage, "payoutlinks help: unknown command %q", args[0])
}

const versionHelp = `Usage: payoutlinks version

Print the versions of the SDK (dots-go) and of Go, and the platform. It sends nothing.
`

// versionCommand is 'payoutlinks version': it takes --help and nothing else.
func versionCommand(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("payoutlinks version")
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, versionHelp)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "payoutlinks version: %s\n%s", flagMessage(err), versionHelp)
		return exitUsage
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "payoutlinks version: takes no arguments, not %s\n%s", strings.Join(fs.Args(), " "), versionHelp)
		return exitUsage
	}
	printVersion(stdout)
	return exitOK
}

func printVersion(w io.Writer) {
	fmt.Fprintf(w, "payoutlinks dots-go %s (%s %s/%s)\n", api.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// newFlagSet returns a flag set that prints nothing itself: run says what went wrong, with
// flags written as --flag, and sends help to stdout.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// fail prints a message on stderr and returns the exit status code.
func fail(stderr io.Writer, code int, format string, a ...any) int {
	fmt.Fprintf(stderr, format+"\n", a...)
	return code
}

// flagName is a flag as the flag package names it in its errors ("for flag -amount").
var flagName = regexp.MustCompile(`(defined: |for flag |for |argument: )-([A-Za-z])`)

// flagMessage is a flag parsing error with its flag written as --flag.
func flagMessage(err error) string {
	return flagName.ReplaceAllString(err.Error(), "${1}--${2}")
}

// printFlags lists the flags of fs as --flag VALUE and their usage, sorted by name.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		value, text := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", f.Name)
		if value != "" {
			fmt.Fprintf(w, " %s", value)
		}
		fmt.Fprintf(w, "\n        %s", strings.ReplaceAll(text, "\n", "\n        "))
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
