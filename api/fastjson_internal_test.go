package api

import (
	"encoding/json"
	"reflect"
	"testing"
)

type (
	namedString string
	namedBool   bool
	namedInt    int64
)

// TestFastUnmarshalNamedPointers covers the conversion path of setPtr (pointers to named types,
// such as enums), which the generated response models do not use today.
func TestFastUnmarshalNamedPointers(t *testing.T) {
	type target struct {
		S  *namedString `json:"s"`
		B  *namedBool   `json:"b"`
		I  *namedInt    `json:"i"`
		PS *string      `json:"ps"`
	}
	body := []byte(`{"s":"user","b":true,"i":42,"ps":"plain"}`)
	var fast, std target
	if !fastUnmarshal(body, &fast) {
		t.Fatal("the fast decoder gave up on a plain body")
	}
	if err := json.Unmarshal(body, &std); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("fast %+v, encoding/json %+v", fast, std)
	}
}
