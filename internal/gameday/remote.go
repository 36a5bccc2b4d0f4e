package gameday

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
)

// RemoteTarget drives a service that mounts the ops API, through a client:
// it injects and ends scenarios with POST and DELETE /chaos/scenarios,
// stops with POST /chaos/emergency-stop (all three need the client's
// token), observes GET /health, /recovery and /metering, and follows GET
// /events for the event log. Its latency is the mean of the metered
// latencies between two observations. It is safe for concurrent use.
type RemoteTarget struct {
	c         *client.Client
	reconnect time.Duration // the pause before reopening a broken event stream

	mu       sync.Mutex
	count    int64         // guarded by mu: the billable metered events at the last observation
	latSum   time.Duration // guarded by mu: their summed latency
	lastLat  time.Duration // guarded by mu: the last mean latency
	observed bool          // guarded by mu
}

var (
	_ Target  = (*RemoteTarget)(nil)
	_ Watcher = (*RemoteTarget)(nil)
)

// NewRemoteTarget returns a target that talks to the ops API through c.
func NewRemoteTarget(c *client.Client) *RemoteTarget {
	return &RemoteTarget{c: c, reconnect: time.Second}
}

// Inject injects s (POST /chaos/scenarios).
func (t *RemoteTarget) Inject(ctx context.Context, s chaos.Scenario) error {
	_, err := t.c.InjectScenario(ctx, s)
	return err
}

// End ends the scenario named name (DELETE /chaos/scenarios/{name}); a
// scenario that already ended (404) is not an error.
func (t *RemoteTarget) End(ctx context.Context, name string) error {
	_, err := t.c.StopScenario(ctx, name)
	if errors.Is(err, client.ErrNotFound) {
		return nil
	}
	return err
}

// EmergencyStop stops the remote chaos engine (POST /chaos/emergency-stop).
func (t *RemoteTarget) EmergencyStop(ctx context.Context) error {
	_, err := t.c.EmergencyStop(ctx)
	return err
}

// Observe reads GET /health, then GET /recovery and GET /metering; a
// server without a recovery orchestrator or a meter (503) reports an empty
// queue or no usage.
func (t *RemoteTarget) Observe(ctx context.Context) (Observation, error) {
	rep, err := t.c.Health(ctx)
	if err != nil {
		return Observation{}, fmt.Errorf("GET /health: %w", err)
	}
	o := Observation{
		Status:      rep.Status,
		Score:       float64(rep.Score),
		Breakers:    make(map[string]breaker.State, len(rep.Circuits)),
		LatencyKind: LatencyMean,
		Metered:     make(map[string]int64),
	}
	for _, c := range rep.Circuits {
		o.Breakers[c.Name] = c.State
	}
	rec, err := t.c.Recovery(ctx)
	switch {
	case err == nil:
		o.RecoveryQueue = rec.ActiveCount
	case !errors.Is(err, client.ErrUnavailable) && !errors.Is(err, client.ErrNotFound):
		return Observation{}, fmt.Errorf("GET /recovery: %w", err)
	}
	m, err := t.c.Metering(ctx)
	switch {
	case err == nil:
	case errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrNotFound):
		return o, nil
	default:
		return Observation{}, fmt.Errorf("GET /metering: %w", err)
	}
	var count int64
	var sum time.Duration
	for _, u := range m.Usage {
		o.Metered[u.Tenant] = u.Count + u.Rejected + u.Injected
		o.Messages += uint64(u.Count + u.Rejected + u.Injected)
		o.Failed += uint64(u.Errors + u.Rejected + u.Injected)
		count += u.Count
		sum += u.LatencySum
	}
	t.mu.Lock()
	if t.observed && count > t.count {
		t.lastLat = (sum - t.latSum) / time.Duration(count-t.count)
	}
	t.count, t.latSum, t.observed = count, sum, true
	o.Latency = t.lastLat
	t.mu.Unlock()
	return o, nil
}

// Watch follows GET /events until ctx ends, reopening the stream a second
// after it breaks.
func (t *RemoteTarget) Watch(ctx context.Context, fn func(Event)) error {
	for {
		for ev, err := range t.c.Events(ctx) {
			if err != nil {
				break
			}
			if e, ok := convertEvent(ev); ok {
				fn(e)
			}
		}
		timer := time.NewTimer(t.reconnect)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
	}
}

// convertEvent turns an ops API event into a log line.
func convertEvent(ev api.Event) (Event, bool) {
	switch ev.Kind {
	case api.KindBreaker:
		b, err := ev.Breaker()
		if err != nil || b.From == b.To {
			return Event{}, false
		}
		return breakerEvent(b), true
	case api.KindChaos:
		c, err := ev.Chaos()
		if err != nil {
			return Event{}, false
		}
		return chaosEvent(c), true
	case api.KindRecovery:
		r, err := ev.Recovery()
		if err != nil {
			return Event{}, false
		}
		return recoveryLogEvent(r), true
	case api.KindHealth:
		h, err := ev.Health()
		if err != nil {
			return Event{}, false
		}
		return Event{At: h.Timestamp, Kind: "health", Subject: "system", Text: fmt.Sprintf("%s (score %.3f)", h.Status, float64(h.Score))}, true
	}
	return Event{}, false
}
