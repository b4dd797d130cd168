package mock

import (
	"errors"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
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
)

// Event types passed to the hook of WithEventHook.
const (
	// EventSent follows a create that delivered the link (delivery method sms, email, or all
	// with a contact).
	EventSent = "payout_link.sent"
	// EventUpdated follows a cancel that changed the link's status.
	EventUpdated = "payout_link.updated"
	// EventClaimed follows a claim (Claim or POST /_mock/payout-links/{id}/claim).
	EventClaimed = "payout_link.claimed"
)

var (
	// ErrNotFound is what Claim returns for an id no link has.
	ErrNotFound = errors.New("mock: no payout link has this id")
	// ErrInvalidState is what Claim returns, wrapped (test with errors.Is), for a link that was
	// canceled.
	ErrInvalidState = errors.New("mock: the payout link is in a state that does not allow this")
)

// entry is one stored link with what the mock keeps beside it.
type entry struct {
	link       gen.PayoutLink
	index      int // position in state.links
	deliveries int
	key        string // the idempotency key that made it, or ""
}

// keyEntry is what an idempotency key names.
type keyEntry struct {
	e       *entry
	expires time.Time
}

// state is the mock's data; Server.mu guards it.
type state struct {
	links []*entry // oldest first
	byID  map[string]*entry
	keys  map[string]keyEntry // live and expired keys, by normalized key
	made  map[string]*entry   // the newest link each key made, expired or not
	// inProgress holds the keys of creates being handled now.
	inProgress map[string]bool
}

