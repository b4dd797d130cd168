package mock

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

const (
	// DefaultLimit is the page size of a list call without limit.
	DefaultLimit = 10
	// MaxDeliveries is how often one link is delivered at most, creation included: redeliver
	// answers redelivered true until then, and false for a canceled, claimed or expired link.
	MaxDeliveries = 5
	// IdempotencyTTL is how long, by the WithClock clock, an idempotency key names the link it
	// made: a create with the key answers that link as it is now, whatever the rest of its body.
	IdempotencyTTL = 24 * time.Hour
	// LinkBase is what a link's URL starts with; the link's id follows.
	LinkBase = "https://my-sandbox.dots.dev/flow/"
	// DefaultMaxLinks is how many links a server keeps unless WithMaxLinks says otherwise.
	DefaultMaxLinks = 100_000
)

// Event types passed to the hook of WithEventHook.
const (
	// EventSent follows a create that delivered the link (sms, email, or all with a contact).
	EventSent = "payout_link.sent"
	// EventUpdated follows a cancel or an expiry that changed the link's status.
	EventUpdated = "payout_link.updated"
	// EventClaimed follows a claim, and a pay-out of a link nobody had claimed yet.
	EventClaimed = "payout_link.claimed"
	// EventPaidOut follows a pay-out.
	EventPaidOut = "payout_link.paid_out"
)

var (
	// ErrNotFound is what Claim, PayOut and Expire return for an id no link has.
	ErrNotFound = errors.New("mock: no payout link has this id")
	// ErrInvalidState is what Claim, PayOut and Expire return, wrapped (test with errors.Is), for
	// a link whose status does not allow the change.
	ErrInvalidState = errors.New("mock: the payout link is in a state that does not allow this")
)

// entry is one stored link: its JSON as the server answers it, and the few things that change.
// It holds no strings, so the garbage collector has little to scan in a full store.
type entry struct {
	id  uuid.UUID
	seq uint64 // creation order, from 1
	// body is the link's JSON. It is replaced when the link changes, never changed in place, so
	// an answer may write it while another request replaces it.
	body       []byte
	status     gen.PayoutLinkStatus
	key        uuid.UUID // the idempotency key that made it, when hasKey
	keyExpires int64     // when the key stops naming it, in Unix nanoseconds
	deliveries int8
	hasKey     bool
	paidOut    bool
}

// state is the mock's data; Server.mu guards it.
type state struct {
	links []*entry // oldest first; links[head:] are kept, links[:head] are nil
	head  int
	byID  map[uuid.UUID]*entry
	byKey map[uuid.UUID]*entry // the newest link each idempotency key made, expired or not
	// inProgress holds the keys of creates being handled now, in lower case.
	inProgress map[string]bool
	lastSeq    uint64
}

func newState() state {
	return state{byID: map[uuid.UUID]*entry{}, byKey: map[uuid.UUID]*entry{}, inProgress: map[string]bool{}}
}

// parseUUID reads an id or an idempotency key in its 36-character form, in either case.
func parseUUID(s string) (uuid.UUID, bool) {
	u, err := uuid.Parse(s)
	return u, err == nil && len(s) == 36
}

// find is the link with this id.
func (st *state) find(id string) (*entry, bool) {
	u, ok := parseUUID(id)
	e := st.byID[u]
	return e, ok && e != nil
}

// live is the links kept, oldest first.
func (st *state) live() []*entry { return st.links[st.head:] }

// index is e's position in live.
func (st *state) index(e *entry) int { return int(e.seq - st.links[st.head].seq) }

// evict forgets the oldest links, their ids and their idempotency keys, until at most max remain
// (max <= 0 keeps everything).
func (st *state) evict(max int) {
	for max > 0 && len(st.links)-st.head > max {
		e := st.links[st.head]
		st.links[st.head] = nil
		st.head++
		delete(st.byID, e.id)
		if e.hasKey && st.byKey[e.key] == e {
			delete(st.byKey, e.key)
		}
	}
	if st.head > 1024 && st.head > len(st.links)/2 { // reclaim the dead front
		st.links, st.head = slices.Clone(st.links[st.head:]), 0
	}
}

// claimKey marks key as in progress, or reports false when another request holds it.
func (s *Server) claimKey(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.inProgress[key] {
		return false
	}
	s.st.inProgress[key] = true
	return true
}

// releaseKey ends what claimKey began.
func (s *Server) releaseKey(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.st.inProgress, key)
}

// apiError is an answer with an Error body.
type apiError struct {
	status        int
	code, message string
}

func errInput(msg string) *apiError { return &apiError{http.StatusBadRequest, "invalid-input", msg} }

