package gameday

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/recovery"
)

// RemoteTarget drives a service that mounts the ops API, through a client:
// it injects and ends scenarios with POST and DELETE /chaos/scenarios,
// stops with POST /chaos/emergency-stop (all three need the client's
// token), observes GET /health, /breakers, /bus, /recovery and /metering,
// and follows GET /events for the event log. Its message counts are the
// bus's (the metered events' when the service has no bus); its latency is
// the mean of the metered latencies between two observations. It is safe
// for concurrent use.
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

// absent reports whether err says the server has no such component (503
// or 404).
func absent(err error) bool {
	return errors.Is(err, client.ErrUnavailable) || errors.Is(err, client.ErrNotFound)
}

// Observe reads GET /health, /breakers, /bus, /recovery and /metering at
// once (five requests in flight, so that an observation of a slow server
// is one round trip late, not five, and its parts are of one moment); a
// server without a bus, a recovery orchestrator or a meter (503) reports
// no bus counters, an empty queue or no usage.
func (t *RemoteTarget) Observe(ctx context.Context) (Observation, error) {
	var (
		wg   sync.WaitGroup
		rep  *health.Report
		bs   api.Breakers
		bm   bus.Metrics
		rec  recovery.Status
		m    api.Metering
		errs [5]error
	)
	wg.Go(func() { rep, errs[0] = t.c.Health(ctx) })
	wg.Go(func() { bs, errs[1] = t.c.Breakers(ctx) })
	wg.Go(func() { bm, errs[2] = t.c.Bus(ctx) })
	wg.Go(func() { rec, errs[3] = t.c.Recovery(ctx) })
	wg.Go(func() { m, errs[4] = t.c.Metering(ctx) })
	wg.Wait()
	for i, path := range [...]string{"/health", "/breakers", "/bus", "/recovery", "/metering"} {
		if err := errs[i]; err != nil && (i < 2 || !absent(err)) {
			return Observation{}, fmt.Errorf("GET %s: %w", path, err)
		}
	}
	o := Observation{
		Status:      rep.Status,
		Score:       float64(rep.Score),
		Breakers:    make(map[string]breaker.State, len(rep.Circuits)),
		Calls:       make(map[string]uint64, len(bs.Breakers)),
		LatencyKind: LatencyMean,
		Metered:     make(map[string]int64),
	}
	for _, c := range rep.Circuits {
		o.Breakers[c.Name] = c.State
	}
	for _, b := range bs.Breakers {
		o.Calls[b.Name] = b.Calls + b.Rejections
		if _, ok := o.Breakers[b.Name]; !ok {
			o.Breakers[b.Name] = b.State
		}
	}
	hasBus := errs[2] == nil
	if hasBus {
		o.Messages = bm.Delivered + bm.Failed + bm.Rejected + bm.Injected
		o.Failed = bm.Failed + bm.Rejected + bm.Injected
	}
	if errs[3] == nil {
		o.RecoveryQueue, o.Predictions = rec.ActiveCount, rec.Predictions.Total
	}
	if errs[4] == nil {
		t.observeMetering(&o, m, !hasBus)
	}
	return o, nil
}

// observeMetering fills the metered usage of o from m, and its message
// counts too when counts (the service has no bus), and computes the mean
// latency since the previous observation.
func (t *RemoteTarget) observeMetering(o *Observation, m api.Metering, counts bool) {
	var count int64
	var sum time.Duration
	for _, u := range m.Usage {
		o.Metered[u.Tenant] = u.Count + u.Rejected + u.Injected
		if counts {
			o.Messages += uint64(u.Count + u.Rejected + u.Injected)
			o.Failed += uint64(u.Errors + u.Rejected + u.Injected)
		}
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
	case api.KindAnomaly:
		a, err := ev.Anomaly()
		if err != nil {
			return Event{}, false
		}
		return anomalyEvent(a), true
	case api.KindHealth:
		h, err := ev.Health()
		if err != nil {
			return Event{}, false
		}
		return Event{At: h.Timestamp, Kind: "health", Subject: "system", Text: fmt.Sprintf("%s (score %.3f)", h.Status, float64(h.Score))}, true
	}
	return Event{}, false
}
