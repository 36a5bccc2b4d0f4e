package ops

import (
	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/prometheus/client_golang/prometheus"
)

// collector is the Prometheus collector of the ops handler's private
// registry. It reads every component when scraped and keeps no state of its
// own: no goroutine, no cached value.
type collector struct {
	s *server

	info *prometheus.Desc

	breakers, breakerState, breakerStateValue                        *prometheus.Desc
	breakerCalls, breakerSuccesses, breakerFailures, breakerRejected *prometheus.Desc
	breakerSlow, breakerTrips, breakerConsecutive                    *prometheus.Desc
	breakerIgnored, breakerLate, breakerWindowCalls                  *prometheus.Desc
	breakerWindowFailureRate, breakerWindowSlowRate                  *prometheus.Desc

	healthScore, healthStatus, healthBreakers *prometheus.Desc

	recoveryRunning, recoveryActive, recoveryQueued, recoveryInProgress *prometheus.Desc

	chaosActive, chaosScenariosRun, chaosInjections, chaosLatency, chaosForced *prometheus.Desc
	chaosEmergency, chaosMemory, chaosCPU, chaosConnections                    *prometheus.Desc

	meterQueued, meterFlushed, meterDropped, meterFailed, meterErrors, meterRetries *prometheus.Desc
	meterQueueSize, meterMaxQueueSize, meterRunning, meterClamped                   *prometheus.Desc
	spoolPending, spoolPendingBytes, spoolDelivered, spoolRecovered, spoolErrors    *prometheus.Desc

	busAgents, busMessages, busRunning *prometheus.Desc
}

func newCollector(s *server) *collector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("antifragile_"+name, help, labels, nil)
	}
	return &collector{
		s:    s,
		info: d("info", "Always 1; labels carry the version and the constitutional hash.", "version", "constitutional_hash"),

		breakers:                 d("breakers", "Number of breakers in the registry."),
		breakerState:             d("breaker_state", "1 for the breaker's current state, 0 for the others (one-hot).", "name", "state"),
		breakerStateValue:        d("breaker_state_value", "The breaker's state as a number: 0 closed, 1 open, 2 half_open, 3 forced_open, 4 disabled.", "name"),
		breakerCalls:             d("breaker_calls_total", "Calls admitted and completed through the breaker since it was created or reset.", "name"),
		breakerSuccesses:         d("breaker_successes_total", "Successful calls through the breaker.", "name"),
		breakerFailures:          d("breaker_failures_total", "Failed calls through the breaker.", "name"),
		breakerRejected:          d("breaker_rejections_total", "Calls the breaker rejected.", "name"),
		breakerSlow:              d("breaker_slow_calls_total", "Calls slower than the breaker's slow-call threshold.", "name"),
		breakerTrips:             d("breaker_trips_total", "Times the breaker opened by itself.", "name"),
		breakerConsecutive:       d("breaker_consecutive_failures", "The breaker's current run of failures.", "name"),
		breakerIgnored:           d("breaker_ignored_total", "Calls whose outcome the breaker ignored (the caller gave up, or the classifier said so).", "name"),
		breakerLate:              d("breaker_late_total", "Calls that finished after the breaker changed state, counted in no rule.", "name"),
		breakerWindowCalls:       d("breaker_window_calls", "Calls in the window the breaker's rate rules see now.", "name"),
		breakerWindowFailureRate: d("breaker_window_failure_ratio", "Share of failed calls in the rate window now.", "name"),
		breakerWindowSlowRate:    d("breaker_window_slow_call_ratio", "Share of slow calls in the rate window now.", "name"),

		healthScore:    d("health_score", "The health score, 0 to 1."),
		healthStatus:   d("health_status", "1 for the current health status, 0 for the others (one-hot).", "status"),
		healthBreakers: d("health_breakers", "Breakers of the current health report by state.", "state"),

		recoveryRunning:    d("recovery_running", "1 while the recovery orchestrator runs."),
		recoveryActive:     d("recovery_active_tasks", "Recovery tasks tracked."),
		recoveryQueued:     d("recovery_queued_tasks", "Recovery tasks waiting for an attempt."),
		recoveryInProgress: d("recovery_in_progress_attempts", "Recovery attempts running."),

		chaosActive:       d("chaos_active_scenarios", "Active chaos scenarios."),
		chaosScenariosRun: d("chaos_scenarios_run_total", "Chaos scenarios activated."),
		chaosInjections:   d("chaos_injections_total", "Faults injected into calls, by kind.", "kind"),
		chaosLatency:      d("chaos_latency_injected_seconds_total", "Latency injected, in seconds."),
		chaosForced:       d("chaos_breakers_forced_total", "Breakers forced open by chaos scenarios."),
		chaosEmergency:    d("chaos_emergency_stop", "1 while an emergency stop is in force."),
		chaosMemory:       d("chaos_memory_held_bytes", "Memory held by memory-exhaustion scenarios."),
		chaosCPU:          d("chaos_cpu_goroutines", "CPU burner goroutines running."),
		chaosConnections:  d("chaos_connections_occupied", "Connection-pool slots occupied by scenarios."),

		meterQueued:       d("meter_queued_total", "Metering events accepted."),
		meterFlushed:      d("meter_flushed_total", "Metering events delivered to the sink."),
		meterDropped:      d("meter_dropped_total", "Metering events refused (queue full or meter closed)."),
		meterFailed:       d("meter_failed_total", "Metering events abandoned undelivered."),
		meterErrors:       d("meter_sink_errors_total", "Failed sink writes."),
		meterRetries:      d("meter_retries_total", "Batches re-sent to the sink."),
		meterQueueSize:    d("meter_queue_size", "Metering events accepted and not yet delivered."),
		meterMaxQueueSize: d("meter_max_queue_size", "The meter's queue bound."),
		meterRunning:      d("meter_running", "1 while the meter runs."),
		meterClamped:      d("meter_clamped_total", "Metering events whose tokens or latency were lowered to their bounds."),

		spoolPending:      d("meter_spool_pending_batches", "Metering batches spooled on disk and not yet delivered."),
		spoolPendingBytes: d("meter_spool_pending_bytes", "Size of the undelivered spooled batches."),
		spoolDelivered:    d("meter_spool_delivered_total", "Metering events the spool delivered to the sink."),
		spoolRecovered:    d("meter_spool_recovered_batches_total", "Spooled batches found at start, left by a previous process."),
		spoolErrors:       d("meter_spool_errors_total", "Spooled batches dropped because they could not be read back."),

		busAgents:   d("bus_agents", "Agents registered on the bus."),
		busMessages: d("bus_messages_total", "Bus messages by what happened to them.", "result"),
		busRunning:  d("bus_running", "1 while the bus runs."),
	}
}