// create makes a link from a create request that passed the spec, or finds the one its
// idempotency key made. The caller holds the key in progress, so no other create with it runs.
func (s *Server) create(in object) ([]byte, *apiError) {
	now := s.now().UTC()
	k, hasKey := parseUUID(in.str("idempotency_key"))
	s.mu.Lock()
	if e := s.st.byKey[k]; hasKey && e != nil && now.UnixNano() < e.keyExpires {
		s.mu.Unlock()
		return e.body, nil
	}
	s.mu.Unlock()
	e, aerr := s.newLink(in, now)
	if aerr != nil {
		return nil, aerr
	}
	e.key, e.hasKey, e.keyExpires = k, hasKey, now.Add(IdempotencyTTL).UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.lastSeq++
	e.seq = s.st.lastSeq
	s.st.links = append(s.st.links, e)
	s.st.byID[e.id] = e
	if hasKey {
		s.st.byKey[k] = e
	}
	s.st.evict(s.maxLinks)
	if e.deliveries > 0 {
		s.events.push(EventSent, e.body)
	}
	return e.body, nil
}

// newLink makes the entry of the link a create request asks for. Delivery method sms, email, or
// all with at least one contact delivers it (status sent); link, none, or all without contacts
// does not (status created); sms without the payee's phone, or email without their email, is
// refused.
func (s *Server) newLink(in object, now time.Time) (*entry, *apiError) {
	amount := in["amount"]
	cents, err := dots.ParseWholeNumber(string(amount))
	if amount.Kind() != '0' || err != nil {
		return nil, errInput("$.amount: not a whole number of cents")
	}
	payee := in.obj("payee")
	method := gen.DeliveryMethod(in.obj("delivery").str("method"))
	email, cc, phone := payee.str("email"), payee.str("country_code"), payee.str("phone_number")
	hasEmail, hasPhone := email != "", cc != "" && phone != ""
	switch {
	case method == "":
		method = gen.DeliveryMethodLink
	case method == gen.DeliveryMethodSms && !hasPhone:
		return nil, &apiError{http.StatusBadRequest, "invalid-phone-number",
			"$.payee.phone_number: an sms delivery needs the payee's country_code and phone_number"}
	case method == gen.DeliveryMethodEmail && !hasEmail:
		return nil, &apiError{http.StatusBadRequest, "invalid-email", "$.payee.email: an email delivery needs the payee's email"}
	}
	delivery := map[string]any{"method": string(method)}
	if hasEmail && (method == gen.DeliveryMethodEmail || method == gen.DeliveryMethodAll) {
		delivery["email"] = email
	}
	if hasPhone && (method == gen.DeliveryMethodSms || method == gen.DeliveryMethodAll) {
		delivery["country_code"], delivery["phone_number"] = cc, phone
	}
	e := &entry{id: uuid.New(), status: gen.PayoutLinkStatusCreated}
	if len(delivery) > 1 {
		e.status, e.deliveries = gen.PayoutLinkStatusSent, 1
	}
	e.body, err = codec.Marshal(s.links.build(in, map[string]any{
		"id": e.id.String(), "created": now.Truncate(time.Microsecond).Format(time.RFC3339Nano),
		"link": LinkBase + e.id.String(), "amount": cents, "status": string(e.status),
		"flow_id": uuid.NewString(), "claimed_user_id": nil, "delivery": delivery,
	}))
	if err != nil {
		return nil, &apiError{http.StatusInternalServerError, "internal-error", "the mock could not write the link"}
	}
	return e, nil
}

// get reads one link.
func (s *Server) get(id string) ([]byte, *apiError) {
	return s.update(id, func(*entry) *apiError { return nil })
}

// listPage is the body of a list answer. Unlike gen.PayoutLinkList it always writes data.
type listPage struct {
	HasMore bool              `json:"has_more"`
	Data    []json.RawMessage `json:"data"`
}

