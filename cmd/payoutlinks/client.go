package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/mock"
)

// clientChoice is what the command line says about where requests go.
type clientChoice struct {
	env  string // --env, "" when not given
	mock bool   // --mock
}

// dotsVars are the variables that ask for a real Dots: with any of them set, or --env given, the
// built-in mock server answers only with --mock.
var dotsVars = []string{"DOTS_CLIENT_ID", "DOTS_API_KEY", "DOTS_BASE_URL", "DOTS_ENV"}

// newClient builds the client the command line and the environment ask for, or starts the
// built-in mock server when they ask for nothing (or for --mock). Every error it returns is a
// usage error: nothing was sent. The returned func stops what it started.
func newClient(choice clientChoice, stderr io.Writer, getenv func(string) string) (*api.Client, func(), error) {
	env := strings.ToLower(choice.env)
	if env != "" && api.Environment(env).BaseURL() == "" {
		return nil, nil, usagef("unknown environment %q for --env (want sandbox or production)", choice.env)
	}
	var set []string
	for _, k := range dotsVars {
		if getenv(k) != "" {
			set = append(set, k)
		}
	}
	switch {
	case choice.mock && env != "":
		return nil, nil, usagef("--mock and --env %s exclude each other: the built-in mock server is neither sandbox nor production", env)
	case choice.mock:
		note := "--mock: a built-in mock server answers"
		if len(set) > 0 {
			note += " (" + strings.Join(set, ", ") + " ignored)"
		}
		return builtInMock(note, stderr)
	case len(set) == 0 && env == "":
		return builtInMock("none of "+strings.Join(dotsVars, ", ")+" is set, so a built-in mock server answers", stderr)
	}

	id := getenv("DOTS_CLIENT_ID")
	if id == "" {
		given := "--env " + env + " is given"
		switch len(set) {
		case 0:
		case 1:
			given = set[0] + " is set"
		default:
			given = strings.Join(set, ", ") + " are set"
		}
		return nil, nil, usagef("DOTS_CLIENT_ID is not set, but %s: set DOTS_CLIENT_ID to your App's client id, or pass --mock to use the built-in mock server; nothing was sent", given)
	}
	if env == "" {
		env = strings.ToLower(getenv("DOTS_ENV"))
		if env != "" && api.Environment(env).BaseURL() == "" {
			return nil, nil, usagef("unknown environment %q in DOTS_ENV (want sandbox or production)", getenv("DOTS_ENV"))
		}
	}
	if env == "" {
		env = string(api.Sandbox)
	}
	opts := []api.Option{api.WithEnvironment(api.Environment(env)), api.WithUserAgent("payoutlinks")}
	if u := getenv("DOTS_BASE_URL"); u != "" {
		opts = append(opts, api.WithBaseURL(u))
	}
	key := getenv("DOTS_API_KEY")
	c, err := api.NewClient(id, key, opts...)
	if err != nil {
		return nil, nil, usageError{err}
	}
	if key == "" {
		fmt.Fprintln(stderr, "warning: DOTS_API_KEY is empty: requests carry the client id alone, which Dots accepts only for a client-side token")
	}
	fmt.Fprintf(stderr, "note: using %s\n", c.BaseURL())
	return c, func() {}, nil
}

// builtInMock starts the in-process mock server and a client for it.
func builtInMock(why string, stderr io.Writer) (*api.Client, func(), error) {
	srv := mock.NewServer()
	c, err := api.NewClient("pk_test_mock", "sk_test_mock", api.WithBaseURL(srv.BaseURL()), api.WithUserAgent("payoutlinks"))
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	fmt.Fprintf(stderr, "note: %s (%s); nothing real is paid\n", why, srv.BaseURL())
	return c, srv.Close, nil
}
