package breakergrpc

import (
	"context"
	"io"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/antifragile-go/antifragile/breaker"
)

// UnaryClientInterceptor returns a client interceptor that sends each unary
// call through a breaker of reg, one per key (per method by default),
// created on first use with reg.GetOrCreate(key, cfg.Breaker):
//
//   - a call whose context is already done is neither sent nor counted: it
//     fails with Canceled or DeadlineExceeded;
//   - a call the breaker rejects is not sent: it fails with a
//     *RejectedError, codes.Unavailable naming the breaker;
//   - otherwise the status code the call ends with is classified by
//     cfg.Classify;
//   - a panic below the interceptor is recorded as a failure and re-raised.
//
// It panics if reg is nil or cfg.Breaker is invalid. The interceptor is
// safe for concurrent use; it blocks only in the invoker.
func UnaryClientInterceptor(reg *breaker.Registry, cfg Config) grpc.UnaryClientInterceptor {
	g := newGuard(reg, cfg)
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if err := notSent(ctx); err != nil {
			return err
		}
		t, _, err := g.allow(ctx, targetOf(cc), method)
		if err != nil {
			return err
		}
		finished := false
		defer func() {
			if !finished {
				t.Report(breaker.Failure)
			}
		}()
		err = invoker(ctx, method, req, reply, cc, opts...)
		finished = true
		g.report(t, err)
		return err
	}
}

// StreamClientInterceptor returns a client interceptor that sends each
// streaming call through a breaker of reg, like UnaryClientInterceptor. A
// stream is one call, whose outcome is recorded once, when the first of
// these happens:
//
//   - RecvMsg returns io.EOF (OK) or an error (its status code);
//   - RecvMsg returns the response of a call whose server does not stream
//     (OK: the one response arrived);
//   - Header or SendMsg fails with an error other than io.EOF;
//   - the stream's context ends, for a stream left unfinished: the caller's
//     cancellation counts as Canceled, a blown deadline as
//     DeadlineExceeded.
//
// A stream that is never finished nor cancelled is never reported; in
// half-open state the breaker reclaims its trial after
// breaker.Config.HalfOpenTimeout. It panics if reg is nil or cfg.Breaker is
// invalid. The interceptor and the streams it returns are as safe for
// concurrent use as grpc.ClientStream.
func StreamClientInterceptor(reg *breaker.Registry, cfg Config) grpc.StreamClientInterceptor {
	g := newGuard(reg, cfg)
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		if err := notSent(ctx); err != nil {
			return nil, err
		}
		t, guarded, err := g.allow(ctx, targetOf(cc), method)
		if err != nil {
			return nil, err
		}
		if !guarded {
			return streamer(ctx, desc, cc, method, opts...)
		}
		finished := false
		defer func() {
			if !finished {
				t.Report(breaker.Failure)
			}
		}()
		cs, err := streamer(ctx, desc, cc, method, opts...)
		finished = true
		if err != nil {
			g.report(t, err)
			return nil, err
		}
		s := &clientStream{ClientStream: cs, g: g, t: t, unaryResponse: !desc.ServerStreams}
		s.stop = context.AfterFunc(ctx, func() { s.finish(ctx.Err()) })
		return s, nil
	}
}

func targetOf(cc *grpc.ClientConn) string {
	if cc == nil {
		return ""
	}
	return cc.Target()
}

// clientStream records the outcome of a stream on its ticket, once.
type clientStream struct {
	grpc.ClientStream
	g             *guard
	t             breaker.Ticket
	unaryResponse bool        // the server sends one response
	reported      atomic.Bool // the outcome is recorded
	stop          func() bool // stops the context's AfterFunc
}

// finish records the stream's outcome unless it is recorded already, and
// reports whether this call recorded it.
func (s *clientStream) finish(err error) bool {
	if !s.reported.CompareAndSwap(false, true) {
		return false
	}
	s.g.report(s.t, err)
	return true
}

// end is finish from the stream's own methods: it also stops the
// context's AfterFunc.
func (s *clientStream) end(err error) {
	if s.finish(err) {
		s.stop()
	}
}

// RecvMsg receives a message; the end of the stream records its outcome.
func (s *clientStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	switch {
	case err == io.EOF:
		s.end(nil)
	case err != nil:
		s.end(err)
	case s.unaryResponse:
		s.end(nil)
	}
	return err
}

// SendMsg sends a message; a failure other than io.EOF (the stream ended,
// RecvMsg tells how) records the outcome.
func (s *clientStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.end(err)
	}
	return err
}

// Header returns the header metadata; a failure records the outcome.
func (s *clientStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil {
		s.end(err)
	}
	return md, err
}
