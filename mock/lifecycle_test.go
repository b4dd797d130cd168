package mock_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
	"github.com/payoutkit/dots-go/webhook"
)

// receiver is a webhook endpoint that verifies each delivery and keeps what it got, as
// "type id status transfer?" lines.
type receiver struct {
	url    string
	secret string
	mu     sync.Mutex
	got    []string
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{secret: "whsec_" + base64.StdEncoding.EncodeToString([]byte("lifecycle-test-secret-not-real"))}
	v, err := webhook.NewVerifier(rc.secret)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(webhook.Handler(v, func(_ context.Context, ev webhook.Event) error {
		line := string(ev.Type) + " " + ev.PayoutLinkID
		if l := ev.PayoutLink; l != nil {
			line += " " + string(l.Status) + fmt.Sprintf(" transfer=%v", l.TransferID != "")
		}
		rc.mu.Lock()
		rc.got = append(rc.got, line)
		rc.mu.Unlock()
		return nil
	}))
	t.Cleanup(ts.Close)
	rc.url = ts.URL
	return rc
}

// take returns what arrived since the last call.
func (rc *receiver) take() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	got := rc.got
	rc.got = nil
	return got
}

// TestLifecycleTriggers drives claim, pay-out and expire over HTTP, as a test in any language
// would, and checks each status change and the webhook that follows it.
func TestLifecycleTriggers(t *testing.T) {
	t.Parallel()
	rc := newReceiver(t)
	s := newServer(t, mock.WithWebhooks(rc.url, rc.secret))
	newLink := func() string {
		t.Helper()
		id := create(t, s, gen.CreatePayoutLinkRequest{Amount: 1250, Payee: gen.Payee{Email: api.Ptr("jsmith@example.com")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}).ID
		s.WaitEvents()
		if got := rc.take(); len(got) != 1 || !strings.HasPrefix(got[0], "payout_link.sent "+id) {
			t.Fatalf("after create: %v", got)
		}
		return id
	}
	a, b, c, d := newLink(), newLink(), newLink(), newLink()
	call(t, s, route(gen.NewCancelPayoutLinkRequest(genBase, d)), nil)
	s.WaitEvents()
	rc.take()

	const unknown = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
	steps := []struct {
		name, id, trigger string
		status            int
		code              string
		linkStatus        gen.PayoutLinkStatus
		transfer          bool
		events            []string
	}{
		{"pay out a sent link: claimed first", a, "pay-out", 200, "", "claimed", true,
			[]string{"payout_link.claimed " + a + " claimed transfer=false", "payout_link.paid_out " + a + " claimed transfer=true"}},
		{"pay out again: unchanged, no event", a, "pay-out", 200, "", "claimed", true, nil},
		{"claim", b, "claim", 200, "", "claimed", false, []string{"payout_link.claimed " + b + " claimed transfer=false"}},
		{"pay out a claimed link", b, "pay-out", 200, "", "claimed", true, []string{"payout_link.paid_out " + b + " claimed transfer=true"}},
		{"expire a paid-out link", b, "expire", 409, "invalid-state", "", false, nil},
		{"expire", c, "expire", 200, "", "expired", false, []string{"payout_link.updated " + c}},
		{"expire again: unchanged, no event", c, "expire", 200, "", "expired", false, nil},
		{"claim an expired link", c, "claim", 409, "invalid-state", "", false, nil},
		{"pay out an expired link", c, "pay-out", 409, "invalid-state", "", false, nil},
		{"expire a canceled link", d, "expire", 409, "invalid-state", "", false, nil},
		{"pay out a canceled link", d, "pay-out", 409, "invalid-state", "", false, nil},
		{"pay out an unknown link", unknown, "pay-out", 404, "not-found", "", false, nil},
		{"expire an unknown link", unknown, "expire", 404, "not-found", "", false, nil},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := send(t, s, "POST", "@/_mock/payout-links/"+st.id+"/"+st.trigger, nil) // not in the spec
			if r.status != st.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, st.status)
			}
			if st.code != "" {
				if code, _ := r.errorBody(t); code != st.code {
					t.Errorf("error_code %q, want %q", code, st.code)
				}
			} else {
				l := r.link(t)
				if l.Status != st.linkStatus || (l.TransferID != "") != st.transfer || (st.transfer && !uuidV4.MatchString(l.TransferID)) {
					t.Errorf("status %s transfer_id %q, want %s and a transfer %v", l.Status, l.TransferID, st.linkStatus, st.transfer)
				}
				if st.linkStatus == gen.PayoutLinkStatusClaimed && !uuidV4.MatchString(l.ClaimedUserID) {
					t.Errorf("claimed without claimed_user_id: %q", l.ClaimedUserID)
				}
				if g := call(t, s, route(gen.NewGetPayoutLinkRequest(genBase, st.id)), nil); string(g.body) != string(r.body) {
					t.Errorf("get after the trigger answered\n%s\nthe trigger\n%s", g.body, r.body)
				}
			}
			s.WaitEvents()
			if got := rc.take(); strings.Join(got, "\n") != strings.Join(st.events, "\n") {
				t.Errorf("webhooks\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(st.events, "\n"))
			}
		})
	}
	// An expired link can be neither canceled nor redelivered.
	if r := call(t, s, route(gen.NewCancelPayoutLinkRequest(genBase, c)), nil); r.status != http.StatusConflict {
		t.Errorf("cancel an expired link: %d", r.status)
	}
	var res gen.RedeliverPayoutLinkResult
	if r := call(t, s, route(gen.NewRedeliverPayoutLinkRequest(genBase, c)), nil); r.status != 200 || json.Unmarshal(r.body, &res) != nil ||
		res.Redelivered || res.PayoutLink.ID != c || res.PayoutLink.Status != gen.PayoutLinkStatusExpired {
		t.Errorf("redeliver an expired link: %d %s", r.status, r.body)
	}
	// The triggers' routing: their paths are the mock's own, written out.
	if r := send(t, s, "GET", "@/_mock/payout-links/"+c+"/expire", nil); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET on a trigger: %d", r.status)
	}
	if r := send(t, s, "POST", "@/_mock/payout-links/"+c+"/explode", nil); r.status != http.StatusNotFound {
		t.Errorf("an unknown trigger: %d", r.status)
	}
	var ops []string
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Operation, "mock-") {
			ops = append(ops, r.Operation)
		}
	}
	if !strings.Contains(strings.Join(ops, " "), "mock-pay-out mock-pay-out mock-claim mock-pay-out mock-expire mock-expire") {
		t.Errorf("recorded operations %v", ops)
	}
}

