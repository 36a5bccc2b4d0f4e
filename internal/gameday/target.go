package gameday

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// Target is the system a game day runs against: the in-process simulation
// (LocalTarget) or a service that mounts the ops API (RemoteTarget). Its
// methods are called from the runner's goroutine, one at a time, except
// Watch, which runs on a goroutine of its own.
type Target interface {
	// Inject starts a chaos scenario.
	Inject(ctx context.Context, s chaos.Scenario) error
	// End ends the scenario named name; a scenario that already ended is
	// not an error.
	End(ctx context.Context, name string) error
	// EmergencyStop ends every scenario at once and refuses new ones until
	// an operator resets the engine.
	EmergencyStop(ctx context.Context) error
	// Observe measures the system now.
	Observe(ctx context.Context) (Observation, error)
}

// Watcher is implemented by targets that report notable events (breaker
// transitions, scenarios starting and ending, recovery attempts) for the
// report's event log. Watch blocks, calling fn for each event, until ctx
// ends; fn is called from Watch's goroutine only.
type Watcher interface {
	Watch(ctx context.Context, fn func(Event)) error
}

// Event is one line of the report's event log.
type Event struct {
	// At is when it happened.
	At time.Time `json:"at"`
	// Kind is "breaker", "chaos", "recovery", "health" or "anomaly".
	Kind string `json:"kind"`
	// Subject names the breaker, scenario or service.
	Subject string `json:"subject"`
	// Text says what happened.
	Text string `json:"text"`
	// State is the state a breaker event moved the breaker to, or the kind
	// of an anomaly event (at_risk, cleared, adapted, removed); empty for
	// other kinds.
	State string `json:"state,omitempty"`
	// Instance names the process of a cluster the event happened in when
	// it is not the one the game day observes (a breaker of another agent
	// process); empty for the observed one.
	Instance string `json:"instance,omitempty"`
}

// LatencyWindow is the span of the latencies a LocalTarget's P99 is
// computed over.
const LatencyWindow = 250 * time.Millisecond

// Latency kinds of an Observation.
const (
	LatencyP99  = "p99"
	LatencyMean = "mean"
)

// Observation is a measurement of the target.
type Observation struct {
	// Status and Score are the health aggregator's.
	Status health.Status `json:"status"`
	Score  float64       `json:"score"`
	// Breakers holds the state of every breaker: the services and agents
	// the system knows (the bus gives each agent a breaker).
	Breakers map[string]breaker.State `json:"breakers"`
	// Calls counts, per breaker, the calls it admitted or rejected since it
	// was created or last reset (cumulative): the traffic that reached it.
	// A breaker missing from Calls reports no counters.
	Calls map[string]uint64 `json:"calls,omitempty"`
	// RecoveryQueue is the number of services being recovered.
	RecoveryQueue int `json:"recovery_queue"`
	// Predictions are the recovery orchestrator's prediction counts so far
	// (cumulative): at-risk signals followed by an outage or not.
	Predictions recovery.PredictionCounts `json:"predictions"`
	// Messages and Failed count the messages handled and failed so far
	// (cumulative); the runner turns their growth into rates.
	Messages uint64 `json:"messages"`
	Failed   uint64 `json:"failed"`
	// Latency is the recent latency of the messages, of kind LatencyKind:
	// the 99th percentile over the last LatencyWindow measured by the
	// simulation, or the mean of the metered latencies since the previous
	// observation of a remote service.
	Latency     time.Duration `json:"latency"`
	LatencyKind string        `json:"latency_kind"`
	// Metered counts the metered events per tenant so far (cumulative).
	Metered map[string]int64 `json:"metered"`
}

// LocalTarget drives a system in this process. It is safe for concurrent
// use.
type LocalTarget struct {
	sys     *system.System
	traffic *agentsim.Generator
}

var (
	_ Target  = (*LocalTarget)(nil)
	_ Watcher = (*LocalTarget)(nil)
)

// NewLocalTarget returns a target for sys whose message counts come from
// traffic, which may be nil (the metered events are then counted instead).
func NewLocalTarget(sys *system.System, traffic *agentsim.Generator) *LocalTarget {
	return &LocalTarget{sys: sys, traffic: traffic}
}

// Inject activates s on the chaos engine.
func (t *LocalTarget) Inject(_ context.Context, s chaos.Scenario) error {
	_, err := t.sys.Chaos().Inject(s)
	return err
}

// End deactivates the scenario named name.
func (t *LocalTarget) End(_ context.Context, name string) error {
	t.sys.Chaos().Deactivate(name)
	return nil
}

// EmergencyStop stops the chaos engine.
func (t *LocalTarget) EmergencyStop(context.Context) error {
	t.sys.Chaos().EmergencyStop()
	return nil
}

