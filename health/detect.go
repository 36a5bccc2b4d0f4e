package health

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/fanout"
	"github.com/antifragile-go/antifragile/latency"
)

// AnomalySubscription receives AnomalyEvents; see SubscribeAnomalies.
type AnomalySubscription = fanout.Subscription[AnomalyEvent]

// detector is the aggregator's anomaly detection (see AnomalyConfig). Its
// watches are read and written by collections only, which cmu serialises.
type detector struct {
	cfg     AnomalyConfig
	hash    string
	watches map[string]*watch // guarded by the aggregator's cmu
	current atomic.Pointer[[]Anomaly]
	hub     fanout.Hub[AnomalyEvent]
	raised  atomic.Uint64
	cleared atomic.Uint64
}

// watch is what the detector keeps of one breaker: its counters at the
// start of the open interval, and a signal per metric.
type watch struct {
	start           time.Time // the start of the open interval; zero before the first
	calls, failures uint64
	latCount        uint64
	latSum          time.Duration
	err, lat        signal
}

func newDetector(cfg AnomalyConfig, hash string) *detector {
	d := &detector{cfg: cfg.withDefaults(), hash: hash, watches: make(map[string]*watch)}
	d.current.Store(&[]Anomaly{})
	return d
}

// step closes the open interval of every member of v at now, judges it
// and returns the signals raised or cleared. Called under cmu.
func (d *detector) step(v *view, now time.Time) []AnomalyEvent {
	var evs []AnomalyEvent
	seen := 0
	for i := range v.members {
		m := &v.members[i]
		if m.b == nil && m.ms == nil {
			continue // a bare StateSource has no counters to learn from
		}
		w := d.watches[m.name]
		if w == nil {
			w = new(watch)
			d.watches[m.name] = w
		}
		seen++
		evs = d.judge(m, w, now, evs)
	}
	if seen != len(d.watches) {
		evs = d.forget(v, now, evs)
	}
	if len(evs) > 0 {
		d.publish(evs)
	}
	return evs
}

// judge closes w's interval for member m.
func (d *detector) judge(m *member, w *watch, now time.Time, evs []AnomalyEvent) []AnomalyEvent {
	state, failures, successes, _, _ := readMember(m)
	calls := successes + failures
	lat, timed := d.latency(m)
	latCount := lat.Count()
	switch {
	case w.start.IsZero(), calls < w.calls, failures < w.failures, latCount < w.latCount:
		// The first interval, or the breaker was reset: start over.
	case state != breaker.Closed:
		// An open or half-open breaker's interval says nothing about its
		// dependency's normal; the signals keep what they had.
	case calls-w.calls < uint64(d.cfg.MinCalls):
		return evs // too few calls to judge: merge into the next interval
	default:
		x := float64(failures-w.failures) / float64(calls-w.calls)
		evs = d.observe(&w.err, m.name, ErrorRate, x, d.cfg.ErrorRateFloor, w.start, now, evs)
		if n := latCount - w.latCount; timed && n >= uint64(d.cfg.MinCalls) {
			mean := (lat.Sum - w.latSum).Seconds() / float64(n)
			floor := max(d.cfg.LatencyFloor*w.lat.base.mean, MinLatencyIncrease.Seconds())
			evs = d.observe(&w.lat, m.name, MeanLatency, mean, floor, w.start, now, evs)
		}
	}
	w.start, w.calls, w.failures, w.latCount, w.latSum = now, calls, failures, latCount, lat.Sum
	return evs
}

// latency returns m's latency histogram: the breaker's own when it times
// its calls, else the one Config.Latency gives.
func (d *detector) latency(m *member) (latency.Snapshot, bool) {
	if m.b != nil {
		if s, ok := m.b.Latency(); ok {
			return s, true
		}
	}
	if d.cfg.Latency != nil {
		return d.cfg.Latency(m.name)
	}
	return latency.Snapshot{}, false
}

