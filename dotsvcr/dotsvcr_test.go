package dotsvcr_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/cassette"
	"gopkg.in/dnaeon/go-vcr.v4/pkg/recorder"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/dotsvcr"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

// offline is the real transport of a replay: any request that reaches it fails the test.
type offline struct{ t *testing.T }

func (o offline) RoundTrip(r *http.Request) (*http.Response, error) {
	o.t.Errorf("a replay went to the network: %s %s", r.Method, r.URL.Path)
	return nil, errors.New("offline")
}

// payee is personal data that must never reach a cassette.
var payee = gen.Payee{FirstName: api.Ptr("Jane"), LastName: api.Ptr("Smith"), Email: api.Ptr("jsmith@example.com"),
	CountryCode: api.Ptr("1"), PhoneNumber: api.Ptr("2025550139")}

// lifecycle creates a link for the payee, reads it, lists, cancels it and reads it again (the same
// request as the first read, with another answer), and returns every typed result.
func lifecycle(t *testing.T, client *api.Client) []any {
	t.Helper()
	ctx := context.Background()
	made, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: 1250, Payee: payee,
		Delivery: gen.Delivery{Method: gen.DeliveryMethodSms}, Memo: api.Ptr("March invoice for Jane")})
	if err != nil {
		t.Fatal("create:", err)
	}
	got, err := client.GetPayoutLink(ctx, made.ID)
	if err != nil {
		t.Fatal("get:", err)
	}
	limit := 10
	list, err := client.ListPayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: &limit})
	if err != nil {
		t.Fatal("list:", err)
	}
	canceled, err := client.CancelPayoutLink(ctx, made.ID)
	if err != nil {
		t.Fatal("cancel:", err)
	}
	after, err := client.GetPayoutLink(ctx, made.ID)
	if err != nil {
		t.Fatal("get after cancel:", err)
	}
	return []any{made, got, list, canceled, after}
}

// record runs lifecycle against a fresh mock into the cassette, and returns its results.
func record(t *testing.T, name string) []any {
	t.Helper()
	srv := mock.NewServer()
	defer srv.Close()
	rec, err := dotsvcr.New(name, recorder.ModeRecordOnly)
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient("pk_test_record", "sk_test_record", api.WithBaseURL(srv.BaseURL()),
		api.WithHTTPClient(rec.GetDefaultClient()))
	if err != nil {
		t.Fatal(err)
	}
	results := lifecycle(t, client)
	if err := rec.Stop(); err != nil {
		t.Fatal("stop:", err)
	}
	return results
}

// replayer starts a replay of the cassette and a client on it, with other credentials and the
// default base URL (the sandbox's): a replay needs neither the recording's nor a network.
func replayer(t *testing.T, name string, opts ...api.Option) (*dotsvcr.Recorder, *api.Client) {
	t.Helper()
	rec, err := dotsvcr.New(name, recorder.ModeReplayOnly, recorder.WithRealTransport(offline{t}))
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient("pk_test_replay", "sk_test_replay", append(opts, api.WithHTTPClient(rec.GetDefaultClient()))...)
	if err != nil {
		t.Fatal(err)
	}
	return rec, client
}

