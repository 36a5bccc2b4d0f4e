package breakergrpc

import (
	"context"

	"google.golang.org/grpc"

	"github.com/antifragile-go/antifragile/breaker"
)

// UnaryServerInterceptor returns a server interceptor that serves each
// unary call through a breaker of reg, one per key (per method by default,
// the target passed to Key being ""), created on first use with
// reg.GetOrCreate(key, cfg.Breaker). It sheds load while a breaker is open:
//
//   - a call the breaker rejects fails with a *RejectedError, which the
//     client receives as codes.Unavailable with a message naming the
//     breaker, without the handler being called;
//   - otherwise the status code the handler returns (Unknown for an error
//     that is not a status, as gRPC sends it) is classified by
//     cfg.Classify;
//   - a panic in the handler is recorded as a failure and re-raised.
//
// It panics if reg is nil or cfg.Breaker is invalid. The interceptor is
// safe for concurrent use; it blocks only in the handler.
func UnaryServerInterceptor(reg *breaker.Registry, cfg Config) grpc.UnaryServerInterceptor {
	g := newGuard(reg, cfg)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		t, _, err := g.allow(ctx, "", info.FullMethod)
		if err != nil {
			return nil, err
		}
		finished := false
		defer func() {
			if !finished {
				t.Report(breaker.Failure)
			}
		}()
		resp, err := handler(ctx, req)
		finished = true
		g.report(t, err)
		return resp, err
	}
}

// StreamServerInterceptor returns a server interceptor that serves each
// streaming call through a breaker of reg, like UnaryServerInterceptor:
// the outcome is the status code the handler returns when the stream ends.
func StreamServerInterceptor(reg *breaker.Registry, cfg Config) grpc.StreamServerInterceptor {
	g := newGuard(reg, cfg)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		t, _, err := g.allow(ss.Context(), "", info.FullMethod)
		if err != nil {
			return err
		}
		finished := false
		defer func() {
			if !finished {
				t.Report(breaker.Failure)
			}
		}()
		err = handler(srv, ss)
		finished = true
		g.report(t, err)
		return err
	}
}
