package api

import (
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"github.com/google/uuid"
	dots "github.com/payoutkit/dots-go"
	"github.com/payoutkit/dots-go/gen"
)

// The checks below run before anything is sent. They catch what the spec says and what Dots is
// known to refuse, and name the field of every problem.

// checker collects field problems.
type checker []FieldError

func (c *checker) add(field, format string, args ...any) {
	*c = append(*c, FieldError{Field: field, Problem: fmt.Sprintf(format, args...)})
}

func (c *checker) uuid(field, v string) {
	if _, err := uuid.Parse(v); err != nil || len(v) != 36 {
		c.add(field, "must be a UUID such as 3c90c3cc-0d44-4b50-8888-8dd25736052a")
	}
}

// email accepts a bare address: one "@" after something, a domain with an inner dot, and none of
// the spaces and punctuation of a display name ("Jane <j@example.com>") or a list.
func (c *checker) email(field, v string) {
	at := strings.IndexByte(v, '@')
	domain := v[at+1:]
	if at < 1 || strings.Count(v, "@") != 1 || strings.ContainsAny(v, " \t\r\n<>\",;:()[]\\") ||
		!strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		c.add(field, "must be an email address such as jsmith@example.com")
	}
}

func (c *checker) digits(field, v string, minLen, maxLen int) {
	if len(v) < minLen || len(v) > maxLen || strings.IndexFunc(v, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		c.add(field, "must be %d to %d digits", minLen, maxLen)
	}
}

func checkCreate(b gen.CreatePayoutLinkRequest) []FieldError {
	var c checker
	if b.Amount < 1 {
		c.add("amount", "must be at least 1 cent")
	}
	if b.UserID != nil {
		c.uuid("user_id", *b.UserID)
	}
	if b.IdempotencyKey != nil {
		c.uuid("idempotency_key", *b.IdempotencyKey)
	}
	p := b.Payee
	if p.Email != nil {
		c.email("payee.email", *p.Email)
	}
	if p.CountryCode != nil {
		c.digits("payee.country_code", *p.CountryCode, 1, 4)
	}
	if p.PhoneNumber != nil {
		c.digits("payee.phone_number", *p.PhoneNumber, 4, 15)
	}
	{
		switch m := b.Delivery.Method; {
		case m == "":
		case !m.Valid():
			c.add("delivery.method", "must be one of %s, not %q", oneOf(gen.DeliveryMethodValues()), string(m))
		case m == gen.DeliveryMethodSms:
			if p.CountryCode == nil || p.PhoneNumber == nil {
				c.add("payee.phone_number", "delivery by sms needs payee.country_code and payee.phone_number")
			}
		case m == gen.DeliveryMethodEmail:
			if p.Email == nil {
				c.add("payee.email", "delivery by email needs payee.email")
			}
		}
	}
	if v := b.PayoutFeeParty; v != "" && !v.Valid() {
		c.add("payout_fee_party", "must be one of %s, not %q", oneOf(gen.PayoutFeePartyValues()), string(v))
	}
	if v := b.FundingSource; v != "" && !v.Valid() {
		c.add("funding_source", "must be one of %s, not %q", oneOf(gen.FundingSourceValues()), string(v))
	}
	seen := map[string]bool{}
	for i, s := range b.AdditionalSteps {
		field := fmt.Sprintf("additional_steps[%d]", i)
		raw, err := s.MarshalJSON()
		if err != nil || len(raw) == 0 || string(raw) == "null" {
			c.add(field, "is empty; set it with FromStepName or FromAdditionalStepOptions")
			continue
		}
		if seen[string(raw)] {
			c.add(field, "repeats an earlier step; steps must be unique")
		}
		seen[string(raw)] = true
		if raw[0] == '"' {
			if n, err := s.AsStepName(); err != nil || !n.Valid() {
				c.add(field, "is not a known step name (%s)", oneOf(gen.StepNameValues()))
			}
			continue
		}
		o, err := s.AsAdditionalStepOptions()
		if err != nil {
			c.add(field, "must be a step name or an object with a name")
			continue
		}
		if !o.Name.Valid() {
			c.add(field+".name", "is not a known step name (%s)", oneOf(gen.StepNameValues()))
		}
		if o.RedirectURL != nil {
			if u, err := url.Parse(*o.RedirectURL); err != nil || !u.IsAbs() || u.Host == "" {
				c.add(field+".redirect_url", "must be an absolute URL")
			}
		}
		if o.PayoutFeeParty != nil && !o.PayoutFeeParty.Valid() {
			c.add(field+".payout_fee_party", "must be one of %s", oneOf(gen.AdditionalStepOptionsPayoutFeePartyValues()))
		}
	}
	if _, text := b.Metadata[dots.MetadataText]; text && len(b.Metadata) > 1 {
		c.add("metadata", "keys must not be empty (the empty key holds metadata written as one string)")
	}
	return c
}

// oneOf lists the values of an enum, as the generated code names them.
func oneOf[T ~string](values []T) string {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func checkList(p *gen.ListPayoutLinksParams) []FieldError {
	var c checker
	if p == nil {
		return nil
	}
	if p.Limit != nil && (*p.Limit < 1 || *p.Limit > 100) {
		c.add("limit", "must be from 1 to 100")
	}
	if p.StartingAfter != nil {
		c.uuid("starting_after", *p.StartingAfter)
	}
	if p.EndingBefore != nil {
		c.uuid("ending_before", *p.EndingBefore)
	}
	if p.StartingAfter != nil && p.EndingBefore != nil {
		c.add("ending_before", "cannot be set together with starting_after")
	}
	return c
}

// checkID refuses an empty id or one with spaces or control characters; the generated client
// path-escapes the rest.
func checkID(op, id string) error {
	var c checker
	switch {
	case strings.TrimSpace(id) == "":
		c.add("payout_link_id", "must not be empty")
	case strings.IndexFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) >= 0:
		c.add("payout_link_id", "must not contain spaces or control characters")
	case len(id) > 200:
		c.add("payout_link_id", "is too long")
	}
	if len(c) > 0 {
		return &InvalidRequestError{Call: Call{Operation: op}, Fields: c}
	}
	return nil
}