// list answers one page, newest first: starting_after=ID gives the older links after ID,
// ending_before=ID the newer links just before it (has_more then says whether even newer ones
// exist). An unknown cursor, or both, are refused.
func (s *Server) list(limit int, after, before string) (listPage, *apiError) {
	if after != "" && before != "" {
		return listPage{}, errInput("query starting_after, ending_before: give one cursor, not both")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	links := s.st.live()
	lo, hi := 0, len(links) // the page is links[lo:hi], in reverse
	name, cursor := "starting_after", after
	if before != "" {
		name, cursor = "ending_before", before
	}
	if cursor != "" {
		e, ok := s.st.find(cursor)
		if !ok {
			return listPage{}, errInput("query " + name + ": no payout link has this id")
		}
		if after != "" {
			hi = s.st.index(e)
		} else {
			lo = s.st.index(e) + 1
		}
	}
	page := listPage{Data: []json.RawMessage{}}
	if before != "" {
		hi = min(lo+limit, hi)
		page.HasMore = hi < len(links)
	} else {
		lo = max(hi-limit, lo)
		page.HasMore = lo > 0
	}
	for i := hi - 1; i >= lo; i-- {
		page.Data = append(page.Data, links[i].body)
	}
	return page, nil
}

// update applies fn to the link with this id under the lock, and returns its JSON after.
func (s *Server) update(id string, fn func(e *entry) *apiError) ([]byte, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.find(id)
	if !ok {
		return nil, &apiError{http.StatusNotFound, "not-found", "no payout link has this id"}
	}
	if aerr := fn(e); aerr != nil {
		return nil, aerr
	}
	return e.body, nil
}

// set rewrites a link's JSON with new values for some of its fields, and queues event with it.
// Called with s.mu held, which orders events as the changes.
func (s *Server) set(e *entry, event string, fields map[string]any) {
	var doc map[string]jsontext.Value
	err := codec.Unmarshal(e.body, &doc)
	for k, v := range fields {
		if err == nil {
			doc[k], err = codec.Marshal(v)
		}
	}
	body, err2 := codec.Marshal(doc)
	if err = errors.Join(err, err2); err != nil {
		panic("mock: a stored link: " + err.Error())
	}
	e.body = body
	if st, ok := fields["status"].(gen.PayoutLinkStatus); ok {
		e.status = st
	}
	s.events.push(event, body)
}

// settle gives a link the final status to (canceled, claimed or expired) with more fields, and
// queues event: nothing changes when it has that status, and another final status refuses it.
func (s *Server) settle(e *entry, to gen.PayoutLinkStatus, cannot, event string, fields map[string]any) *apiError {
	switch e.status {
	case to:
		return nil
	case gen.PayoutLinkStatusCanceled, gen.PayoutLinkStatusClaimed, gen.PayoutLinkStatusExpired:
		return &apiError{http.StatusConflict, "invalid-state", "a " + string(e.status) + " payout link cannot " + cannot}
	}
	fields["status"] = to
	s.set(e, event, fields)
	return nil
}

func (s *Server) cancel(id string) ([]byte, *apiError) {
	return s.update(id, func(e *entry) *apiError {
		return s.settle(e, gen.PayoutLinkStatusCanceled, "be canceled", EventUpdated, map[string]any{})
	})
}

func (s *Server) claim(id string) ([]byte, *apiError) {
	return s.update(id, func(e *entry) *apiError {
		return s.settle(e, gen.PayoutLinkStatusClaimed, "be claimed", EventClaimed, map[string]any{"claimed_user_id": uuid.NewString()})
	})
}

func (s *Server) expire(id string) ([]byte, *apiError) {
	return s.update(id, func(e *entry) *apiError {
		return s.settle(e, gen.PayoutLinkStatusExpired, "expire", EventUpdated, map[string]any{})
	})
}

// payOut gives a link a transfer_id, claiming it first if nobody had.
func (s *Server) payOut(id string) ([]byte, *apiError) {
	return s.update(id, func(e *entry) *apiError {
		if e.paidOut {
			return nil
		}
		if aerr := s.settle(e, gen.PayoutLinkStatusClaimed, "be paid out", EventClaimed, map[string]any{"claimed_user_id": uuid.NewString()}); aerr != nil {
			return aerr
		}
		e.paidOut = true
		s.set(e, EventPaidOut, map[string]any{"transfer_id": uuid.NewString()})
		return nil
	})
}

// redeliverResult is the body of a redeliver answer.
type redeliverResult struct {
	PayoutLink  json.RawMessage `json:"payout_link"`
	Redelivered bool            `json:"redelivered"`
}

// redeliver delivers a link once more while it has deliveries left and is not canceled, claimed
// or expired; it changes neither its status nor events.
func (s *Server) redeliver(id string) (res redeliverResult, aerr *apiError) {
	res.PayoutLink, aerr = s.update(id, func(e *entry) *apiError {
		if e.deliveries < MaxDeliveries && !slices.Contains([]gen.PayoutLinkStatus{gen.PayoutLinkStatusCanceled,
			gen.PayoutLinkStatusClaimed, gen.PayoutLinkStatusExpired}, e.status) {
			e.deliveries++
			res.Redelivered = true
		}
		return nil
	})
	return res, aerr
}

// decodeLink reads a stored link into the model users see.
func decodeLink(body []byte) gen.PayoutLink {
	var l gen.PayoutLink
	if err := codec.Unmarshal(body, &l); err != nil {
		panic("mock: a stored link does not decode: " + err.Error())
	}
	return l
}
