// Package api is the Dots payout-link client to import. It wraps the client generated from
// openapi.yaml (package gen) with what generated code cannot give: Basic auth, environments,
// idempotency keys, retries with backoff, typed errors, input checks, logging and contract
// validation. All of it lives in the request pipeline, so every generated operation — through
// Generated() — gets it too; the typed methods (CreatePayoutLink and friends) are thin.
//
// A create is never repeated without an idempotency key, and the key is always yours to learn:
// CreatePayoutLinkWithKey on success, IdempotencyKeyOf on failure.
package api

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/spec"
)

// Version is the SDK's version; it is sent in the User-Agent as dots-go/<Version>.
const Version = "0.1.0"

// Environment is a Dots deployment with keys of its own.
type Environment string

const (
	// Production moves real money. It is used only when asked for: WithEnvironment(Production),
	// or DOTS_ENV=production for NewClientFromEnv and the command line.
	Production Environment = "production"
	// Sandbox moves test money. It is the default everywhere.
	Sandbox Environment = "sandbox"
)

// BaseURL returns the environment's base URL, as the spec's servers name it ("" for an unknown
// environment).
func (e Environment) BaseURL() string { return baseURLs[e] }

var baseURLs = map[Environment]string{Sandbox: "https://api.senddotssandbox.com/api", Production: "https://api.dots.dev/api"}

// DefaultMaxResponseBytes is the largest response body a client reads (1 MiB).
const DefaultMaxResponseBytes = 1 << 20

// Client calls the Dots payout-link API. It is safe for concurrent use. It never prints its
// credentials: every fmt verb shows them redacted.
type Client struct {
	noReuseCheck bool // WithKeyReuseCheck(false)
	gen          *gen.ClientWithResponses
	pipe         *pipeline
	baseURL      string
	server       string // baseURL with a trailing slash, as the generated request builders need it
}

// NewClient makes a client for the App whose client id and API key are given. clientID must not
// be empty; an empty apiKey is allowed (a client-side token, sent as "clientID:"). With
// WithCredentialSource, pass "" for both: the source gives them for each call.
func NewClient(clientID, apiKey string, opts ...Option) (*Client, error) {
	cfg := config{env: Sandbox, pipeline: pipeline{settings: settings{policy: DefaultRetryPolicy}, maxBody: DefaultMaxResponseBytes,
		sleep: sleepCtx, now: time.Now, jitter: rand.Float64}}
	if err := cfg.apply(opts); err != nil {
		return nil, fmt.Errorf("dots: %w", err)
	}
	p := &cfg.pipeline
	if p.creds == nil {
		creds, err := newCredentials(clientID, apiKey)
		if err != nil {
			return nil, fmt.Errorf("dots: %w", err)
		}
		p.creds = func(context.Context) (*credentials, error) { return creds, nil }
	} else if clientID != "" || apiKey != "" {
		return nil, errors.New("dots: with WithCredentialSource, pass NewClient an empty client id and API key")
	}
	base := cmp.Or(cfg.baseURL, cfg.env.BaseURL())
	u, err := checkBaseURL(base)
	if err != nil {
		return nil, err
	}
	p.base = strings.TrimSuffix(u.Path, "/")
	p.rt = sync.OnceValues(func() (*spec.Router, error) {
		sp, err := spec.Embedded()
		if err != nil {
			return nil, err
		}
		return sp.Router(p.base), nil
	})
	p.userAgent = strings.TrimSpace("dots-go/" + Version + " " + p.userAgent)
	p.client = safeHTTPClient(cfg.httpClient)
	raw, err := gen.NewClient(base, gen.WithHTTPClient(p))
	if err != nil {
		return nil, fmt.Errorf("dots: %w", err)
	}
	return &Client{gen: &gen.ClientWithResponses{ClientInterface: raw}, pipe: p, baseURL: base, server: base + "/", noReuseCheck: cfg.noReuseCheck}, nil
}

// BaseURL returns the base URL the client sends to.
func (c *Client) BaseURL() string { return c.baseURL }

// Generated returns the generated client with the whole pipeline applied (auth, retries, typed
// errors, logging, contract validation), so every operation in the spec works through it,
// including ones added later. A non-2xx answer comes back as an error (*Error), never as a
// response value.
func (c *Client) Generated() *gen.ClientWithResponses { return c.gen }

