package mock

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/webhook"
)

// eventQueue hands events to the hook one at a time, in the order the state changed, on a
// goroutine of its own, so no lock is held and no answer waits while the hook runs.
type eventQueue struct {
	hook    func(eventType string, link []byte) // nil: events are dropped
	pending counter                             // queued or running

	mu      sync.Mutex
	queue   []event
	running bool
}

type event struct {
	typ  string
	link []byte
}

// push queues an event. It is called with Server.mu held, which orders events as the changes.
func (q *eventQueue) push(typ string, link []byte) {
	if q.hook == nil {
		return
	}
	q.pending.add(1)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.queue = append(q.queue, event{typ, link})
	if !q.running {
		q.running = true
		go q.run()
	}
}

func (q *eventQueue) run() {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 {
			q.queue, q.running = nil, false
			q.mu.Unlock()
			return
		}
		ev := q.queue[0]
		q.queue = q.queue[1:]
		q.mu.Unlock()
		q.hook(ev.typ, ev.link)
		q.pending.add(-1)
	}
}

// Delivery is one webhook the server sent (WithWebhooks).
type Delivery struct {
	// MessageID is the svix-id of the delivery.
	MessageID string
	// Event is the event type, such as "payout_link.claimed".
	Event string
	// PayoutLinkID names the link the event is about.
	PayoutLinkID string
	// Status is the receiver's HTTP status (0 when the request failed).
	Status int
	// Err says why the request failed, if it did.
	Err string
}

// webhookSender posts signed events to one URL.
type webhookSender struct {
	url    string
	signer *webhook.Signer
	client *http.Client
	now    func() time.Time

	mu         sync.Mutex
	deliveries []Delivery
}

// WithWebhooks makes the server deliver each event to url the way Dots does through Svix: a POST
// signed with secret (the whsec_... form) in the svix-id, svix-timestamp and svix-signature
// headers. payout_link.updated carries {"event", "payout_link_id"}; the other events carry the
// link with an "event" field naming the type. Each event is sent once, in order, with a 5 second
// timeout; WaitEvents waits for the deliveries, and Deliveries lists them. It panics on a
// malformed secret, as a setup mistake, and replaces WithEventHook given before it.
func WithWebhooks(url, secret string) Option {
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		panic(fmt.Sprintf("mock: WithWebhooks: %v", err))
	}
	return func(s *Server) {
		s.webhooks = &webhookSender{url: url, signer: signer, client: &http.Client{Timeout: 5 * time.Second}, now: func() time.Time { return s.now() }}
		s.events = &eventQueue{hook: s.webhooks.send}
	}
}

// maxKeptDeliveries is how many deliveries Deliveries keeps at least: the most recent ones.
const maxKeptDeliveries = 10_000

// Deliveries lists the webhooks sent so far, in order: the most recent 10,000 at least.
func (s *Server) Deliveries() []Delivery {
	if s.webhooks == nil {
		return nil
	}
	s.webhooks.mu.Lock()
	defer s.webhooks.mu.Unlock()
	return append([]Delivery(nil), s.webhooks.deliveries...)
}

func (w *webhookSender) send(eventType string, link []byte) {
	var doc map[string]json.RawMessage
	err := json.Unmarshal(link, &doc)
	var id string
	_ = json.Unmarshal(doc["id"], &id)
	d := Delivery{MessageID: "msg_" + randomHex(12), Event: eventType, PayoutLinkID: id}
	var body []byte
	if err == nil && eventType == EventUpdated {
		body, err = json.Marshal(gen.PayoutLinkUpdatedEvent{Event: gen.WebhookEventType(eventType), PayoutLinkID: id})
	} else if err == nil {
		doc["event"], _ = json.Marshal(eventType)
		body, err = json.Marshal(doc)
	}
	var req *http.Request
	if err == nil {
		req, err = http.NewRequestWithContext(context.Background(), http.MethodPost, w.url, bytes.NewReader(body))
	}
	if err == nil {
		req.Header = w.signer.Headers(d.MessageID, w.now(), body)
		req.Header.Set("Content-Type", "application/json")
		var resp *http.Response
		if resp, err = w.client.Do(req); err == nil {
			_ = resp.Body.Close()
			d.Status = resp.StatusCode
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.deliveries = append(w.deliveries, d); len(w.deliveries) > 2*maxKeptDeliveries {
		w.deliveries = append([]Delivery(nil), w.deliveries[len(w.deliveries)-maxKeptDeliveries:]...)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
