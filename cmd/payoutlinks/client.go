package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// clientChoice is what the command line says about where requests go.
type clientChoice struct {
	env  string // --env, "" when not given
	mock bool   // --mock
	// opts are client options a command's flags ask for, such as create --no-reuse-check.
	opts []api.Option
}

// newClient builds the client the command line and the environment ask for, or starts the
// built-in mock server when they ask for nothing (no DOTS_* variable set, even to "", and no
// --env) or for --mock. The DOTS_* variables are read by api.ReadEnv alone; --env wins over
// DOTS_ENV. Every error it returns is a usage error: nothing was sent. The returned func stops
// what it started. Each api.Warning (an odd field in a good answer) is printed on stderr.
func newClient(choice clientChoice, stderr io.Writer, lookup func(string) (string, bool)) (*api.Client, func(), error) {
	env := api.Environment(strings.ToLower(choice.env))
	if env != "" && env.BaseURL() == "" {
		return nil, nil, usagef("unknown environment %q for --env (want sandbox or production)", choice.env)
	}
	opts := append([]api.Option{api.WithUserAgent("payoutlinks"), api.WithWarnings(func(_ context.Context, w api.Warning) {
		fmt.Fprintln(stderr, "warning: "+w.String())
	})}, choice.opts...)
	set := api.EnvSet(lookup)
	switch {
	case choice.mock && env != "":
		return nil, nil, usagef("--mock and --env %s exclude each other: the built-in mock server is neither sandbox nor production", env)
	case choice.mock:
		note := "--mock: a built-in mock server answers"
		if len(set) > 0 {
			note += " (" + strings.Join(set, ", ") + " ignored)"
		}
		return builtInMock(note, stderr, opts)
	case len(set) == 0 && env == "":
		return builtInMock("none of "+strings.Join(api.EnvVars, ", ")+" is set, so a built-in mock server answers", stderr, opts)
	}

	e, err := api.ReadEnv(lookup)
	if err != nil {
		given := "--env " + string(env) + " is given"
		switch len(set) {
		case 0:
		case 1:
			given = set[0] + " is set"
		default:
			given = strings.Join(set, ", ") + " are set"
		}
		return nil, nil, usageError{fmt.Errorf("%w; %s, so the real Dots API was meant (pass --mock for the built-in mock server); nothing was sent", err, given)}
	}
	why := "the sandbox: DOTS_ENV is not set"
	switch {
	case e.BaseURL != "":
		why = "DOTS_BASE_URL"
	case env != "":
		e.Environment, why = env, "--env "+string(env)
	case slices.Contains(set, "DOTS_ENV"):
		why = "DOTS_ENV=" + string(e.Environment)
	}
	c, err := api.NewClient(e.ClientID, e.APIKey, append(e.Options(), opts...)...)
	if err != nil {
		return nil, nil, usageError{err}
	}
	fmt.Fprintf(stderr, "note: using %s (%s)\n", c.BaseURL(), why)
	return c, func() {}, nil
}

// apiKey is DOTS_API_KEY, to redact from what is printed ("" when not set).
func apiKey(lookup func(string) (string, bool)) string {
	v, _ := lookup("DOTS_API_KEY")
	return v
}

// builtInMock starts the in-process mock server and a client for it. It lives as long as the
// command: a link it makes is gone when the command ends.
func builtInMock(why string, stderr io.Writer, opts []api.Option) (*api.Client, func(), error) {
	srv := mock.NewServer()
	c, err := api.NewClient("pk_test_mock", "sk_test_mock", append([]api.Option{api.WithBaseURL(srv.BaseURL())}, opts...)...)
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "note: %s (%s); nothing real is paid, and it is gone when this command ends: for links that last, run 'payoutlinks mock' and set DOTS_BASE_URL\n", why, srv.BaseURL())
	return c, srv.Close, nil
}
