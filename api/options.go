package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Option configures a Client, given to NewClient, or one call, given to a typed method:
// client.CreatePayoutLink(ctx, body, api.WithIdempotencyKey(key), api.WithResponseInto(&resp)).
// Each option says where it applies: most to the client only; WithRetryPolicy, WithMaxRetries,
// WithAttemptTimeout, WithHeader and WithMiddleware to the client and to one call (where they
// change that call only: a call's policy replaces the client's, its headers and middleware come
// after the client's); WithIdempotencyKey and WithResponseInto to one call only. An option given
// where it cannot apply, or with a bad value, is an error that names it: NewClient returns it, and
// a call returns it as an *InvalidRequestError, sending nothing.
//
// A Generated() call takes no options; ContextWithRetryPolicy gives one its own retry policy.
type Option func(*config) error

// config collects what the options set: most of it straight into the pipeline.
type config struct {
	pipeline
	perCall      bool // the options are one call's
	noReuseCheck bool
	env          Environment
	baseURL      string
	httpClient   *http.Client
}

// settings are what an option may set for one call; the pipeline holds the client's. A call
// changes a copy, and appends to its lists only through a full slice expression, so the client's
// are never changed.
type settings struct {
	policy     RetryPolicy
	attemptTO  time.Duration
	header     []string        // WithHeader's names and values, in turn
	middleware []Middleware    // WithMiddleware's, outermost first
	key        *string         // WithIdempotencyKey
	into       **http.Response // WithResponseInto
}