// Observe flushes the meter, then reads the health report, the breakers,
// the recovery queue, the traffic counters and the metered usage.
func (t *LocalTarget) Observe(ctx context.Context) (Observation, error) {
	fctx, cancel := context.WithTimeout(ctx, time.Second)
	_ = t.sys.Meter().Flush(fctx) // best effort: the counts lag a little
	cancel()
	rep := t.sys.Health().Report()
	o := Observation{
		Status:      rep.Status,
		Score:       float64(rep.Score),
		Breakers:    make(map[string]breaker.State),
		LatencyKind: LatencyP99,
		Metered:     make(map[string]int64),
	}
	snaps := t.sys.Registry().Snapshot()
	o.Calls = make(map[string]uint64, len(snaps))
	for _, s := range snaps {
		o.Breakers[s.Name] = s.State
		o.Calls[s.Name] = s.Calls + s.Rejections
	}
	rs := t.sys.Recovery().Status()
	o.RecoveryQueue, o.Predictions = rs.ActiveCount, rs.Predictions.Total
	for _, u := range t.sys.Usage().Totals() {
		o.Metered[u.Tenant] = u.Count + u.Rejected + u.Injected
	}
	if t.traffic != nil {
		st := t.traffic.Metrics()
		o.Messages, o.Failed = st.Delivered+st.Failed, st.Failed
		o.Latency, _ = t.traffic.Latency(LatencyWindow, 0.99)
	} else {
		for _, u := range t.sys.Usage().Totals() {
			o.Messages += uint64(u.Count + u.Rejected + u.Injected)
			o.Failed += uint64(u.Errors + u.Rejected + u.Injected)
		}
	}
	return o, nil
}

// Watch subscribes to the registry, the chaos engine, the recovery
// orchestrator and the health aggregator's status changes and reports
// their events until ctx ends.
func (t *LocalTarget) Watch(ctx context.Context, fn func(Event)) error {
	bs := t.sys.Registry().Subscribe(1024)
	defer bs.Close()
	cs := t.sys.Chaos().Subscribe(256)
	defer cs.Close()
	hs := t.sys.Health().Subscribe(64)
	defer hs.Close()
	rs := t.sys.Recovery().Subscribe(1024)
	defer rs.Close()
	as := t.sys.Health().SubscribeAnomalies(256)
	defer as.Close()
	rc := rs.C
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-bs.C:
			if ev.From == ev.To {
				continue // membership
			}
			fn(breakerEvent(ev))
		case ev := <-cs.C:
			fn(chaosEvent(ev))
		case r := <-hs.C:
			fn(Event{At: r.Timestamp, Kind: "health", Subject: "system", Text: fmt.Sprintf("%s (score %.3f)", r.Status, float64(r.Score))})
		case ev := <-rc:
			fn(recoveryLogEvent(ev))
		case ev := <-as.C:
			fn(anomalyEvent(ev))
		}
	}
}

// breakerEvent is the log line of a breaker transition.
func breakerEvent(ev breaker.Event) Event {
	return Event{At: ev.At, Kind: "breaker", Subject: ev.Breaker, State: ev.To.String(),
		Text: fmt.Sprintf("%s → %s (%s)", ev.From, ev.To, ev.Reason)}
}

// anomalyEvent is the log line of an at-risk signal raised or cleared.
func anomalyEvent(ev health.AnomalyEvent) Event {
	a := ev.Anomaly
	return Event{At: ev.Time, Kind: "anomaly", Subject: a.Breaker, State: ev.Kind,
		Text: fmt.Sprintf("%s: %s %.4g (baseline %.4g, threshold %.4g)", strings.ReplaceAll(ev.Kind, "_", " "), a.Metric, a.Current, a.Baseline, a.Threshold)}
}

// chaosEvent is the log line of a scenario starting or ending.
func chaosEvent(ev chaos.Event) Event {
	return Event{At: ev.At, Kind: "chaos", Subject: ev.Scenario,
		Text: fmt.Sprintf("%s on %s %s (%s)", ev.Type, ev.Target, ev.Kind, ev.Reason)}
}

// recoveryLogEvent is the log line of a recovery step.
func recoveryLogEvent(ev recovery.Event) Event {
	var text string
	switch {
	case ev.State == recovery.Scheduled && ev.Attempt == 0:
		text = "recovery scheduled"
	case ev.State == recovery.Scheduled && ev.Detail != "":
		text = fmt.Sprintf("attempt %d failed, retrying with backoff: %s", ev.Attempt, ev.Detail)
	case ev.State == recovery.InProgress:
		text = fmt.Sprintf("attempt %d", ev.Attempt)
	case ev.State == recovery.Succeeded && ev.Detail != "":
		text = "succeeded: " + ev.Detail
	case ev.State == recovery.Succeeded:
		text = fmt.Sprintf("succeeded at attempt %d: breaker reset", ev.Attempt)
	case ev.State == recovery.Failed:
		text = fmt.Sprintf("failed after %d attempts", ev.Attempt)
	default:
		text = ev.State.String()
	}
	if ev.Detail != "" && ev.State != recovery.Scheduled && ev.State != recovery.Succeeded {
		text += ": " + ev.Detail
	}
	return Event{At: ev.At, Kind: "recovery", Subject: ev.Service, Text: text}
}
