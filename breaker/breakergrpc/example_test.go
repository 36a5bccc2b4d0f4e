package breakergrpc_test

import (
	"context"
	"errors"
	"fmt"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/breaker/breakergrpc"
)

func ExampleUnaryClientInterceptor() {
	// An address where nothing listens: every call fails with Unavailable.
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := lis.Addr().String()
	lis.Close()

	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	cc, _ := grpc.NewClient("passthrough:///"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{
			Breaker: breaker.Config{ConsecutiveFailures: 2},
		})))
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	for range 3 {
		_, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
		fmt.Println(status.Code(err), "rejected by the breaker:", errors.Is(err, breaker.ErrOpen))
	}
	fmt.Println(reg.Names())
	// Output:
	// Unavailable rejected by the breaker: false
	// Unavailable rejected by the breaker: false
	// Unavailable rejected by the breaker: true
	// [/grpc.health.v1.Health/Check]
}

func ExampleUnaryServerInterceptor() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	srv := grpc.NewServer(grpc.UnaryInterceptor(breakergrpc.UnaryServerInterceptor(reg, breakergrpc.Config{})))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(lis)
	defer srv.Stop()

	cc, _ := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	client := healthpb.NewHealthClient(cc)
	resp, err := client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(resp.GetStatus(), err)

	// An operator (or the breaker's own trip rules) opens the method's
	// breaker: the server sheds its calls without running the handler.
	b, _ := reg.Get("/grpc.health.v1.Health/Check")
	b.ForceOpen()
	_, err = client.Check(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err), status.Convert(err).Message())
	// Output:
	// SERVING <nil>
	// Unavailable breakergrpc: breaker "/grpc.health.v1.Health/Check" rejected the call: breaker: circuit open
}

func ExampleStreamClientInterceptor() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	// One breaker per target, shared by the unary and the stream calls.
	cfg := breakergrpc.Config{Key: breakergrpc.TargetKey}
	cc, _ := grpc.NewClient("passthrough:///payments.internal:443",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, cfg)),
		grpc.WithStreamInterceptor(breakergrpc.StreamClientInterceptor(reg, cfg)))
	defer cc.Close()
	b, _ := reg.GetOrCreate(cc.Target(), breaker.Config{})
	b.ForceOpen()
	_, err := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	fmt.Println(status.Code(err), errors.Is(err, breaker.ErrOpen))
	// Output:
	// Unavailable true
}

func ExampleStreamServerInterceptor() {
	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
	srv := grpc.NewServer(grpc.StreamInterceptor(breakergrpc.StreamServerInterceptor(reg, breakergrpc.Config{})))
	healthpb.RegisterHealthServer(srv, health.NewServer())
	lis, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(lis)
	defer srv.Stop()
	b, _ := reg.GetOrCreate("/grpc.health.v1.Health/Watch", breaker.Config{})
	b.ForceOpen()

	cc, _ := grpc.NewClient("passthrough:///"+lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	defer cc.Close()
	stream, _ := healthpb.NewHealthClient(cc).Watch(context.Background(), &healthpb.HealthCheckRequest{})
	_, err := stream.Recv() // a server's refusal arrives as the stream's status
	fmt.Println(status.Code(err), b.Metrics().Rejections)
	// Output:
	// Unavailable 1
}
