package mock_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHappyPath(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := send(t, s, "POST", "/v2/payout-links", `{
		"amount": 1250,
		"payee": {"first_name": "Jane", "email": "jsmith@example.com"},
		"delivery": {"method": "email"},
		"memo": "March invoice",
		"metadata": {"order_id": "A-1001"},
		"idempotency_key": "8e4c2a9e-6f1b-4c3a-9d2e-5b7a1f0c3d4e"
	}`)
	if r.status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if id := r.header.Get("Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("Request-Id %q", id)
	}
	l := r.link(t)
	if !uuidV4.MatchString(l.ID) || l.Link != "https://my-sandbox.dots.dev/flow/"+l.ID {
		t.Errorf("id %q link %q", l.ID, l.Link)
	}
	if l.Amount != 1250 || l.Status != gen.PayoutLinkStatusSent || l.Memo != "March invoice" {
		t.Errorf("amount %d status %s memo %s", l.Amount, l.Status, l.Memo)
	}
	if l.Created.Location() != time.UTC || time.Since(l.Created.Time) > time.Minute {
		t.Errorf("created %v", l.Created)
	}
	if l.Delivery.Method != gen.DeliveryMethodEmail || l.Delivery.Email != "jsmith@example.com" || l.Delivery.PhoneNumber != "" {
		t.Errorf("delivery %+v", l.Delivery)
	}
	if l.ClaimedUserID != "" || l.TransferID != "" || !uuidV4.MatchString(l.FlowID) || l.FundingSource != gen.FundingSourceDotsBalance {
		t.Errorf("claimed %v transfer %v flow %v funding %q", l.ClaimedUserID, l.TransferID, l.FlowID, l.FundingSource)
	}
	if l.Metadata["order_id"] != "A-1001" {
		t.Errorf("metadata %+v", l.Metadata)
	}

	if g := send(t, s, "GET", "/v2/payout-links/"+l.ID, nil); g.status != 200 || !bytes.Equal(g.body, r.body) {
		t.Errorf("get: %d %s, want %s", g.status, g.body, r.body)
	}

	lr := send(t, s, "GET", "/v2/payout-links", nil)
	var page gen.PayoutLinkList
	if err := json.Unmarshal(lr.body, &page); err != nil || lr.status != 200 || len(page.Data) != 1 || page.Data[0].ID != l.ID || page.HasMore {
		t.Errorf("list: %d %s", lr.status, lr.body)
	}

	rd := send(t, s, "POST", "/v2/payout-links/"+l.ID+"/redeliver", nil)
	var res gen.RedeliverPayoutLinkResult
	if err := json.Unmarshal(rd.body, &res); err != nil || rd.status != 200 || !res.Redelivered || res.PayoutLink.ID != l.ID {
		t.Errorf("redeliver: %d %s", rd.status, rd.body)
	}

	c := send(t, s, "DELETE", "/v2/payout-links/"+l.ID, nil)
	if c.status != 200 || c.link(t).Status != gen.PayoutLinkStatusCanceled {
		t.Errorf("cancel: %d %s", c.status, c.body)
	}
	if got, _ := s.Link(l.ID); got.Status != gen.PayoutLinkStatusCanceled {
		t.Errorf("stored status %s", got.Status)
	}
	ops := []string{}
	for _, q := range s.Requests() {
		ops = append(ops, q.Operation+" "+q.Result())
	}
	want := "create-payout-link 201,get-payout-link 200,list-payout-links 200,redeliver-payout-link 200,cancel-payout-link 200"
	if strings.Join(ops, ",") != want {
		t.Errorf("requests %v\nwant %s", ops, want)
	}
}