// TestReplayGivesTheRecordedResults: a cassette recorded against the mock replays offline, with
// other credentials and a fresh idempotency key for the create, to the same typed results, in
// order; the personal fields read as empty both times.
func TestReplayGivesTheRecordedResults(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lifecycle")
	recorded := record(t, name)

	rec, client := replayer(t, name)
	replayed := lifecycle(t, client)
	if err := rec.Stop(); err != nil {
		t.Fatal("stop:", err)
	}
	for i := range recorded {
		if !reflect.DeepEqual(recorded[i], replayed[i]) {
			t.Errorf("result %d:\nrecorded %+v\nreplayed %+v", i, recorded[i], replayed[i])
		}
	}
	made, after := replayed[0].(*gen.PayoutLink), replayed[4].(*gen.PayoutLink)
	if made.Amount != 1250 || made.Status != gen.PayoutLinkStatusSent || after.Status != gen.PayoutLinkStatusCanceled {
		t.Errorf("replayed amount %d, status %s then %s; want 1250, sent then canceled", made.Amount, made.Status, after.Status)
	}
	if made.Payee.Email != "" || made.Payee.FirstName != "" || made.Payee.LastName != "" || made.Payee.PhoneNumber != "" ||
		made.Delivery.PhoneNumber != "" || made.Memo != "March invoice for [redacted]" {
		t.Errorf("replayed payee %+v, delivery %+v, memo %q: personal data was kept", made.Payee, made.Delivery, made.Memo)
	}

	// A request the cassette does not hold fails, and nothing is sent.
	ctx, limit := context.Background(), 3
	for what, call := range map[string]func(*api.Client) error{
		"a create of another amount": func(c *api.Client) error {
			_, err := c.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: 999, Payee: payee, Delivery: gen.Delivery{Method: gen.DeliveryMethodSms}})
			return err
		},
		"a list of another limit": func(c *api.Client) error {
			_, err := c.ListPayoutLinks(ctx, &gen.ListPayoutLinksParams{Limit: &limit})
			return err
		},
		"a get of another id": func(c *api.Client) error {
			_, err := c.GetPayoutLink(ctx, "3c90c3cc-0d44-4b50-8888-8dd25736052a")
			return err
		},
	} {
		rec, client = replayer(t, name, api.WithMaxRetries(0))
		if err := call(client); !errors.Is(err, cassette.ErrInteractionNotFound) {
			t.Errorf("%s: %v, want %v", what, err, cassette.ErrInteractionNotFound)
		}
		_ = rec.Stop()
	}
}

