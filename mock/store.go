package mock

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/google/uuid"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
)

const (
	// DefaultLimit is the page size of a list call without limit.
	DefaultLimit = 10
	// MaxDeliveries is how often one link is delivered at most, creation included.
	MaxDeliveries = 5
	// IdempotencyTTL is how long an idempotency key names the link it made.
	IdempotencyTTL = 24 * time.Hour
	// LinkBase is what a link's URL starts with; the link's id follows.
	LinkBase = "https://my-sandbox.dots.dev/flow/"
	// DefaultMaxLinks is how many links a server keeps unless WithMaxLinks says otherwise; the
	// oldest go first.
	DefaultMaxLinks = 100_000
)

// Event types passed to the hook of WithEventHook.
const (
	// EventSent follows a create that delivered the link (delivery method sms, email, or all
	// with a contact).
	EventSent = "payout_link.sent"
	// EventUpdated follows a cancel or an expiry that changed the link's status.
	EventUpdated = "payout_link.updated"
	// EventClaimed follows a claim (Claim or POST /_mock/payout-links/{id}/claim), and a pay-out
	// of a link nobody had claimed yet.
	EventClaimed = "payout_link.claimed"
	// EventPaidOut follows a pay-out (PayOut or POST /_mock/payout-links/{id}/pay-out).
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
	// byKey is the newest link each idempotency key made, expired or not.
	byKey map[uuid.UUID]*entry
	// inProgress holds the keys of creates being handled now, in lower case.
	inProgress map[string]bool
	lastSeq    uint64
}

func newState() state {
	return state{byID: map[uuid.UUID]*entry{}, byKey: map[uuid.UUID]*entry{}, inProgress: map[string]bool{}}
}

