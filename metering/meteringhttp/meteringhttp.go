package meteringhttp

import (
	"net/http"
	"time"

	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/metering"
)

// Config says how Handler records a request.
type Config struct {
	// Operation is the metered operation; empty means
	// metering.OpAgentMessage.
	Operation metering.Operation
	// Tier is the pricing tier; empty means metering.TierStandard.
	Tier metering.Tier
	// Tenant extracts the tenant from the request. nil, an empty result or
	// a panic means the default tenant.
	Tenant func(r *http.Request) string
	// Agent extracts the agent from the request. nil or a panic means no
	// agent.
	Agent func(r *http.Request) string
}

// Handler wraps h: each request is timed and recorded on m. A response
// status of 500 or above is outcome error with compliance 0; 400 to 499 is
// outcome ok with compliance 0 (the request was invalid); anything else is
// ok with compliance 1. A panicking handler is recorded as an error and the
// panic continues. The ResponseWriter passed to h supports
// http.ResponseController (Unwrap) so flushing and hijacking still work.
// Recording never blocks the request (see metering.Meter.Record). A nil m
// records nothing. A nil h, or a typed nil such as a nil http.HandlerFunc,
// is a programming error that Handler reports at once, as http.Handle does,
// rather than at every request: it panics with a *ValidationError for
// "handler" wrapping antifragile.ErrNil.
func Handler(m *metering.Meter, h http.Handler, cfg Config) http.Handler {
	if err := nilcheck.Required("handler", h); err != nil {
		panic(err)
	}
	op := cfg.Operation
	if op == "" {
		op = metering.OpAgentMessage
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		done := false
		defer func() {
			e := metering.Event{Operation: op, Tier: cfg.Tier, Latency: time.Since(start), Outcome: metering.OutcomeError}
			if status := sw.final(); done && status < 500 {
				e.Outcome = metering.OutcomeOK
				if status < 400 {
					e.Compliance = 1
				}
			}
			e.Tenant = extract(cfg.Tenant, r)
			e.Agent = extract(cfg.Agent, r)
			m.Record(e)
		}()
		h.ServeHTTP(sw, r)
		done = true
	})
}

// extract calls f on r, treating nil and a panic as "".
func extract(f func(*http.Request) string, r *http.Request) (s string) {
	if f == nil {
		return ""
	}
	defer func() {
		if recover() != nil {
			s = ""
		}
	}()
	return f(r)
}

// statusWriter remembers the first status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

// final returns the status the response had: 200 when none was written.
func (w *statusWriter) final() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
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