func (c *collector) descs() []*prometheus.Desc {
	return []*prometheus.Desc{
		c.info,
		c.breakers, c.breakerState, c.breakerStateValue, c.breakerCalls, c.breakerSuccesses, c.breakerFailures,
		c.breakerRejected, c.breakerSlow, c.breakerTrips, c.breakerConsecutive,
		c.breakerIgnored, c.breakerLate, c.breakerWindowCalls, c.breakerWindowFailureRate, c.breakerWindowSlowRate,
		c.healthScore, c.healthStatus, c.healthBreakers,
		c.recoveryRunning, c.recoveryActive, c.recoveryQueued, c.recoveryInProgress,
		c.chaosActive, c.chaosScenariosRun, c.chaosInjections, c.chaosLatency, c.chaosForced,
		c.chaosEmergency, c.chaosMemory, c.chaosCPU, c.chaosConnections,
		c.meterQueued, c.meterFlushed, c.meterDropped, c.meterFailed, c.meterErrors, c.meterRetries,
		c.meterQueueSize, c.meterMaxQueueSize, c.meterRunning, c.meterClamped,
		c.spoolPending, c.spoolPendingBytes, c.spoolDelivered, c.spoolRecovered, c.spoolErrors,
		c.busAgents, c.busMessages, c.busRunning,
	}
}

// Describe implements prometheus.Collector.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs() {
		ch <- d
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Collect implements prometheus.Collector: it reads every component now.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	w := metricWriter(ch)
	s := c.s
	w.gauge(c.info, 1, antifragile.Version, s.hash())
	c.collectBreakers(w, s.reg.Snapshot())
	if s.opts.Health != nil {
		rep, _ := s.currentReport()
		c.collectHealth(w, rep)
	}
	if o := s.opts.Recovery; o != nil {
		c.collectRecovery(w, o.Status())
	}
	if e := s.opts.Chaos; e != nil {
		c.collectChaos(w, e.Metrics())
	}
	if mt := s.opts.Meter; mt != nil {
		c.collectMeter(w, mt.Metrics())
	}
	if sp := s.opts.Spool; sp != nil {
		c.collectSpool(w, sp.Metrics())
	}
	if b := s.opts.Bus; b != nil {
		c.collectBus(w, b.Metrics())
	}
}

// metricWriter sends constant metrics to the channel of a Collect.
type metricWriter chan<- prometheus.Metric

// gauge sends the gauge d with value v and the label values labels.
func (w metricWriter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	w <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}

// counter sends the counter d with value v and the label values labels.
func (w metricWriter) counter(d *prometheus.Desc, v uint64, labels ...string) {
	w <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

// collectBreakers sends the count of breakers and each one's state and
// counters.
func (c *collector) collectBreakers(w metricWriter, snaps []breaker.Snapshot) {
	w.gauge(c.breakers, float64(len(snaps)))
	for _, b := range snaps {
		for _, st := range [...]breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen, breaker.ForcedOpen, breaker.Disabled} {
			w.gauge(c.breakerState, b2f(b.State == st), b.Name, st.String())
		}
		w.gauge(c.breakerStateValue, float64(b.State), b.Name)
		w.counter(c.breakerCalls, b.Calls, b.Name)
		w.counter(c.breakerSuccesses, b.Successes, b.Name)
		w.counter(c.breakerFailures, b.Failures, b.Name)
		w.counter(c.breakerRejected, b.Rejections, b.Name)
		w.counter(c.breakerSlow, b.SlowCalls, b.Name)
		w.counter(c.breakerTrips, b.Trips, b.Name)
		w.gauge(c.breakerConsecutive, float64(b.ConsecutiveFailures), b.Name)
		w.counter(c.breakerIgnored, b.Ignored, b.Name)
		w.counter(c.breakerLate, b.Late, b.Name)
		w.gauge(c.breakerWindowCalls, float64(b.Window.Calls), b.Name)
		w.gauge(c.breakerWindowFailureRate, b.Window.FailureRate, b.Name)
		w.gauge(c.breakerWindowSlowRate, b.Window.SlowCallRate, b.Name)
	}
}