// parseUUID reads an id or an idempotency key in its 36-character form, in either case.
func parseUUID(s string) (uuid.UUID, bool) {
	if len(s) != 36 {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(s)
	return u, err == nil
}

// find is the link with this id.
func (st *state) find(id string) (*entry, bool) {
	u, ok := parseUUID(id)
	if !ok {
		return nil, false
	}
	e, ok := st.byID[u]
	return e, ok
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
	// Reclaim the dead front of the slice once it is the larger part.
	if st.head > 1024 && st.head > len(st.links)/2 {
		st.links = append([]*entry(nil), st.links[st.head:]...)
		st.head = 0
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
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func errInput(msg string) *apiError { return &apiError{http.StatusBadRequest, "invalid-input", msg} }

func errNotFound() *apiError {
	return &apiError{http.StatusNotFound, "not-found", "no payout link has this id"}
}

func errState(msg string) *apiError { return &apiError{http.StatusConflict, "invalid-state", msg} }

// create makes a link from a create request that passed the spec, or finds the one its
// idempotency key made. The handler holds the key in progress (claimKey), so no other create with
// it runs meanwhile.
func (s *Server) create(in *createInput) ([]byte, *apiError) {
	now := s.now().UTC()
	k, hasKey := parseUUID(in.str("idempotency_key"))
	if hasKey {
		s.mu.Lock()
		e := s.st.byKey[k]
		if e != nil && now.UnixNano() < e.keyExpires {
			body := e.body
			s.mu.Unlock()
			return body, nil
		}
		s.mu.Unlock()
	}
	e, delivers, aerr := s.newLink(in, now)
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
	if delivers {
		s.emit(EventSent, e)
	}
	return e.body, nil
}

// newLink makes the entry of the link a create request asks for, and says whether creating it
// delivers it.
func (s *Server) newLink(in *createInput, now time.Time) (*entry, bool, *apiError) {
	amount := in.members["amount"]
	cents, err := dots.ParseWholeNumber(string(amount))
	if amount.Kind() != '0' || err != nil {
		return nil, false, errInput("$.amount: not a whole number of cents")
	}
	payee := in.obj("payee")
	method := gen.DeliveryMethod(in.obj("delivery").str("method"))
	if method == "" {
		method = gen.DeliveryMethodLink
	}
	email, cc, phone := payee.str("email"), payee.str("country_code"), payee.str("phone_number")
	hasEmail, hasPhone := email != "", cc != "" && phone != ""
	switch {
	case method == gen.DeliveryMethodSms && !hasPhone:
		return nil, false, &apiError{http.StatusBadRequest, "invalid-phone-number",
			"$.payee.phone_number: an sms delivery needs the payee's country_code and phone_number"}
	case method == gen.DeliveryMethodEmail && !hasEmail:
		return nil, false, &apiError{http.StatusBadRequest, "invalid-email",
			"$.payee.email: an email delivery needs the payee's email"}
	}
	toEmail := hasEmail && (method == gen.DeliveryMethodEmail || method == gen.DeliveryMethodAll)
	toPhone := hasPhone && (method == gen.DeliveryMethodSms || method == gen.DeliveryMethodAll)
	delivery := map[string]any{"method": string(method)}
	if toEmail {
		delivery["email"] = email
	}
	if toPhone {
		delivery["country_code"], delivery["phone_number"] = cc, phone
	}
	status := gen.PayoutLinkStatusCreated
	if toEmail || toPhone {
		status = gen.PayoutLinkStatusSent
	}
	id := uuid.New()
	doc := s.links.build(in, map[string]any{
		"id":              id.String(),
		"created":         now.Truncate(time.Microsecond).Format(time.RFC3339Nano),
		"link":            LinkBase + id.String(),
		"amount":          cents,
		"status":          string(status),
		"flow_id":         uuid.NewString(),
		"claimed_user_id": nil,
		"delivery":        delivery,
	})
	body, err := codec.Marshal(doc)
	if err != nil {
		return nil, false, &apiError{http.StatusInternalServerError, "internal-error", "the mock could not write the link"}
	}
	e := &entry{id: id, body: body, status: status}
	if toEmail || toPhone {
		e.deliveries = 1
	}
	return e, e.deliveries > 0, nil
}

// get reads one link.
func (s *Server) get(id string) ([]byte, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.find(id)
	if !ok {
		return nil, errNotFound()
	}
	return e.body, nil
}

// listPage is the body of a list answer. Unlike gen.PayoutLinkList it always writes data.
type listPage struct {
	HasMore bool              `json:"has_more"`
	Data    []json.RawMessage `json:"data"`
}

// list answers one page, newest first. starting_after pages toward older links, ending_before
// toward newer ones; giving both is refused.
func (s *Server) list(limit int, after, before string) (listPage, *apiError) {
	if after != "" && before != "" {
		return listPage{}, errInput("query starting_after, ending_before: give one cursor, not both")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	links := s.st.live()
	n := len(links)
	// lo and hi are indexes into the oldest-first slice; the page is hi down to lo.
	var lo, hi int
	var more bool
	switch {
	case after != "":
		e, ok := s.st.find(after)
		if !ok {
			return listPage{}, errInput("query starting_after: no payout link has this id")
		}
		hi = s.st.index(e) - 1
		lo = max(hi-limit+1, 0)
		more = lo > 0
	case before != "":
		e, ok := s.st.find(before)
		if !ok {
			return listPage{}, errInput("query ending_before: no payout link has this id")
		}
		lo = s.st.index(e) + 1
		hi = min(lo+limit-1, n-1)
		more = hi < n-1
	default:
		hi = n - 1
		lo = max(hi-limit+1, 0)
		more = lo > 0
	}
	page := listPage{HasMore: more, Data: []json.RawMessage{}}
	for i := hi; i >= lo; i-- {
		page.Data = append(page.Data, links[i].body)
	}
	return page, nil
}

// change rewrites a link's JSON with new values for some of its fields (nil writes null), keeps
// the new status, and returns the new JSON. Called with s.mu held.
func (e *entry) change(set map[string]any) []byte {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(e.body, &doc); err != nil {
		panic("mock: a stored link is not JSON: " + err.Error())
	}
	for k, v := range set {
		b, err := json.Marshal(v)
		if err != nil {
			panic("mock: " + err.Error())
		}
		doc[k] = b
	}
	body, err := json.Marshal(doc)
	if err != nil {
		panic("mock: " + err.Error())
	}
	e.body = body
	if st, ok := set["status"].(gen.PayoutLinkStatus); ok {
		e.status = st
	}
	return body
}

// transition applies fn to the link with this id under the lock; fn returns the event to emit
// ("" for none) or an error.
func (s *Server) transition(id string, fn func(e *entry) (string, *apiError)) ([]byte, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.find(id)
	if !ok {
		return nil, errNotFound()
	}
	ev, aerr := fn(e)
	if aerr != nil {
		return nil, aerr
	}
	if ev != "" {
		s.emit(ev, e)
	}
	return e.body, nil
}

// cancel cancels a link that is neither claimed nor expired; canceling a canceled link answers
// it as it is.
func (s *Server) cancel(id string) ([]byte, *apiError) {
	return s.transition(id, func(e *entry) (string, *apiError) {
		switch e.status {
		case gen.PayoutLinkStatusCanceled:
			return "", nil
		case gen.PayoutLinkStatusClaimed, gen.PayoutLinkStatusExpired:
			return "", errState("a " + string(e.status) + " payout link cannot be canceled")
		}
		e.change(map[string]any{"status": gen.PayoutLinkStatusCanceled})
		return EventUpdated, nil
	})
}

// redeliverResult is the body of a redeliver answer.
type redeliverResult struct {
	PayoutLink  json.RawMessage `json:"payout_link"`
	Redelivered bool            `json:"redelivered"`
}

// redeliver delivers a link once more while it has deliveries left and is not canceled, claimed
// or expired.
func (s *Server) redeliver(id string) (redeliverResult, *apiError) {
	var res redeliverResult
	body, aerr := s.transition(id, func(e *entry) (string, *apiError) {
		switch e.status {
		case gen.PayoutLinkStatusCanceled, gen.PayoutLinkStatusClaimed, gen.PayoutLinkStatusExpired:
		default:
			if e.deliveries < MaxDeliveries {
				e.deliveries++
				res.Redelivered = true
			}
		}
		return "", nil
	})
	res.PayoutLink = body
	return res, aerr
}

// claim marks a link claimed by a new user; claiming a claimed link answers it as it is.
func (s *Server) claim(id string) ([]byte, *apiError) {
	return s.transition(id, func(e *entry) (string, *apiError) {
		switch e.status {
		case gen.PayoutLinkStatusClaimed:
			return "", nil
		case gen.PayoutLinkStatusCanceled, gen.PayoutLinkStatusExpired:
			return "", errState("a " + string(e.status) + " payout link cannot be claimed")
		}
		e.change(map[string]any{"status": gen.PayoutLinkStatusClaimed, "claimed_user_id": uuid.NewString()})
		return EventClaimed, nil
	})
}

// payOut pays a link out: it gets a transfer_id, and the status claimed (the spec has no
// paid-out status; a link nobody claimed yet is claimed first, with its own event). Paying out a
// paid-out link answers it as it is.
func (s *Server) payOut(id string) ([]byte, *apiError) {
	return s.transition(id, func(e *entry) (string, *apiError) {
		switch {
		case e.paidOut:
			return "", nil
		case e.status == gen.PayoutLinkStatusCanceled, e.status == gen.PayoutLinkStatusExpired:
			return "", errState("a " + string(e.status) + " payout link cannot be paid out")
		case e.status != gen.PayoutLinkStatusClaimed:
			e.change(map[string]any{"status": gen.PayoutLinkStatusClaimed, "claimed_user_id": uuid.NewString()})
			s.emit(EventClaimed, e)
		}
		e.change(map[string]any{"transfer_id": uuid.NewString()})
		e.paidOut = true
		return EventPaidOut, nil
	})
}

// expire lets a link expire: status expired. Expiring an expired link answers it as it is; a
// claimed or canceled link does not expire.
func (s *Server) expire(id string) ([]byte, *apiError) {
	return s.transition(id, func(e *entry) (string, *apiError) {
		switch e.status {
		case gen.PayoutLinkStatusExpired:
			return "", nil
		case gen.PayoutLinkStatusClaimed, gen.PayoutLinkStatusCanceled:
			return "", errState("a " + string(e.status) + " payout link cannot expire")
		}
		e.change(map[string]any{"status": gen.PayoutLinkStatusExpired})
		return EventUpdated, nil
	})
}

// emit queues an event with the link as it is now, when a hook listens (called with s.mu held,
// which orders events as the changes).
func (s *Server) emit(typ string, e *entry) {
	s.events.push(typ, e.body)
}

// decodeLink reads a stored link into the model users see.
func decodeLink(body []byte) gen.PayoutLink {
	var l gen.PayoutLink
	if err := codec.Unmarshal(body, &l); err != nil {
		panic("mock: a stored link does not decode: " + err.Error())
	}
	return l
}
