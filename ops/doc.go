// Package ops is the operations HTTP API of a running antifragile system:
// JSON reads of health, breakers, recovery, chaos, metering and the agent
// bus; bearer-token-protected writes that reset or force breakers, schedule
// and steer recoveries, and inject or stop chaos scenarios; a Server-Sent
// Events stream of everything that happens; liveness and readiness probes;
// and Prometheus metrics read from the components at scrape time (the
// collector of package promexport, which an application may also register
// into its own registry, with Options.Collectors beside it).
//
// Handler returns one http.Handler built on the standard library's
// ServeMux, mountable at any prefix. It starts no goroutine and registers
// nothing globally. Wire types are in package api; package client is its Go
// client.
//
//	h := ops.Handler(ops.Options{
//		Registry: reg,
//		Health:   agg,
//		Recovery: orch,
//		Chaos:    engine,
//		Meter:    meter,
//		Token:    os.Getenv("ANTIFRAGILE_TOKEN"),
//	})
//	mux := http.NewServeMux()
//	mux.Handle("/ops/", http.StripPrefix("/ops", h))
//
// Serving it: GET /events streams until its request's context ends, which
// http.Server.Shutdown does not bring about by itself. Give the server a
// BaseContext that is cancelled on shutdown so that open streams end:
//
//	base, cancel := context.WithCancel(context.Background())
//	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second,
//		BaseContext: func(net.Listener) context.Context { return base }}
//	srv.RegisterOnShutdown(cancel)
//
// Errors are one JSON envelope, {"error": …, "field": …, "detail": …}, with
// the status the error calls for: 400 for invalid input (the field named),
// 401 without the token, 403 with a wrong one (or when no token is
// configured), 404 for an unknown breaker, recovery or scenario, 409 for a
// constitutional hash mismatch or a state that refuses the request (an
// emergency stop in force), 413 for a body over the limit, and 503 for a
// component the handler was not given.
package ops
