package promexport

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// breakerDescs are the series of the breaker registry.
type breakerDescs struct {
	count, state, stateValue                *prometheus.Desc
	calls, successes, failures, rejected    *prometheus.Desc
	slow, trips, consecutive, ignored, late *prometheus.Desc
	windowCalls, windowFailure, windowSlow  *prometheus.Desc
	duration                                *prometheus.Desc
}

func newBreakerDescs(d descFunc) breakerDescs {
	return breakerDescs{
		count:         d("breakers", "Number of breakers in the registry."),
		state:         d("breaker_state", "1 for the breaker's current state, 0 for the others (one-hot).", "name", "state"),
		stateValue:    d("breaker_state_value", "The breaker's state as a number: 0 closed, 1 open, 2 half_open, 3 forced_open, 4 disabled.", "name"),
		calls:         d("breaker_calls_total", "Calls admitted and completed through the breaker since it was created or reset.", "name"),
		successes:     d("breaker_successes_total", "Successful calls through the breaker.", "name"),
		failures:      d("breaker_failures_total", "Failed calls through the breaker.", "name"),
		rejected:      d("breaker_rejections_total", "Calls the breaker rejected.", "name"),
		slow:          d("breaker_slow_calls_total", "Calls slower than the breaker's slow-call threshold.", "name"),
		trips:         d("breaker_trips_total", "Times the breaker opened by itself.", "name"),
		consecutive:   d("breaker_consecutive_failures", "The breaker's current run of failures.", "name"),
		ignored:       d("breaker_ignored_total", "Calls whose outcome the breaker ignored (the caller gave up, or the classifier said so).", "name"),
		late:          d("breaker_late_total", "Calls that finished after the breaker changed state, counted in no rule.", "name"),
		windowCalls:   d("breaker_window_calls", "Calls in the window the breaker's rate rules see now.", "name"),
		windowFailure: d("breaker_window_failure_ratio", "Share of failed calls in the rate window now.", "name"),
		windowSlow:    d("breaker_window_slow_call_ratio", "Share of slow calls in the rate window now.", "name"),
		duration: d("breaker_call_duration_seconds", "Duration of the calls through the breaker, from admission to the reported outcome, "+
			"since it was created or reset; only breakers that time their calls (a slow-call threshold or a time window).", "name"),
	}
}

// oneHotStates are the states of antifragile_breaker_state, in order.
var oneHotStates = [...]breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen, breaker.ForcedOpen, breaker.Disabled}

// collect sends the count of breakers and each one's state, counters and,
// when it times its calls, its latency histogram.
func (d breakerDescs) collect(w writer, reg *breaker.Registry) {
	n := 0
	reg.Each(func(name string, b *breaker.Breaker) {
		n++
		m := b.Metrics()
		for _, st := range oneHotStates {
			w.gauge(d.state, b2f(m.State == st), name, st.String())
		}
		w.gauge(d.stateValue, float64(m.State), name)
		w.counter(d.calls, m.Calls, name)
		w.counter(d.successes, m.Successes, name)
		w.counter(d.failures, m.Failures, name)
		w.counter(d.rejected, m.Rejections, name)
		w.counter(d.slow, m.SlowCalls, name)
		w.counter(d.trips, m.Trips, name)
		w.gauge(d.consecutive, float64(m.ConsecutiveFailures), name)
		w.counter(d.ignored, m.Ignored, name)
		w.counter(d.late, m.Late, name)
		w.gauge(d.windowCalls, float64(m.Window.Calls), name)
		w.gauge(d.windowFailure, m.Window.FailureRate, name)
		w.gauge(d.windowSlow, m.Window.SlowCallRate, name)
		if s, ok := b.Latency(); ok {
			w.histogram(d.duration, s, name)
		}
	})
	w.gauge(d.count, float64(n))
}

// healthDescs are the series of the health aggregator.
type healthDescs struct{ score, status, breakers *prometheus.Desc }

func newHealthDescs(d descFunc) healthDescs {
	return healthDescs{
		score:    d("health_score", "The health score, 0 to 1."),
		status:   d("health_status", "1 for the current health status, 0 for the others (one-hot).", "status"),
		breakers: d("health_breakers", "Breakers of the current health report by state.", "state"),
	}
}

