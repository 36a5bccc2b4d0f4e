package chaoshttp

import (
	"errors"
	"net"
	"net/http"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
)

// HeaderScenario is the response header that names the scenario which
// failed a request, so that an injected failure can be told from a real
// one.
const HeaderScenario = "X-Chaos-Scenario"

// Config configures Middleware.
type Config struct {
	// Target names the target of every request. "" means the request's
	// Host without its port.
	Target string
	// TargetFunc, when not nil, returns the target of a request and takes
	// precedence over Target.
	TargetFunc func(*http.Request) string
	// ErrorStatus is the status of a response failed by an injected error.
	// 0 means 500 (Internal Server Error).
	ErrorStatus int
}

func targetOf(r *http.Request, fn func(*http.Request) string, name, host string) string {
	switch {
	case fn != nil:
		return fn(r)
	case name != "":
		return name
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// Middleware returns middleware that applies e's faults for the request's
// target before calling the next handler:
//
//   - a partition aborts the connection without a response (it panics with
//     http.ErrAbortHandler, which net/http handles quietly);
//   - a timeout holds the request until its context ends (the client gives
//     up or the server's timeout fires), then returns without a response;
//   - latency delays the request, or ends it like a timeout if its context
//     ends first;
//   - an injected error is answered with Config.ErrorStatus, the
//     X-Chaos-Scenario header and the error's message;
//   - a network_bandwidth scenario throttles the request body and the
//     response.
//
// With nothing active it costs one atomic load per request. The handler is
// safe for concurrent use.
//
// A nil e, and a nil or typed-nil next handler (such as a nil
// http.HandlerFunc), are programming errors reported at once, as
// http.Handle does, rather than on every request: Middleware, or the
// middleware given such a next, panics with a *chaos.ValidationError for
// "engine" or "next" wrapping antifragile.ErrNil.
func Middleware(e *chaos.Engine, cfg Config) func(http.Handler) http.Handler {
	if e == nil {
		panic(&chaos.ValidationError{Field: "engine", Err: antifragile.ErrNil})
	}
	status := cfg.ErrorStatus
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return func(next http.Handler) http.Handler {
		if err := nilcheck.Required("next", next); err != nil {
			panic(err)
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			target := targetOf(r, cfg.TargetFunc, cfg.Target, r.Host)
			if err := e.Apply(r.Context(), target); err != nil {
				var ie *chaos.InjectedError
				switch {
				case errors.As(err, &ie):
					w.Header().Set(HeaderScenario, ie.Scenario)
					http.Error(w, err.Error(), status)
				case errors.Is(err, chaos.ErrPartitioned):
					panic(http.ErrAbortHandler)
				}
				return // the request's context ended: nobody is waiting
			}
			if _, ok := e.Bandwidth(target); ok {
				p := &pacer{e: e, target: target}
				if r.Body != nil && r.Body != http.NoBody {
					r.Body = &throttledBody{ctx: r.Context(), rc: r.Body, p: p}
				}
				w = &throttledWriter{ResponseWriter: w, ctx: r.Context(), p: &pacer{e: e, target: target}}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Transport is an http.RoundTripper that applies an engine's faults for
// the request's target before handing the request to Base:
//
//   - a partition fails with chaos.ErrPartitioned;
//   - a timeout blocks until the request's context ends and fails with its
//     error;
//   - latency delays the request (failing with the context's error if it
//     ends first);
//   - an injected error fails the round trip with that *chaos.InjectedError;
//   - a network_bandwidth scenario throttles the request and response
//     bodies.
//
// A failed round trip closes the request body and never reaches Base. The
// http.Client wraps the errors in *url.Error; errors.Is still matches them.
// Safe for concurrent use; do not modify the fields while in use.
type Transport struct {
	// Engine supplies the faults. Required: without it every round trip
	// fails with a *chaos.ValidationError for "engine" wrapping
	// antifragile.ErrNil.
	Engine *chaos.Engine
	// Base performs the real round trip. nil means http.DefaultTransport.
	// It must not be a typed nil (such as a nil *http.Transport), which
	// panics in the first round trip: a Transport is plain data with no
	// constructor to refuse it, and telling a typed nil costs reflection,
	// too much for every request.
	Base http.RoundTripper
	// Target names the target of every request. "" means the request URL's
	// host without its port.
	Target string
	// TargetFunc, when not nil, returns the target of a request and takes
	// precedence over Target.
	TargetFunc func(*http.Request) string
}

var _ http.RoundTripper = (*Transport)(nil)

// errNoEngine is the error of a round trip through a Transport without an
// Engine.
var errNoEngine error = &chaos.ValidationError{Field: "engine", Err: antifragile.ErrNil}

// RoundTrip applies the faults and then sends req with Base.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.Engine == nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, errNoEngine
	}
	target := targetOf(req, t.TargetFunc, t.Target, req.URL.Host)
	if err := t.Engine.Apply(req.Context(), target); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if _, ok := t.Engine.Bandwidth(target); !ok {
		return base.RoundTrip(req)
	}
	if req.Body != nil && req.Body != http.NoBody {
		r2 := new(http.Request)
		*r2 = *req
		r2.Body = &throttledBody{ctx: req.Context(), rc: req.Body, p: &pacer{e: t.Engine, target: target}}
		req = r2
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &throttledBody{ctx: req.Context(), rc: resp.Body, p: &pacer{e: t.Engine, target: target}}
	return resp, nil
}
