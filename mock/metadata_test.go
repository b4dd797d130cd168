package mock_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
)

// TestCreateMetadataValues checks that the mock accepts what openapi.yaml accepts in a create's
// metadata, values of any JSON type, and answers them back as sent, as Dots does: on the create
// and on a later get.
func TestCreateMetadataValues(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tests := []struct {
		name     string
		metadata dots.Metadata
		want     string // the link's metadata, as JSON
	}{
		{"number, bool, string", dots.Metadata{"n": 1, "ok": true, "s": "x"}, `{"n":1,"ok":true,"s":"x"}`},
		{"nested and null values", dots.Metadata{"obj": map[string]any{"a": []any{1, "b", false}}, "f": 2.5, "none": nil},
			`{"obj":{"a":[1,"b",false]},"f":2.5,"none":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, opCreate, gen.CreatePayoutLinkRequest{Amount: 100, Metadata: tt.metadata})
			if r.status != http.StatusCreated {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			id := r.link(t).ID
			g := call(t, s, route(gen.NewGetPayoutLinkRequest(genBase, id)), nil)
			for what, body := range map[string][]byte{"create": r.body, "get": g.body} {
				// The values as written (numbers, nulls), which dots.Metadata keeps as JSON text.
				var got struct {
					Metadata any `json:"metadata"`
				}
				var want any
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("%s: %v: %s", what, err, body)
				}
				if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got.Metadata, want) {
					t.Errorf("%s: metadata %#v, want %s (body %s)", what, got.Metadata, tt.want, body)
				}
			}
		})
	}
}

// TestCreateMetadataNullRefused checks that a create with "metadata": null, which openapi.yaml
// forbids, gets 400 naming metadata and makes no link. The generated request type cannot send
// null (it leaves an empty Metadata out), so this body is written out.
func TestCreateMetadataNullRefused(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	r := call(t, s, opCreate, `{"amount":100,"metadata":null}`)
	if r.status != http.StatusBadRequest {
		t.Fatalf("create with metadata null: %d %s, want 400", r.status, r.body)
	}
	code, msg := r.errorBody(t)
	if code != "invalid-input" || !strings.Contains(msg, "metadata") {
		t.Errorf("error %s: %q; want invalid-input naming metadata", code, msg)
	}
	if n := s.LinkCount(); n != 0 {
		t.Errorf("%d links made", n)
	}
}