// collect sends the score, the status and the breaker counts of rep.
func (d healthDescs) collect(w writer, rep *health.Report) {
	w.gauge(d.score, float64(rep.Score))
	for _, st := range [...]health.Status{health.Unknown, health.Healthy, health.Degraded, health.Critical} {
		w.gauge(d.status, b2f(rep.Status == st), st.String())
	}
	w.gauge(d.breakers, float64(rep.Closed), breaker.Closed.String())
	w.gauge(d.breakers, float64(rep.HalfOpen), breaker.HalfOpen.String())
	w.gauge(d.breakers, float64(rep.Open), breaker.Open.String())
	w.gauge(d.breakers, float64(rep.Disabled), breaker.Disabled.String())
}

// recoveryDescs are the series of the recovery orchestrator.
type recoveryDescs struct{ running, active, queued, inProgress *prometheus.Desc }

func newRecoveryDescs(d descFunc) recoveryDescs {
	return recoveryDescs{
		running:    d("recovery_running", "1 while the recovery orchestrator runs."),
		active:     d("recovery_active_tasks", "Recovery tasks tracked."),
		queued:     d("recovery_queued_tasks", "Recovery tasks waiting for an attempt."),
		inProgress: d("recovery_in_progress_attempts", "Recovery attempts running."),
	}
}

func (d recoveryDescs) collect(w writer, st recovery.Status) {
	w.gauge(d.running, b2f(st.Running))
	w.gauge(d.active, float64(st.ActiveCount))
	w.gauge(d.queued, float64(st.QueuedCount))
	w.gauge(d.inProgress, float64(st.InProgressCount))
}

// chaosDescs are the series of the chaos engine.
type chaosDescs struct {
	active, run, injections, latency, forced *prometheus.Desc
	emergency, memory, cpu, connections      *prometheus.Desc
}

func newChaosDescs(d descFunc) chaosDescs {
	return chaosDescs{
		active:      d("chaos_active_scenarios", "Active chaos scenarios."),
		run:         d("chaos_scenarios_run_total", "Chaos scenarios activated."),
		injections:  d("chaos_injections_total", "Faults injected into calls, by kind.", "kind"),
		latency:     d("chaos_latency_injected_seconds_total", "Latency injected, in seconds."),
		forced:      d("chaos_breakers_forced_total", "Breakers forced open by chaos scenarios."),
		emergency:   d("chaos_emergency_stop", "1 while an emergency stop is in force."),
		memory:      d("chaos_memory_held_bytes", "Memory held by memory-exhaustion scenarios."),
		cpu:         d("chaos_cpu_goroutines", "CPU burner goroutines running."),
		connections: d("chaos_connections_occupied", "Connection-pool slots occupied by scenarios."),
	}
}

func (d chaosDescs) collect(w writer, m chaos.Metrics) {
	w.gauge(d.active, float64(m.ActiveScenarios))
	w.counter(d.run, m.ScenariosRun)
	w.counter(d.injections, m.LatencyInjections, "latency")
	w.counter(d.injections, m.ErrorsInjected, "error")
	w.counter(d.injections, m.PartitionsInjected, "partition")
	w.counter(d.injections, m.TimeoutsInjected, "timeout")
	w.seconds(d.latency, m.LatencyInjected.Seconds())
	w.counter(d.forced, m.BreakersForced)
	w.gauge(d.emergency, b2f(m.EmergencyStop))
	w.gauge(d.memory, float64(m.Resources.MemoryHeld))
	w.gauge(d.cpu, float64(m.Resources.CPUGoroutines))
	w.gauge(d.connections, float64(m.Resources.ConnectionsOccupied))
}

// meterDescs are the series of the meter.
type meterDescs struct {
	queued, flushed, dropped, failed, errors, retries *prometheus.Desc
	queueSize, maxQueueSize, running, clamped         *prometheus.Desc
}

