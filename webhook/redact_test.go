package webhook_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/payoutkit/dots-go/webhook"
)

// TestSecretsNeverPrint checks that the signing key cannot be read out of a Verifier, a Signer
// or a Handler, wherever a program keeps them: neither through fmt (whose Formatter is skipped
// for values behind unexported fields) nor through reflection, as go-spew and similar dumpers
// use it.
func TestSecretsNeverPrint(t *testing.T) {
	t.Parallel()
	key := []byte("redaction-test-secret-not-real")
	secret := "whsec_" + base64.StdEncoding.EncodeToString(key)
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	h := webhook.Handler(v, func(context.Context, webhook.Event) error { return nil })

	// A program's own types holding them, in every way fmt and reflection treat differently.
	type fields struct {
		V  webhook.Verifier
		VP *webhook.Verifier
		S  webhook.Signer
		SP *webhook.Signer
		v  webhook.Verifier
		vp *webhook.Verifier
		s  webhook.Signer
		sp *webhook.Signer
		a  any
	}
	type containers struct {
		VS []webhook.Verifier
		VP []*webhook.Verifier
		SM map[string]webhook.Signer
		SP map[string]*webhook.Signer
		vs []webhook.Verifier
		vp []*webhook.Verifier
		va [1]webhook.Verifier
		sm map[string]webhook.Signer
		sp map[string]*webhook.Signer
	}
	vals := []webhook.Verifier{*v}
	ptrs := []*webhook.Verifier{v}
	sm := map[string]webhook.Signer{"k": *s}
	sp := map[string]*webhook.Signer{"k": s}
	cases := []struct {
		name string
		x    any
	}{
		{"*Verifier", v},
		{"Verifier", *v},
		{"*Signer", s},
		{"Signer", *s},
		{"Handler", h},
		{"struct fields", fields{V: *v, VP: v, S: *s, SP: s, v: *v, vp: v, s: *s, sp: s, a: *v}},
		{"pointer to struct fields", &fields{v: *v, s: *s}},
		{"slices and maps", containers{VS: vals, VP: ptrs, SM: sm, SP: sp, vs: vals, vp: ptrs, va: [1]webhook.Verifier{*v}, sm: sm, sp: sp}},
		{"[]*Verifier", ptrs},
		{"[]Verifier", vals},
		{"map of Signer", sm},
		{"map of *Signer", sp},
		{"struct in slice", []struct{ v webhook.Verifier }{{*v}}},
	}

	// The key as fmt writes a []byte under each verb, and in the forms the secret is given in.
	var dec, hex0x []string
	for _, b := range key {
		dec = append(dec, fmt.Sprint(b))
		hex0x = append(hex0x, fmt.Sprintf("%#x", b))
	}
	b64, rawB64 := base64.StdEncoding.EncodeToString(key), base64.RawStdEncoding.EncodeToString(key)
	leaks := []string{string(key), fmt.Sprintf("%x", key), fmt.Sprintf("%X", key), strings.Join(dec, " "),
		strings.Join(hex0x, ", "), b64, rawB64}

	for _, c := range cases {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x"} {
			out := fmt.Sprintf(verb, c.x)
			for _, leak := range leaks {
				if strings.Contains(out, leak) {
					t.Errorf("fmt %s of %s shows the signing key: %.100s", verb, c.name, out)
					break
				}
			}
		}
	walk:
		for _, b := range reachable(c.x) {
			for _, leak := range [][]byte{key, []byte(b64), []byte(rawB64)} {
				if bytes.Contains(b, leak) {
					t.Errorf("reflection reaches the signing key from %s", c.name)
					break walk
				}
			}
		}
	}

	// The walk itself must see what it looks for.
	if found := reachable(&struct{ p *struct{ k [3]byte } }{&struct{ k [3]byte }{[3]byte{1, 2, 3}}}); len(found) != 1 || !bytes.Equal(found[0], []byte{1, 2, 3}) {
		t.Fatalf("reachable found %v", found)
	}
}

// reachable returns every byte slice, byte array and string reachable from x through
// reflection: exported and unexported fields, pointers, interfaces, slices, arrays and maps, the
// way reflection-based dumpers walk values. Function values are opaque to it, as to them.
func reachable(x any) [][]byte {
	var found [][]byte
	seen := map[uintptr]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() || seen[v.Pointer()] {
				return
			}
			seen[v.Pointer()] = true
			walk(v.Elem())
		case reflect.Interface:
			if !v.IsNil() {
				walk(v.Elem())
			}
		case reflect.Struct:
			for i := range v.NumField() {
				walk(v.Field(i))
			}
		case reflect.Map:
			for it := v.MapRange(); it.Next(); {
				walk(it.Key())
				walk(it.Value())
			}
		case reflect.Slice, reflect.Array:
			if v.Type().Elem().Kind() != reflect.Uint8 {
				for i := range v.Len() {
					walk(v.Index(i))
				}
				return
			}
			if v.Kind() == reflect.Slice {
				found = append(found, v.Bytes())
				return
			}
			b := make([]byte, v.Len())
			for i := range b {
				b[i] = byte(v.Index(i).Uint())
			}
			found = append(found, b)
		case reflect.String:
			found = append(found, []byte(v.String()))
		}
	}
	walk(reflect.ValueOf(x))
	return found
}
