package afotel

import (
	"errors"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// instruments holds the observable instruments of the configured
// components; those of a missing component stay nil.
type instruments struct {
	observables []metric.Observable

	breakerState, breakerTransitions, breakerCalls, breakerRejections  metric.Int64Observable
	breakerSlow, breakerTrips, breakerConsecutive                      metric.Int64Observable
	healthScore                                                        metric.Float64Observable
	healthStatus                                                       metric.Int64Observable
	recoveryAttempts, recoveryOutcomes, recoveryTasks, recoveryQueued  metric.Int64Observable
	recoveryActive                                                     metric.Int64Observable
	chaosActive, chaosActivated, chaosInjections, chaosForced, chaosES metric.Int64Observable
	chaosLatency                                                       metric.Float64Observable
	meterAccepted, meterDropped, meterFlushed, meterFailed             metric.Int64Observable
	meterErrors, meterRetries, meterQueue, meterQueueLimit             metric.Int64Observable
	busAgents, busMessages, busDeliveries, busRefusals, busDropped     metric.Int64Observable
	eventsDropped                                                      metric.Int64Observable
}

// builder creates instruments on a meter, keeping the first error.
type builder struct {
	m    metric.Meter
	errs []error
	all  *[]metric.Observable
}

func (b *builder) counter(name, unit, desc string) metric.Int64Observable {
	c, err := b.m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return b.keep(c, err)
}

func (b *builder) gauge(name, unit, desc string) metric.Int64Observable {
	g, err := b.m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
	return b.keep(g, err)
}

func (b *builder) keep(o metric.Int64Observable, err error) metric.Int64Observable {
	b.errs = append(b.errs, err)
	*b.all = append(*b.all, o)
	return o
}

func (b *builder) float(o metric.Float64Observable, err error) metric.Float64Observable {
	b.errs = append(b.errs, err)
	*b.all = append(*b.all, o)
	return o
}

// create makes the instruments of the components cfg names.
func (in *instruments) create(m metric.Meter, cfg *InstrumentsConfig) error {
	b := &builder{m: m, all: &in.observables}
	if cfg.Registry != nil {
		in.createBreakers(b)
	}
	if cfg.Health != nil {
		in.healthScore = b.float(m.Float64ObservableGauge("antifragile.health.score", metric.WithUnit("1"),
			metric.WithDescription("The health score, 0 to 1: 1 when every breaker is closed.")))
		in.healthStatus = b.gauge("antifragile.health.status", "1", "1 for the current health status, 0 for the others.")
	}
	if cfg.Recovery != nil {
		in.recoveryAttempts = b.counter("antifragile.recovery.attempts", "{attempt}", "Recovery attempts started, by service.")
		in.recoveryOutcomes = b.counter("antifragile.recovery.outcomes", "{attempt}", "Recovery attempts ended, by service and the state the task moved to.")
		in.recoveryTasks = b.gauge("antifragile.recovery.tasks", "{task}", "Recovery tasks tracked.")
		in.recoveryQueued = b.gauge("antifragile.recovery.queued_tasks", "{task}", "Recovery tasks waiting for an attempt.")
		in.recoveryActive = b.gauge("antifragile.recovery.active_attempts", "{attempt}", "Recovery attempts running.")
	}
	if cfg.Chaos != nil {
		in.createChaos(b)
	}
	if cfg.Meter != nil {
		in.createMeter(b)
	}
	if cfg.Bus != nil {
		in.busAgents = b.gauge("antifragile.bus.agents", "{agent}", "Agents registered on the bus.")
		in.busMessages = b.counter("antifragile.bus.messages", "{message}", "Messages handed to the bus, by method (send, publish); refused ones included.")
		in.busDeliveries = b.counter("antifragile.bus.deliveries", "{message}", "Messages delivered through the pipeline, by outcome.")
		in.busRefusals = b.counter("antifragile.bus.refusals", "{message}", "Messages the bus refused before delivery, by reason.")
		in.busDropped = b.counter("antifragile.bus.dropped", "{message}", "Queued messages dropped undelivered.")
	}
	if cfg.Registry != nil || cfg.Recovery != nil {
		in.eventsDropped = b.counter("antifragile.otel.events.dropped", "{event}", "Component events lost by these instruments because their buffer was full, by source.")
	}
	return errors.Join(b.errs...)
}

func (in *instruments) createBreakers(b *builder) {
	in.breakerState = b.gauge("antifragile.breaker.state", "1", "1 for the breaker's current state, 0 for the others.")
	in.breakerTransitions = b.counter("antifragile.breaker.transitions", "{transition}", "Breaker state changes, by breaker, from and to state and reason.")
	in.breakerCalls = b.counter("antifragile.breaker.calls", "{call}", "Calls through the breaker since it was created or reset, by outcome: success, failure, ignored, late.")
	in.breakerRejections = b.counter("antifragile.breaker.rejections", "{call}", "Calls the breaker rejected since it was created or reset.")
	in.breakerSlow = b.counter("antifragile.breaker.slow_calls", "{call}", "Calls slower than the breaker's slow-call threshold.")
	in.breakerTrips = b.counter("antifragile.breaker.trips", "{trip}", "Times the breaker opened by itself.")
	in.breakerConsecutive = b.gauge("antifragile.breaker.consecutive_failures", "{call}", "The breaker's current run of failures.")
}

func (in *instruments) createChaos(b *builder) {
	in.chaosActive = b.gauge("antifragile.chaos.scenarios.active", "{scenario}", "Active chaos scenarios.")
	in.chaosActivated = b.counter("antifragile.chaos.scenarios.activated", "{scenario}", "Chaos scenarios activated.")
	in.chaosInjections = b.counter("antifragile.chaos.injections", "{injection}", "Faults injected into calls, by fault kind.")
	in.chaosLatency = b.float(b.m.Float64ObservableCounter("antifragile.chaos.latency", metric.WithUnit("s"),
		metric.WithDescription("Latency injected into calls.")))
	in.chaosForced = b.counter("antifragile.chaos.breakers.forced", "{breaker}", "Breakers forced open by chaos scenarios.")
	in.chaosES = b.gauge("antifragile.chaos.emergency_stop", "1", "1 while an emergency stop is in force.")
}

func (in *instruments) createMeter(b *builder) {
	in.meterAccepted = b.counter("antifragile.metering.events.accepted", "{event}", "Metering events accepted.")
	in.meterDropped = b.counter("antifragile.metering.events.dropped", "{event}", "Metering events refused: the queue was full or the meter closed.")
	in.meterFlushed = b.counter("antifragile.metering.events.flushed", "{event}", "Metering events the sink accepted.")
	in.meterFailed = b.counter("antifragile.metering.events.failed", "{event}", "Accepted metering events abandoned undelivered.")
	in.meterErrors = b.counter("antifragile.metering.sink.errors", "{write}", "Sink writes that failed.")
	in.meterRetries = b.counter("antifragile.metering.retries", "{batch}", "Batches re-sent to the sink.")
	in.meterQueue = b.gauge("antifragile.metering.queue.size", "{event}", "Accepted metering events not yet delivered.")
	in.meterQueueLimit = b.gauge("antifragile.metering.queue.limit", "{event}", "The meter's queue bound.")
}

var (
	allStates   = [...]breaker.State{breaker.Closed, breaker.Open, breaker.HalfOpen, breaker.ForcedOpen, breaker.Disabled}
	allStatuses = [...]health.Status{health.Unknown, health.Healthy, health.Degraded, health.Critical}
)

func oneHot(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

func with(kv ...attribute.KeyValue) metric.ObserveOption { return metric.WithAttributes(kv...) }

func (in *instruments) observeBreakers(o metric.Observer, reg *breaker.Registry) {
	reg.Each(func(name string, b *breaker.Breaker) {
		m := b.Metrics()
		n := KeyBreaker.String(name)
		for _, st := range allStates {
			o.ObserveInt64(in.breakerState, oneHot(m.State == st), with(n, KeyBreakerState.String(st.String())))
		}
		for _, c := range [...]struct {
			outcome string
			v       uint64
		}{{"success", m.Successes}, {"failure", m.Failures}, {"ignored", m.Ignored}, {"late", m.Late}} {
			o.ObserveInt64(in.breakerCalls, int64(c.v), with(n, KeyCallOutcome.String(c.outcome)))
		}
		o.ObserveInt64(in.breakerRejections, int64(m.Rejections), with(n))
		o.ObserveInt64(in.breakerSlow, int64(m.SlowCalls), with(n))
		o.ObserveInt64(in.breakerTrips, int64(m.Trips), with(n))
		o.ObserveInt64(in.breakerConsecutive, m.ConsecutiveFailures, with(n))
	})
}

// observeEvents reports the counts built from events.
func (in *instruments) observeEvents(o metric.Observer, e *eventCounts) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, v := range e.transitions {
		o.ObserveInt64(in.breakerTransitions, v, with(KeyBreaker.String(k.name),
			KeyFromState.String(k.from.String()), KeyToState.String(k.to.String()), KeyReason.String(string(k.reason))))
	}
	for s, v := range e.attempts {
		o.ObserveInt64(in.recoveryAttempts, v, with(KeyService.String(s)))
	}
	for k, v := range e.outcomes {
		o.ObserveInt64(in.recoveryOutcomes, v, with(KeyService.String(k.service), KeyRecoveryState.String(k.state.String())))
	}
	if e.breakers != nil {
		o.ObserveInt64(in.eventsDropped, int64(e.breakers.Dropped()), with(KeySource.String("breaker")))
	}
	if e.recovery != nil {
		o.ObserveInt64(in.eventsDropped, int64(e.recovery.Dropped()), with(KeySource.String("recovery")))
	}
}

func (in *instruments) observeHealth(o metric.Observer, m health.Metrics) {
	o.ObserveFloat64(in.healthScore, float64(m.Score))
	for _, st := range allStatuses {
		o.ObserveInt64(in.healthStatus, oneHot(m.Status == st), with(KeyHealthStatus.String(st.String())))
	}
}

func (in *instruments) observeRecovery(o metric.Observer, st recovery.Status) {
	o.ObserveInt64(in.recoveryTasks, int64(st.ActiveCount))
	o.ObserveInt64(in.recoveryQueued, int64(st.QueuedCount))
	o.ObserveInt64(in.recoveryActive, int64(st.InProgressCount))
}

func (in *instruments) observeChaos(o metric.Observer, m chaos.Metrics) {
	o.ObserveInt64(in.chaosActive, int64(m.ActiveScenarios))
	o.ObserveInt64(in.chaosActivated, int64(m.ScenariosRun))
	for _, f := range [...]struct {
		kind string
		v    uint64
	}{{"latency", m.LatencyInjections}, {"error", m.ErrorsInjected}, {"partition", m.PartitionsInjected}, {"timeout", m.TimeoutsInjected}} {
		o.ObserveInt64(in.chaosInjections, int64(f.v), with(KeyFault.String(f.kind)))
	}
	o.ObserveFloat64(in.chaosLatency, m.LatencyInjected.Seconds())
	o.ObserveInt64(in.chaosForced, int64(m.BreakersForced))
	o.ObserveInt64(in.chaosES, oneHot(m.EmergencyStop))
}

func (in *instruments) observeMeter(o metric.Observer, m metering.Metrics) {
	o.ObserveInt64(in.meterAccepted, int64(m.Queued))
	o.ObserveInt64(in.meterDropped, int64(m.Dropped))
	o.ObserveInt64(in.meterFlushed, int64(m.Flushed))
	o.ObserveInt64(in.meterFailed, int64(m.Failed))
	o.ObserveInt64(in.meterErrors, int64(m.Errors))
	o.ObserveInt64(in.meterRetries, int64(m.Retries))
	o.ObserveInt64(in.meterQueue, int64(m.QueueSize))
	o.ObserveInt64(in.meterQueueLimit, int64(m.MaxQueueSize))
}

func (in *instruments) observeBus(o metric.Observer, m bus.Metrics) {
	o.ObserveInt64(in.busAgents, int64(m.Agents))
	o.ObserveInt64(in.busMessages, int64(m.Sent), with(KeyMethod.String("send")))
	o.ObserveInt64(in.busMessages, int64(m.Published), with(KeyMethod.String("publish")))
	for _, d := range [...]struct {
		outcome metering.Outcome
		v       uint64
	}{{metering.OutcomeOK, m.Delivered}, {metering.OutcomeError, m.Failed}, {metering.OutcomeRejected, m.Rejected}, {metering.OutcomeInjected, m.Injected}} {
		o.ObserveInt64(in.busDeliveries, int64(d.v), with(KeyOutcome.String(d.outcome.String())))
	}
	o.ObserveInt64(in.busRefusals, int64(m.HashMismatches), with(KeyRefusal.String("hash_mismatch")))
	o.ObserveInt64(in.busRefusals, int64(m.UnknownAgent), with(KeyRefusal.String("unknown_agent")))
	o.ObserveInt64(in.busRefusals, int64(m.MailboxFull), with(KeyRefusal.String("mailbox_full")))
	o.ObserveInt64(in.busDropped, int64(m.Dropped))
}