func TestCreateDelivery(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tests := []struct {
		name               string
		body               string
		status             gen.PayoutLinkStatus
		method             gen.DeliveryMethod
		email, cc, phone   string
		metadata, funding  string
		wantRedeliverTrues int
	}{
		{"no delivery", `{"amount":1}`, "created", "link", "", "", "", `null`, "dots_balance", 5},
		{"link", `{"amount":1,"payee":{"email":"a@example.com"},"delivery":{"method":"link"}}`, "created", "link", "", "", "", `null`, "dots_balance", 5},
		{"sms", `{"amount":1,"payee":{"country_code":"1","phone_number":"2025550139"},"delivery":{"method":"sms","message":"hi"}}`, "sent", "sms", "", "1", "2025550139", `null`, "dots_balance", 4},
		{"email", `{"amount":1,"payee":{"email":"a@example.com","country_code":"1","phone_number":"2025550139"},"delivery":{"method":"email"}}`, "sent", "email", "a@example.com", "", "", `null`, "dots_balance", 4},
		{"all with both", `{"amount":1,"payee":{"email":"a@example.com","country_code":"44","phone_number":"7700900123"},"delivery":{"method":"all"}}`, "sent", "all", "a@example.com", "44", "7700900123", `null`, "dots_balance", 4},
		{"all without contacts", `{"amount":1,"delivery":{"method":"all"}}`, "created", "all", "", "", "", `null`, "dots_balance", 5},
		{"metadata string, ach", `{"amount":1,"metadata":"A-1001","funding_source":"ach","tax_exempt":true,"accounting_data":{"quickbooks_account_id":42}}`, "created", "link", "", "", "", `"A-1001"`, "ach", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, s, "POST", "/v2/payout-links", tt.body)
			if r.status != http.StatusCreated {
				t.Fatalf("%d %s", r.status, r.body)
			}
			l := r.link(t)
			d := l.Delivery
			if l.Status != tt.status || d.Method != tt.method {
				t.Errorf("status %s method %s", l.Status, d.Method)
			}
			for name, pair := range map[string][2]string{"email": {d.Email, tt.email}, "country_code": {d.CountryCode, tt.cc}, "phone_number": {d.PhoneNumber, tt.phone}} {
				if pair[0] != pair[1] {
					t.Errorf("delivery.%s = %s, want %q", name, pair[0], pair[1])
				}
			}
			var raw struct {
				Metadata json.RawMessage `json:"metadata"`
			}
			_ = json.Unmarshal(r.body, &raw)
			if string(raw.Metadata) != tt.metadata || string(l.FundingSource) != tt.funding {
				t.Errorf("metadata %s funding %s", raw.Metadata, l.FundingSource)
			}
			trues := 0
			for range mock.MaxDeliveries + 1 {
				var res gen.RedeliverPayoutLinkResult
				rd := send(t, s, "POST", "/v2/payout-links/"+l.ID+"/redeliver", nil)
				if err := json.Unmarshal(rd.body, &res); err != nil || rd.status != 200 {
					t.Fatalf("redeliver %d %s", rd.status, rd.body)
				}
				if res.Redelivered {
					trues++
				}
			}
			if trues != tt.wantRedeliverTrues {
				t.Errorf("redelivered %d times, want %d", trues, tt.wantRedeliverTrues)
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s := newServer(t, mock.WithClock(clock))
	const key = "3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b"

	first := create(t, s, `{"amount":100,"idempotency_key":"`+key+`"}`)
	if !first.Created.Equal(now) {
		t.Errorf("created %v, want the clock's %v", first.Created, now)
	}
	advance(23 * time.Hour)
	// A different body with the same key (in upper case) still gets the first link.
	again := create(t, s, `{"amount":999,"memo":"other","idempotency_key":"`+strings.ToUpper(key)+`"}`)
	if again.ID != first.ID || again.Amount != 100 || s.LinkCount() != 1 {
		t.Fatalf("second create made %s (amount %d), count %d; want %s", again.ID, again.Amount, s.LinkCount(), first.ID)
	}
	if l, ok := s.LinkByIdempotencyKey(key); !ok || l.ID != first.ID {
		t.Errorf("LinkByIdempotencyKey: %v %v", l.ID, ok)
	}
	// A replay answers the link as it is now.
	send(t, s, "DELETE", "/v2/payout-links/"+first.ID, nil)
	if l := create(t, s, `{"amount":100,"idempotency_key":"`+key+`"}`); l.Status != gen.PayoutLinkStatusCanceled {
		t.Errorf("replay after cancel: status %s", l.Status)
	}
	// Without a key every create makes a link.
	create(t, s, `{"amount":100}`)
	create(t, s, `{"amount":100,"idempotency_key":null}`)
	if s.LinkCount() != 3 {
		t.Errorf("count %d after two creates without key, want 3", s.LinkCount())
	}
	// After 24 hours the key is forgotten.
	advance(time.Hour)
	fresh := create(t, s, `{"amount":100,"idempotency_key":"`+key+`"}`)
	if fresh.ID == first.ID || s.LinkCount() != 4 {
		t.Errorf("expired key returned %s, count %d", fresh.ID, s.LinkCount())
	}
	if l, _ := s.LinkByIdempotencyKey(key); l.ID != fresh.ID {
		t.Errorf("LinkByIdempotencyKey after expiry: %s, want %s", l.ID, fresh.ID)
	}
	var attempts []int
	for _, r := range s.Requests() {
		if r.IdempotencyKey != "" {
			attempts = append(attempts, r.Attempt)
		}
	}
	if fmt.Sprint(attempts) != "[1 2 3 4]" {
		t.Errorf("attempts by key %v", attempts)
	}
}

func TestIdempotencyConcurrent(t *testing.T) {
	t.Parallel()
	var events atomic.Int32
	s := newServer(t, mock.WithEventHook(func(string, gen.PayoutLink) { events.Add(1) }))
	const n = 50
	body := `{"amount":500,"payee":{"email":"a@example.com"},"delivery":{"method":"email"},"idempotency_key":"0b7e3f6a-1c2d-4e5f-9a8b-7c6d5e4f3a2b"}`
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := trySend(t.Context(), s.Client(), s, "POST", "/v2/payout-links", body)
			if err == nil && r.status == http.StatusConflict {
				if code, _ := r.errorBody(t); code != "resource-busy" {
					t.Errorf("create %d: 409 %s, want resource-busy", i, code)
				}
				return // the key was in progress: nothing applied
			}
			if err != nil || r.status != http.StatusCreated {
				t.Errorf("create %d: %v %d %s", i, err, r.status, r.body)
				return
			}
			var l gen.PayoutLink
			_ = json.Unmarshal(r.body, &l)
			ids[i] = l.ID
		})
	}
	wg.Wait()
	made := ""
	for i, id := range ids {
		if id != "" && made != "" && id != made {
			t.Fatalf("create %d got %s, another got %s", i, id, made)
		}
		if id != "" {
			made = id
		}
	}
	if made == "" {
		t.Fatal("no create succeeded")
	}
	s.WaitEvents()
	if s.LinkCount() != 1 || events.Load() != 1 {
		t.Errorf("%d links and %d events, want 1 and 1", s.LinkCount(), events.Load())
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	const total = 25
	var made []string // oldest first
	for i := range total {
		made = append(made, create(t, s, fmt.Sprintf(`{"amount":%d}`, i+1)).ID)
	}
	newestFirst := make([]string, total)
	for i, id := range made {
		newestFirst[total-1-i] = id
	}
	list := func(query string) (ids []string, more bool) {
		t.Helper()
		r := send(t, s, "GET", "/v2/payout-links"+query, nil)
		var p gen.PayoutLinkList
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 {
			t.Fatalf("list%s: %d %s", query, r.status, r.body)
		}
		if !bytes.Contains(r.body, []byte(`"data":[`)) {
			t.Errorf("list%s has no data array: %s", query, r.body)
		}
		for _, l := range p.Data {
			ids = append(ids, l.ID)
		}
		return ids, p.HasMore
	}

	// Forward, newest first.
	var seen []string
	var pages []string
	query := "?limit=10"
	for {
		ids, more := list(query)
		seen = append(seen, ids...)
		pages = append(pages, fmt.Sprintf("%d/%v", len(ids), more))
		if !more {
			break
		}
		query = "?limit=10&starting_after=" + ids[len(ids)-1]
	}
	if strings.Join(pages, " ") != "10/true 10/true 5/false" || strings.Join(seen, ",") != strings.Join(newestFirst, ",") {
		t.Errorf("forward pages %v", pages)
	}

	// Backward from the oldest link.
	seen, pages = nil, nil
	query = "?limit=10&ending_before=" + newestFirst[total-1]
	for {
		ids, more := list(query)
		seen = append(ids, seen...)
		pages = append(pages, fmt.Sprintf("%d/%v", len(ids), more))
		if !more {
			break
		}
		query = "?limit=10&ending_before=" + ids[0]
	}
	if strings.Join(pages, " ") != "10/true 10/true 4/false" || strings.Join(seen, ",") != strings.Join(newestFirst[:total-1], ",") {
		t.Errorf("backward pages %v", pages)
	}

	tests := []struct {
		query string
		want  []string
		more  bool
	}{
		{"", newestFirst[:mock.DefaultLimit], true},
		{"?limit=100", newestFirst, false},
		{"?limit=3&starting_after=" + newestFirst[20], newestFirst[21:24], true},
		{"?limit=3&ending_before=" + newestFirst[4], newestFirst[1:4], true},
		{"?limit=3&ending_before=" + newestFirst[3], newestFirst[0:3], false},
		{"?starting_after=" + newestFirst[total-1], nil, false},
		{"?ending_before=" + newestFirst[0], nil, false},
	}
	for _, tt := range tests {
		ids, more := list(tt.query)
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") || more != tt.more {
			t.Errorf("list%s: %d ids, more %v; want %d, %v", tt.query, len(ids), more, len(tt.want), tt.more)
		}
	}
}

