package breakergrpc_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakergrpc"
)

func TestUnaryServerInterceptor(t *testing.T) {
	for _, tt := range classifyTests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t)
			srv := startServer(t, grpc.UnaryInterceptor(breakergrpc.UnaryServerInterceptor(reg, breakergrpc.Config{Classify: tt.classify})))
			call(t.Context(), dial(t, srv.addr), tt.instruction)
			srv.stop()
			if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != want(tt.want) {
				t.Fatalf("outcomes %v, want one %v", got, tt.want)
			}
		})
	}
	t.Run("an open breaker sheds calls without calling the handler", func(t *testing.T) {
		reg := newRegistry(t)
		srv := startServer(t, grpc.UnaryInterceptor(breakergrpc.UnaryServerInterceptor(reg,
			breakergrpc.Config{Breaker: breaker.Config{ConsecutiveFailures: 2}})))
		cc := dial(t, srv.addr)
		for range 2 {
			if err := call(t.Context(), cc, "ResourceExhausted"); status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("err = %v", err)
			}
		}
		err := call(t.Context(), cc, "OK")
		checkRejected(t, err, methodCall)
		if !strings.Contains(status.Convert(err).Message(), "circuit open") {
			t.Fatalf("message %q does not say why", status.Convert(err).Message())
		}
		if n := srv.calls.Load(); n != 2 {
			t.Fatalf("the handler ran %d times, want 2", n)
		}
	})
	t.Run("a client that goes away is ignored", func(t *testing.T) {
		reg := newRegistry(t)
		srv := startServer(t, grpc.UnaryInterceptor(breakergrpc.UnaryServerInterceptor(reg, breakergrpc.Config{})))
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-srv.started; cancel() }()
		call(ctx, dial(t, srv.addr), "hang")
		srv.stop() // waits for the handler and the interceptor
		if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != oneIgnored {
			t.Fatalf("outcomes %v, want one ignored", got)
		}
	})
	t.Run("a handler's panic is a failure and is re-raised", func(t *testing.T) {
		reg := newRegistry(t)
		var recovered atomic.Value
		// recoverer, outside ours, sees what leaves our interceptor.
		recoverer := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (resp any, err error) {
			defer func() {
				if r := recover(); r != nil {
					recovered.Store(r)
					err = status.Error(codes.Internal, "recovered")
				}
			}()
			return h(ctx, req)
		}
		srv := startServer(t, grpc.ChainUnaryInterceptor(recoverer, breakergrpc.UnaryServerInterceptor(reg, breakergrpc.Config{})))
		if err := call(t.Context(), dial(t, srv.addr), "panic"); status.Code(err) != codes.Internal {
			t.Fatalf("err = %v", err)
		}
		if r := recovered.Load(); r != "handler broke" {
			t.Fatalf("recovered %v, want the handler's panic", r)
		}
		if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != oneFailure {
			t.Fatalf("outcomes %v, want one failure", got)
		}
	})
	t.Run("TargetKey serves unguarded on the server", func(t *testing.T) {
		reg := newRegistry(t)
		srv := startServer(t, grpc.UnaryInterceptor(breakergrpc.UnaryServerInterceptor(reg, breakergrpc.Config{Key: breakergrpc.TargetKey})))
		if err := call(t.Context(), dial(t, srv.addr), "OK"); err != nil || reg.Len() != 0 {
			t.Fatalf("err %v, breakers %q", err, reg.Names())
		}
	})
}

