package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"runtime/debug"
	"strings"
	"time"

	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/webhook"
)

// logOff is a level above every record: nothing is logged.
const logOff = slog.Level(100)

// logLevels are the values of --log.
var logLevels = map[string]slog.Level{"info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError, "off": logOff}

// memoryLimit is the soft memory limit the mock sets for itself when GOMEMLIMIT is not set and
// the links are capped: 64 MiB plus 1.5 KiB per link (about 210 MiB for the default cap). The
// garbage collector then works harder as the heap nears it instead of letting it double.
func memoryLimit(maxLinks int, gomemlimit string) (int64, bool) {
	if gomemlimit != "" || maxLinks <= 0 {
		return 0, false
	}
	return 64<<20 + int64(maxLinks)*1536, true
}

// serveMock runs the mock server until ctx ends (SIGINT or SIGTERM).
func serveMock(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	fs := newFlagSet("payoutlinks mock")
	addr := fs.String("addr", "127.0.0.1:12111", "the `HOST:PORT` to listen on (loopback unless --public)")
	public := fs.Bool("public", false, "allow a non-loopback address (needs --client-id and DOTS_MOCK_API_KEY)")
	clientID := fs.String("client-id", "", "take only these Basic credentials: this client `ID` and the API key in DOTS_MOCK_API_KEY\n(default: any credentials with a client id)")
	hookURL := fs.String("webhook-url", "", "deliver signed webhooks (payout_link.sent, .claimed, .paid_out, .updated) to this `URL`")
	hookSecret := fs.String("webhook-secret", "", "the whsec_... `SECRET` to sign webhooks with (default: DOTS_WEBHOOK_SECRET)")
	faultRate := fs.Float64("fault-rate", 0, "chaos mode: inject a random fault from the X-Mock-Fault table into this `SHARE` (0 to 1) of requests")
	seed := fs.Uint64("seed", 0, "chaos mode: the `SEED` of the fault sequence (default: a random one, printed at start)")
	maxLinks := fs.Int("max-links", mock.DefaultMaxLinks, "keep at most `N` links, forgetting the oldest (0: keep all)")
	maxRequests := fs.Int("max-requests", mock.DefaultMaxRequests, "keep at most `N` requests for the request log (0: keep all)")
	readTO := fs.Duration("read-timeout", mock.DefaultTimeouts.Read, "cut a request whose headers or body take longer than `DURATION` (408 for a slow body; 0: no limit)")
	writeTO := fs.Duration("write-timeout", mock.DefaultTimeouts.Write, "cut an answer that takes longer than `DURATION` (an injected delay adds to it; 0: no limit)")
	idleTO := fs.Duration("idle-timeout", mock.DefaultTimeouts.Idle, "close a keep-alive connection idle for longer than `DURATION` (0: no limit)")
	checkAnswers := fs.Bool("check-answers", false, "check every answer against openapi.yaml too, logging departures at error level (slower; the mock's own tests do it)")
	logLevel := fs.String("log", "info", "the `LEVEL` to log at: info (a line per request), warn (failed and faulted requests), error (the mock's own errors), off")
	quiet := fs.Bool("quiet", false, "log only the mock's own errors (--log error)")
	usage := func() {
		fmt.Fprint(stdout, "Usage: payoutlinks mock [--addr 127.0.0.1:12111] [--public --client-id ID] [--webhook-url URL --webhook-secret whsec_...]\n"+
			"                       [--fault-rate R [--seed S]]\n\n"+
			"Serve the in-memory mock Dots API for contract tests in any language.\n"+
			"Faults are scripted per request with the X-Mock-Fault and X-Mock-Retry-After headers (see the README).\n"+
			"Test triggers: POST /_mock/payout-links/{id}/claim, .../pay-out, .../expire change a link (and send\n"+
			"its webhook); POST /_mock/reset forgets everything. They take the same Basic credentials as the API.\n"+
			"With --client-id, only that client id and the API key in the environment variable DOTS_MOCK_API_KEY\n"+
			"are accepted (the key is never a flag: other users can read a command line); --public needs them.\n\nFlags:\n")
		printFlags(stdout, fs)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return exitOK
		}
		return fail(stderr, exitUsage, "payoutlinks mock: %s\nRun 'payoutlinks help mock' for usage.", flagMessage(err))
	}
	if !(*faultRate >= 0 && *faultRate <= 1) {
		return fail(stderr, 2, "payoutlinks mock: --fault-rate %v is not between 0 and 1", *faultRate)
	}
	for name, d := range map[string]time.Duration{"read-timeout": *readTO, "write-timeout": *writeTO, "idle-timeout": *idleTO} {
		if d < 0 {
			return fail(stderr, 2, "payoutlinks mock: --%s %v is negative (0 means no limit)", name, d)
		}
	}
	level, ok := logLevels[strings.ToLower(*logLevel)]
	if !ok {
		return fail(stderr, 2, "payoutlinks mock: --log %q is not one of info, warn, error, off", *logLevel)
	}
	if *quiet {
		level = slog.LevelError
	}
	seeded := false
	fs.Visit(func(f *flag.Flag) { seeded = seeded || f.Name == "seed" })
	if seeded && *faultRate == 0 {
		return fail(stderr, 2, "payoutlinks mock: --seed needs --fault-rate")
	}
	apiKey, _ := lookup("DOTS_MOCK_API_KEY")
	switch {
	case *clientID != "" && apiKey == "":
		return fail(stderr, 2, "payoutlinks mock: --client-id needs the API key in the environment variable DOTS_MOCK_API_KEY")
	case *clientID == "" && apiKey != "":
		return fail(stderr, 2, "payoutlinks mock: DOTS_MOCK_API_KEY is set but --client-id is not; pass --client-id to take only those credentials")
	case strings.Contains(*clientID, ":"):
		return fail(stderr, 2, "payoutlinks mock: --client-id cannot hold a colon: Basic credentials end the client id at the first one")
	case *public && *clientID == "":
		return fail(stderr, 2, "payoutlinks mock: --public needs credentials: --client-id ID, with the API key in DOTS_MOCK_API_KEY")
	}
	host, _, err := net.SplitHostPort(*addr)
	if err != nil {
		return fail(stderr, 2, "payoutlinks mock: %v", err)
	}
	if ip := net.ParseIP(host); !*public && host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fail(stderr, 2, "payoutlinks mock: %s is not a loopback address; pass --public to serve on it anyway", host)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fail(stderr, 1, "payoutlinks mock: %v", err)
	}
	var opts []mock.Option
	credsNote := "any Basic credentials with a client id"
	if *clientID != "" {
		opts = append(opts, mock.WithCredentials(*clientID, apiKey))
		credsNote = "Basic credentials: client id " + *clientID + " and the key in DOTS_MOCK_API_KEY"
	}
	if level != logOff {
		opts = append(opts, mock.WithLogger(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))))
	}
	if *hookURL != "" {
		secret := *hookSecret
		if secret == "" {
			secret, _ = lookup("DOTS_WEBHOOK_SECRET")
		}
		if _, err := webhook.NewVerifier(secret); err != nil {
			return fail(stderr, 2, "payoutlinks mock: --webhook-url needs a whsec_ secret (--webhook-secret or DOTS_WEBHOOK_SECRET): %v", err)
		}
		opts = append(opts, mock.WithWebhooks(*hookURL, secret))
	}
	chaosNote := ""
	if *faultRate > 0 {
		if !seeded {
			*seed = rand.Uint64()
		}
		opts = append(opts, mock.WithChaos(*faultRate, *seed))
		chaosNote = fmt.Sprintf("chaos mode: a random fault for %g of requests, --seed %d\n", *faultRate, *seed)
	}
	opts = append(opts, mock.WithMaxLinks(*maxLinks), mock.WithMaxRequests(*maxRequests), mock.WithAnswerChecks(*checkAnswers))
	gomemlimit, _ := lookup("GOMEMLIMIT")
	if limit, ok := memoryLimit(*maxLinks, gomemlimit); ok {
		debug.SetMemoryLimit(limit)
	}
	opts = append(opts, mock.WithTimeouts(mock.Timeouts{ReadHeader: *readTO, Read: *readTO, Write: *writeTO, Idle: *idleTO}))
	srv := mock.New(opts...)
	fmt.Fprintf(stderr, "%smock Dots API on http://%s/api (base URL), %s; Ctrl-C stops it\n", chaosNote, ln.Addr(), credsNote)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return fail(stderr, 1, "payoutlinks mock: %v", err)
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		return fail(stderr, 1, "payoutlinks mock: shutdown: %v", err)
	}
	return fail(stderr, 0, "mock stopped")
}