// TestLifecycleInGo drives the same changes through the Server's methods.
func TestLifecycleInGo(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []string
	s := newServer(t, mock.WithEventHook(func(typ string, l gen.PayoutLink) {
		mu.Lock()
		events = append(events, typ+" "+string(l.Status))
		mu.Unlock()
	}))
	a := create(t, s, gen.CreatePayoutLinkRequest{Amount: 1})
	b := create(t, s, gen.CreatePayoutLinkRequest{Amount: 2})

	paid, err := s.PayOut(a.ID)
	if err != nil || paid.Status != gen.PayoutLinkStatusClaimed || paid.TransferID == "" || paid.ClaimedUserID == "" {
		t.Fatalf("PayOut: %v %+v", err, paid)
	}
	if again, err := s.PayOut(a.ID); err != nil || again.TransferID != paid.TransferID {
		t.Errorf("PayOut twice: %v, transfer %s then %s", err, paid.TransferID, again.TransferID)
	}
	if l, err := s.Expire(b.ID); err != nil || l.Status != gen.PayoutLinkStatusExpired {
		t.Errorf("Expire: %v %s", err, l.Status)
	}
	if _, err := s.Expire(a.ID); !errors.Is(err, mock.ErrInvalidState) {
		t.Errorf("Expire a paid-out link: %v", err)
	}
	if _, err := s.Claim(b.ID); !errors.Is(err, mock.ErrInvalidState) {
		t.Errorf("Claim an expired link: %v", err)
	}
	for _, fn := range []func(string) (gen.PayoutLink, error){s.PayOut, s.Expire, s.Claim} {
		if _, err := fn("3c90c3cc-0d44-4b50-8888-8dd25736052a"); err != mock.ErrNotFound {
			t.Errorf("an unknown id: %v", err)
		}
	}
	s.WaitEvents()
	mu.Lock()
	defer mu.Unlock()
	want := "payout_link.claimed claimed,payout_link.paid_out claimed,payout_link.updated expired"
	if strings.Join(events, ",") != want {
		t.Errorf("events %v, want %s", events, want)
	}
}

// TestTriggersNeedCredentials checks that the /_mock endpoints ask for the same Basic
// credentials as the API, so that nobody who can reach a public mock can wipe it or move its
// links on: without them, or with the wrong ones under WithCredentials, they answer 401 and
// change nothing.
func TestTriggersNeedCredentials(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		opts    []mock.Option
		auth    opt
		allowed bool
	}{
		{"no credentials", nil, noAuth(), false},
		{"no client id", nil, basic("", testAPIKey), false},
		{"not Basic", nil, header("Authorization", "Bearer "+testAPIKey), false},
		{"any Basic credentials", nil, basic("pk_test_someone", ""), true},
		{"configured, none", []mock.Option{mock.WithCredentials(testClientID, testAPIKey)}, noAuth(), false},
		{"configured, wrong key", []mock.Option{mock.WithCredentials(testClientID, testAPIKey)}, basic(testClientID, "sk_test_wrong"), false},
		{"configured, wrong id", []mock.Option{mock.WithCredentials(testClientID, testAPIKey)}, basic("pk_test_other", testAPIKey), false},
		{"configured, right", []mock.Option{mock.WithCredentials(testClientID, testAPIKey)}, basic(testClientID, testAPIKey), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t, tt.opts...)
			for _, trigger := range []string{"claim", "pay-out", "expire", "reset"} {
				l := create(t, s, gen.CreatePayoutLinkRequest{Amount: 100})
				path := "@/_mock/payout-links/" + l.ID + "/" + trigger // not in the spec
				if trigger == "reset" {
					path = "@/_mock/reset"
				}
				r := send(t, s, "POST", path, nil, tt.auth)
				after, kept := s.Link(l.ID)
				if tt.allowed {
					if r.status >= 300 || trigger == "reset" && kept || trigger != "reset" && reflect.DeepEqual(after, l) {
						t.Errorf("%s: %d %s, link kept %v and changed %v", trigger, r.status, r.body, kept, !reflect.DeepEqual(after, l))
					}
					continue
				}
				if r.status != http.StatusUnauthorized || r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("%s: %d %s, want 401 with WWW-Authenticate", trigger, r.status, r.body)
				} else if code, _ := r.errorBody(t); code != "unauthorized" {
					t.Errorf("%s: error_code %q", trigger, code)
				}
				if !kept || !reflect.DeepEqual(after, l) {
					t.Errorf("%s refused, yet the link is kept %v and now %+v", trigger, kept, after)
				}
			}
		})
	}
}
