package breakerhttp

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

// Config configures Middleware. The zero value is usable: a breaker per
// route with the registry's default breaker Config, 5xx statuses failing.
type Config struct {
	// Breaker configures the breakers the middleware creates; the zero
	// Config stands for the registry's default. A breaker that already
	// exists under a key keeps its own configuration. Middleware panics on
	// an invalid Config, as http.ServeMux does on an invalid pattern;
	// check a Config read from a file with its Validate method first.
	Breaker breaker.Config
	// Key names the breaker of a request. nil means RouteKey: the
	// ServeMux pattern that matched the request, else its method and path.
	// A Key that returns "" serves the request without a breaker. It must
	// be safe for concurrent use, and the set of names it returns must stay
	// bounded: every name is a breaker in the registry (see RouteKey).
	Key func(*http.Request) string
	// Classify tells how the status the handler answered counts. nil means
	// ClassifyStatus: 5xx statuses are failures. It must be safe for
	// concurrent use.
	Classify func(status int) breaker.Outcome
}

// RouteKey is the Middleware's default Key: r.Pattern, the pattern of the
// http.ServeMux route that matched the request ("GET /items/{id}"), else the
// request's method and path ("GET /items/42").
//
// ServeMux sets r.Pattern only on the request it passes to a route's
// handler, so wrap each route's handler — mux.Handle(pattern, mw(h)) — to
// get one breaker per route. Around a whole ServeMux, or any handler that no
// ServeMux routed, every distinct path gets its own breaker, and a client
// that sends random paths grows the registry without bound: give such a
// middleware a Key with a bounded set of names.
func RouteKey(r *http.Request) string {
	if r.Pattern != "" {
		return r.Pattern
	}
	return r.Method + " " + r.URL.Path
}

// ClassifyStatus is the Middleware's default classifier: a 5xx status is a
// failure, every other status a success.
func ClassifyStatus(status int) breaker.Outcome {
	if status >= 500 {
		return breaker.Failure
	}
	return breaker.Success
}

// Middleware returns middleware that serves each request through a circuit
// breaker of reg, one per key (per route by default), created on first use
// with reg.GetOrCreate(key, cfg.Breaker). It sheds load while a breaker is
// open:
//
//   - a request its breaker rejects is answered 503 (Service Unavailable)
//     with a Retry-After header and a one-line text body naming the
//     breaker, without calling the handler. Retry-After is the number of
//     seconds until the breaker admits trial requests (Metrics().HalfOpenAt,
//     rounded up), at least 1; 1 while half-open with every trial taken;
//     the breaker's OpenTimeout while forced open, since no one knows when
//     an operator will release it;
//   - otherwise the handler runs and the status it answers (200 when it
//     writes nothing) is classified by cfg.Classify, with the rule of
//     breaker.Breaker.ExecuteContext for the request's context: an outcome
//     other than success after the client went away (the context is
//     cancelled) is ignored, since a disconnecting client must not be able
//     to trip the breaker; after the context's deadline passed it is a
//     failure;
//   - a panic in the handler is recorded as a failure and re-raised.
//
// The handler sees a ResponseWriter that records the status; it has Flush,
// ReadFrom (so that files are still sent with sendfile), and Unwrap for
// http.ResponseController (Hijack, deadlines, full duplex).
// Middleware panics if reg is nil or cfg.Breaker is invalid. The handler it
// returns is safe for concurrent use; through a closed breaker it costs a
// read-locked map lookup, a few atomic operations and one small allocation
// (the status-recording writer) per request, and one more for a request
// without a ServeMux pattern (its key, built from method and path).
func Middleware(reg *breaker.Registry, cfg Config) func(http.Handler) http.Handler {
	if reg == nil {
		panic("breakerhttp: Middleware needs a non-nil *breaker.Registry")
	}
	if err := cfg.Breaker.Validate(); err != nil {
		panic(fmt.Sprintf("breakerhttp: Middleware: invalid breaker config: %v", err))
	}
	key := RouteKey
	if cfg.Key != nil {
		key = cfg.Key
	}
	classify := ClassifyStatus
	if cfg.Classify != nil {
		classify = cfg.Classify
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := key(r)
			if name == "" {
				next.ServeHTTP(w, r)
				return
			}
			b, err := reg.GetOrCreate(name, cfg.Breaker)
			if err != nil { // cannot happen: cfg.Breaker was validated above
				panic(fmt.Sprintf("breakerhttp: breaker %q: %v", name, err))
			}
			tk, err := b.Allow()
			if err != nil {
				m := b.Metrics()
				shed(w, rejected(b, m, err), retryAfter(b, m))
				return
			}
			serve(next, w, r, tk, classify)
		})
	}
}

// serve runs next for an admitted request and records its outcome on tk.
func serve(next http.Handler, w http.ResponseWriter, r *http.Request, tk breaker.Ticket, classify func(int) breaker.Outcome) {
	sw := &statusWriter{ResponseWriter: w}
	finished := false
	defer func() {
		if !finished {
			tk.Report(breaker.Failure)
		}
	}()
	next.ServeHTTP(sw, r)
	finished = true
	o := classify(sw.status())
	if o != breaker.Success {
		switch r.Context().Err() {
		case context.Canceled:
			o = breaker.Ignored
		case context.DeadlineExceeded:
			o = breaker.Failure
		}
	}
	tk.Report(o)
}

// shed answers a rejected request: 503, Retry-After (seconds) and the
// error's text.
func shed(w http.ResponseWriter, e *RejectedError, retry int64) {
	w.Header().Set("Retry-After", strconv.FormatInt(retry, 10))
	http.Error(w, e.Error(), http.StatusServiceUnavailable)
}

// retryAfter returns the Retry-After seconds of a request b rejected, m
// being b's Metrics read after the refusal: the time until the breaker
// admits trial requests, rounded up, at least 1.
func retryAfter(b *breaker.Breaker, m breaker.Metrics) int64 {
	var wait time.Duration
	switch m.State {
	case breaker.Open:
		wait = time.Until(m.HalfOpenAt)
	case breaker.ForcedOpen:
		wait = b.Config().OpenTimeout // a guess: no one knows when it ends
	}
	return max(int64(math.Ceil(wait.Seconds())), 1)
}

// statusWriter records the status a handler answers.
type statusWriter struct {
	http.ResponseWriter
	code int // the final status written; 0 until the header is written
}

// WriteHeader records the first final status (an informational 1xx other
// than 101 is not final) and passes code on.
func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Write writes the body; a first write without WriteHeader answers 200.
func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends what is buffered to the client, committing 200 if no status
// was written; it does nothing when the underlying writer cannot flush.
func (w *statusWriter) Flush() {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// ReadFrom copies r into the response through the underlying writer's
// ReadFrom when it has one (net/http's uses sendfile for files),
// committing 200 if no status was written.
func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return io.Copy(w.ResponseWriter, r)
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// status returns the status the handler answered: 200 when it wrote nothing.
func (w *statusWriter) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
