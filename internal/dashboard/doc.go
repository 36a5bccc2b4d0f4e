// Package dashboard holds the ops dashboard: one page of plain HTML, CSS
// and JavaScript embedded in the binary with go:embed, with no build step
// and no request to any other origin. Handler serves it; ops.Handler mounts
// it at "/" beside the API, which the page reads (GET health, breakers,
// recovery, chaos/scenarios, chaos/metrics, metering, bus and the events
// stream) and writes with the operator's bearer token.
//
// The page shows the health score and status on a timeline whose window
// fits what has run (1, 5 or 15 minutes, or the operator's choice), with
// the window of every active and recently ended fault shaded; the traffic
// of the agent bus (messages and failures per second, P50 and P99
// latency, per agent in a table and on hover), sampled every second so
// that rates show from the first second; a grid of every circuit breaker
// coloured by state, with its counters since the last reset beside its
// lifetime ones, and reset, force-open and release buttons (cells are
// updated in place, so it stays usable with thousands of breakers); the
// recovery queue with resume, resolve and cancel; the active chaos
// scenarios with the time they have left, the recently ended with why they
// ended, a form to inject one and an emergency-stop button; and metering
// throughput, drops and usage per tenant (events, tokens, errors, rejected
// and injected calls). In cluster mode (announced by the hello event) a
// cluster panel shows every instance with its freshness (stale, lost),
// the breakers rolled up across the fleet, the cluster lever with its
// acknowledgements and a cluster-wide emergency stop and reset, and usage
// across instances (see docs/cluster.md). Destructive actions (reset, force open, ending a
// scenario, the emergency stops, cancelling a recovery) ask for a
// confirmation first. It follows the server-sent events of GET events,
// reconnects by itself, and polls as a fallback.
//
//	h := ops.Handler(ops.Options{
//		Registry:  reg,
//		Health:    agg,
//		Token:     token,
//		Dashboard: dashboard.Handler(),
//	})
//	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: h, ReadHeaderTimeout: 5 * time.Second}
//
// The page is served with a strict Content-Security-Policy (see
// ContentSecurityPolicy): scripts, styles and connections from its own
// origin only, and nothing inline.
package dashboard