func newState() state {
	return state{byID: map[string]*entry{}, keys: map[string]keyEntry{}, made: map[string]*entry{},
		inProgress: map[string]bool{}}
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

// create makes a link, or finds the one the request's idempotency key made. The lock is held
// across the key lookup and the insert, so concurrent creates with one key make one link.
//
// It returns a snapshot of the stored link, a shallow copy, as get and list do: the handler only
// writes it out. That is safe because a change sets a field of the stored struct (Status,
// ClaimedUserID), which the snapshot does not share, and the metadata map a link holds is not
// touched after newLink. What the Server hands to its users (Links, Link, Claim, events) is a
// clone, which they may change.
func (s *Server) create(req *gen.CreatePayoutLinkRequest) (gen.PayoutLink, *apiError) {
	key := ""
	if req.IdempotencyKey != nil {
		key = strings.ToLower(*req.IdempotencyKey)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now().UTC()
	if key != "" {
		if ke, ok := s.st.keys[key]; ok && now.Before(ke.expires) {
			return ke.e.link, nil
		}
	}
	link, delivers, aerr := newLink(req, now)
	if aerr != nil {
		return gen.PayoutLink{}, aerr
	}
	e := &entry{link: link, index: len(s.st.links), key: key}
	if delivers {
		e.deliveries = 1
	}
	s.st.links = append(s.st.links, e)
	s.st.byID[link.ID] = e
	if key != "" {
		s.st.keys[key] = keyEntry{e: e, expires: now.Add(IdempotencyTTL)}
		s.st.made[key] = e
	}
	if delivers {
		s.emit(EventSent, link)
	}
	return link, nil
}

// newLink builds the link a create request asks for, and says whether creating it delivers it.
func newLink(req *gen.CreatePayoutLinkRequest, now time.Time) (gen.PayoutLink, bool, *apiError) {
	p := req.Payee
	method := gen.DeliveryMethodLink
	if req.Delivery.Method != "" {
		method = req.Delivery.Method
	}
	hasEmail := deref(p.Email) != ""
	hasPhone := deref(p.CountryCode) != "" && deref(p.PhoneNumber) != ""
	switch {
	case method == gen.DeliveryMethodSms && !hasPhone:
		return gen.PayoutLink{}, false, &apiError{http.StatusBadRequest, "invalid-phone-number",
			"$.payee.phone_number: an sms delivery needs the payee's country_code and phone_number"}
	case method == gen.DeliveryMethodEmail && !hasEmail:
		return gen.PayoutLink{}, false, &apiError{http.StatusBadRequest, "invalid-email",
			"$.payee.email: an email delivery needs the payee's email"}
	}
	toEmail := hasEmail && (method == gen.DeliveryMethodEmail || method == gen.DeliveryMethodAll)
	toPhone := hasPhone && (method == gen.DeliveryMethodSms || method == gen.DeliveryMethodAll)
	delivers := toEmail || toPhone

	id := uuid.NewString()
	link := gen.PayoutLink{
		ID:      id,
		Created: dots.Timestamp{Time: now.Truncate(time.Microsecond)},
		Link:    LinkBase + id,
		Amount:  req.Amount,
		Status:  gen.PayoutLinkStatusCreated,
		Payee: gen.PayoutLinkPayee{
			FirstName: deref(p.FirstName), LastName: deref(p.LastName), Email: deref(p.Email),
			CountryCode: deref(p.CountryCode), PhoneNumber: deref(p.PhoneNumber),
		},
		Delivery:      gen.PayoutLinkDelivery{Method: method},
		TaxExempt:     deref(req.TaxExempt),
		FlowID:        uuid.NewString(),
		Memo:          deref(req.Memo),
		Description:   deref(req.Description),
		Metadata:      maps.Clone(req.Metadata),
		FundingSource: gen.FundingSourceDotsBalance,
		AccountingData: gen.PayoutLinkAccountingData{
			QuickbooksAccountID: deref(req.AccountingData.QuickbooksAccountID),
			QuickbooksClassID:   deref(req.AccountingData.QuickbooksClassID),
		},
	}
	if delivers {
		link.Status = gen.PayoutLinkStatusSent
	}
	if toEmail {
		link.Delivery.Email = *p.Email
	}
	if toPhone {
		link.Delivery.CountryCode, link.Delivery.PhoneNumber = *p.CountryCode, *p.PhoneNumber
	}
	if req.FundingSource != "" {
		link.FundingSource = req.FundingSource
	}
	return link, delivers, nil
}

// get reads one link (a snapshot: see create).
func (s *Server) get(id string) (gen.PayoutLink, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.byID[id]
	if !ok {
		return gen.PayoutLink{}, errNotFound()
	}
	return e.link, nil
}

// listPage is the body of a list answer. Unlike gen.PayoutLinkList it always writes data.
type listPage struct {
	HasMore bool             `json:"has_more"`
	Data    []gen.PayoutLink `json:"data"`
}

// list answers one page, newest first. starting_after pages toward older links, ending_before
// toward newer ones; giving both is refused.
func (s *Server) list(limit int, after, before string) (listPage, *apiError) {
	if after != "" && before != "" {
		return listPage{}, errInput("query starting_after, ending_before: give one cursor, not both")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.st.links)
	// lo and hi are indexes into the oldest-first slice; the page is hi down to lo.
	var lo, hi int
	var more bool
	switch {
	case after != "":
		e, ok := s.st.byID[after]
		if !ok {
			return listPage{}, errInput("query starting_after: no payout link has this id")
		}
		hi = e.index - 1
		lo = max(hi-limit+1, 0)
		more = lo > 0
	case before != "":
		e, ok := s.st.byID[before]
		if !ok {
			return listPage{}, errInput("query ending_before: no payout link has this id")
		}
		lo = e.index + 1
		hi = min(lo+limit-1, n-1)
		more = hi < n-1
	default:
		hi = n - 1
		lo = max(hi-limit+1, 0)
		more = lo > 0
	}
	page := listPage{HasMore: more, Data: []gen.PayoutLink{}}
	for i := hi; i >= lo; i-- {
		page.Data = append(page.Data, s.st.links[i].link)
	}
	return page, nil
}

// cancel cancels a link that is not claimed; canceling a canceled link answers it as it is.
func (s *Server) cancel(id string) (gen.PayoutLink, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.byID[id]
	if !ok {
		return gen.PayoutLink{}, errNotFound()
	}
	switch e.link.Status {
	case gen.PayoutLinkStatusCanceled:
		return clone(e.link), nil
	case gen.PayoutLinkStatusClaimed:
		return gen.PayoutLink{}, &apiError{http.StatusConflict, "invalid-state", "a claimed payout link cannot be canceled"}
	}
	e.link.Status = gen.PayoutLinkStatusCanceled
	s.emit(EventUpdated, e.link)
	return clone(e.link), nil
}

// redeliver delivers a link once more while it has deliveries left and is neither canceled nor
// claimed.
func (s *Server) redeliver(id string) (gen.RedeliverPayoutLinkResult, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.byID[id]
	if !ok {
		return gen.RedeliverPayoutLinkResult{}, errNotFound()
	}
	res := gen.RedeliverPayoutLinkResult{}
	switch e.link.Status {
	case gen.PayoutLinkStatusCanceled, gen.PayoutLinkStatusClaimed:
	default:
		if e.deliveries < MaxDeliveries {
			e.deliveries++
			res.Redelivered = true
		}
	}
	res.PayoutLink = clone(e.link)
	return res, nil
}

// claim marks a link claimed by a new user; claiming a claimed link answers it as it is.
func (s *Server) claim(id string) (gen.PayoutLink, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.byID[id]
	if !ok {
		return gen.PayoutLink{}, errNotFound()
	}
	switch e.link.Status {
	case gen.PayoutLinkStatusClaimed:
		return clone(e.link), nil
	case gen.PayoutLinkStatusCanceled:
		return gen.PayoutLink{}, &apiError{http.StatusConflict, "invalid-state", "a canceled payout link cannot be claimed"}
	}
	e.link.Status = gen.PayoutLinkStatusClaimed
	e.link.ClaimedUserID = uuid.NewString()
	s.emit(EventClaimed, e.link)
	return clone(e.link), nil
}

// emit queues an event with a clone of the link, when a hook listens (called with s.mu held).
func (s *Server) emit(typ string, l gen.PayoutLink) {
	if s.events.hook != nil {
		s.events.push(typ, clone(l))
	}
}

// clone copies a link deeply enough that neither the copy nor the stored link can change the
// other: only the metadata map is shared otherwise.
func clone(l gen.PayoutLink) gen.PayoutLink {
	l.Metadata = maps.Clone(l.Metadata)
	return l
}

// deref is the value p points to, or the zero value.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
