// Package breakergrpc puts circuit breakers on gRPC calls: unary and stream
// interceptors for clients (a call the breaker rejects is not sent) and for
// servers (a call the breaker rejects is shed without calling the handler).
// A breaker guards each method by default, or each client target with
// TargetKey, or any key a Config.Key chooses; the breakers come from a
// breaker.Registry, so they show up in its snapshots, events and health
// report like any other breaker.
//
// A finished call counts by its status code: Unavailable, DeadlineExceeded
// and ResourceExhausted are failures, Canceled is ignored, every other code
// is a success (Config.Classify overrides it). A rejected call fails with
// codes.Unavailable and a message naming the breaker.
//
// It lives in its own module, so that gRPC never enters the core module's
// go.mod.
//
// Example:
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	cc, _ := grpc.NewClient("dns:///payments:443",
//		grpc.WithTransportCredentials(creds),
//		grpc.WithUnaryInterceptor(breakergrpc.UnaryClientInterceptor(reg, breakergrpc.Config{})),
//		grpc.WithStreamInterceptor(breakergrpc.StreamClientInterceptor(reg, breakergrpc.Config{})))
//
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(breakergrpc.UnaryServerInterceptor(reg, breakergrpc.Config{})),
//		grpc.ChainStreamInterceptor(breakergrpc.StreamServerInterceptor(reg, breakergrpc.Config{})))
package breakergrpc
