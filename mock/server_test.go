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

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/api"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/mock"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestHappyPath(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := call(t, s, opCreate, gen.CreatePayoutLinkRequest{
		Amount:         1250,
		Payee:          gen.Payee{FirstName: api.Ptr("Jane"), Email: api.Ptr("jsmith@example.com")},
		Delivery:       gen.Delivery{Method: gen.DeliveryMethodEmail},
		Memo:           api.Ptr("March invoice"),
		Metadata:       dots.Metadata{"order_id": "A-1001"},
		IdempotencyKey: api.Ptr("8e4c2a9e-6f1b-4c3a-9d2e-5b7a1f0c3d4e"),
	})
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

	if g := call(t, s, route(gen.NewGetPayoutLinkRequest(genBase, l.ID)), nil); g.status != 200 || !bytes.Equal(g.body, r.body) {
		t.Errorf("get: %d %s, want %s", g.status, g.body, r.body)
	}

	lr := call(t, s, opList, nil)
	var page gen.PayoutLinkList
	if err := json.Unmarshal(lr.body, &page); err != nil || lr.status != 200 || len(page.Data) != 1 || page.Data[0].ID != l.ID || page.HasMore {
		t.Errorf("list: %d %s", lr.status, lr.body)
	}

	rd := call(t, s, route(gen.NewRedeliverPayoutLinkRequest(genBase, l.ID)), nil)
	var res gen.RedeliverPayoutLinkResult
	if err := json.Unmarshal(rd.body, &res); err != nil || rd.status != 200 || !res.Redelivered || res.PayoutLink.ID != l.ID {
		t.Errorf("redeliver: %d %s", rd.status, rd.body)
	}

	c := call(t, s, route(gen.NewCancelPayoutLinkRequest(genBase, l.ID)), nil)
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
		body               gen.CreatePayoutLinkRequest
		status             gen.PayoutLinkStatus
		method             gen.DeliveryMethod
		email, cc, phone   string
		metadata, funding  string
		wantRedeliverTrues int
	}{
		{"no delivery", gen.CreatePayoutLinkRequest{Amount: 1}, "created", "link", "", "", "", `null`, "dots_balance", 5},
		{"link", gen.CreatePayoutLinkRequest{Amount: 1, Payee: gen.Payee{Email: api.Ptr("a@example.com")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodLink}}, "created", "link", "", "", "", `null`, "dots_balance", 5},
		{"sms", gen.CreatePayoutLinkRequest{Amount: 1, Payee: gen.Payee{CountryCode: api.Ptr("1"), PhoneNumber: api.Ptr("2025550139")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodSms, Message: api.Ptr("hi")}}, "sent", "sms", "", "1", "2025550139", `null`, "dots_balance", 4},
		{"email", gen.CreatePayoutLinkRequest{Amount: 1, Payee: gen.Payee{Email: api.Ptr("a@example.com"), CountryCode: api.Ptr("1"), PhoneNumber: api.Ptr("2025550139")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}, "sent", "email", "a@example.com", "", "", `null`, "dots_balance", 4},
		{"all with both", gen.CreatePayoutLinkRequest{Amount: 1, Payee: gen.Payee{Email: api.Ptr("a@example.com"), CountryCode: api.Ptr("44"), PhoneNumber: api.Ptr("7700900123")},
			Delivery: gen.Delivery{Method: gen.DeliveryMethodAll}}, "sent", "all", "a@example.com", "44", "7700900123", `null`, "dots_balance", 4},
		{"all without contacts", gen.CreatePayoutLinkRequest{Amount: 1, Delivery: gen.Delivery{Method: gen.DeliveryMethodAll}},
			"created", "all", "", "", "", `null`, "dots_balance", 5},
		{"metadata string, ach", gen.CreatePayoutLinkRequest{Amount: 1, Metadata: dots.Metadata{dots.MetadataText: "A-1001"}, FundingSource: gen.FundingSourceAch,
			TaxExempt: api.Ptr(true), AccountingData: gen.AccountingData{QuickbooksAccountID: api.Ptr(dots.Int(42))}}, "created", "link", "", "", "", `"A-1001"`, "ach", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, opCreate, tt.body)
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
			// The metadata as written: null, not left out, when the create had none.
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
				rd := call(t, s, route(gen.NewRedeliverPayoutLinkRequest(genBase, l.ID)), nil)
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

	first := create(t, s, gen.CreatePayoutLinkRequest{Amount: 100, IdempotencyKey: api.Ptr(key)})
	if !first.Created.Equal(now) {
		t.Errorf("created %v, want the clock's %v", first.Created, now)
	}
	advance(23 * time.Hour)
	// A different body with the same key (in upper case) still gets the first link.
	again := create(t, s, gen.CreatePayoutLinkRequest{Amount: 999, Memo: api.Ptr("other"), IdempotencyKey: api.Ptr(strings.ToUpper(key))})
	if again.ID != first.ID || again.Amount != 100 || s.LinkCount() != 1 {
		t.Fatalf("second create made %s (amount %d), count %d; want %s", again.ID, again.Amount, s.LinkCount(), first.ID)
	}
	if l, ok := s.LinkByIdempotencyKey(key); !ok || l.ID != first.ID {
		t.Errorf("LinkByIdempotencyKey: %v %v", l.ID, ok)
	}
	// A replay answers the link as it is now.
	call(t, s, route(gen.NewCancelPayoutLinkRequest(genBase, first.ID)), nil)
	if l := create(t, s, gen.CreatePayoutLinkRequest{Amount: 100, IdempotencyKey: api.Ptr(key)}); l.Status != gen.PayoutLinkStatusCanceled {
		t.Errorf("replay after cancel: status %s", l.Status)
	}
	// Without a key every create makes a link.
	create(t, s, gen.CreatePayoutLinkRequest{Amount: 100})
	// Written out: a null key, which the generated type cannot send (it leaves a nil key out).
	if r := call(t, s, opCreate, `{"amount":100,"idempotency_key":null}`); r.status != http.StatusCreated {
		t.Fatalf("create with a null key: %d %s", r.status, r.body)
	} else {
		r.link(t)
	}
	if s.LinkCount() != 3 {
		t.Errorf("count %d after two creates without key, want 3", s.LinkCount())
	}
	// After 24 hours the key is forgotten.
	advance(time.Hour)
	fresh := create(t, s, gen.CreatePayoutLinkRequest{Amount: 100, IdempotencyKey: api.Ptr(key)})
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
	body := gen.CreatePayoutLinkRequest{Amount: 500, Payee: gen.Payee{Email: api.Ptr("a@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}, IdempotencyKey: api.Ptr("0b7e3f6a-1c2d-4e5f-9a8b-7c6d5e4f3a2b")}
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := tryCall(t.Context(), s.Client(), s, opCreate, body)
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
		made = append(made, create(t, s, gen.CreatePayoutLinkRequest{Amount: dots.Amount(i + 1)}).ID)
	}
	newestFirst := make([]string, total)
	for i, id := range made {
		newestFirst[total-1-i] = id
	}
	at := func(p gen.ListPayoutLinksParams) endpoint { return route(gen.NewListPayoutLinksRequest(genBase, &p)) }
	list := func(params gen.ListPayoutLinksParams) (ids []string, more bool) {
		t.Helper()
		e := at(params)
		r := call(t, s, e, nil)
		var p gen.PayoutLinkList
		if err := json.Unmarshal(r.body, &p); err != nil || r.status != 200 {
			t.Fatalf("%s: %d %s", e.path, r.status, r.body)
		}
		// The wire form: an array, even an empty one, where a decoded nil would pass for it.
		if !bytes.Contains(r.body, []byte(`"data":[`)) {
			t.Errorf("%s has no data array: %s", e.path, r.body)
		}
		for _, l := range p.Data {
			ids = append(ids, l.ID)
		}
		return ids, p.HasMore
	}

	// Forward, newest first.
	var seen []string
	var pages []string
	params := gen.ListPayoutLinksParams{Limit: api.Ptr(10)}
	for {
		ids, more := list(params)
		seen = append(seen, ids...)
		pages = append(pages, fmt.Sprintf("%d/%v", len(ids), more))
		if !more {
			break
		}
		params.StartingAfter = api.Ptr(ids[len(ids)-1])
	}
	if strings.Join(pages, " ") != "10/true 10/true 5/false" || strings.Join(seen, ",") != strings.Join(newestFirst, ",") {
		t.Errorf("forward pages %v", pages)
	}

	// Backward from the oldest link.
	seen, pages = nil, nil
	params = gen.ListPayoutLinksParams{Limit: api.Ptr(10), EndingBefore: api.Ptr(newestFirst[total-1])}
	for {
		ids, more := list(params)
		seen = append(ids, seen...)
		pages = append(pages, fmt.Sprintf("%d/%v", len(ids), more))
		if !more {
			break
		}
		params.EndingBefore = api.Ptr(ids[0])
	}
	if strings.Join(pages, " ") != "10/true 10/true 4/false" || strings.Join(seen, ",") != strings.Join(newestFirst[:total-1], ",") {
		t.Errorf("backward pages %v", pages)
	}

	tests := []struct {
		params gen.ListPayoutLinksParams
		want   []string
		more   bool
	}{
		{gen.ListPayoutLinksParams{}, newestFirst[:mock.DefaultLimit], true},
		{gen.ListPayoutLinksParams{Limit: api.Ptr(100)}, newestFirst, false},
		{gen.ListPayoutLinksParams{Limit: api.Ptr(3), StartingAfter: api.Ptr(newestFirst[20])}, newestFirst[21:24], true},
		{gen.ListPayoutLinksParams{Limit: api.Ptr(3), EndingBefore: api.Ptr(newestFirst[4])}, newestFirst[1:4], true},
		{gen.ListPayoutLinksParams{Limit: api.Ptr(3), EndingBefore: api.Ptr(newestFirst[3])}, newestFirst[0:3], false},
		{gen.ListPayoutLinksParams{StartingAfter: api.Ptr(newestFirst[total-1])}, nil, false},
		{gen.ListPayoutLinksParams{EndingBefore: api.Ptr(newestFirst[0])}, nil, false},
	}
	for _, tt := range tests {
		ids, more := list(tt.params)
		if strings.Join(ids, ",") != strings.Join(tt.want, ",") || more != tt.more {
			t.Errorf("%s: %d ids, more %v; want %d, %v", at(tt.params).path, len(ids), more, len(tt.want), tt.more)
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
	a := create(t, s, gen.CreatePayoutLinkRequest{Amount: 1, Payee: gen.Payee{Email: api.Ptr("a@example.com")},
		Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}})
	b := create(t, s, gen.CreatePayoutLinkRequest{Amount: 2})
	c := create(t, s, gen.CreatePayoutLinkRequest{Amount: 3})

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

	const unknown = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
	tests := []struct {
		name       string
		to         endpoint
		status     int
		code       string
		wantStatus gen.PayoutLinkStatus
	}{
		{"cancel", route(gen.NewCancelPayoutLinkRequest(genBase, b.ID)), 200, "", "canceled"},
		{"cancel again", route(gen.NewCancelPayoutLinkRequest(genBase, b.ID)), 200, "", "canceled"},
		{"cancel claimed", route(gen.NewCancelPayoutLinkRequest(genBase, a.ID)), 409, "invalid-state", ""},
		{"cancel unknown", route(gen.NewCancelPayoutLinkRequest(genBase, unknown)), 404, "not-found", ""},
		{"get unknown", route(gen.NewGetPayoutLinkRequest(genBase, "not-a-uuid")), 404, "not-found", ""},
		{"redeliver unknown", route(gen.NewRedeliverPayoutLinkRequest(genBase, unknown)), 404, "not-found", ""},
		// The /_mock triggers are not in the spec: their paths are written out.
		{"claim over http", endpoint{"POST", "@/_mock/payout-links/" + c.ID + "/claim"}, 200, "", "claimed"},
		{"claim canceled over http", endpoint{"POST", "@/_mock/payout-links/" + b.ID + "/claim"}, 409, "invalid-state", ""},
		{"claim unknown over http", endpoint{"POST", "@/_mock/payout-links/" + unknown + "/claim"}, 404, "not-found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, tt.to, nil)
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
		_ = json.Unmarshal(call(t, s, route(gen.NewRedeliverPayoutLinkRequest(genBase, id)), nil).body, &res)
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
	known := create(t, s, gen.CreatePayoutLinkRequest{Amount: 1})
	list := func(p gen.ListPayoutLinksParams) endpoint { return route(gen.NewListPayoutLinksRequest(genBase, &p)) }
	type typed = gen.CreatePayoutLinkRequest
	tests := []struct {
		name    string
		to      endpoint
		body    any // a gen.CreatePayoutLinkRequest, or JSON written out where that type cannot say it
		status  int
		code    string
		mention string // the message names this
	}{
		{"amount zero", opCreate, typed{Amount: 0}, 400, "invalid-input", "$.amount"},
		{"amount missing", opCreate, `{"memo":"x"}`, 400, "invalid-input", "amount"},               // raw: the type always writes amount
		{"amount with fraction", opCreate, `{"amount":12.5}`, 400, "invalid-input", "$.amount"},    // raw: a fraction
		{"amount with a fraction", opCreate, `{"amount":1250.5}`, 400, "invalid-input", "amount"},  // raw: a fraction
		{"unknown field", opCreate, `{"amount":1,"colour":"red"}`, 400, "invalid-input", "colour"}, // raw: a field the spec has not
		{"bad uuid", opCreate, typed{Amount: 1, UserID: api.Ptr("nope")}, 400, "invalid-input", "$.user_id"},
		{"bad idempotency key", opCreate, typed{Amount: 1, IdempotencyKey: api.Ptr("k1")}, 400, "invalid-input", "$.idempotency_key"},
		{"bad email", opCreate, typed{Amount: 1, Payee: gen.Payee{Email: api.Ptr("nope")}}, 400, "invalid-input", "$.payee.email"},
		{"bad method", opCreate, typed{Amount: 1, Delivery: gen.Delivery{Method: "fax"}}, 400, "invalid-input", "$.delivery.method"},
		{"not json", opCreate, `amount=1`, 400, "invalid-input", ""}, // raw: no JSON
		{"no body", opCreate, ``, 400, "invalid-input", ""},          // raw: an empty body
		{"sms without phone", opCreate, typed{Amount: 1, Delivery: gen.Delivery{Method: gen.DeliveryMethodSms}}, 400, "invalid-phone-number", "$.payee.phone_number"},
		{"email without email", opCreate, typed{Amount: 1, Delivery: gen.Delivery{Method: gen.DeliveryMethodEmail}}, 400, "invalid-email", "$.payee.email"},
		{"limit 0", list(gen.ListPayoutLinksParams{Limit: api.Ptr(0)}), nil, 400, "invalid-input", "query limit"},
		{"limit 101", list(gen.ListPayoutLinksParams{Limit: api.Ptr(101)}), nil, 400, "invalid-input", "query limit"},
		{"limit word", endpoint{"GET", opList.path + "?limit=ten"}, nil, 400, "invalid-input", "query limit"}, // raw query: Limit is an int
		{"cursor not uuid", list(gen.ListPayoutLinksParams{StartingAfter: api.Ptr("abc")}), nil, 400, "invalid-input", "query starting_after"},
		{"unknown cursor", list(gen.ListPayoutLinksParams{EndingBefore: api.Ptr("3c90c3cc-0d44-4b50-8888-8dd25736052a")}), nil, 400, "invalid-input", "query ending_before"},
		{"both cursors", list(gen.ListPayoutLinksParams{StartingAfter: &known.ID, EndingBefore: &known.ID}), nil, 400, "invalid-input", "starting_after"},
		// Routing: paths and a method the spec does not have, written out around the spec's own.
		{"unknown path", endpoint{"GET", "/v2/payouts"}, nil, 404, "not-found", ""},
		{"path without /api", endpoint{"GET", "@" + opList.path}, nil, 404, "not-found", ""},
		{"path with extra prefix", endpoint{"GET", "/x" + opList.path}, nil, 404, "not-found", ""},
		{"wrong method", endpoint{"PUT", route(gen.NewGetPayoutLinkRequest(genBase, known.ID)).path}, nil, 405, "method-not-allowed", "DELETE, GET"}, // ServeMux's Allow
		{"bad fault header", opList, nil, 400, "invalid-input", "X-Mock-Fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []opt
			if tt.name == "bad fault header" {
				opts = append(opts, header("X-Mock-Fault", "explode"))
			}
			r := call(t, s, tt.to, tt.body, opts...)
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
			r := call(t, tt.s, opCreate, gen.CreatePayoutLinkRequest{Amount: 1}, tt.opts...)
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
	if r := call(t, open, opCreate, gen.CreatePayoutLinkRequest{Amount: 0}, noAuth()); r.status != 401 {
		t.Errorf("no auth and a bad body: %d, want 401 first", r.status)
	}
}

func TestLogger(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	s := newServer(t, mock.WithLogger(slog.New(slog.NewTextHandler(&buf, nil))))
	create(t, s, gen.CreatePayoutLinkRequest{Amount: 1})
	call(t, s, opList, nil, header("X-Mock-Fault", "503"))
	call(t, s, opList, nil, noAuth())
	out := buf.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), out)
	}
	mount := strings.TrimPrefix(s.BaseURL(), s.URL) // the path the mock serves the API under
	for i, want := range []struct {
		status string
		to     endpoint
	}{{"201", opCreate}, {"503", opList}, {"401", opList}} {
		for _, part := range []string{"status=" + want.status, "method=" + want.to.method, "path=" + mount + want.to.path, "duration="} {
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
	body, _ := json.Marshal(gen.CreatePayoutLinkRequest{Amount: 42})
	req := httptest.NewRequest(opCreate.method, s.BaseURL()+opCreate.path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(testClientID, testAPIKey)
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	if w.Code != http.StatusCreated || s.LinkCount() != 1 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	var l gen.PayoutLink
	_ = json.Unmarshal(w.Body.Bytes(), &l)
	req = httptest.NewRequest("POST", "/_mock/payout-links/"+l.ID+"/claim", nil) // a trigger: not in the spec
	req.SetBasicAuth(testClientID, testAPIKey)
	w = httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	var claimed gen.PayoutLink
	if err := json.Unmarshal(w.Body.Bytes(), &claimed); err != nil || w.Code != http.StatusOK || claimed.ID != l.ID || claimed.Status != gen.PayoutLinkStatusClaimed {
		t.Fatalf("claim: %d %s", w.Code, w.Body)
	}
	if v := s.Violations(); len(v) > 0 {
		t.Errorf("violations: %v", v)
	}
}

func TestReset(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	create(t, s, gen.CreatePayoutLinkRequest{Amount: 1, IdempotencyKey: api.Ptr("3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b")})
	s.FailNext(5, mock.Fault{Status: 503})
	s.Reset()
	if s.LinkCount() != 0 || len(s.Requests()) != 0 || len(s.Links()) != 0 {
		t.Fatalf("Reset left %d links, %d requests", s.LinkCount(), len(s.Requests()))
	}
	if _, ok := s.LinkByIdempotencyKey("3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b"); ok {
		t.Error("Reset kept the key")
	}
	create(t, s, gen.CreatePayoutLinkRequest{Amount: 1, IdempotencyKey: api.Ptr("3f2b8c1e-9a4d-4e5f-8b6a-7c1d2e3f4a5b")})
	if rs := s.Requests(); len(rs) != 1 || rs[0].Seq != 1 || rs[0].Attempt != 1 || rs[0].Fault != "" {
		t.Errorf("after Reset: %+v", rs)
	}
}

func TestLinksAreCopies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	l := create(t, s, gen.CreatePayoutLinkRequest{Amount: 1, Payee: gen.Payee{Email: api.Ptr("a@example.com")}, Metadata: dots.Metadata{"k": "v"}})
	got := s.Links()
	got[0].Payee.Email = "changed@example.com"
	got[0].Metadata["k"] = "changed"
	got[0].Status = gen.PayoutLinkStatusFailed
	again, _ := s.Link(l.ID)
	if again.Payee.Email != "a@example.com" || again.Metadata["k"] != "v" || again.Status != gen.PayoutLinkStatusCreated {
		t.Errorf("changing a snapshot changed the server: %+v", again)
	}
}
