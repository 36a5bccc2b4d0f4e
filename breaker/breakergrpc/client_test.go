package breakergrpc_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"sort"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakergrpc"
)

// classifyTests are the codes a call can end with and how they count, by
// default and with a classifier; the server answers each instruction.
var classifyTests = []struct {
	name        string
	instruction string
	classify    func(codes.Code) breaker.Outcome
	want        breaker.Outcome
}{
	{"OK is a success", "OK", nil, breaker.Success},
	{"NotFound is a success", "NotFound", nil, breaker.Success},
	{"InvalidArgument is a success", "InvalidArgument", nil, breaker.Success},
	{"Internal is a success", "Internal", nil, breaker.Success},
	{"a plain error (Unknown) is a success", "error", nil, breaker.Success},
	{"Unavailable is a failure", "Unavailable", nil, breaker.Failure},
	{"DeadlineExceeded is a failure", "DeadlineExceeded", nil, breaker.Failure},
	{"ResourceExhausted is a failure", "ResourceExhausted", nil, breaker.Failure},
	{"Canceled is ignored", "Canceled", nil, breaker.Ignored},
	{"a classifier can fail NotFound", "NotFound", func(c codes.Code) breaker.Outcome {
		if c == codes.NotFound {
			return breaker.Failure
		}
		return breaker.Success
	}, breaker.Failure},
	{"a classifier can ignore Unavailable", "Unavailable", func(codes.Code) breaker.Outcome { return breaker.Ignored }, breaker.Ignored},
}

func TestUnaryClientInterceptor(t *testing.T) {
	for _, tt := range classifyTests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t)
			reg := newRegistry(t)
			cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{Classify: tt.classify})))
			err := call(t.Context(), cc, tt.instruction)
			if tt.instruction == "OK" && err != nil {
				t.Fatal(err)
			}
			if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != want(tt.want) {
				t.Fatalf("outcomes %v, want one %v (err %v)", got, tt.want, err)
			}
		})
	}
	t.Run("a rejected call is not sent", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg,
			breakergrpc.Config{Breaker: breaker.Config{ConsecutiveFailures: 2}})))
		for range 2 {
			if err := call(t.Context(), cc, "Unavailable"); status.Code(err) != codes.Unavailable {
				t.Fatalf("err = %v", err)
			}
		}
		err := call(t.Context(), cc, "OK")
		checkRejected(t, err, methodCall)
		var re *breakergrpc.RejectedError
		if !errors.Is(err, breaker.ErrOpen) || !errors.As(err, &re) || re.Breaker != methodCall {
			t.Fatalf("err = %#v, want a *RejectedError wrapping ErrOpen", err)
		}
		if n := srv.calls.Load(); n != 2 {
			t.Fatalf("the server saw %d calls, want 2", n)
		}
		if m := mustBreaker(t, reg, methodCall).Metrics(); m.Rejections != 1 || m.Calls != 2 {
			t.Fatalf("metrics %+v", m)
		}
	})
	t.Run("half-open with its trial out rejects with ErrTooManyRequests", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		// Half-open soon after the trip, and the trial may stay out.
		cfg := breaker.Config{ConsecutiveFailures: 1, OpenTimeout: time.Millisecond, HalfOpenTimeout: time.Minute}
		b, _ := reg.GetOrCreate(methodCall, cfg)
		sub := b.Subscribe(8)
		defer sub.Close()
		cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{Breaker: cfg})))
		call(t.Context(), cc, "Unavailable")
		waitState(t, sub, breaker.HalfOpen)
		ctx, cancel := context.WithCancel(t.Context())
		trial := make(chan error, 1)
		go func() { trial <- call(ctx, cc, "hang") }()
		<-srv.started
		err := call(t.Context(), cc, "OK")
		checkRejected(t, err, methodCall)
		if !errors.Is(err, breaker.ErrTooManyRequests) {
			t.Fatalf("err = %v, want ErrTooManyRequests", err)
		}
		cancel()
		if err := <-trial; status.Code(err) != codes.Canceled {
			t.Fatalf("trial: %v", err)
		}
	})
	t.Run("a call whose ctx is done is neither sent nor counted", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{})))
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := call(ctx, cc, "OK"); status.Code(err) != codes.Canceled {
			t.Fatalf("err = %v, want Canceled", err)
		}
		if srv.calls.Load() != 0 || reg.Len() != 0 {
			t.Fatalf("server calls %d, breakers %q", srv.calls.Load(), reg.Names())
		}
	})
	t.Run("the caller's cancellation is ignored", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{})))
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-srv.started; cancel() }()
		if err := call(ctx, cc, "hang"); status.Code(err) != codes.Canceled {
			t.Fatalf("err = %v", err)
		}
		if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != oneIgnored {
			t.Fatalf("outcomes %v, want one ignored", got)
		}
	})
	t.Run("a blown deadline is a failure", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{})))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		if err := call(ctx, cc, "hang"); status.Code(err) != codes.DeadlineExceeded {
			t.Fatalf("err = %v", err)
		}
		if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != oneFailure {
			t.Fatalf("outcomes %v, want one failure", got)
		}
	})
	t.Run("a panic below is a failure and is re-raised", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		panicker := func(context.Context, string, any, any, *grpc.ClientConn, grpc.UnaryInvoker, ...grpc.CallOption) error {
			panic("invoker broke")
		}
		cc := dial(t, srv.addr, grpc.WithChainUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{}), panicker))
		func() {
			defer func() {
				if r := recover(); r != "invoker broke" {
					t.Fatalf("recovered %v", r)
				}
			}()
			call(t.Context(), cc, "OK")
		}()
		if got := outcomes(t, mustBreaker(t, reg, methodCall)); got != oneFailure {
			t.Fatalf("outcomes %v, want one failure", got)
		}
	})
	t.Run("TargetKey gives each target its own breaker", func(t *testing.T) {
		a, b := startServer(t), startServer(t)
		reg := newRegistry(t)
		icpt := grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{
			Key: breakergrpc.TargetKey, Breaker: breaker.Config{ConsecutiveFailures: 1}}))
		ca, cb := dial(t, a.addr, icpt), dial(t, b.addr, icpt)
		call(t.Context(), ca, "Unavailable")
		checkRejected(t, call(t.Context(), ca, "OK"), ca.Target())
		if err := call(t.Context(), cb, "OK"); err != nil {
			t.Fatalf("b: %v: a's breaker guarded b", err)
		}
		want := []string{ca.Target(), cb.Target()}
		sort.Strings(want)
		if got := reg.Names(); !slices.Equal(got, want) {
			t.Fatalf("breakers %q, want %q", got, want)
		}
	})
	t.Run("an empty key calls unguarded", func(t *testing.T) {
		srv := startServer(t)
		reg := newRegistry(t)
		cc := dial(t, srv.addr, grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{
			Key: func(context.Context, string, string) string { return "" }, Breaker: breaker.Config{ConsecutiveFailures: 1}})))
		for range 3 {
			if err := call(t.Context(), cc, "Unavailable"); status.Code(err) != codes.Unavailable || errors.Is(err, breaker.ErrOpen) {
				t.Fatalf("err = %v", err)
			}
		}
		if reg.Len() != 0 || srv.calls.Load() != 3 {
			t.Fatalf("breakers %q, server calls %d", reg.Names(), srv.calls.Load())
		}
	})
}