func TestStreamServerInterceptor(t *testing.T) {
	for _, tt := range classifyTests {
		t.Run(tt.name, func(t *testing.T) {
			reg := newRegistry(t)
			srv := startServer(t, grpc.StreamInterceptor(breakergrpc.StreamServerInterceptor(reg, breakergrpc.Config{Classify: tt.classify})))
			list(t.Context(), dial(t, srv.addr), tt.instruction)
			srv.stop()
			if got := outcomes(t, mustBreaker(t, reg, methodList)); got != want(tt.want) {
				t.Fatalf("outcomes %v, want one %v", got, tt.want)
			}
		})
	}
	t.Run("an open breaker sheds streams without calling the handler", func(t *testing.T) {
		reg := newRegistry(t)
		srv := startServer(t, grpc.StreamInterceptor(breakergrpc.StreamServerInterceptor(reg, breakergrpc.Config{})))
		b, _ := reg.GetOrCreate(methodList, breaker.Config{})
		b.ForceOpen()
		n, err := list(t.Context(), dial(t, srv.addr), "OK")
		checkRejected(t, err, methodList)
		if n != 0 || srv.calls.Load() != 0 {
			t.Fatalf("read %d items, handler ran %d times", n, srv.calls.Load())
		}
	})
	t.Run("a handler's panic is a failure and is re-raised", func(t *testing.T) {
		reg := newRegistry(t)
		var recovered atomic.Value
		recoverer := func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, h grpc.StreamHandler) (err error) {
			defer func() {
				if r := recover(); r != nil {
					recovered.Store(r)
					err = status.Error(codes.Internal, "recovered")
				}
			}()
			return h(srv, ss)
		}
		srv := startServer(t, grpc.ChainStreamInterceptor(recoverer, breakergrpc.StreamServerInterceptor(reg, breakergrpc.Config{})))
		if _, err := list(t.Context(), dial(t, srv.addr), "panic"); status.Code(err) != codes.Internal {
			t.Fatalf("err = %v", err)
		}
		if r := recovered.Load(); r != "handler broke" {
			t.Fatalf("recovered %v, want the handler's panic", r)
		}
		if got := outcomes(t, mustBreaker(t, reg, methodList)); got != oneFailure {
			t.Fatalf("outcomes %v, want one failure", got)
		}
	})
}

func TestInterceptors_Misuse(t *testing.T) {
	constructors := map[string]func(*breaker.Registry, breakergrpc.Config){
		"UnaryClientInterceptor":  func(r *breaker.Registry, c breakergrpc.Config) { breakergrpc.UnaryClientInterceptor(r, c) },
		"StreamClientInterceptor": func(r *breaker.Registry, c breakergrpc.Config) { breakergrpc.StreamClientInterceptor(r, c) },
		"UnaryServerInterceptor":  func(r *breaker.Registry, c breakergrpc.Config) { breakergrpc.UnaryServerInterceptor(r, c) },
		"StreamServerInterceptor": func(r *breaker.Registry, c breakergrpc.Config) { breakergrpc.StreamServerInterceptor(r, c) },
	}
	for name, construct := range constructors {
		t.Run(name+" panics on a nil registry", func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "Registry") {
					t.Fatalf("recovered %v", r)
				}
			}()
			construct(nil, breakergrpc.Config{})
		})
		t.Run(name+" panics on an invalid config, naming the field", func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), "failure_rate") {
					t.Fatalf("recovered %v", r)
				}
			}()
			construct(newRegistry(t), breakergrpc.Config{Breaker: breaker.Config{FailureRate: -1}})
		})
	}
}

// A call the server interceptor sheds reaches the client as Unavailable,
// which the client's own breaker counts as a failure: load shed by the
// server backs the client off.
func TestInterceptors_ServerSheddingTripsTheClient(t *testing.T) {
	serverReg, clientReg := newRegistry(t), newRegistry(t)
	srv := startServer(t, grpc.UnaryInterceptor(breakergrpc.UnaryServerInterceptor(serverReg, breakergrpc.Config{})))
	b, _ := serverReg.GetOrCreate(methodCall, breaker.Config{})
	b.ForceOpen()
	cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(clientReg,
		breakergrpc.Config{Breaker: breaker.Config{ConsecutiveFailures: 1}})))
	checkRejected(t, call(t.Context(), cc, "OK"), methodCall) // the server's refusal
	err := call(t.Context(), cc, "OK")                        // the client's own
	var re *breakergrpc.RejectedError
	if !errors.As(err, &re) || re.Breaker != methodCall {
		t.Fatalf("err = %v, want the client breaker's own *RejectedError", err)
	}
	if b.Metrics().Rejections != 1 {
		t.Fatalf("the server saw %d rejections, want 1: the second call left the client", b.Metrics().Rejections)
	}
}
