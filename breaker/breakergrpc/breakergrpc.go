package breakergrpc

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/antifragile-go/antifragile/breaker"
)

// Config configures the interceptors. The zero value is usable: a breaker
// per method with the registry's default breaker Config, classified by
// ClassifyCode.
type Config struct {
	// Breaker configures the breakers the interceptors create; the zero
	// Config stands for the registry's default. A breaker that already
	// exists under a key keeps its own configuration. The interceptor
	// constructors panic on an invalid Config; check a Config read from a
	// file with its Validate method first.
	Breaker breaker.Config
	// Key names the breaker of a call from its context, the target of the
	// ClientConn (cc.Target(), such as "dns:///payments:443"; "" on the
	// server side) and the full method name ("/pkg.Service/Method"). nil
	// means MethodKey; TargetKey gives a breaker per target. A Key that
	// returns "" lets the call through without a breaker. It must be safe
	// for concurrent use, and the set of names it returns must stay
	// bounded: every name is a breaker in the registry.
	Key func(ctx context.Context, target, method string) string
	// Classify tells how the status code a call finished with counts. nil
	// means ClassifyCode. It must be safe for concurrent use.
	Classify func(codes.Code) breaker.Outcome
}

// MethodKey is the default Key: the full method name, one breaker per
// method.
func MethodKey(_ context.Context, _, method string) string { return method }

// TargetKey is a Key that gives each client target its own breaker, shared
// by all its methods. On the server side, where there is no target, it
// returns "" and calls go through unguarded.
func TargetKey(_ context.Context, target, _ string) string { return target }

// ClassifyCode is the default classifier: Unavailable, DeadlineExceeded and
// ResourceExhausted say that the dependency is down, slow or overloaded and
// are failures; Canceled (the caller gave up) is ignored; every other code,
// OK included, is a success, since the service answered — a NotFound or an
// InvalidArgument says nothing about its health. This agrees with the rule
// of breaker.Breaker.ExecuteContext: gRPC reports the caller's cancellation
// as Canceled and a blown deadline as DeadlineExceeded.
func ClassifyCode(c codes.Code) breaker.Outcome {
	switch c {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return breaker.Failure
	case codes.Canceled:
		return breaker.Ignored
	}
	return breaker.Success
}

// RejectedError is the error of a call that a breaker refused: the client
// interceptors did not send it and the server interceptors did not call the
// handler. It is a gRPC status error, codes.Unavailable with the error's
// message (status.Code and status.FromError see it), and it wraps
// breaker.ErrOpen or breaker.ErrTooManyRequests for errors.Is. A client
// receiving the refusal of a server interceptor gets the status only.
type RejectedError struct {
	// Breaker is the name of the breaker that refused the call.
	Breaker string
	// Err is breaker.ErrOpen (open or forced open) or
	// breaker.ErrTooManyRequests (half-open, every trial taken).
	Err error
}

// Error reads like
// `breakergrpc: breaker "/pkg.Service/Method" rejected the call: breaker: circuit open`.
func (e *RejectedError) Error() string {
	return fmt.Sprintf("breakergrpc: breaker %q rejected the call: %v", e.Breaker, e.Err)
}

// Unwrap returns Err.
func (e *RejectedError) Unwrap() error { return e.Err }

// GRPCStatus returns the status the call fails with: codes.Unavailable and
// the error's message.
func (e *RejectedError) GRPCStatus() *status.Status {
	return status.New(codes.Unavailable, e.Error())
}

// guard is what every interceptor shares: the registry and the resolved
// Config.
type guard struct {
	reg      *breaker.Registry
	cfg      breaker.Config
	key      func(context.Context, string, string) string
	classify func(codes.Code) breaker.Outcome
}

// newGuard resolves cfg, panicking on a nil reg or an invalid breaker
// Config.
func newGuard(reg *breaker.Registry, cfg Config) *guard {
	if reg == nil {
		panic("breakergrpc: an interceptor needs a non-nil *breaker.Registry")
	}
	if err := cfg.Breaker.Validate(); err != nil {
		panic(fmt.Sprintf("breakergrpc: invalid breaker config: %v", err))
	}
	g := &guard{reg: reg, cfg: cfg.Breaker, key: cfg.Key, classify: cfg.Classify}
	if g.key == nil {
		g.key = MethodKey
	}
	if g.classify == nil {
		g.classify = ClassifyCode
	}
	return g
}

// allow asks the breaker of the call for a ticket. guarded is false when the
// key is "": the call goes through without a breaker. A refusal is a
// *RejectedError.
func (g *guard) allow(ctx context.Context, target, method string) (t breaker.Ticket, guarded bool, err error) {
	name := g.key(ctx, target, method)
	if name == "" {
		return breaker.Ticket{}, false, nil
	}
	b, err := g.reg.GetOrCreate(name, g.cfg)
	if err != nil { // cannot happen: the Config was validated by newGuard
		panic(fmt.Sprintf("breakergrpc: breaker %q: %v", name, err))
	}
	t, err = b.Allow()
	if err != nil {
		return t, true, &RejectedError{Breaker: name, Err: err}
	}
	return t, true, nil
}

// report records on t the outcome of a call that returned err.
func (g *guard) report(t breaker.Ticket, err error) { t.Report(g.classify(codeOf(err))) }

// codeOf returns the status code of a call's error the way a gRPC server
// does: a status error's code, Canceled or DeadlineExceeded for a context
// error, Unknown for any other error, OK for nil.
func codeOf(err error) codes.Code {
	if err == nil {
		return codes.OK
	}
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return status.FromContextError(err).Code()
}

// notSent returns the status error of a call whose context is already done.
func notSent(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	return nil
}
