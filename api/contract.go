package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"

	"github.com/payoutkit/dots-go/spec"
)

// ContractMode says what contract validation does with traffic that departs from openapi.yaml.
type ContractMode int

const (
	// ContractOff validates nothing (the default).
	ContractOff ContractMode = iota
	// ContractReport lets every call go on and hands each departure to the reporter
	// (WithContractReporter) and the logger. Known drift of the real API is marked as such.
	ContractReport
	// ContractStrict turns every departure, known drift included, into a *ContractError. A
	// request that departs is not sent.
	ContractStrict
)

// ContractFinding is what report mode hands to the reporter: one request or response that
// departs from the spec.
type ContractFinding struct {
	// Operation is the spec's operationId.
	Operation string
	// Direction is "request" or "response".
	Direction string
	// StatusCode is the response status (0 for a request).
	StatusCode int
	// Violations lists every departure.
	Violations []spec.Violation
}

// OnlyDrift reports whether every violation is known drift of the real API.
func (f ContractFinding) OnlyDrift() bool {
	return !slices.ContainsFunc(f.Violations, func(v spec.Violation) bool { return !v.Drift })
}

// WithContractValidation validates every request before it is sent (its credentials included)
// and every response after it arrives against the embedded openapi.yaml (kin-openapi, with uuid,
// email and date-time formats checked). Turn it on against the sandbox in CI to learn the day the
// real API drifts from the spec. It costs tens of microseconds per call; it is off by default.
func WithContractValidation(mode ContractMode) Option {
	return option("WithContractValidation", clientOnly, true, "", func(c *config) { c.contract = mode })
}

// WithContractReporter receives every finding in ContractReport mode.
func WithContractReporter(fn func(ContractFinding)) Option {
	return option("WithContractReporter", clientOnly, true, "", func(c *config) { c.report = fn })
}

// validate validates a request (resp nil) or its answer in contract mode: a finding goes to the
// reporter and the logger, or is an error in strict mode.
func (p *pipeline) validate(ctx context.Context, info callInfo, c *call, req *http.Request, resp *http.Response, body []byte) error {
	if p.contract == ContractOff {
		return nil
	}
	sp, op := specOperation(c.op.id)
	if op == nil {
		return nil
	}
	f := ContractFinding{Operation: c.op.id, Direction: "request"}
	if resp == nil {
		f.Violations = sp.ValidateRequest(ctx, op, req, c.params, body)
	} else {
		f.Direction, f.StatusCode = "response", resp.StatusCode
		f.Violations = sp.ValidateResponse(ctx, op, req, resp.StatusCode, resp.Header, body)
	}
	switch {
	case len(f.Violations) == 0:
		return nil
	case p.contract == ContractStrict:
		return &ContractError{ContractFinding: f, IdempotencyKey: info.key}
	case p.report != nil:
		p.report(f)
	}
	for _, vi := range f.Violations {
		if p.logger != nil {
			p.logger.LogAttrs(ctx, slog.LevelWarn, "dots contract violation",
				slog.String("op", f.Operation), slog.String("direction", f.Direction), slog.Int("status", f.StatusCode),
				slog.String("path", vi.Path), slog.String("message", vi.Message), slog.Bool("drift", vi.Drift))
		}
	}
	return nil
}
