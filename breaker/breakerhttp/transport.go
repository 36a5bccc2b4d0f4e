package breakerhttp

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

// RejectedError is the error of a request that a breaker refused: the
// Transport did not send it, and the Middleware answered 503 without calling
// its handler. errors.Is(err, breaker.ErrOpen) or
// errors.Is(err, breaker.ErrTooManyRequests) tells which refusal it was;
// http.Client wraps it in a *url.Error, through which errors.Is and
// errors.As still see it.
type RejectedError struct {
	// Breaker is the name of the breaker that refused the request.
	Breaker string
	// Err is breaker.ErrOpen (open or forced open) or
	// breaker.ErrTooManyRequests (half-open, every trial taken).
	Err error
	// RetryAt is when the breaker moves to half-open and admits trial
	// requests. It is zero when that time is not known: half-open (a trial
	// may finish at any moment) and forced open (until an operator
	// releases it).
	RetryAt time.Time
}

// Error reads like
// `breakerhttp: breaker "api.example.com" rejected the request: breaker: circuit open`.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("breakerhttp: breaker %q rejected the request: %v", e.Breaker, e.Err)
}

// Unwrap returns Err.
func (e *RejectedError) Unwrap() error { return e.Err }

// rejected returns the *RejectedError of b refusing a call with err; m is
// b's Metrics read after the refusal.
func rejected(b *breaker.Breaker, m breaker.Metrics, err error) *RejectedError {
	e := &RejectedError{Breaker: b.Name(), Err: err}
	if m.State == breaker.Open {
		e.RetryAt = m.HalfOpenAt
	}
	return e
}

// HostKey is the Transport's default Key: the request URL's host with its
// port when the URL has one ("api.example.com", "127.0.0.1:8080"), so that
// every host, and every port of a host, has its own breaker.
func HostKey(req *http.Request) string { return req.URL.Host }

// ClassifyResponse is the Transport's default classifier: a 5xx status and
// 429 (Too Many Requests) are failures, every other status is a success.
func ClassifyResponse(resp *http.Response) breaker.Outcome {
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		return breaker.Failure
	}
	return breaker.Success
}

// Transport is an http.RoundTripper that sends each request through a
// circuit breaker of Registry, one per key (per host by default), created on
// first use with Registry.GetOrCreate(key, Breaker). For each request:
//
//   - a request whose context is already done is neither sent nor counted:
//     RoundTrip returns the context's error;
//   - a request the breaker rejects is not sent: RoundTrip returns a
//     *RejectedError wrapping breaker.ErrOpen or breaker.ErrTooManyRequests;
//   - a response is classified by Classify (5xx and 429 are failures by
//     default) and returned to the caller whatever its outcome, body
//     included: the breaker only observes;
//   - a round-trip error counts by the rule of breaker.Breaker.ExecuteContext:
//     after the caller cancelled the request it is ignored, after the
//     request's deadline passed it is a failure, otherwise the breaker's own
//     Config.Classify decides;
//   - a panic in Base is recorded as a failure and re-raised.
//
// The outcome is recorded when the response headers arrive; reading the
// body is not part of the call, so a slow-call rule times the wait for the
// headers. Every round trip is one call, so each hop of a redirect counts
// with the breaker of its own host.
//
// # Retry-After
//
// A 429 or 503 response may carry Retry-After. The Transport does not stretch
// the breaker's open timeout to it: a breaker's timeout is its own
// Config.OpenTimeout, and forcing the breaker open until then would take
// the state that operators and the chaos engine own (ForceOpen / Release).
// The response reaches the caller with its header; OnRetryAfter, when set,
// is handed the parsed delay and the breaker to act on.
//
// A request it does not send has its body closed, as the RoundTripper
// contract asks. Transport is safe for concurrent use; do not modify its
// fields while it is in use. A call through a closed breaker allocates
// nothing beyond what Base allocates.
type Transport struct {
	// Registry holds the breakers. Required: without it RoundTrip fails
	// with a *ValidationError for the field "registry".
	Registry *breaker.Registry
	// Base performs the round trips the breakers admit. nil means
	// http.DefaultTransport.
	Base http.RoundTripper
	// Breaker configures the breakers the Transport creates; the zero
	// Config stands for the registry's default. A breaker that already
	// exists under a key keeps its own configuration. An invalid Config
	// fails every request with its validation errors.
	Breaker breaker.Config
	// Key names the breaker of a request. nil means HostKey. A Key that
	// returns "" sends the request without a breaker. It must be safe for
	// concurrent use; keep the set of names it returns bounded, since every
	// name is a breaker in the registry.
	Key func(*http.Request) string
	// Classify tells how a response counts. nil means ClassifyResponse.
	// It must be safe for concurrent use and must not read the body.
	Classify func(*http.Response) breaker.Outcome
	// OnRetryAfter, when not nil, is called after a 429 or 503 response
	// carrying a valid Retry-After header has been recorded, with the
	// request's breaker and the delay the header asks for (see
	// ParseRetryAfter). It runs on the goroutine of RoundTrip, which waits
	// for it: keep it short.
	OnRetryAfter func(b *breaker.Breaker, d time.Duration)
}

var _ http.RoundTripper = (*Transport)(nil)

// RoundTrip sends req through the breaker of its key. It blocks for as long
// as Base does; a rejection returns at once.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	key := HostKey
	if t.Key != nil {
		key = t.Key
	}
	name := key(req)
	if name == "" {
		return base.RoundTrip(req)
	}
	b, err := t.breakerFor(req.Context(), name)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	tk, err := b.Allow()
	if err != nil {
		closeBody(req)
		return nil, rejected(b, b.Metrics(), err)
	}
	return t.send(base, req, b, tk)
}

// breakerFor returns the breaker named name, or why the request may not be
// sent: the request's context is done, or the Transport is misconfigured.
func (t *Transport) breakerFor(ctx context.Context, name string) (*breaker.Breaker, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if t.Registry == nil {
		return nil, antifragile.Invalid("registry", nil, "breakerhttp: Transport.Registry must be set")
	}
	b, err := t.Registry.GetOrCreate(name, t.Breaker)
	if err != nil {
		return nil, fmt.Errorf("breakerhttp: breaker %q: %w", name, err)
	}
	return b, nil
}

// send performs the admitted round trip and records its outcome on tk.
func (t *Transport) send(base http.RoundTripper, req *http.Request, b *breaker.Breaker, tk breaker.Ticket) (*http.Response, error) {
	finished := false
	defer func() {
		if !finished {
			tk.Report(breaker.Failure)
		}
	}()
	resp, err := base.RoundTrip(req)
	finished = true
	if err != nil {
		reportError(req.Context(), tk, err)
		return nil, err
	}
	classify := ClassifyResponse
	if t.Classify != nil {
		classify = t.Classify
	}
	tk.Report(classify(resp))
	if t.OnRetryAfter != nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) {
		if d, ok := ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			t.OnRetryAfter(b, d)
		}
	}
	return resp, nil
}

// reportError records a failed round trip by the rule of
// breaker.Breaker.ExecuteContext.
func reportError(ctx context.Context, tk breaker.Ticket, err error) {
	switch ctx.Err() {
	case context.Canceled:
		tk.Report(breaker.Ignored)
	case context.DeadlineExceeded:
		tk.Report(breaker.Failure)
	default:
		tk.Done(err)
	}
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// CloseIdleConnections closes the idle connections of Base, when Base has
// such a method (http.Client.CloseIdleConnections calls it).
func (t *Transport) CloseIdleConnections() {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if c, ok := base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}
