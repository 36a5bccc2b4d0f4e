package breakergrpc_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/antifragile-go/antifragile/breaker"
)

// The test service test.Probe, declared by hand so that no protoc is
// needed. Each request is a StringValue that tells the server how to
// answer:
//
//	"OK"           answer the request (its value echoed back)
//	a code name    fail with that code ("Unavailable", "NotFound", …)
//	"error"        fail with a plain error (gRPC sends Unknown)
//	"hang"         signal started, then wait for the call's context to end
//	"panic"        panic
//
// Call is unary, List streams three responses and then answers like Call,
// Collect reads requests until the client closes and answers like Call for
// the last one.
const (
	methodCall    = "/test.Probe/Call"
	methodList    = "/test.Probe/List"
	methodCollect = "/test.Probe/Collect"
)

type probe struct {
	calls   atomic.Int64  // handler invocations
	started chan struct{} // one send per "hang" request
}

var codeByName = func() map[string]codes.Code {
	m := map[string]codes.Code{}
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		m[c.String()] = c
	}
	return m
}()

func (p *probe) answer(ctx context.Context, in *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
	switch v := in.GetValue(); v {
	case "OK":
		return wrapperspb.String(v), nil
	case "error":
		return nil, errors.New("plain error")
	case "hang":
		p.started <- struct{}{}
		<-ctx.Done()
		return nil, status.FromContextError(ctx.Err()).Err()
	case "panic":
		panic("handler broke")
	default:
		c, ok := codeByName[v]
		if !ok {
			return nil, status.Errorf(codes.InvalidArgument, "unknown instruction %q", v)
		}
		return nil, status.Error(c, "as asked")
	}
}

var probeDesc = grpc.ServiceDesc{
	ServiceName: "test.Probe",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "Call",
		Handler: func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
			in := new(wrapperspb.StringValue)
			if err := dec(in); err != nil {
				return nil, err
			}
			p := srv.(*probe)
			h := func(ctx context.Context, req any) (any, error) {
				p.calls.Add(1)
				return p.answer(ctx, req.(*wrapperspb.StringValue))
			}
			if interceptor == nil {
				return h(ctx, in)
			}
			return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: methodCall}, h)
		},
	}},
	Streams: []grpc.StreamDesc{
		{StreamName: "List", ServerStreams: true, Handler: func(srv any, ss grpc.ServerStream) error {
			p := srv.(*probe)
			p.calls.Add(1)
			in := new(wrapperspb.StringValue)
			if err := ss.RecvMsg(in); err != nil {
				return err
			}
			for range 3 {
				if err := ss.SendMsg(wrapperspb.String("item")); err != nil {
					return err
				}
			}
			_, err := p.answer(ss.Context(), in)
			return err
		}},
		{StreamName: "Collect", ClientStreams: true, Handler: func(srv any, ss grpc.ServerStream) error {
			p := srv.(*probe)
			p.calls.Add(1)
			last := new(wrapperspb.StringValue)
			for {
				in := new(wrapperspb.StringValue)
				err := ss.RecvMsg(in)
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				last = in
			}
			out, err := p.answer(ss.Context(), last)
			if err != nil {
				return err
			}
			return ss.SendMsg(out)
		}},
	},
}

// streamDesc returns the client's descriptor of a stream of probeDesc.
func streamDesc(name string) *grpc.StreamDesc {
	for i := range probeDesc.Streams {
		if probeDesc.Streams[i].StreamName == name {
			return &probeDesc.Streams[i]
		}
	}
	panic("no stream " + name)
}

// server is test.Probe served on a loopback port.
type server struct {
	*probe
	addr string
	// stop stops the server and waits for its handlers, and so for the
	// server interceptors, to return. It is idempotent and runs when the
	// test ends.
	stop func()
}

// startServer serves test.Probe on a loopback port until the test ends.
func startServer(t *testing.T, opts ...grpc.ServerOption) *server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{started: make(chan struct{}, 1)}
	s := grpc.NewServer(append([]grpc.ServerOption{grpc.WaitForHandlers(true)}, opts...)...)
	s.RegisterService(&probeDesc, p)
	served := make(chan error, 1)
	go func() { served <- s.Serve(lis) }()
	stop := sync.OnceFunc(func() {
		s.Stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	t.Cleanup(stop)
	return &server{probe: p, addr: lis.Addr().String(), stop: stop}
}

// dial returns a client connection to addr, closed when the test ends.
func dial(t *testing.T, addr string, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	cc, err := grpc.NewClient("passthrough:///"+addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// call makes one unary Call asking the server to answer with instruction.
func call(ctx context.Context, cc *grpc.ClientConn, instruction string) error {
	return cc.Invoke(ctx, methodCall, wrapperspb.String(instruction), new(wrapperspb.StringValue))
}

func newRegistry(t *testing.T) *breaker.Registry {
	t.Helper()
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func mustBreaker(t *testing.T, reg *breaker.Registry, name string) *breaker.Breaker {
	t.Helper()
	b, ok := reg.Get(name)
	if !ok {
		t.Fatalf("no breaker %q in the registry (have %q)", name, reg.Names())
	}
	return b
}

// outcomes returns how many successes, failures and ignored calls b saw,
// checking that nothing else was counted.
func outcomes(t *testing.T, b *breaker.Breaker) [3]uint64 {
	t.Helper()
	m := b.Metrics()
	if m.Late != 0 {
		t.Fatalf("late calls: %+v", m)
	}
	return [3]uint64{m.Successes, m.Failures, m.Ignored}
}

var (
	oneSuccess = [3]uint64{1, 0, 0}
	oneFailure = [3]uint64{0, 1, 0}
	oneIgnored = [3]uint64{0, 0, 1}
)

func want(o breaker.Outcome) [3]uint64 {
	return map[breaker.Outcome][3]uint64{breaker.Success: oneSuccess, breaker.Failure: oneFailure, breaker.Ignored: oneIgnored}[o]
}

// checkRejected checks that err is the refusal of breaker name.
func checkRejected(t *testing.T, err error, name string) {
	t.Helper()
	s, ok := status.FromError(err)
	if !ok || s.Code() != codes.Unavailable || !strings.Contains(s.Message(), `"`+name+`"`) {
		t.Fatalf("err = %v, want Unavailable naming breaker %q", err, name)
	}
}
