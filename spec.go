// Package dots holds what the generated models are built from: the OpenAPI description of the
// Dots payout-link API, embedded (Spec), and the few wire types the models use where the real
// API is looser than the spec (timestamps without a zone, amounts written as 5000.0, metadata as
// an object or a string). It imports nothing but the JSON codec.
//
// Most users import github.com/payoutkit/dots-go/api; the models live in
// github.com/payoutkit/dots-go/gen, and the parsed spec with its router and validator in
// github.com/payoutkit/dots-go/spec.
package dots

import _ "embed"

// Spec is openapi.yaml, byte for byte: the single source of truth of every operation. Package
// spec parses it, on first use.
//
//go:embed openapi.yaml
var Spec []byte
