// Package mock is an in-memory Dots payout-link API for tests. It serves openapi.yaml's
// operations under /api, validated by package spec's middleware (400 naming each problem, 401
// without Basic credentials), checks its answers against the spec (Violations), keeps links in
// Dots' wire format, and injects faults on demand (X-Mock-Fault, FailNext, SetFaults, WithChaos),
// so that clients can be tested for retries and idempotency. `payoutlinks mock` serves it to any
// language; the README's section "The mock server, for every language" describes its behaviour.
//
//	srv := mock.NewServer()
//	defer srv.Close()
//	// point a client at srv.BaseURL() (http://127.0.0.1:PORT/api) with any Basic credentials
package mock