func (c *config) apply(opts []Option) error {
	for _, o := range opts {
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}

// scope says where an option applies.
type scope int

const (
	clientOnly scope = iota
	callOnly
	clientOrCall
)

// option makes an option named name that applies where `where` says, when valid; given
// elsewhere, or not valid (problem says why), it is an error naming it.
func option(name string, where scope, valid bool, problem string, set func(*config)) Option {
	return func(c *config) error {
		switch {
		case where == clientOnly && c.perCall:
			return FieldError{name, "applies to NewClient only, not to one call"}
		case where == callOnly && !c.perCall:
			return FieldError{name, "applies to one call only, not to NewClient"}
		case !valid:
			return FieldError{name, problem}
		}
		set(c)
		return nil
	}
}

// callSettings are the settings of one call: the client's, then the context's retry policy
// (ContextWithRetryPolicy), then opts. With neither, they are the client's own, not a copy.
func (p *pipeline) callSettings(ctx context.Context, op operation, opts []Option) (*settings, error) {
	policy, inCtx := ctx.Value(ctxRetryPolicy).(RetryPolicy)
	if len(opts) == 0 && !inCtx {
		return &p.settings, nil
	}
	c := &config{perCall: true}
	c.settings = p.settings
	if inCtx {
		c.policy = policy
	}
	err := c.apply(opts)
	if err == nil && c.key != nil && !op.keyed {
		err = FieldError{"WithIdempotencyKey", op.id + " takes no idempotency key"}
	}
	if err != nil {
		fe := FieldError{"options", err.Error()}
		errors.As(err, &fe) // every option's error is a FieldError naming it
		return nil, &InvalidRequestError{Call: Call{Operation: op.id}, Fields: []FieldError{fe}}
	}
	return &c.settings, nil
}

type ctxKey int

const ctxRetryPolicy ctxKey = iota

// ContextWithRetryPolicy returns a context whose calls use p instead of the client's retry
// policy, for a Generated() call, which takes no options. A typed method takes
// WithRetryPolicy(p) instead, which wins over the context's.
func ContextWithRetryPolicy(ctx context.Context, p RetryPolicy) context.Context {
	return context.WithValue(ctx, ctxRetryPolicy, p.normalized())
}

// WithOptions groups options into one, for a package that sets several at once.
func WithOptions(opts ...Option) Option {
	return func(c *config) error { return c.apply(opts) }
}

// WithEnvironment picks Sandbox (the default) or Production.
func WithEnvironment(env Environment) Option {
	return option("WithEnvironment", clientOnly, env.BaseURL() != "", fmt.Sprintf("unknown environment %q (want %q or %q)", string(env), Production, Sandbox),
		func(c *config) { c.env = env })
}

// WithBaseURL sets the base URL, in the form of the spec's servers ("https://api.dots.dev/api",
// or "http://127.0.0.1:PORT/api" for a local server such as the mock). It wins over the
// environment. Plain http is refused except on a loopback host.
func WithBaseURL(u string) Option {
	return option("WithBaseURL", clientOnly, true, "", func(c *config) { c.baseURL = u })
}

// WithHTTPClient sends requests with hc (its transport, timeouts and TLS settings). The client
// is copied, not changed: the SDK's copy never follows a redirect (the 3xx answer is an *Error),
// so the credentials cannot follow one to another host.
func WithHTTPClient(hc *http.Client) Option {
	return option("WithHTTPClient", clientOnly, hc != nil, "needs a client, not nil", func(c *config) { c.httpClient = hc })
}

// WithAppID sends the Api-App-Id header, for an organization key acting for one App.
func WithAppID(appID string) Option {
	return option("WithAppID", clientOnly, true, "", func(c *config) { c.appID = appID })
}

// WithUserAgent appends ua to the SDK's own User-Agent (dots-go/<Version>).
func WithUserAgent(ua string) Option {
	return option("WithUserAgent", clientOnly, true, "", func(c *config) { c.userAgent = ua })
}

// WithMaxRetries sets how often a failed request is repeated after its first attempt (default
// 2; 0 disables retries), keeping the policy's delays. It applies to the client or to one call.
func WithMaxRetries(n int) Option {
	return option("WithMaxRetries", clientOrCall, n >= 0, "needs n >= 0", func(c *config) { c.policy.MaxRetries = n })
}

// WithRetryPolicy sets the whole retry policy (see RetryPolicy: MaxRetries 0 is no retries,
// zero delays are the defaults). It applies to the client or to one call.
func WithRetryPolicy(p RetryPolicy) Option {
	return option("WithRetryPolicy", clientOrCall, p.MaxDelay <= 0 || p.MaxDelay >= p.BaseDelay, "needs BaseDelay <= MaxDelay",
		func(c *config) { c.policy = p.normalized() })
}

// WithAttemptTimeout bounds each attempt on its own, apart from the caller's context: an attempt
// that times out is retried (when the request is safe to repeat); a caller that cancels is not.
// 0 is no bound. It applies to the client or to one call.
func WithAttemptTimeout(d time.Duration) Option {
	return option("WithAttemptTimeout", clientOrCall, d >= 0, "needs d >= 0", func(c *config) { c.attemptTO = d })
}

// WithHeader sends one more header with every attempt, of the client or of one call. It cannot
// set what the SDK sets (Authorization, User-Agent, Content-Type, Content-Length, Host): a
// credential goes through WithCredentialSource, which keeps it out of errors and logs; a
// header's value is sent as it is and never redacted.
func WithHeader(name, value string) Option {
	k, problem := http.CanonicalHeaderKey(name), ""
	switch {
	case slices.Contains([]string{"Authorization", "User-Agent", "Content-Type", "Content-Length", "Host"}, k):
		problem = "cannot set " + k + ", which the SDK sets"
	case k == "" || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r >= 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) }),
		strings.ContainsFunc(value, func(r rune) bool { return r < ' ' && r != '\t' || r == 0x7f }):
		problem = "needs a name of letters, digits and !#$%&'*+-.^_`|~, and a value without control characters"
	}
	return option("WithHeader", clientOrCall, problem == "", problem, func(c *config) { c.header = append(c.header[:len(c.header):len(c.header)], k, value) })
}

// Next sends a request on: to the next middleware, or after the last one to the HTTP client.
type Next func(*http.Request) (*http.Response, error)

