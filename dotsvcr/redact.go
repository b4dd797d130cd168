package dotsvcr

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/cassette"
)

// personal are the JSON fields whose values are personal data, wherever they are.
var personal = []string{"first_name", "last_name", "email", "phone_number"}

const redacted = "[redacted]"

// patterns are redacted from any text: e-mail addresses, international phone numbers, key-shaped
// words and Basic or Bearer values.
var patterns = []struct {
	re   *regexp.Regexp
	with string
}{
	{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`), redacted},
	{regexp.MustCompile(`\+[0-9][0-9 ().-]{6,}[0-9]`), redacted},
	{regexp.MustCompile(`\b[ps]k_[A-Za-z0-9_]{3,}`), redacted},
	{regexp.MustCompile(`(?i)\b(basic|bearer)\s+[A-Za-z0-9+/=._~-]{6,}`), "$1 " + redacted},
}

// redact is the capture and save hook: it redacts one interaction in place.
func (r *Recorder) redact(i *cassette.Interaction) error {
	rd := r.redactor(i.Request.Headers, i.Request.Body)
	req, resp := &i.Request, &i.Response
	req.Headers = rd.header(req.Headers, "Authorization", "Proxy-Authorization", "Cookie")
	resp.Headers = rd.header(resp.Headers, "Set-Cookie")
	req.URL = rd.url(req.URL)
	for _, vs := range req.Form {
		for k := range vs {
			vs[k] = rd.text(vs[k])
		}
	}
	req.Body = rd.body(req.Body)
	req.ContentLength = int64(len(req.Body))
	resp.Body = rd.body(resp.Body)
	resp.ContentLength = int64(len(resp.Body))
	if resp.Headers.Get("Content-Length") != "" {
		resp.Headers.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	return nil
}

// match is the matcher: method, path, query and JSON body (without its idempotency_key), each
// redacted as the cassette is, so a replay matches whatever credentials and key it sends.
func (r *Recorder) match(req *http.Request, rec cassette.Request) bool {
	if req.Method != rec.Method {
		return false
	}
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rd := r.redactor(req.Header, string(body))
	live, err1 := url.Parse(rd.url(req.URL.String()))
	want, err2 := url.Parse(rd.url(rec.URL))
	if err1 != nil || err2 != nil || live.RequestURI() != want.RequestURI() {
		return false
	}
	a, b := rd.body(string(body)), rd.body(rec.Body)
	var x, y any
	if decode(a, &x) != nil || decode(b, &y) != nil {
		return a == b
	}
	for _, v := range []any{x, y} {
		if m, ok := v.(map[string]any); ok {
			delete(m, "idempotency_key")
		}
	}
	return reflect.DeepEqual(x, y)
}

func decode(s string, v any) error {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	return dec.Decode(v)
}

// redactor replaces its needles, then the patterns.
type redactor struct{ needles []string }

// redactor learns the credentials of the Authorization header h and the personal values of the
// request body, and makes a redactor for them and for everything learned before.
func (r *Recorder) redactor(h http.Header, body string) *redactor {
	var learn []string
	for _, v := range h.Values("Authorization") {
		learn = append(learn, encodings(v)...)
	}
	var v any
	if decode(body, &v) == nil {
		learn = append(learn, personalValues(v, "")...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range learn {
		if !slices.Contains(r.secrets, s) {
			r.secrets = append(r.secrets, s)
		}
	}
	// Longest first, so that no needle leaves part of a longer one behind.
	slices.SortFunc(r.secrets, func(a, b string) int { return cmp.Compare(len(b), len(a)) })
	return &redactor{slices.Clone(r.secrets)}
}

// encodings are an Authorization value's secrets in the forms they may be echoed in: the value,
// its token, and for Basic the "id:key" pair, the id and the key, each raw, URL-escaped and
// base64-encoded.
func encodings(auth string) []string {
	_, token, _ := strings.Cut(auth, " ")
	raw := []string{auth, token}
	if pair, err := base64.StdEncoding.DecodeString(token); err == nil {
		id, key, _ := strings.Cut(string(pair), ":")
		raw = append(raw, string(pair), id, key)
	}
	var out []string
	for _, s := range raw {
		b := []byte(s)
		out = append(out, s, url.QueryEscape(s), url.PathEscape(s), base64.StdEncoding.EncodeToString(b),
			base64.URLEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b))
	}
	return slices.DeleteFunc(out, func(s string) bool { return len(s) < 4 })
}

// personalValues are the strings of four characters or more under personal fields of v.
func personalValues(v any, field string) []string {
	var out []string
	switch x := v.(type) {
	case string:
		if len(x) >= 4 && slices.Contains(personal, field) {
			out = append(out, x)
		}
	case map[string]any:
		for k, sub := range x {
			out = append(out, personalValues(sub, k)...)
		}
	case []any:
		for _, sub := range x {
			out = append(out, personalValues(sub, field)...)
		}
	}
	return out
}

func (rd *redactor) text(s string) string {
	for _, n := range rd.needles {
		s = strings.ReplaceAll(s, n, redacted)
	}
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.with)
	}
	return s
}

// header returns a copy of h without the drop headers and with every value redacted.
func (rd *redactor) header(h http.Header, drop ...string) http.Header {
	out := h.Clone()
	for _, d := range drop {
		out.Del(d)
	}
	for _, vs := range out {
		for k := range vs {
			vs[k] = rd.text(vs[k])
		}
	}
	return out
}

// url redacts a URL's user info, path and query values; the query comes out in a canonical order.
func (rd *redactor) url(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return rd.text(raw)
	}
	u.User = nil
	u.Path, u.RawPath = rd.text(u.Path), ""
	if u.RawQuery != "" {
		q := u.Query()
		for _, vs := range q {
			for k := range vs {
				vs[k] = rd.text(vs[k])
			}
		}
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// body redacts a JSON body token by token, keeping its order and its numbers as written: the
// values of personal fields become null, and every string is redacted as text. Any other body is
// redacted as text.
func (rd *redactor) body(s string) string {
	if s == "" || !json.Valid([]byte(s)) {
		return rd.text(s)
	}
	opts := jsontext.AllowDuplicateNames(true)
	dec := jsontext.NewDecoder(strings.NewReader(s), opts)
	var out bytes.Buffer
	enc := jsontext.NewEncoder(&out, opts)
	for {
		tok, err := dec.ReadToken()
		if err == io.EOF {
			return strings.TrimSuffix(out.String(), "\n")
		}
		if err != nil {
			return rd.text(s)
		}
		if tok.Kind() == '"' {
			name := tok.String()
			kind, n := dec.StackIndex(dec.StackDepth())
			tok = jsontext.String(rd.text(name))
			if kind == '{' && n%2 == 1 && slices.Contains(personal, name) {
				if enc.WriteToken(tok) != nil || dec.SkipValue() != nil {
					return rd.text(s)
				}
				tok = jsontext.Null
			}
		}
		if enc.WriteToken(tok) != nil {
			return rd.text(s)
		}
	}
}
