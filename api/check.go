package api

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net/http"
	"strings"

	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
	"github.com/payoutkit/dots-go/internal/codec"
	"github.com/payoutkit/dots-go/spec"
)

// Input is checked before anything is sent, in two parts: what openapi.yaml says (every
// parameter and body field against its schema: types, bounds, patterns, formats, enums, unique
// items), read from the spec itself so that a constraint added there is checked with no code; and
// the few rules the spec cannot say (which contacts a delivery method needs). Every problem names
// its field.

// CheckCreatePayoutLink checks a create request as CreatePayoutLink does before sending it, and
// sends nothing: nil, or an *InvalidRequestError naming every bad field. Batch tools use it to
// check every row before paying any.
func CheckCreatePayoutLink(ctx context.Context, body gen.CreatePayoutLinkRequest) error {
	_, _, err := checkCreate(ctx, Sandbox.BaseURL()+"/", body)
	return err
}

// checkCreate checks a create request and returns the request to send it to server with, and its
// body.
func checkCreate(ctx context.Context, server string, body gen.CreatePayoutLinkRequest) (*http.Request, []byte, error) {
	var key string
	if body.IdempotencyKey != nil {
		key = *body.IdempotencyKey
	}
	fields := createRules(body)
	if sp, op := specOperation(opCreate.id); op != nil {
		fields = append(fieldErrors(sp.CheckBody(op, body)), fields...)
	}
	if len(fields) > 0 {
		return nil, nil, &InvalidRequestError{Call: Call{Operation: opCreate.id, IdempotencyKey: key}, Fields: fields}
	}
	buf, err := codec.Marshal(body)
	if err != nil {
		return nil, nil, fmt.Errorf("dots: %s: encoding the request: %w", opCreate.id, err)
	}
	req, err := gen.NewCreatePayoutLinkRequestWithBody(server, "application/json", bytes.NewReader(buf))
	if err != nil {
		return nil, nil, fmt.Errorf("dots: %s: %w", opCreate.id, err)
	}
	return req.WithContext(ctx), buf, nil
}

// createRules are what Dots is known to refuse that the spec cannot say.
func createRules(b gen.CreatePayoutLinkRequest) []FieldError {
	var out []FieldError
	p := b.Payee
	switch b.Delivery.Method {
	case gen.DeliveryMethodSms:
		if p.CountryCode == nil || p.PhoneNumber == nil {
			out = append(out, FieldError{"payee.phone_number", "delivery by sms needs payee.country_code and payee.phone_number"})
		}
	case gen.DeliveryMethodEmail:
		if p.Email == nil {
			out = append(out, FieldError{"payee.email", "delivery by email needs payee.email"})
		}
	}
	if _, text := b.Metadata[dots.MetadataText]; text && len(b.Metadata) > 1 {
		out = append(out, FieldError{"metadata", "keys must not be empty (the empty key holds metadata written as one string)"})
	}
	return out
}

// specOperation is the operation opID of the embedded spec, parsed on first use; nil when the
// spec has none.
func specOperation(opID string) (*spec.Spec, *spec.Operation) {
	sp, err := spec.Embedded()
	if err != nil || opID == "" {
		return nil, nil // the module's own tests load the embedded spec
	}
	op, _ := sp.Operation(opID)
	return sp, op
}

func fieldErrors(vs []spec.Violation) []FieldError {
	var out []FieldError
	for _, v := range vs {
		out = append(out, FieldError{Field: fieldName(v.Path), Problem: v.Message})
	}
	return out
}

// fieldName writes a violation's place as a field: "$.payee.email" as "payee.email",
// "$.additional_steps.1" as "additional_steps[1]", "query limit" as "limit".
func fieldName(path string) string {
	for _, prefix := range []string{"query ", "path "} {
		if name, ok := strings.CutPrefix(path, prefix); ok {
			return name
		}
	}
	rest, ok := strings.CutPrefix(path, "$")
	if !ok {
		return path
	}
	return cmp.Or(codec.Note{Pointer: strings.ReplaceAll(rest, ".", "/")}.Field(), "body") // as a warning names it
}

// check runs the spec's input check on a call its typed method has not checked.
func (p *pipeline) check(ctx context.Context, c *call, req *http.Request, body []byte) []FieldError {
	if c.checked {
		return nil
	}
	sp, op := specOperation(c.op.id)
	if op == nil {
		return nil
	}
	return fieldErrors(sp.Check(ctx, op, req, c.params, body))
}
