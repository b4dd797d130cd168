package mock

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
)

const (
	DefaultLimit = 10 // the page size of a list call without limit
	// MaxDeliveries is how often a link is delivered at most, creation included (redelivered
	// true until then; never for a canceled, claimed or expired link).
	MaxDeliveries = 5
	// IdempotencyTTL is how long an idempotency key (in any case) names the link it made: a
	// create with it answers that link as it is now, whatever the rest of its body.
	IdempotencyTTL  = 24 * time.Hour
	LinkBase        = "https://my-sandbox.dots.dev/flow/" // a link's URL, before its id
	DefaultMaxLinks = 100_000                             // links kept without WithMaxLinks
)

// Event types: after a create that delivers, a cancel or expiry, a claim, a pay-out.
const (
	EventSent    = "payout_link.sent"
	EventUpdated = "payout_link.updated"
	EventClaimed = "payout_link.claimed"
	EventPaidOut = "payout_link.paid_out"
)

// Errors of Claim, PayOut and Expire: an unknown id, or (wrapped) a status that forbids the change.
var (
	ErrNotFound     = errors.New("mock: no payout link has this id")
	ErrInvalidState = errors.New("mock: the payout link is in a state that does not allow this")
)

// entry is a stored link: its JSON (replaced, never changed in place), and what changes.
type entry struct {
	id, key    uuid.UUID // key: the idempotency key that made it, when hasKey
	seq        uint64    // creation order
	body       []byte
	status     gen.PayoutLinkStatus
	keyExpires int64 // in Unix nanoseconds
	deliveries int8
	hasKey     bool
	paidOut    bool
}

// state is the mock's data; Server.mu guards it.
type state struct {
	links   []*entry // kept, oldest first
	byID    map[uuid.UUID]*entry
	byKey   map[uuid.UUID]*entry // the newest link each idempotency key made
	lastSeq uint64
}

func newState() state { return state{byID: map[uuid.UUID]*entry{}, byKey: map[uuid.UUID]*entry{}} }

// parseUUID reads an id or an idempotency key in its 36-character form, in either case.
func parseUUID(s string) (uuid.UUID, bool) {
	u, err := uuid.Parse(s)
	return u, err == nil && len(s) == 36
}

func (st *state) find(id string) (*entry, bool) {
	u, ok := parseUUID(id)
	e := st.byID[u]
	return e, ok && e != nil
}

// apiError is an answer with an Error body.
type apiError struct {
	status        int
	code, message string
}

func errInput(msg string) *apiError { return &apiError{http.StatusBadRequest, "invalid-input", msg} }

// create makes a link, or answers the one its idempotency key (held by the caller) made.
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
	st := &s.st
	st.lastSeq++
	e.seq, st.links, st.byID[e.id] = st.lastSeq, append(st.links, e), e
	if hasKey {
		st.byKey[k] = e
	}
	if old := st.links[0]; s.maxLinks > 0 && len(st.links) > s.maxLinks { // forget the oldest
		st.links[0], st.links = nil, st.links[1:]
		delete(st.byID, old.id)
		if old.hasKey && st.byKey[old.key] == old {
			delete(st.byKey, old.key)
		}
	}
	if e.deliveries > 0 {
		s.emit(EventSent, e)
	}
	return e.body, nil
}