// waitState waits for the event that moves a breaker to state.
func waitState(t *testing.T, sub *breaker.Subscription, state breaker.State) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-sub.C:
			if ev.To == state {
				return
			}
		case <-timeout:
			t.Fatalf("no transition to %v", state)
		}
	}
}

// list opens the server stream List with instruction and reads it to its
// end, returning the items read and the final error (nil at io.EOF).
func list(ctx context.Context, cc *grpc.ClientConn, instruction string) (int, error) {
	s, err := cc.NewStream(ctx, streamDesc("List"), methodList)
	if err != nil {
		return 0, err
	}
	if err := s.SendMsg(wrapperspb.String(instruction)); err != nil {
		return 0, err
	}
	if err := s.CloseSend(); err != nil {
		return 0, err
	}
	for n := 0; ; n++ {
		if err := s.RecvMsg(new(wrapperspb.StringValue)); err != nil {
			if err == io.EOF {
				err = nil
			}
			return n, err
		}
	}
}

func TestStreamClientInterceptor(t *testing.T) {
	streamClient := func(t *testing.T, srv *server, cfg breakergrpc.Config) (*breaker.Registry, *grpc.ClientConn) {
		reg := newRegistry(t)
		return reg, dial(t, srv.addr, grpc.WithStreamInterceptor(breakergrpc.StreamClientInterceptor(reg, cfg)))
	}
	for _, tt := range classifyTests {
		t.Run("server stream/"+tt.name, func(t *testing.T) {
			srv := startServer(t)
			reg, cc := streamClient(t, srv, breakergrpc.Config{Classify: tt.classify})
			n, err := list(t.Context(), cc, tt.instruction)
			if n != 3 {
				t.Fatalf("read %d items, want 3 (err %v)", n, err)
			}
			if got := outcomes(t, mustBreaker(t, reg, methodList)); got != want(tt.want) {
				t.Fatalf("outcomes %v, want one %v (err %v)", got, tt.want, err)
			}
		})
	}
	collect := func(t *testing.T, cc *grpc.ClientConn, instruction string) error {
		s, err := cc.NewStream(t.Context(), streamDesc("Collect"), methodCollect)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"OK", instruction} {
			if err := s.SendMsg(wrapperspb.String(v)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.CloseSend(); err != nil {
			t.Fatal(err)
		}
		return s.RecvMsg(new(wrapperspb.StringValue)) // the one response: no second RecvMsg
	}
	t.Run("client stream: the one response is a success", func(t *testing.T) {
		srv := startServer(t)
		reg, cc := streamClient(t, srv, breakergrpc.Config{})
		if err := collect(t, cc, "OK"); err != nil {
			t.Fatal(err)
		}
		if got := outcomes(t, mustBreaker(t, reg, methodCollect)); got != oneSuccess {
			t.Fatalf("outcomes %v, want one success", got)
		}
	})
	t.Run("client stream: a failing status is a failure", func(t *testing.T) {
		srv := startServer(t)
		reg, cc := streamClient(t, srv, breakergrpc.Config{})
		if err := collect(t, cc, "ResourceExhausted"); status.Code(err) != codes.ResourceExhausted {
			t.Fatalf("err = %v", err)
		}
		if got := outcomes(t, mustBreaker(t, reg, methodCollect)); got != oneFailure {
			t.Fatalf("outcomes %v, want one failure", got)
		}
	})
	t.Run("a rejected stream is not opened", func(t *testing.T) {
		srv := startServer(t)
		reg, cc := streamClient(t, srv, breakergrpc.Config{})
		b, _ := reg.GetOrCreate(methodList, breaker.Config{})
		b.ForceOpen()
		_, err := cc.NewStream(t.Context(), streamDesc("List"), methodList)
		checkRejected(t, err, methodList)
		if !errors.Is(err, breaker.ErrOpen) || srv.calls.Load() != 0 {
			t.Fatalf("err = %v, server calls %d", err, srv.calls.Load())
		}
	})
	t.Run("a stream whose ctx is done is neither opened nor counted", func(t *testing.T) {
		srv := startServer(t)
		reg, cc := streamClient(t, srv, breakergrpc.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, err := cc.NewStream(ctx, streamDesc("List"), methodList); status.Code(err) != codes.Canceled {
			t.Fatalf("err = %v, want Canceled", err)
		}
		if reg.Len() != 0 || srv.calls.Load() != 0 {
			t.Fatalf("breakers %q, server calls %d", reg.Names(), srv.calls.Load())
		}
	})
	t.Run("an abandoned stream is reported when its ctx ends", func(t *testing.T) {
		srv := startServer(t)
		cfg := breakergrpc.Config{
			Breaker: breaker.Config{ConsecutiveFailures: 1},
			// Fail the cancellation, so that its record trips the breaker
			// and the trip tells the test it happened.
			Classify: func(c codes.Code) breaker.Outcome {
				if c == codes.Canceled {
					return breaker.Failure
				}
				return breaker.Success
			},
		}
		reg, cc := streamClient(t, srv, cfg)
		b, _ := reg.GetOrCreate(methodList, cfg.Breaker)
		sub := b.Subscribe(8)
		defer sub.Close()
		ctx, cancel := context.WithCancel(t.Context())
		s, err := cc.NewStream(ctx, streamDesc("List"), methodList)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.SendMsg(wrapperspb.String("hang")); err != nil {
			t.Fatal(err)
		}
		<-srv.started
		cancel() // and never call RecvMsg
		waitState(t, sub, breaker.Open)
		if got := outcomes(t, b); got != oneFailure {
			t.Fatalf("outcomes %v, want the one cancellation", got)
		}
	})
	t.Run("a stream is reported once", func(t *testing.T) {
		srv := startServer(t)
		reg, cc := streamClient(t, srv, breakergrpc.Config{})
		ctx, cancel := context.WithCancel(t.Context())
		s, err := cc.NewStream(ctx, streamDesc("List"), methodList)
		if err != nil {
			t.Fatal(err)
		}
		s.SendMsg(wrapperspb.String("Unavailable"))
		s.CloseSend()
		for s.RecvMsg(new(wrapperspb.StringValue)) == nil {
		}
		s.RecvMsg(new(wrapperspb.StringValue)) // after the end: not a second outcome
		cancel()                               // neither is the ctx ending now
		if got := outcomes(t, mustBreaker(t, reg, methodList)); got != oneFailure {
			t.Fatalf("outcomes %v, want one failure", got)
		}
	})
	t.Run("an empty key streams unguarded", func(t *testing.T) {
		srv := startServer(t)
		reg, cc := streamClient(t, srv, breakergrpc.Config{Key: func(context.Context, string, string) string { return "" }})
		if _, err := list(t.Context(), cc, "Unavailable"); status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v", err)
		}
		if reg.Len() != 0 {
			t.Fatalf("breakers %q", reg.Names())
		}
	})
}