// observe judges one interval [start, now) whose metric had value x.
func (d *detector) observe(s *signal, name string, metric Metric, x, floor float64, start, now time.Time, evs []AnomalyEvent) []AnomalyEvent {
	c := &d.cfg
	if s.base.n < c.Warmup {
		s.base.add(x, c.Alpha)
		return evs
	}
	threshold := s.base.mean + max(c.Margin*s.base.stddev(), floor)
	seen := Anomaly{Breaker: name, Metric: metric, Baseline: s.base.mean, StdDev: s.base.stddev(), Threshold: threshold, Current: x}
	if x > threshold {
		s.normalSince = time.Time{}
		if s.departSince.IsZero() {
			s.departSince = start
		}
		s.departFor += now.Sub(start)
		switch {
		case !s.atRisk && now.Sub(s.departSince) >= c.MinDuration:
			s.atRisk, s.since = true, s.departSince
			seen.Since = s.since
			s.last = seen
			return append(evs, d.event("at_risk", seen, now))
		case s.atRisk && s.departFor >= c.Adapt:
			seen.Since = s.since
			*s = signal{}
			s.base.add(x, c.Alpha)
			return append(evs, d.event("adapted", seen, now))
		}
		if s.atRisk {
			seen.Since = s.since
			s.last = seen
		}
		return evs
	}
	s.departSince, s.departFor = time.Time{}, 0
	s.base.add(x, c.Alpha)
	if !s.atRisk {
		return evs
	}
	if s.normalSince.IsZero() {
		s.normalSince = start
	}
	if now.Sub(s.normalSince) < c.MinDuration {
		return evs
	}
	seen.Since = s.since
	s.atRisk, s.normalSince = false, time.Time{}
	return append(evs, d.event("cleared", seen, now))
}

func (d *detector) event(kind string, a Anomaly, now time.Time) AnomalyEvent {
	switch kind {
	case "at_risk":
		d.raised.Add(1)
	case "cleared", "adapted", "removed":
		d.cleared.Add(1)
	}
	return AnomalyEvent{Kind: kind, Anomaly: a, Time: now, ConstitutionalHash: d.hash}
}

// forget drops the watches of breakers no longer in v, clearing their
// signals.
func (d *detector) forget(v *view, now time.Time, evs []AnomalyEvent) []AnomalyEvent {
	in := make(map[string]bool, len(v.members))
	for i := range v.members {
		in[v.members[i].name] = true
	}
	for name, w := range d.watches {
		if in[name] {
			continue
		}
		for _, s := range []*signal{&w.err, &w.lat} {
			if s.atRisk {
				evs = append(evs, d.event("removed", s.last, now))
			}
		}
		delete(d.watches, name)
	}
	return evs
}

// publish rebuilds the list of current anomalies and sends evs to the
// subscribers (without blocking).
func (d *detector) publish(evs []AnomalyEvent) {
	var cur []Anomaly
	for _, w := range d.watches {
		for _, s := range []*signal{&w.err, &w.lat} {
			if s.atRisk {
				cur = append(cur, s.last)
			}
		}
	}
	slices.SortFunc(cur, func(a, b Anomaly) int {
		return cmp.Or(cmp.Compare(a.Breaker, b.Breaker), cmp.Compare(a.Metric, b.Metric))
	})
	if cur == nil {
		cur = []Anomaly{}
	}
	d.current.Store(&cur)
	for _, ev := range evs {
		d.hub.Publish(ev)
	}
}

// log logs evs (see Config.Logger): Warn for a raised signal, Info for the
// others.
func (d *detector) log(l *slog.Logger, evs []AnomalyEvent) {
	for _, ev := range evs {
		level := slog.LevelInfo
		if ev.Kind == "at_risk" {
			level = slog.LevelWarn
		}
		a := ev.Anomaly
		l.LogAttrs(context.Background(), level, "health: anomaly "+ev.Kind,
			slog.String("breaker", a.Breaker), slog.String("metric", string(a.Metric)),
			slog.Float64("baseline", a.Baseline), slog.Float64("current", a.Current),
			slog.Time("since", a.Since))
	}
}

// Anomalies returns the breakers at risk now, sorted by breaker and metric:
// what the last recorded collection found (see AnomalyConfig). It is empty
// when detection is off. The slice is shared: do not modify it. It takes
// no lock.
func (a *Aggregator) Anomalies() []Anomaly {
	if a.det == nil {
		return []Anomaly{}
	}
	return *a.det.current.Load()
}

// SubscribeAnomalies returns a subscription to the at-risk signals raised
// and cleared (see AnomalyEvent), buffered to buffer events (≤ 0 means
// 256); a full buffer drops and counts (Subscription.Dropped). With
// detection off it never delivers. Close it when done.
func (a *Aggregator) SubscribeAnomalies(buffer int) *AnomalySubscription {
	if a.det == nil {
		var hub fanout.Hub[AnomalyEvent]
		return hub.Subscribe(buffer)
	}
	return a.det.hub.Subscribe(buffer)
}