// TestRedaction: no credential in any encoding, no e-mail address, phone number or payee name is
// saved, wherever a server echoes them; the redacted cassette still replays.
func TestRedaction(t *testing.T) {
	const clientID, key = "pk_test_redaction", "dots-secret-4f?&=+/~"
	pair := clientID + ":" + key
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(pair))
	forbidden := map[string]string{
		"the Authorization value": auth,
		"the key":                 key,
		"the key, URL-escaped":    url.QueryEscape(key),
		"the key, path-escaped":   url.PathEscape(key),
		"the key, base64":         base64.StdEncoding.EncodeToString([]byte(key)),
		"the key, base64url":      base64.RawURLEncoding.EncodeToString([]byte(key)),
		"id:key, base64":          base64.StdEncoding.EncodeToString([]byte(pair)),
		"id:key, base64url":       base64.URLEncoding.EncodeToString([]byte(pair)),
		"id:key, raw base64":      base64.RawStdEncoding.EncodeToString([]byte(pair)),
		"id:key":                  pair,
		"the client id":           clientID,
		"a key it was not given":  "sk_live_0123456789abcdef",
		"the payee's e-mail":      *payee.Email,
		"another e-mail":          "ops@payoutkit.example",
		"the payee's phone":       *payee.PhoneNumber,
		"a phone in text":         "+1 415 555 0100",
		"the payee's first name":  *payee.FirstName,
		"the payee's last name":   *payee.LastName,
	}
	// A server that echoes everything: in headers, in strings of a link, and in an error.
	echo := func(r *http.Request) string {
		return strings.Join([]string{r.Header.Get("Authorization"), key, url.QueryEscape(key), url.PathEscape(key),
			base64.StdEncoding.EncodeToString([]byte(key)), base64.RawURLEncoding.EncodeToString([]byte(key)),
			base64.StdEncoding.EncodeToString([]byte(pair)), base64.URLEncoding.EncodeToString([]byte(pair)),
			base64.RawStdEncoding.EncodeToString([]byte(pair)), pair, "sk_live_0123456789abcdef"}, " ")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", echo(r))
		w.Header().Set("Set-Cookie", "session="+base64.StdEncoding.EncodeToString([]byte(pair)))
		var req map[string]any
		_ = json.NewDecoder(r.Body).Decode(&req)
		if r.Method == http.MethodGet {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "error_code": "invalid-email",
				"message": "jsmith@example.com (Jane Smith, +1 415 555 0100) is refused for " + echo(r)})
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": "3c90c3cc-0d44-4b50-8888-8dd25736052a", "amount": 1250, "status": "sent",
			"payee": req["payee"], "delivery": map[string]any{"method": "sms", "country_code": "1", "phone_number": "2025550139"},
			"memo": echo(r), "description": "for Jane Smith <jsmith@example.com>, ops@payoutkit.example",
			"metadata": map[string]any{"contact": "call +1 415 555 0100", "jsmith@example.com": "Smith"}})
	}))
	defer srv.Close()

	name := filepath.Join(t.TempDir(), "echo")
	calls := func(client *api.Client) (*gen.PayoutLink, error) {
		made, err := client.CreatePayoutLink(context.Background(), gen.CreatePayoutLinkRequest{Amount: 1250, Payee: payee,
			Delivery: gen.Delivery{Method: gen.DeliveryMethodSms}})
		if err != nil {
			t.Fatal("create:", err)
		}
		_, err = client.GetPayoutLink(context.Background(), made.ID)
		return made, err
	}
	rec, err := dotsvcr.New(name, recorder.ModeRecordOnly)
	if err != nil {
		t.Fatal(err)
	}
	client, err := api.NewClient(clientID, key, api.WithBaseURL(srv.URL+"/api"), api.WithHTTPClient(rec.GetDefaultClient()), api.WithMaxRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	made, getErr := calls(client)
	var apiErr *api.Error
	if !errors.As(getErr, &apiErr) || apiErr.StatusCode != http.StatusBadRequest {
		t.Fatalf("get: %v, want the echo server's 400", getErr)
	}
	if err := rec.Stop(); err != nil {
		t.Fatal("stop:", err)
	}
	raw, err := os.ReadFile(name + ".yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := string(raw)
	for what, s := range forbidden {
		if strings.Contains(file, s) {
			t.Errorf("the cassette holds %s (%q)", what, s)
		}
	}
	for _, re := range []*regexp.Regexp{regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+`), regexp.MustCompile(`(?i)authorization|cookie`)} {
		if m := re.FindString(file); m != "" {
			t.Errorf("the cassette holds %q", m)
		}
	}
	if !strings.Contains(file, "[redacted]") || !strings.Contains(file, "3c90c3cc-0d44-4b50-8888-8dd25736052a") {
		t.Errorf("the cassette lost more than the secrets:\n%s", file)
	}

	rec, client = replayer(t, name, api.WithMaxRetries(0))
	replayed, replayErr := calls(client)
	if err := rec.Stop(); err != nil {
		t.Fatal("stop:", err)
	}
	if !reflect.DeepEqual(made, replayed) || fmt.Sprint(getErr) != fmt.Sprint(replayErr) {
		t.Errorf("replay:\n%+v, %v\nwant\n%+v, %v", replayed, replayErr, made, getErr)
	}
}

// TestAnswersAreCheckedAgainstTheSpec: a replayed answer that breaks openapi.yaml fails the call
// and Stop, naming the field; known drift of the real API replays as it is.
func TestAnswersAreCheckedAgainstTheSpec(t *testing.T) {
	name := filepath.Join(t.TempDir(), "lifecycle")
	record(t, name)
	tests := []struct {
		name, field string
		value       any
		wantPath    string // "" for no violation
	}{
		{"amount as a string", "amount", "1250", "$.amount"},
		{"amount with a fraction", "amount", json.Number("1250.5"), "$.amount"},
		{"status not a string", "status", 5, "$.status"},
		{"id not a uuid", "id", "not-a-uuid", "$.id"},
		{"whole amount written as a float (known drift)", "amount", json.Number("1250.0"), ""},
		{"created without a zone (known drift)", "created", "2024-07-11T12:31:33.479437", ""},
		{"status the spec does not list yet (known drift)", "status", "funds_pending", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := filepath.Join(t.TempDir(), "edited")
			editAnswer(t, name, edited, 1, tt.field, tt.value) // interaction 1: the first get
			rec, client := replayer(t, edited, api.WithMaxRetries(0))
			ctx := context.Background()
			made, err := client.CreatePayoutLink(ctx, gen.CreatePayoutLinkRequest{Amount: 1250, Payee: payee,
				Delivery: gen.Delivery{Method: gen.DeliveryMethodSms}, Memo: api.Ptr("March invoice for Jane")})
			if err != nil {
				t.Fatal("create:", err)
			}
			_, err = client.GetPayoutLink(ctx, made.ID)
			stopErr := rec.Stop()
			var specErr *dotsvcr.SpecError
			switch {
			case tt.wantPath == "" && (err != nil || stopErr != nil):
				t.Errorf("get: %v; stop: %v; want no error", err, stopErr)
			case tt.wantPath == "":
			case !errors.As(err, &specErr) || specErr.Operation != "get-payout-link" || specErr.Interaction != 1:
				t.Errorf("get: %v, want a *dotsvcr.SpecError for interaction 1, get-payout-link", err)
			case len(specErr.Violations) != 1 || specErr.Violations[0].Path != tt.wantPath:
				t.Errorf("violations %v, want one at %s", specErr.Violations, tt.wantPath)
			case stopErr == nil || !strings.Contains(stopErr.Error(), tt.wantPath+":"):
				t.Errorf("stop: %v, want it to name %s", stopErr, tt.wantPath)
			}
		})
	}
}

// editAnswer copies the cassette from to to, with field of interaction n's answer set to value.
func editAnswer(t *testing.T, from, to string, n int, field string, value any) {
	t.Helper()
	c, err := cassette.Load(from)
	if err != nil {
		t.Fatal(err)
	}
	resp := &c.Interactions[n].Response
	var body map[string]any
	dec := json.NewDecoder(strings.NewReader(resp.Body))
	dec.UseNumber()
	if err := dec.Decode(&body); err != nil {
		t.Fatal(err)
	}
	body[field] = value
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body, resp.ContentLength = string(b), int64(len(b))
	c.Name, c.File, c.MarshalFunc = to, to+".yaml", yaml.Marshal
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
}

// TestRequestOutsideTheSpec: a recorded exchange with a path of no operation fails the call.
func TestRequestOutsideTheSpec(t *testing.T) {
	srv := mock.NewServer()
	defer srv.Close()
	rec, err := dotsvcr.New(filepath.Join(t.TempDir(), "other"), recorder.ModeRecordOnly)
	if err != nil {
		t.Fatal(err)
	}
	_, err = rec.GetDefaultClient().Get(srv.BaseURL() + "/v2/payouts")
	var specErr *dotsvcr.SpecError
	if !errors.As(err, &specErr) || specErr.Operation != "" || !strings.Contains(err.Error(), "GET /api/v2/payouts is no operation of openapi.yaml") {
		t.Errorf("get: %v, want a *dotsvcr.SpecError naming the request", err)
	}
	if err := rec.Stop(); !errors.As(err, &specErr) {
		t.Errorf("stop: %v, want the *dotsvcr.SpecError again", err)
	}
}

// TestNoDebugLog: go-vcr's debug log (VCR_DEBUG) prints the requests it matches, headers and
// credentials included; dotsvcr keeps it off.
func TestNoDebugLog(t *testing.T) {
	t.Setenv("VCR_DEBUG", "1")
	log, err := os.Create(filepath.Join(t.TempDir(), "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = log
	defer func() { os.Stderr = stderr }()
	name := filepath.Join(t.TempDir(), "debug")
	record(t, name)
	rec, client := replayer(t, name)
	lifecycle(t, client)
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	os.Stderr = stderr
	out, err := os.ReadFile(log.Name())
	if err != nil {
		t.Fatal(err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("pk_test_replay:sk_test_replay"))
	if len(out) > 0 {
		t.Errorf("with VCR_DEBUG set, the recorder wrote %d bytes to stderr (credentials: %v)", len(out), strings.Contains(string(out), auth))
	}
}