func newMeterDescs(d descFunc) meterDescs {
	return meterDescs{
		queued:       d("meter_queued_total", "Metering events accepted."),
		flushed:      d("meter_flushed_total", "Metering events delivered to the sink."),
		dropped:      d("meter_dropped_total", "Metering events refused (queue full or meter closed)."),
		failed:       d("meter_failed_total", "Metering events abandoned undelivered."),
		errors:       d("meter_sink_errors_total", "Failed sink writes."),
		retries:      d("meter_retries_total", "Batches re-sent to the sink."),
		queueSize:    d("meter_queue_size", "Metering events accepted and not yet delivered."),
		maxQueueSize: d("meter_max_queue_size", "The meter's queue bound."),
		running:      d("meter_running", "1 while the meter runs."),
		clamped:      d("meter_clamped_total", "Metering events whose tokens or latency were lowered to their bounds."),
	}
}

func (d meterDescs) collect(w writer, m metering.Metrics) {
	w.counter(d.queued, m.Queued)
	w.counter(d.flushed, m.Flushed)
	w.counter(d.dropped, m.Dropped)
	w.counter(d.failed, m.Failed)
	w.counter(d.errors, m.Errors)
	w.counter(d.retries, m.Retries)
	w.gauge(d.queueSize, float64(m.QueueSize))
	w.gauge(d.maxQueueSize, float64(m.MaxQueueSize))
	w.gauge(d.running, b2f(m.Running))
	w.counter(d.clamped, m.Clamped)
}

// spoolDescs are the series of the metering spool.
type spoolDescs struct{ pending, pendingBytes, delivered, recovered, errors *prometheus.Desc }

func newSpoolDescs(d descFunc) spoolDescs {
	return spoolDescs{
		pending:      d("meter_spool_pending_batches", "Metering batches spooled on disk and not yet delivered."),
		pendingBytes: d("meter_spool_pending_bytes", "Size of the undelivered spooled batches."),
		delivered:    d("meter_spool_delivered_total", "Metering events the spool delivered to the sink."),
		recovered:    d("meter_spool_recovered_batches_total", "Spooled batches found at start, left by a previous process."),
		errors:       d("meter_spool_errors_total", "Spooled batches dropped because they could not be read back."),
	}
}

func (d spoolDescs) collect(w writer, m metering.SpoolMetrics) {
	w.gauge(d.pending, float64(m.Pending))
	w.gauge(d.pendingBytes, float64(m.PendingBytes))
	w.counter(d.delivered, m.Delivered)
	w.counter(d.recovered, m.Recovered)
	w.counter(d.errors, m.Errors)
}

// busDescs are the series of the agent bus.
type busDescs struct{ agents, messages, running, duration *prometheus.Desc }

func newBusDescs(d descFunc) busDescs {
	return busDescs{
		agents:   d("bus_agents", "Agents registered on the bus."),
		messages: d("bus_messages_total", "Bus messages by what happened to them.", "result"),
		running:  d("bus_running", "1 while the bus runs."),
		duration: d("bus_message_duration_seconds", "Time the messages to the agent took through the bus pipeline "+
			"(chaos, breaker, handler), whatever their outcome, since the agent registered.", "agent"),
	}
}

// collect sends the bus's agent count, its messages by what happened to
// them, whether it runs, and each agent's delivery-time histogram.
func (d busDescs) collect(w writer, st bus.Metrics, lat []bus.AgentLatency) {
	w.gauge(d.agents, float64(st.Agents))
	for _, kv := range [...]struct {
		result string
		v      uint64
	}{
		{"sent", st.Sent}, {"published", st.Published}, {"delivered", st.Delivered},
		{"failed", st.Failed}, {"rejected", st.Rejected}, {"injected", st.Injected},
		{"hash_mismatch", st.HashMismatches}, {"unknown_agent", st.UnknownAgent},
		{"mailbox_full", st.MailboxFull}, {"dropped", st.Dropped},
	} {
		w.counter(d.messages, kv.v, kv.result)
	}
	w.gauge(d.running, b2f(st.Running))
	for _, a := range lat {
		w.histogram(d.duration, a.Latency, a.Agent)
	}
}
