// Package promexport exports the toolkit's components to Prometheus: a
// Collector reads the breaker registry, the health aggregator, the recovery
// orchestrator, the chaos engine, the meter and its spool, and the agent bus
// on every scrape, and keeps no state of its own. Register it into any
// registry — the application's own, or prometheus.DefaultRegisterer:
//
//	c, err := promexport.New(promexport.Config{Registry: reg, Health: agg, Bus: b})
//	if err != nil {
//		return err
//	}
//	prometheus.MustRegister(c)
//
// The ops API's GET /metrics serves the same collector from a private
// registry. Every series is named antifragile_*; counters end in _total,
// durations are in seconds, sizes in bytes. Two latency histograms come with
// their components: antifragile_bus_message_duration_seconds per agent, and
// antifragile_breaker_call_duration_seconds for each breaker that times its
// calls (see breaker.Breaker.Timed); both use the fixed buckets of package
// latency. docs/prometheus.md lists every series.
package promexport
