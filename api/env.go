package api

import (
	"fmt"
	"os"
	"strings"
)

// EnvVars are the variables NewClientFromEnv and the command line read, in the order ReadEnv
// checks them.
var EnvVars = []string{"DOTS_CLIENT_ID", "DOTS_API_KEY", "DOTS_ENV", "DOTS_BASE_URL"}

// Env is what the DOTS_* variables ask for. It is the one reading of them: NewClientFromEnv and
// the command line both use it. It never prints the API key.
type Env struct {
	// ClientID and APIKey are DOTS_CLIENT_ID and DOTS_API_KEY.
	ClientID, APIKey string
	// Environment is DOTS_ENV, Sandbox when it is not set: production is used only when asked for.
	Environment Environment
	// BaseURL is DOTS_BASE_URL, "" when not set; it wins over Environment.
	BaseURL string
	// Set names the variables that are set, even to "", in the order of EnvVars.
	Set []string
}

// EnvError is a DOTS_* variable that cannot be used: not set, set but empty, or unknown.
type EnvError struct {
	// Var is the variable's name, such as "DOTS_API_KEY".
	Var string
	// Problem says what is wrong, without repeating the value.
	Problem string
}

// Error reads like "dots: DOTS_API_KEY is set but empty: ...".
func (e *EnvError) Error() string { return "dots: " + e.Var + " " + e.Problem }

// EnvSet lists the DOTS_* variables that are set, even to "": with none set, the caller asked for
// nothing (the command line then uses its built-in mock); with any set, the real API was meant.
func EnvSet(lookup func(string) (string, bool)) []string {
	var set []string
	for _, k := range EnvVars {
		if _, ok := lookup(k); ok {
			set = append(set, k)
		}
	}
	return set
}

// ReadEnv reads the DOTS_* variables through lookup (os.LookupEnv for the process's own). A
// variable that is set means what it says, so one set but empty is an error that names it (a CI
// job whose secret is missing has it so): it is never taken as "not set". DOTS_CLIENT_ID and
// DOTS_API_KEY are required; DOTS_ENV is "sandbox" (the default) or "production", in any case;
// DOTS_BASE_URL, when set, wins over DOTS_ENV. Every error is an *EnvError.
func ReadEnv(lookup func(string) (string, bool)) (Env, error) {
	e := Env{Environment: Sandbox, Set: EnvSet(lookup)}
	vals := map[string]string{}
	for _, k := range e.Set {
		v, _ := lookup(k)
		if strings.TrimSpace(v) == "" {
			return Env{}, &EnvError{k, "is set but empty: set it, or unset it"}
		}
		vals[k] = v
	}
	e.ClientID, e.APIKey, e.BaseURL = vals["DOTS_CLIENT_ID"], vals["DOTS_API_KEY"], vals["DOTS_BASE_URL"]
	if v, ok := vals["DOTS_ENV"]; ok {
		e.Environment = Environment(strings.ToLower(strings.TrimSpace(v)))
		if e.Environment.BaseURL() == "" {
			return Env{}, &EnvError{"DOTS_ENV", fmt.Sprintf("is %q: want %q or %q", v, Sandbox, Production)}
		}
	}
	for _, k := range EnvVars[:2] {
		if _, ok := vals[k]; !ok {
			return Env{}, &EnvError{k, "is not set"}
		}
	}
	return e, nil
}

// Options are the client options Env asks for: its environment, and its base URL when set.
func (e Env) Options() []Option {
	opts := []Option{WithEnvironment(e.Environment)}
	if e.BaseURL != "" {
		opts = append(opts, WithBaseURL(e.BaseURL))
	}
	return opts
}

// Format keeps the API key out of every fmt verb.
func (e Env) Format(f fmt.State, _ rune) {
	base := map[bool]string{false: "none", true: "set"}[e.BaseURL != ""] // not shown: it could carry a key by mistake
	fmt.Fprintf(f, "api.Env{client id %s, %s, base URL %s, API key redacted}", e.ClientID, e.Environment, base)
}

// NewClientFromEnv makes a client from the DOTS_* variables as ReadEnv reads them: the sandbox
// unless DOTS_ENV=production, DOTS_BASE_URL when set. Options given win over the environment.
func NewClientFromEnv(opts ...Option) (*Client, error) {
	e, err := ReadEnv(os.LookupEnv)
	if err != nil {
		return nil, err
	}
	return NewClient(e.ClientID, e.APIKey, append(e.Options(), opts...)...)
}