// collectHealth sends the score, the status and the breaker counts of the
// health report rep.
func (c *collector) collectHealth(w metricWriter, rep *health.Report) {
	w.gauge(c.healthScore, float64(rep.Score))
	for _, st := range [...]health.Status{health.Unknown, health.Healthy, health.Degraded, health.Critical} {
		w.gauge(c.healthStatus, b2f(rep.Status == st), st.String())
	}
	w.gauge(c.healthBreakers, float64(rep.Closed), breaker.Closed.String())
	w.gauge(c.healthBreakers, float64(rep.HalfOpen), breaker.HalfOpen.String())
	w.gauge(c.healthBreakers, float64(rep.Open), breaker.Open.String())
	w.gauge(c.healthBreakers, float64(rep.Disabled), breaker.Disabled.String())
}

// collectRecovery sends the recovery orchestrator's gauges.
func (c *collector) collectRecovery(w metricWriter, st recovery.Status) {
	w.gauge(c.recoveryRunning, b2f(st.Running))
	w.gauge(c.recoveryActive, float64(st.ActiveCount))
	w.gauge(c.recoveryQueued, float64(st.QueuedCount))
	w.gauge(c.recoveryInProgress, float64(st.InProgressCount))
}

// collectChaos sends the chaos engine's counters and gauges.
func (c *collector) collectChaos(w metricWriter, m chaos.Metrics) {
	w.gauge(c.chaosActive, float64(m.ActiveScenarios))
	w.counter(c.chaosScenariosRun, m.ScenariosRun)
	w.counter(c.chaosInjections, m.LatencyInjections, "latency")
	w.counter(c.chaosInjections, m.ErrorsInjected, "error")
	w.counter(c.chaosInjections, m.PartitionsInjected, "partition")
	w.counter(c.chaosInjections, m.TimeoutsInjected, "timeout")
	w <- prometheus.MustNewConstMetric(c.chaosLatency, prometheus.CounterValue, m.LatencyInjected.Seconds())
	w.counter(c.chaosForced, m.BreakersForced)
	w.gauge(c.chaosEmergency, b2f(m.EmergencyStop))
	w.gauge(c.chaosMemory, float64(m.Resources.MemoryHeld))
	w.gauge(c.chaosCPU, float64(m.Resources.CPUGoroutines))
	w.gauge(c.chaosConnections, float64(m.Resources.ConnectionsOccupied))
}

// collectMeter sends the meter's counters and gauges.
func (c *collector) collectMeter(w metricWriter, m metering.Metrics) {
	w.counter(c.meterQueued, m.Queued)
	w.counter(c.meterFlushed, m.Flushed)
	w.counter(c.meterDropped, m.Dropped)
	w.counter(c.meterFailed, m.Failed)
	w.counter(c.meterErrors, m.Errors)
	w.counter(c.meterRetries, m.Retries)
	w.gauge(c.meterQueueSize, float64(m.QueueSize))
	w.gauge(c.meterMaxQueueSize, float64(m.MaxQueueSize))
	w.gauge(c.meterRunning, b2f(m.Running))
	w.counter(c.meterClamped, m.Clamped)
}

// collectSpool sends the metering spool's backlog and counters.
func (c *collector) collectSpool(w metricWriter, m metering.SpoolMetrics) {
	w.gauge(c.spoolPending, float64(m.Pending))
	w.gauge(c.spoolPendingBytes, float64(m.PendingBytes))
	w.counter(c.spoolDelivered, m.Delivered)
	w.counter(c.spoolRecovered, m.Recovered)
	w.counter(c.spoolErrors, m.Errors)
}

// collectBus sends the bus's agent count, its messages by what happened to
// them, and whether it runs.
func (c *collector) collectBus(w metricWriter, st bus.Metrics) {
	w.gauge(c.busAgents, float64(st.Agents))
	for _, kv := range []struct {
		result string
		v      uint64
	}{
		{"sent", st.Sent}, {"published", st.Published}, {"delivered", st.Delivered},
		{"failed", st.Failed}, {"rejected", st.Rejected}, {"injected", st.Injected},
		{"hash_mismatch", st.HashMismatches}, {"unknown_agent", st.UnknownAgent},
		{"mailbox_full", st.MailboxFull}, {"dropped", st.Dropped},
	} {
		w.counter(c.busMessages, kv.v, kv.result)
	}
	w.gauge(c.busRunning, b2f(st.Running))
}
