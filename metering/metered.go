package metering

import (
	"context"
	"time"

	"github.com/antifragile-go/antifragile"
)

// Validator is implemented by results that know whether they are valid
// (a validation result, a policy decision). Metered records a result that
// reports false as invalid: compliance 0.
type Validator interface {
	IsValid() bool
}

// MeteredOptions says how Metered records a call.
type MeteredOptions struct {
	// Operation is the metered operation; empty means OpAgentMessage.
	Operation Operation
	// Tier is the pricing tier; empty means TierStandard.
	Tier Tier
	// Tenant extracts the tenant from the call's context. nil, an empty
	// result or a panic means the default tenant.
	Tenant func(ctx context.Context) string
	// Agent extracts the agent from the call's context. nil or a panic
	// means no agent.
	Agent func(ctx context.Context) string
}

// Metered wraps fn so that each call is metered: it is
// timed and recorded on m with the options' operation and tier, the tenant
// and agent from the extractors, outcome error and compliance 0 when fn
// returns an error, compliance 0 when the result implements Validator and
// reports false, and compliance 1 otherwise. If fn panics, an error event is
// recorded and the panic continues. The wrapper returns fn's result and
// error unchanged, never blocks on metering, and is as safe for concurrent
// use as fn. A nil m records nothing. A nil fn is a programming error that
// Metered reports at once, as http.Handle does for a nil handler, rather
// than at every call: it panics with a *ValidationError for "fn" wrapping
// antifragile.ErrNil.
func Metered[T any](m *Meter, opts MeteredOptions, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	if fn == nil {
		panic(&ValidationError{Field: "fn", Err: antifragile.ErrNil})
	}
	op, tier := opOr(opts.Operation), opts.Tier
	return func(ctx context.Context) (result T, err error) {
		start := time.Now()
		done := false
		defer func() {
			e := Event{Operation: op, Tier: tier, Latency: time.Since(start), Outcome: OutcomeError}
			if done && err == nil {
				e.Outcome, e.Compliance = OutcomeOK, 1
				if v, ok := any(result).(Validator); ok && !safeIsValid(v) {
					e.Compliance = 0
				}
			}
			e.Tenant = safeExtract(opts.Tenant, ctx)
			e.Agent = safeExtract(opts.Agent, ctx)
			m.Record(e)
		}()
		result, err = fn(ctx)
		done = true
		return result, err
	}
}

func opOr(op Operation) Operation {
	if op == "" {
		return OpAgentMessage
	}
	return op
}

func safeIsValid(v Validator) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return v.IsValid()
}

func safeExtract[A any](f func(A) string, a A) (s string) {
	if f == nil {
		return ""
	}
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return f(a)
}
