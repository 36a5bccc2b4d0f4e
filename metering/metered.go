package metering

import (
	"context"
	"net/http"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
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

// HandlerOptions says how MeteredHandler records a request.
type HandlerOptions struct {
	// Operation is the metered operation; empty means OpAgentMessage.
	Operation Operation
	// Tier is the pricing tier; empty means TierStandard.
	Tier Tier
	// Tenant extracts the tenant from the request. nil, an empty result or
	// a panic means the default tenant.
	Tenant func(r *http.Request) string
	// Agent extracts the agent from the request. nil or a panic means no
	// agent.
	Agent func(r *http.Request) string
}

// MeteredHandler wraps h: each request is timed and recorded on m. A
// response status of 500 or above is outcome error with compliance 0; 400
// to 499 is outcome ok with compliance 0 (the request was invalid); anything
// else is ok with compliance 1. A panicking handler is recorded as an error
// and the panic continues. The ResponseWriter passed to h supports
// http.ResponseController (Unwrap) so flushing and hijacking still work.
// A nil m records nothing. A nil h, or a typed nil such as a nil
// http.HandlerFunc, is a programming error that MeteredHandler reports at
// once, as http.Handle does, rather than at every request: it panics with a
// *ValidationError for "handler" wrapping antifragile.ErrNil.
func MeteredHandler(m *Meter, h http.Handler, opts HandlerOptions) http.Handler {
	if err := nilcheck.Required("handler", h); err != nil {
		panic(err)
	}
	op, tier := opOr(opts.Operation), opts.Tier
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		done := false
		defer func() {
			e := Event{Operation: op, Tier: tier, Latency: time.Since(start), Outcome: OutcomeError}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			if done && status < 500 {
				e.Outcome = OutcomeOK
				if status < 400 {
					e.Compliance = 1
				}
			}
			e.Tenant = safeExtract(opts.Tenant, r)
			e.Agent = safeExtract(opts.Agent, r)
			m.Record(e)
		}()
		h.ServeHTTP(sw, r)
		done = true
	})
}

// statusWriter remembers the first status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader records the first final status and passes it on.
func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write records an implicit 200 and passes b on.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