func TestCancelAndClaim(t *testing.T) {
	t.Parallel()
	type ev struct{ typ, id string }
	var mu sync.Mutex
	var events []ev
	s := newServer(t, mock.WithEventHook(func(typ string, l gen.PayoutLink) {
		mu.Lock()
		events = append(events, ev{typ, l.ID + " " + string(l.Status)})
		mu.Unlock()
	}))
	a := create(t, s, `{"amount":1,"payee":{"email":"a@example.com"},"delivery":{"method":"email"}}`)
	b := create(t, s, `{"amount":2}`)
	c := create(t, s, `{"amount":3}`)

	claimed, err := s.Claim(a.ID)
	if err != nil || claimed.Status != gen.PayoutLinkStatusClaimed || !uuidV4.MatchString(claimed.ClaimedUserID) {
		t.Fatalf("Claim: %v %s %v", err, claimed.Status, claimed.ClaimedUserID)
	}
	if again, err := s.Claim(a.ID); err != nil || again.ClaimedUserID != claimed.ClaimedUserID {
		t.Errorf("claiming twice: %v, user %s", err, again.ClaimedUserID)
	}
	if _, err := s.Claim("3c90c3cc-0d44-4b50-8888-8dd25736052a"); err != mock.ErrNotFound {
		t.Errorf("Claim unknown: %v", err)
	}

	tests := []struct {
		name, method, path string
		status             int
		code               string
		wantStatus         gen.PayoutLinkStatus
	}{
		{"cancel", "DELETE", "/v2/payout-links/" + b.ID, 200, "", "canceled"},
		{"cancel again", "DELETE", "/v2/payout-links/" + b.ID, 200, "", "canceled"},
		{"cancel claimed", "DELETE", "/v2/payout-links/" + a.ID, 409, "invalid-state", ""},
		{"cancel unknown", "DELETE", "/v2/payout-links/3c90c3cc-0d44-4b50-8888-8dd25736052a", 404, "not-found", ""},
		{"get unknown", "GET", "/v2/payout-links/not-a-uuid", 404, "not-found", ""},
		{"redeliver unknown", "POST", "/v2/payout-links/3c90c3cc-0d44-4b50-8888-8dd25736052a/redeliver", 404, "not-found", ""},
		{"claim over http", "POST", "@/_mock/payout-links/" + c.ID + "/claim", 200, "", "claimed"},
		{"claim canceled over http", "POST", "@/_mock/payout-links/" + b.ID + "/claim", 409, "invalid-state", ""},
		{"claim unknown over http", "POST", "@/_mock/payout-links/3c90c3cc-0d44-4b50-8888-8dd25736052a/claim", 404, "not-found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, s, tt.method, tt.path, nil)
			if r.status != tt.status {
				t.Fatalf("%d %s", r.status, r.body)
			}
			if tt.code != "" {
				if code, _ := r.errorBody(t); code != tt.code {
					t.Errorf("error_code %q, want %q", code, tt.code)
				}
				return
			}
			if l := r.link(t); l.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", l.Status, tt.wantStatus)
			}
		})
	}
	// A canceled or claimed link is not redelivered.
	for _, id := range []string{a.ID, b.ID} {
		var res gen.RedeliverPayoutLinkResult
		_ = json.Unmarshal(send(t, s, "POST", "/v2/payout-links/"+id+"/redeliver", nil).body, &res)
		if res.Redelivered {
			t.Errorf("redelivered %s link", res.PayoutLink.Status)
		}
	}
	s.WaitEvents()
	mu.Lock()
	defer mu.Unlock()
	want := []ev{
		{mock.EventSent, a.ID + " sent"},
		{mock.EventClaimed, a.ID + " claimed"},
		{mock.EventUpdated, b.ID + " canceled"},
		{mock.EventClaimed, c.ID + " claimed"},
	}
	if fmt.Sprint(events) != fmt.Sprint(want) {
		t.Errorf("events\n%v\nwant\n%v", events, want)
	}
}

func TestInvalidRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	known := create(t, s, `{"amount":1}`)
	tests := []struct {
		name, method, path, body string
		status                   int
		code                     string
		mention                  string // the message names this
	}{
		{"amount zero", "POST", "/v2/payout-links", `{"amount":0}`, 400, "invalid-input", "$.amount"},
		{"amount missing", "POST", "/v2/payout-links", `{"memo":"x"}`, 400, "invalid-input", "amount"},
		{"amount with fraction", "POST", "/v2/payout-links", `{"amount":12.5}`, 400, "invalid-input", "$.amount"},
		{"amount with a fraction", "POST", "/v2/payout-links", `{"amount":1250.5}`, 400, "invalid-input", "amount"},
		{"unknown field", "POST", "/v2/payout-links", `{"amount":1,"colour":"red"}`, 400, "invalid-input", "colour"},
		{"bad uuid", "POST", "/v2/payout-links", `{"amount":1,"user_id":"nope"}`, 400, "invalid-input", "$.user_id"},
		{"bad idempotency key", "POST", "/v2/payout-links", `{"amount":1,"idempotency_key":"k1"}`, 400, "invalid-input", "$.idempotency_key"},
		{"bad email", "POST", "/v2/payout-links", `{"amount":1,"payee":{"email":"nope"}}`, 400, "invalid-input", "$.payee.email"},
		{"bad method", "POST", "/v2/payout-links", `{"amount":1,"delivery":{"method":"fax"}}`, 400, "invalid-input", "$.delivery.method"},
		{"not json", "POST", "/v2/payout-links", `amount=1`, 400, "invalid-input", ""},
		{"no body", "POST", "/v2/payout-links", ``, 400, "invalid-input", ""},
		{"sms without phone", "POST", "/v2/payout-links", `{"amount":1,"delivery":{"method":"sms"}}`, 400, "invalid-phone-number", "$.payee.phone_number"},
		{"email without email", "POST", "/v2/payout-links", `{"amount":1,"delivery":{"method":"email"}}`, 400, "invalid-email", "$.payee.email"},
		{"limit 0", "GET", "/v2/payout-links?limit=0", "", 400, "invalid-input", "query limit"},
		{"limit 101", "GET", "/v2/payout-links?limit=101", "", 400, "invalid-input", "query limit"},
		{"limit word", "GET", "/v2/payout-links?limit=ten", "", 400, "invalid-input", "query limit"},
		{"cursor not uuid", "GET", "/v2/payout-links?starting_after=abc", "", 400, "invalid-input", "query starting_after"},
		{"unknown cursor", "GET", "/v2/payout-links?ending_before=3c90c3cc-0d44-4b50-8888-8dd25736052a", "", 400, "invalid-input", "query ending_before"},
		{"both cursors", "GET", "/v2/payout-links?starting_after=" + known.ID + "&ending_before=" + known.ID, "", 400, "invalid-input", "starting_after"},
		{"unknown path", "GET", "/v2/payouts", "", 404, "not-found", ""},
		{"path without /api", "GET", "@/v2/payout-links", "", 404, "not-found", ""},
		{"path with extra prefix", "GET", "/x/v2/payout-links", "", 404, "not-found", ""},
		{"wrong method", "PUT", "/v2/payout-links/" + known.ID, "", 405, "method-not-allowed", "DELETE, GET"}, // ServeMux's Allow
		{"bad fault header", "GET", "/v2/payout-links", "", 400, "invalid-input", "X-Mock-Fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body any
			if tt.body != "" || tt.method == "POST" {
				body = tt.body
			}
			var opts []opt
			if tt.name == "bad fault header" {
				opts = append(opts, header("X-Mock-Fault", "explode"))
			}
			r := send(t, s, tt.method, tt.path, body, opts...)
			if r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
			code, msg := r.errorBody(t)
			if code != tt.code || !strings.Contains(msg, tt.mention) {
				t.Errorf("error_code %q message %q; want %q naming %q", code, msg, tt.code, tt.mention)
			}
		})
	}
	if s.LinkCount() != 1 {
		t.Errorf("invalid requests made links: %d", s.LinkCount())
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	open := newServer(t)
	strict := newServer(t, mock.WithCredentials(testClientID, testAPIKey))
	tests := []struct {
		name   string
		s      *mock.Server
		opts   []opt
		status int
	}{
		{"no header", open, []opt{noAuth()}, 401},
		{"bearer", open, []opt{header("Authorization", "Bearer "+testAPIKey)}, 401},
		{"not base64", open, []opt{header("Authorization", "Basic !!!")}, 401},
		{"empty client id", open, []opt{basic("", testAPIKey)}, 401},
		{"any credentials", open, []opt{basic("pk_test_other", "sk_test_other")}, 201},
		{"app id too", open, []opt{header("Api-App-Id", "3c90c3cc-0d44-4b50-8888-8dd25736052a")}, 201},
		{"strict, right", strict, nil, 201},
		{"strict, wrong key", strict, []opt{basic(testClientID, "sk_test_wrong")}, 401},
		{"strict, wrong id", strict, []opt{basic("pk_test_wrong", testAPIKey)}, 401},
		{"strict, none", strict, []opt{noAuth()}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Auth is checked before the body: the invalid body only matters once auth passes.
			body := `{"amount":1}`
			r := send(t, tt.s, "POST", "/v2/payout-links", body, tt.opts...)
			if r.status != tt.status {
				t.Fatalf("%d %s, want %d", r.status, r.body, tt.status)
			}
			if tt.status == 401 {
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if code, _ := r.errorBody(t); code != "unauthorized" {
					t.Errorf("error_code %q", code)
				}
				if bytes.Contains(r.body, []byte(testAPIKey)) || bytes.Contains(r.body, []byte("sk_test")) {
					t.Errorf("401 body echoes a credential: %s", r.body)
				}
			}
		})
	}
	if r := send(t, open, "POST", "/v2/payout-links", `{"amount":0}`, noAuth()); r.status != 401 {
		t.Errorf("no auth and a bad body: %d, want 401 first", r.status)
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := newServer(t, mock.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	create(t, s, `{"amount":1}`)
	send(t, s, "GET", "/v2/payout-links", nil, header("X-Mock-Fault", "503"))
	send(t, s, "GET", "/v2/payout-links", nil, noAuth())
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), out)
	}
	for i, want := range []string{"status=201", "status=503", "status=401"} {
		for _, part := range []string{want, "method=", "path=/api/v2/payout-links", "duration="} {
			if !strings.Contains(lines[i], part) {
				t.Errorf("line %d lacks %q: %s", i, part, lines[i])
			}
		}
	}
	if strings.Contains(out, testAPIKey) || strings.Contains(out, testClientID) || strings.Contains(out, "Basic") {
		t.Errorf("the log holds credentials:\n%s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func TestHandlerStandalone(t *testing.T) {
	t.Parallel()
	s := mock.New()
	defer s.Close()
	if s.URL != "" || s.BaseURL() != "/api" {
		t.Errorf("URL %q BaseURL %q", s.URL, s.BaseURL())
	}
	req := httptest.NewRequest("POST", "/api/v2/payout-links", strings.NewReader(`{"amount":42}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testClientID, testAPIKey)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusCreated || s.LinkCount() != 1 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var l gen.PayoutLink
	_ = json.Unmarshal(w.Body.Bytes(), &l)
	req = httptest.NewRequest("POST", "/_mock/payout-links/"+l.ID+"/claim", nil)
	req.SetBasicAuth(testClientID, testAPIKey)
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"status":"claimed"`) {
		t.Fatalf("claim: %d %s", w.Code, w.Body)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	create(t, s, `{"amount":1,"idempotency_key":"3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b"}`)
	s.FailNext(5, mock.Fault{Status: 503})
	s.Reset()
	if s.LinkCount() != 0 || len(s.Requests()) != 0 || len(s.Links()) != 0 {
		t.Fatalf("Reset left %d links, %d requests", s.LinkCount(), len(s.Requests()))
	}
	if _, ok := s.LinkByIdempotencyKey("3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b"); ok {
		t.Error("Reset kept the key")
	}
	create(t, s, `{"amount":1,"idempotency_key":"3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b"}`)
	if rs := s.Requests(); len(rs) != 1 || rs[0].Seq != 1 || rs[0].Attempt != 1 || rs[0].Fault != "" {
		t.Errorf("after Reset: %+v", rs)
	}
}

func TestLinksAreCopies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	l := create(t, s, `{"amount":1,"payee":{"email":"a@example.com"},"metadata":{"k":"v"}}`)
	got := s.Links()
	got[0].Payee.Email = "changed@example.com"
	got[0].Metadata["k"] = "changed"
	got[0].Status = gen.PayoutLinkStatusFailed
	again, _ := s.Link(l.ID)
	if again.Payee.Email != "a@example.com" || again.Metadata["k"] != "v" || again.Status != gen.PayoutLinkStatusCreated {
		t.Errorf("changing a snapshot changed the server: %+v", again)
	}
}
