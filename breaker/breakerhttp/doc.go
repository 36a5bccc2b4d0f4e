// Package breakerhttp puts circuit breakers on real HTTP traffic: Transport
// (an http.RoundTripper) on the client side, a breaker per host by default;
// Middleware on the server side, a breaker per route by default, shedding
// load with 503 and Retry-After while a breaker is open. Both take their
// breakers from a breaker.Registry, so they show up in its snapshots, events
// and health report like any other breaker.
//
// A response counts by its status: on the client 5xx and 429 are failures,
// on the server 5xx; both are overridable. The request's context follows the
// rule of breaker.Breaker.ExecuteContext: a request whose context is done is
// not sent, a failure after the caller gave up is ignored, and a failure after
// the deadline passed is a failure. A rejected request never touches the
// network (client) or the handler (server).
//
// Example:
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	client := &http.Client{Transport: &breakerhttp.Transport{Registry: reg}}
//	resp, err := client.Get("http://payments.internal:8080/charge")
//	// errors.Is(err, breaker.ErrOpen) once payments.internal:8080 keeps failing
//
//	mw := breakerhttp.Middleware(reg, breakerhttp.Config{})
//	mux := http.NewServeMux()
//	mux.Handle("POST /charge", mw(charge)) // breaker "POST /charge"
package breakerhttp