// newLink makes a link: every delivery method but link (and all without a contact) delivers it
// (status sent), a method added to the spec too.
func (s *Server) newLink(in object, now time.Time) (*entry, *apiError) {
	cents, err := dots.ParseWholeNumber(string(in["amount"])) // the spec checked it is a number
	if err != nil {
		return nil, errInput("$.amount: not a whole number of cents")
	}
	payee, method := in.obj("payee"), gen.DeliveryMethod(in.obj("delivery").str("method"))
	email, cc, phone := payee.str("email"), payee.str("country_code"), payee.str("phone_number")
	switch {
	case method == "":
		method = gen.DeliveryMethodLink
	case !method.Valid(): // a method added to the spec: delivered, as every method but link
	case method == gen.DeliveryMethodSms && (cc == "" || phone == ""):
		return nil, &apiError{http.StatusBadRequest, "invalid-phone-number", "$.payee.phone_number: an sms delivery needs the payee's country_code and phone_number"}
	case method == gen.DeliveryMethodEmail && email == "":
		return nil, &apiError{http.StatusBadRequest, "invalid-email", "$.payee.email: an email delivery needs the payee's email"}
	}
	delivery := map[string]any{"method": string(method)}
	if email != "" && (method == gen.DeliveryMethodEmail || method == gen.DeliveryMethodAll) {
		delivery["email"] = email
	}
	if cc != "" && phone != "" && (method == gen.DeliveryMethodSms || method == gen.DeliveryMethodAll) {
		delivery["country_code"], delivery["phone_number"] = cc, phone
	}
	e := &entry{id: uuid.New(), status: gen.PayoutLinkStatusCreated}
	if method != gen.DeliveryMethodLink && (method != gen.DeliveryMethodAll || len(delivery) > 1) {
		e.status, e.deliveries = gen.PayoutLinkStatusSent, 1 // all without a contact acts as link
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

// update applies fn (if any) to the link with this id under the lock, and returns its JSON.
func (s *Server) update(id string, fn func(e *entry) *apiError) ([]byte, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.st.find(id)
	if !ok {
		return nil, &apiError{http.StatusNotFound, "not-found", "no payout link has this id"}
	}
	if fn != nil {
		if aerr := fn(e); aerr != nil {
			return nil, aerr
		}
	}
	return e.body, nil
}

// list answers a page, newest first, older than starting_after or just newer than ending_before,
// of the links keep keeps (nil: all).
func (s *Server) list(limit int, after, before string, keep func(*entry) bool) (any, *apiError) {
	if after != "" && before != "" {
		return nil, errInput("query starting_after, ending_before: give one cursor, not both")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	links := s.st.links
	index := func(e *entry) int { return int(e.seq - links[0].seq) }
	if keep != nil {
		links = slices.DeleteFunc(slices.Clone(links), func(e *entry) bool { return !keep(e) })
		index = func(e *entry) int { return slices.Index(links, e) }
	}
	lo, hi := max(len(links)-limit, 0), len(links) // the page is links[lo:hi], newest first
	for name, cursor := range map[string]string{"starting_after": after, "ending_before": before} {
		if cursor == "" {
			continue
		}
		e, ok := s.st.find(cursor)
		if ok && index(e) < 0 {
			ok = false
		}
		if !ok {
			return nil, errInput("query " + name + ": no payout link on this list has this id")
		}
		if i := index(e); name == "starting_after" {
			lo, hi = max(i-limit, 0), i
		} else {
			lo, hi = i+1, min(i+1+limit, len(links))
		}
	}
	data := []json.RawMessage{} // data is written even when empty
	for i := hi - 1; i >= lo; i-- {
		data = append(data, links[i].body)
	}
	return map[string]any{"has_more": lo > 0 && before == "" || hi < len(links) && before != "", "data": data}, nil
}

// filter reads the list's query parameters other than paging, as the spec names them, into
// what a link must be to be listed: a parameter named as a field of the link keeps the links
// whose field has that value; FIELD_after and FIELD_before keep the links whose date-time FIELD
// is later or earlier. nil when none is given; an error names a parameter it cannot apply.
func (s *Server) filter(op *spec.Operation, q url.Values) (func(*entry) bool, *apiError) {
	var tests []func(doc map[string]jsontext.Value) bool
	for _, p := range op.Raw().Parameters {
		name := p.Value.Name
		v, given := q[name]
		if p.Value.In != "query" || !given || name == "limit" || name == "starting_after" || name == "ending_before" {
			continue
		}
		field := strings.TrimSuffix(strings.TrimSuffix(name, "_after"), "_before")
		if f := s.links.resp.Properties[name]; f != nil {
			tests = append(tests, func(doc map[string]jsontext.Value) bool { return scalar(doc[name]) == v[0] })
			continue
		}
		if f := s.links.resp.Properties[field]; field != name && f != nil && f.Value != nil && f.Value.Format == "date-time" {
			at, err := dots.ParseTimestamp(v[0])
			if err != nil {
				return nil, errInput("query " + name + ": not a date-time")
			}
			after := strings.HasSuffix(name, "_after")
			tests = append(tests, func(doc map[string]jsontext.Value) bool {
				t, err := dots.ParseTimestamp(scalar(doc[field]))
				return err == nil && (after && t.After(at.Time) || !after && t.Before(at.Time))
			})
			continue
		}
		return nil, &apiError{http.StatusNotImplemented, "not-implemented", "query " + name + ": the mock does not know how to filter by it"}
	}
	if len(tests) == 0 {
		return nil, nil
	}
	return func(e *entry) bool {
		var doc map[string]jsontext.Value
		if codec.Unmarshal(e.body, &doc) != nil {
			return false
		}
		for _, t := range tests {
			if !t(doc) {
				return false
			}
		}
		return true
	}, nil
}

// scalar is a JSON string's text, or any other value's JSON text.
func scalar(v jsontext.Value) string {
	var s string
	if v.Kind() == '"' && codec.Unmarshal(v, &s) == nil {
		return s
	}
	return string(v)
}

// changes are the ways a link moves on: its new status, the event, and the word for it.
var changes = map[string]struct {
	to          gen.PayoutLinkStatus
	event, done string
}{
	"cancel":  {gen.PayoutLinkStatusCanceled, EventUpdated, "canceled"},
	"claim":   {gen.PayoutLinkStatusClaimed, EventClaimed, "claimed"},
	"expire":  {gen.PayoutLinkStatusExpired, EventUpdated, "expired"},
	"pay-out": {gen.PayoutLinkStatusClaimed, EventClaimed, "paid out"},
}

// change moves a link on to a final status: again, nothing changes; to another, 409.
func (s *Server) change(name, id string) ([]byte, *apiError) {
	ch := changes[name]
	return s.update(id, func(e *entry) *apiError {
		switch {
		case e.status == ch.to:
		case final(e.status):
			return &apiError{http.StatusConflict, "invalid-state", "a " + string(e.status) + " payout link cannot be " + ch.done}
		case ch.to == gen.PayoutLinkStatusClaimed:
			s.set(e, ch.event, map[string]any{"status": ch.to, "claimed_user_id": uuid.NewString()})
		default:
			s.set(e, ch.event, map[string]any{"status": ch.to})
		}
		if name == "pay-out" && !e.paidOut {
			e.paidOut = true
			s.set(e, EventPaidOut, map[string]any{"transfer_id": uuid.NewString()})
		}
		return nil
	})
}

// final reports whether a link keeps its status: canceled, claimed or expired.
func final(st gen.PayoutLinkStatus) bool {
	return st == gen.PayoutLinkStatusCanceled || st == gen.PayoutLinkStatusClaimed || st == gen.PayoutLinkStatusExpired
}

// set rewrites fields of a link's JSON and queues event, under s.mu, which orders the events.
func (s *Server) set(e *entry, event string, fields map[string]any) {
	var doc map[string]jsontext.Value
	_ = codec.Unmarshal(e.body, &doc) // cannot fail: the mock's own JSON, and strings
	for k, v := range fields {
		doc[k], _ = codec.Marshal(v)
	}
	e.body, _ = codec.Marshal(doc)
	if st, ok := fields["status"].(gen.PayoutLinkStatus); ok {
		e.status = st
	}
	s.emit(event, e)
}

// redeliver delivers a link once more (MaxDeliveries), with no change of status and no event.
func (s *Server) redeliver(id string) (any, *apiError) {
	redelivered := false
	b, aerr := s.update(id, func(e *entry) *apiError {
		if redelivered = e.deliveries < MaxDeliveries && !final(e.status); redelivered {
			e.deliveries++
		}
		return nil
	})
	return map[string]any{"payout_link": json.RawMessage(b), "redelivered": redelivered}, aerr
}

func decodeLink(body []byte) (l gen.PayoutLink) {
	if err := codec.Unmarshal(body, &l); err != nil {
		panic("mock: a stored link does not decode: " + err.Error())
	}
	return l
}

// factsNull are the fields Dots writes as null when empty (FACTS.md); others are left out.
var factsNull = [][]string{{"claimed_user_id"}, {"memo"}, {"metadata"}, {"payee", "*"}}

// computed are the link's fields the mock works out itself; the request's are not echoed.
var computed = map[string]bool{"id": true, "created": true, "link": true, "amount": true, "status": true,
	"flow_id": true, "claimed_user_id": true, "transfer_id": true, "delivery.method": true, "delivery.email": true,
	"delivery.country_code": true, "delivery.phone_number": true}

// linkSchema holds the schemas links are built from, so that new fields need no mock code.
type linkSchema struct{ req, resp *openapi3.Schema }

func newLinkSchema(sp *spec.Spec, operationID string) (*linkSchema, error) {
	op, ok := sp.Operation(operationID)
	if !ok {
		return nil, fmt.Errorf("the spec has no operation %s", operationID)
	}
	if ls := (&linkSchema{op.RequestSchema(), op.Schema(http.StatusCreated)}); ls.req != nil && ls.resp != nil {
		return ls, nil
	}
	return nil, fmt.Errorf("%s has no JSON request body or no JSON 201 answer", operationID)
}

// build makes a link: echo, the spec's defaults, factsNull's nulls, the computed fields, and for a
// field no request feeds (one the spec added to links only), its default, else its example, else
// null where allowed; then only what the link's schema has is kept.
func (ls *linkSchema) build(in object, computedFields map[string]any) map[string]any {
	doc := echo(in, ls.req, ls.resp, "")
	for name, p := range ls.resp.Properties {
		_, fed := ls.req.Properties[name]
		switch _, ok := doc[name]; {
		case ok || p.Value == nil || computed[name]:
		case p.Value.Default != nil:
			doc[name] = p.Value.Default
		case fed:
		case p.Value.Example != nil:
			doc[name] = p.Value.Example
		case acceptsNull(p.Value):
			doc[name] = nil
		}
	}
	for _, path := range factsNull {
		fillNull(doc, ls.resp, path)
	}
	for name, v := range computedFields {
		have, ok := doc[name].(map[string]any)
		if sub, isMap := v.(map[string]any); isMap && ok {
			maps.Copy(have, sub)
		} else {
			doc[name] = v
		}
	}
	prune(doc, ls.resp)
	return doc
}

// prune keeps only the members of doc (and of the objects in it) that schema s has: a field
// removed from the spec is no longer answered.
func prune(doc map[string]any, s *openapi3.Schema) {
	for name, v := range doc {
		p := s.Properties[name]
		switch sub, isMap := v.(map[string]any); {
		case p == nil || p.Value == nil:
			delete(doc, name)
		case isMap && len(p.Value.Properties) > 0:
			prune(sub, p.Value)
		}
	}
}

// fillNull writes null at path ("*": any) in doc, of schema s, where empty and allowed.
func fillNull(doc map[string]any, s *openapi3.Schema, path []string) {
	for name, p := range s.Properties {
		switch _, has := doc[name]; {
		case path[0] != "*" && path[0] != name || p.Value == nil:
		case len(path) == 1 && !has && acceptsNull(p.Value):
			doc[name] = nil
		case len(path) > 1:
			sub, ok := doc[name].(map[string]any)
			if !ok {
				sub = map[string]any{}
			}
			if fillNull(sub, p.Value, path[1:]); len(sub) > 0 {
				doc[name] = sub
			}
		}
	}
}

// acceptsNull reports whether s, an alternative of it (as Metadata's), or all its parts are nullable.
func acceptsNull(s *openapi3.Schema) bool {
	nullable := func(r *openapi3.SchemaRef) bool { return r.Value != nil && acceptsNull(r.Value) }
	return s.Nullable || slices.ContainsFunc(slices.Concat(s.OneOf, s.AnyOf), nullable) ||
		len(s.AllOf) > 0 && !slices.ContainsFunc(s.AllOf, func(r *openapi3.SchemaRef) bool { return !nullable(r) })
}

// object is a request's JSON object: its members as written; nil for no object.
type object map[string]jsontext.Value

func parseObject(b []byte) (m object) {
	if codec.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func (o object) obj(name string) object {
	if v := o[name]; v.Kind() == '{' {
		return parseObject(v)
	}
	return nil
}

func (o object) str(name string) (s string) {
	if v := o[name]; v.Kind() != '"' || codec.Unmarshal(v, &s) != nil {
		return ""
	}
	return s
}

// echo keeps in's members that resp has but not computed ones, by member in objects both
// describe, and 42.0 as 42 where resp says integer.
func echo(in object, req, resp *openapi3.Schema, prefix string) map[string]any {
	out := make(map[string]any, len(in))
	for name, v := range in {
		rp := resp.Properties[name]
		if v.Kind() == 'n' || rp == nil || rp.Value == nil || computed[prefix+name] {
			continue
		}
		if qp := req.Properties[name]; v.Kind() == '{' && len(rp.Value.Properties) > 0 && qp != nil && qp.Value != nil && len(qp.Value.Properties) > 0 {
			out[name] = echo(parseObject(v), qp.Value, rp.Value, prefix+name+".")
			continue
		}
		if v.Kind() == '0' && rp.Value.Type.Is(openapi3.TypeInteger) {
			if whole, err := dots.ParseWholeNumber(string(v)); err == nil {
				v = jsontext.Value(strconv.AppendInt(nil, whole, 10))
			}
		}
		out[name] = v
	}
	return out
}
