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
// headers. Events: payout_link.sent after a create that delivers, payout_link.updated after a
// cancel or an expiry (body {"event", "payout_link_id"}), payout_link.claimed after a claim (POST
// /_mock/payout-links/{id}/claim or Server.Claim), payout_link.paid_out after a pay-out (POST
// /_mock/payout-links/{id}/pay-out or Server.PayOut). The link events carry the payout link with
// an added "event" field naming the type, so one endpoint can tell them apart. Each event is sent
// once, in order, with a 5 second timeout; WaitEvents waits for the deliveries, and Deliveries
// lists them. It panics on a malformed secret, as a test setup mistake.
//
// WithWebhooks replaces an event hook given before it and is replaced by one given after it.
func WithWebhooks(url, secret string) Option {
	signer, err := webhook.NewSigner(secret)
	if err != nil {
		panic(fmt.Sprintf("mock: WithWebhooks: %v", err))
	}
	return func(s *Server) {
		w := &webhookSender{url: url, signer: signer, client: &http.Client{Timeout: 5 * time.Second}, now: func() time.Time { return s.now() }}
		s.webhooks = w
		s.events = newEventQueue(w.send)
	}
}

// maxKeptDeliveries is how many deliveries Deliveries keeps at least: the most recent ones.
const maxKeptDeliveries = 10_000

// Deliveries lists the webhooks sent so far, in order: the most recent 10,000 at least (older
// ones are forgotten).
func (s *Server) Deliveries() []Delivery {
	if s.webhooks == nil {
		return nil
	}
	s.webhooks.mu.Lock()
	defer s.webhooks.mu.Unlock()
	return append([]Delivery(nil), s.webhooks.deliveries...)
}

func (w *webhookSender) send(eventType string, link []byte) {
	var head struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(link, &head)
	d := Delivery{MessageID: "msg_" + randomHex(12), Event: eventType, PayoutLinkID: head.ID}
	body, err := payload(eventType, head.ID, link)
	if err == nil {
		err = w.post(d.MessageID, body, &d.Status)
	}
	if err != nil {
		d.Err = err.Error()
	}
	w.mu.Lock()
	w.deliveries = append(w.deliveries, d)
	if len(w.deliveries) > 2*maxKeptDeliveries {
		w.deliveries = append([]Delivery(nil), w.deliveries[len(w.deliveries)-maxKeptDeliveries:]...)
	}
	w.mu.Unlock()
}

func (w *webhookSender) post(id string, body []byte, status *int) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = w.signer.Headers(id, w.now(), body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	*status = resp.StatusCode
	return nil
}

// payload writes an event body: {"event", "payout_link_id"} for updates, else the link's JSON
// with an "event" field first.
func payload(eventType, id string, link []byte) ([]byte, error) {
	if eventType == EventUpdated {
		return json.Marshal(gen.PayoutLinkUpdatedEvent{Event: gen.WebhookEventType(eventType), PayoutLinkID: id})
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(link, &doc); err != nil {
		return nil, err
	}
	doc["event"], _ = json.Marshal(eventType)
	return json.Marshal(doc)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
