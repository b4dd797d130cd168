// Package mock is an in-memory Dots payout-link API for tests: it serves the five operations
// of openapi.yaml under /api/v2/payout-links, checks every request and every answer against
// that spec, and injects faults (statuses, dropped connections, delays, broken bodies) on
// demand, so clients can be tested for retries and idempotency without the network.
//
//	srv := mock.NewServer()
//	defer srv.Close()
//	// point a client at srv.BaseURL() (http://127.0.0.1:PORT/api) with any Basic credentials
//
// # Behaviour
//
//   - Create answers 201 with a new link: a fresh UUID v4 id, created = now in UTC, link =
//     LinkBase + id, the amount, a flow_id, status, and the delivery (method, and the email or
//     phone it went to). Every other field of the request that the payout link schema of
//     openapi.yaml also has is kept and answered back as sent (memo, description, tax_exempt,
//     metadata, funding_source, accounting_data, the payee, and any field added to the spec
//     later), and a field the request left out gets the spec's default (funding_source
//     dots_balance). The wire format follows Dots: null where the real API sends null
//     (claimed_user_id until claimed, the payee's fields, memo, metadata), and the field left out
//     where Dots' own spec does not allow null (transfer_id until paid out, the delivery's
//     contacts, description, ...). Answers are the stored JSON, byte for byte.
//     Delivery method sms, email, or all with at least one contact delivers the link: status
//     "sent", and that counts as the first of MaxDeliveries deliveries. Method link, no
//     delivery, or all without contacts delivers nothing: status "created". sms without the
//     payee's country_code and phone_number answers 400 invalid-phone-number; email without the
//     payee's email, 400 invalid-email.
//   - Idempotency follows Dots: idempotency_key travels in the create body; for IdempotencyTTL
//     (24 hours, by the WithClock clock) a create with a known key answers 201 with the link the
//     key made, as it is now, whatever the rest of the body says, and makes nothing. A create
//     whose key another request is still handling (say, during an injected delay) answers 409
//     resource-busy and applies nothing, so concurrent creates with one key make one link.
//     After the TTL the key makes a new link. Keys compare case-insensitively.
//   - Get answers 200 or 404 not-found. List answers {has_more, data}, newest first, DefaultLimit
//     (10) links unless limit says otherwise; starting_after=ID gives the older links after ID,
//     ending_before=ID the newer links just before it (has_more then says whether even newer
//     ones exist). An unknown cursor, or both cursors, answer 400 invalid-input.
//   - Cancel sets status "canceled" and answers 200; canceling a canceled link answers it again;
//     a claimed or expired link answers 409 invalid-state.
//   - Redeliver answers 200 {"payout_link", "redelivered"}: redelivered is true while the link
//     has been delivered fewer than MaxDeliveries (5) times, creation included when it
//     delivered, so an email link redelivers 4 times and a link-method link 5 times. A canceled,
//     claimed or expired link answers redelivered false. Redelivery changes neither status nor
//     events.
//   - Test triggers, for tests in any language (also under /api, no body; they never fault):
//     POST /_mock/payout-links/{id}/claim (Server.Claim), .../pay-out (Server.PayOut),
//     .../expire (Server.Expire) answer the link as the change left it, 404 or 409
//     invalid-state; POST /_mock/reset (Server.Reset) answers 204. They ask for the same Basic
//     credentials as the API (below) and answer 401 unauthorized without them, changing nothing,
//     so that nobody who can reach a shared mock can wipe it or move its links on.
//   - The server keeps at most WithMaxLinks links (DefaultMaxLinks, 100,000) and forgets the
//     oldest, with their ids and idempotency keys; Requests keeps the most recent
//     WithMaxRequests requests (DefaultMaxRequests, 50,000).
//   - An operation of the spec the server has no handler for answers 501 not-implemented,
//     naming it.
//   - Every request to the spec's operations is checked with dots.Validator.ValidateRequest:
//     Basic credentials with a client id are required (and must equal WithCredentials' when
//     given), else 401 unauthorized; any other departure from the spec answers 400 invalid-input
//     with a message naming each problem, such as "$.amount: number must be at least 1".
//     Credentials are never echoed or logged, and no fmt verb prints them (Server.Format).
//   - Every answer except an injected fault is checked with ValidateResponse before it is written
//     (unless WithAnswerChecks(false)); departures are kept in Server.Violations. Answers carry Content-Type: application/json and
//     a Request-Id header ("req_" and 24 hex digits); errors have the Error body
//     {"success": false, "message": ..., "error_code": ...}.
//   - WithEventHook gets EventSent after a create that delivers, EventUpdated after a cancel or
//     an expiry that changes the status, EventClaimed after a claim, and EventPaidOut after a
//     pay-out, on the server's own goroutine, in order; Server.WaitEvents waits for them.
//
// # Serving
//
// NewServer and Serve apply the server's Timeouts (DefaultTimeouts unless WithTimeouts): headers
// and the whole request in 10 s (a slower body is answered 408 request-timeout), the answer in
// 30 s (an injected delay extends it), idle keep-alive connections closed after 60 s. Each
// connection has its own goroutine, so slow clients do not hold up others. `payoutlinks mock`
// serves with Serve and stops with Shutdown.
//
// # Faults
//
// A fault comes from, in this order of precedence: the request's own X-Mock-Fault or
// X-Mock-Retry-After header; the queue filled by Server.FailNext; the chooser installed by
// Server.SetFaults. Only requests to the spec's operations fault. Header syntax (ParseFault):
// tokens separated by ";", in any order, case-insensitive:
//
//	X-Mock-Fault: 503                 503 with an Error body; the request is not applied
//	X-Mock-Fault: 500; apply-first    apply the request, then answer 500
//	X-Mock-Fault: 429; retry-after=2  429 with Retry-After: 2
//	X-Mock-Fault: drop-before         close the connection unanswered; nothing applied
//	X-Mock-Fault: drop-after          apply, then close the connection unanswered
//	X-Mock-Fault: delay=250ms         wait, then handle (combines: "delay=1s; 503")
//	X-Mock-Fault: delay=1s; late      wait, then apply even if the client gave up meanwhile
//	X-Mock-Fault: truncated           apply, answer the status with half the JSON body
//	X-Mock-Fault: non-json            apply, answer the status with HTML labelled as JSON
//	X-Mock-Fault: empty               apply, answer the status with an empty body
//	X-Mock-Retry-After: 2             Retry-After for the fault's status; alone it means 429
//
// Statuses go from 400 to 599 and answer the error_code their status suggests
// ("service-unavailable" for 503, "rate-limited" for 429, "internal-error" for 500). A status,
// a drop and a broken body exclude one another. A fault header that does not parse answers
// 400 invalid-input naming the header. A delay ends early, without applying the request,
// when the client gives up or the server closes. Drops hijack the connection and close it;
// where hijacking is impossible (HTTP/2) the handler aborts with http.ErrAbortHandler.
//
// # Chaos mode
//
// WithChaos(rate, seed) faults a share rate of the requests to the spec's operations with a fault
// drawn from ChaosFaults (5xx before and after applying, 429 with Retry-After, drops before and
// after applying, delays, a late apply, truncated, non-JSON and empty bodies), reproducibly: the
// n-th such request takes the n-th draw of a generator seeded with seed. `payoutlinks mock
// --fault-rate R --seed S` serves it. A request with "X-Mock-Fault: none" is never faulted.
//
// Server.Requests records the requests: operation, idempotency key, attempt number, the fault
// and the status answered or whether it was dropped, in arrival order.
package mock
