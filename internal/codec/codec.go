// Package codec is the JSON codec of the SDK: github.com/go-json-experiment/json (the prototype of
// encoding/json/v2, maintained by Go's JSON maintainers) with the options that make it behave as
// encoding/json does (jsonv1.DefaultOptionsV1: names matched case-insensitively, duplicate names
// and invalid UTF-8 tolerated, unknown fields ignored, legacy omitempty). The models' own types
// (dots.Int, dots.Timestamp, dots.Metadata, ...) implement its UnmarshalerFrom and MarshalerTo
// interfaces, so nothing in the SDK scans JSON by hand.
package codec

import (
	json "github.com/go-json-experiment/json"
	jsonv1 "github.com/go-json-experiment/json/v1"
)

var options = jsonv1.DefaultOptionsV1()

// Marshal encodes v as encoding/json.Marshal does.
func Marshal(v any) ([]byte, error) { return json.Marshal(v, options) }

// Unmarshal decodes data into v as encoding/json.Unmarshal does.
func Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v, options) }