// Middleware wraps every attempt of a call, each retry included, inside the pipeline: it may
// read the request and change its headers (each attempt has its own copy; req.GetBody gives the
// body again), call next at most once and wait for it, and read or replace what comes back,
// which is then the attempt's answer or error, retried as any would be. An error returned
// without calling next counts as nothing sent. Leave the body and the URL as they are: a
// create's idempotency key is in the body, and whether an attempt may be repeated rests on it.
// The request carries the Authorization header: never log headers wholesale.
type Middleware func(req *http.Request, next Next) (*http.Response, error)

// WithMiddleware adds mw around every attempt, of the client or of one call, in the order given:
// the first is the outermost, and a call's come after (inside) the client's.
func WithMiddleware(mw Middleware) Option {
	return option("WithMiddleware", clientOrCall, mw != nil, "needs a middleware, not nil",
		func(c *config) { c.middleware = append(c.middleware[:len(c.middleware):len(c.middleware)], mw) })
}

// CallInfo names a call to a CallHook, without ids or secrets.
type CallInfo struct {
	// Operation is the spec's operationId, such as "create-payout-link"; "" for a Generated()
	// request that matches no operation of the spec.
	Operation string
	// Method is the HTTP method. Path is the spec's path template, such as
	// "/v2/payout-links/{payout_link_id}", never a path with ids in it ("" with no Operation).
	Method, Path string
}

// CallHook observes calls, for tracing and metrics (package dotsotel is one). It is called when a
// call has passed the input checks, before its credentials are got and its first attempt made,
// with the call's context; it returns the context the call goes on with (middleware sees it in
// each attempt's request) and a function called once when the call ends, with the number of
// attempts made (0 when none was) and the call's error: nil on success, or one matching
// ErrOutcomeUnknown when the call may have been acted on; any other was refused or never sent.
// A call refused by its input checks returns an *InvalidRequestError at once, unobserved.
type CallHook func(ctx context.Context, call CallInfo) (context.Context, func(attempts int, err error))

// WithCallHook adds h to the client's hooks: they start in the order given and end in reverse.
func WithCallHook(h CallHook) Option {
	return option("WithCallHook", clientOnly, h != nil, "needs a hook, not nil", func(c *config) { c.hooks = append(c.hooks, h) })
}

// WithIdempotencyKey sends key as the idempotency_key of one create, as the body's
// IdempotencyKey does; the body's may be left unset or set to the same key, and a different one
// is refused with an *InvalidRequestError naming idempotency_key. An operation that takes no key
// refuses the option.
func WithIdempotencyKey(key string) Option {
	return option("WithIdempotencyKey", callOnly, key != "", `needs a key, not ""`, func(c *config) { c.key = &key })
}

// WithResponseInto stores the *http.Response of one call in *dst when the call succeeds: its
// status and headers (the request id: resp.Header.Get("Request-Id")). Its body was read and
// decoded already (it is empty). On failure, *dst is left alone; the error says what came back.
// For PayoutLinks, it is the last page's.
func WithResponseInto(dst **http.Response) Option {
	return option("WithResponseInto", callOnly, dst != nil, "needs a place to store the response, not nil", func(c *config) { c.into = dst })
}

// WithMaxResponseBytes caps the size of a response body (default DefaultMaxResponseBytes). A
// larger body fails the call with an error wrapping ErrResponseTooLarge.
func WithMaxResponseBytes(n int64) Option {
	return option("WithMaxResponseBytes", clientOnly, n > 0, "needs n > 0", func(c *config) { c.maxBody = n })
}

// WithKeyReuseCheck turns the key-reuse check of CreatePayoutLink on (the default) or off. The
// check compares the link a create is answered with to the request, when the caller supplied the
// idempotency key (see CreatePayoutLinkWithKey). Turn it off only against a static mock (such as
// Prism serving a spec's examples) that answers every create with the same canned link.
func WithKeyReuseCheck(on bool) Option {
	return option("WithKeyReuseCheck", clientOnly, true, "", func(c *config) { c.noReuseCheck = !on })
}

// WithLogger logs one line per attempt: operation, method, path template, status, attempt,
// duration, request id and idempotency key. It never logs headers, credentials or bodies.
func WithLogger(l *slog.Logger) Option {
	return option("WithLogger", clientOnly, true, "", func(c *config) { c.logger = l })
}
