// Package chaoshttp applies a chaos.Engine's faults to real HTTP traffic:
// Middleware on the server side, Transport (an http.RoundTripper) on the
// client side. A request's target is a configured name, or the request's
// host without its port.
//
// For each request the engine's Apply decides: a partition aborts the
// connection (server) or fails the round trip with chaos.ErrPartitioned
// (client); a timeout holds the request until its context ends; latency
// delays it; an injected error becomes an error response (server) or a
// round-trip error (client). A network_bandwidth scenario throttles the
// request and response bodies.
//
// Example:
//
//	engine, _ := chaos.New(chaos.Config{}, nil)
//	handler := chaoshttp.Middleware(engine, chaoshttp.Config{Target: "api"})(mux)
//
//	client := &http.Client{Transport: &chaoshttp.Transport{Engine: engine}}
//	_, _ = engine.InjectLatency("payments.internal", 200*time.Millisecond, time.Minute)
//	resp, err := client.Get("http://payments.internal:8080/charge") // 200 ms later
package chaoshttp