// Format keeps the credentials out of every fmt verb, %+v included (they are kept in closures,
// out of reach of reflection, too).
func (c Client) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, "api.Client{"+c.baseURL+", credentials redacted}")
}

// WithCredentialSource gets the client id and API key from src for each call, once, before its
// first attempt (every retry of the call sends the same): a rotated key is picked up by the next
// call, with no new client. The credentials src returns are redacted from what the call keeps and
// logs, as NewClient's are; an error it returns fails the call with a *RequestError wrapping it,
// and nothing is sent (keep secrets out of that error). With it, NewClient takes "" for its own.
func WithCredentialSource(src func(ctx context.Context) (clientID, apiKey string, err error)) Option {
	return option("WithCredentialSource", clientOnly, src != nil, "needs a source, not nil", func(c *config) {
		c.creds = func(ctx context.Context) (*credentials, error) {
			id, key, err := src(ctx)
			if err != nil {
				return nil, err
			}
			return newCredentials(id, key)
		}
	})
}

// credentials are what one call sends: the Authorization value, and a pattern matching every
// credential in it in every form an answer may echo it in (a proxy that reflects the request, a
// debugging endpoint): as sent, URL-escaped (query and path), and escaped inside a JSON string
// (with "/" escaped too, as JSON allows), in any case. The pattern is compiled on first use.
type credentials struct {
	auth   string
	secret func() *regexp.Regexp
}

// newCredentials checks a client id and builds the credentials of a client id and an API key.
func newCredentials(clientID, apiKey string) (*credentials, error) {
	if clientID == "" || strings.ContainsAny(clientID, ":\r\n") {
		return nil, errors.New("the client id must not be empty, nor contain ':' or line breaks")
	}
	basic := base64.StdEncoding.EncodeToString([]byte(clientID + ":" + apiKey))
	return &credentials{auth: "Basic " + basic, secret: sync.OnceValue(func() *regexp.Regexp {
		var forms []string
		for _, s := range []string{basic, apiKey} {
			quoted, _ := json.Marshal(s) // encoding/json's escapes: <, >, & and control characters
			inJSON := string(quoted[1 : len(quoted)-1])
			for _, form := range []string{s, url.QueryEscape(s), url.PathEscape(s), inJSON, strings.ReplaceAll(inJSON, "/", `\/`)} {
				if form != "" {
					forms = append(forms, regexp.QuoteMeta(form))
				}
			}
		}
		return regexp.MustCompile("(?i)" + strings.Join(forms, "|"))
	})}, nil
}

// redact replaces every credential in text with "[redacted]": an answer may echo the request,
// and *Error keeps its body and request id.
func (c *credentials) redact(text string) string {
	return c.secret().ReplaceAllLiteralString(text, "[redacted]")
}

// checkBaseURL refuses a base URL that is not an absolute https URL (http on a loopback host).
// One that carries credentials, in any shape ("https://pk:KEY@host", "https:/pk:KEY@host",
// "pk:KEY@host/api"), is refused first, and a URL is never quoted unless it parsed and holds no
// "@": it may hold a key.
func checkBaseURL(base string) (*url.URL, error) {
	if strings.Contains(base, "@") {
		return nil, errors.New("dots: the base URL must not carry credentials (user:password@, or any '@'); pass them to NewClient")
	}
	u, err := url.Parse(base)
	switch {
	case err != nil || u.Host == "" || u.Opaque != "":
		return nil, errors.New("dots: the base URL is not an absolute URL such as https://api.dots.dev/api")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, fmt.Errorf("dots: base URL scheme %q is not https", u.Scheme)
	case u.Scheme == "http" && u.Hostname() != "localhost" && !net.ParseIP(u.Hostname()).IsLoopback():
		return nil, fmt.Errorf("dots: plain http is only allowed on a loopback host, not %q", u.Hostname())
	}
	return u, nil
}

// safeHTTPClient copies hc and makes it stop at a redirect, whose answer becomes an *Error: Dots
// does not redirect, and following one could carry the credentials to another host or turn a
// create into a GET.
func safeHTTPClient(hc *http.Client) *http.Client {
	var c http.Client
	if hc != nil {
		c = *hc
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}
