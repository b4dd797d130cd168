// Package dots holds what the whole SDK is built from: the OpenAPI description of the Dots
// payout-link API (embedded, so nothing needs a file path at run time) and the few wire types the
// generated models use where the real API is looser than the spec (timestamps without a zone,
// amounts written as 5000.0, metadata as an object or a string).
//
// Most users import github.com/payoutkit/dots-go/api instead; the models live in
// github.com/payoutkit/dots-go/gen.
package dots

import _ "embed"

//go:generate go tool oapi-codegen -config oapi-codegen.yaml openapi.yaml

// Spec is openapi.yaml, byte for byte: the single source of truth of every operation.
//
//go:embed openapi.yaml
var Spec []byte
