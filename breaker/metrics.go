package breaker

import (
	"math/bits"
	"time"

	"github.com/antifragile-go/antifragile"
)

// Metrics is a point-in-time copy of a breaker's state, its lifetime totals
// and what its trip rules see now.
//
// The totals count since the breaker was created or last Reset; Lifetime
// counts the same since it was created, across resets. Every call
// admitted and reported with Done lands in exactly one of Successes,
// Failures, Ignored and Late, so Calls = Successes + Failures + Ignored +
// Late. Rejections are not calls. SlowCalls counts the successes and
// failures that were slower than the slow-call threshold.
//
// ConsecutiveFailures, Window and the trial counts belong to the current
// generation: they start over on every transition.
type Metrics struct {
	State      State  `json:"state"`
	Calls      uint64 `json:"calls"`
	Successes  uint64 `json:"successes"`
	Failures   uint64 `json:"failures"`
	Ignored    uint64 `json:"ignored"`
	Late       uint64 `json:"late"`
	SlowCalls  uint64 `json:"slow_calls"`
	Rejections uint64 `json:"rejections"`
	Trips      uint64 `json:"trips"`
	// Lifetime are the same totals since the breaker was created: a Reset
	// (an operator's, or a recovery's) does not clear them.
	Lifetime Lifetime `json:"lifetime"`

	LastTransition time.Time `json:"last_transition"`

	// ConsecutiveFailures is the current run of failures (closed state).
	ConsecutiveFailures int64 `json:"consecutive_failures"`
	// Window is what the rate rules see, while closed with a rate rule on.
	// It is zero, and left out of the JSON, when no rate rule is on.
	Window WindowMetrics `json:"window,omitzero"`
	// OpenTimeout is how long this trip lasts (the grown value after failed
	// probes); HalfOpenAt is when the breaker moves to half-open. Both are
	// zero unless the breaker is open.
	OpenTimeout antifragile.Duration `json:"open_timeout,omitzero"`
	HalfOpenAt  time.Time            `json:"half_open_at,omitzero"`
	// TrialCalls is how many trial permits are out in half-open state and
	// TrialSuccesses how many trials have succeeded so far.
	TrialCalls     int64 `json:"trial_calls,omitempty"`
	TrialSuccesses int64 `json:"trial_successes,omitempty"`
}

// Lifetime are a breaker's totals since it was created, with the number of
// times it was reset. Calls = Successes + Failures + Ignored + Late.
type Lifetime struct {
	Calls      uint64 `json:"calls"`
	Successes  uint64 `json:"successes"`
	Failures   uint64 `json:"failures"`
	Ignored    uint64 `json:"ignored"`
	Late       uint64 `json:"late"`
	SlowCalls  uint64 `json:"slow_calls"`
	Rejections uint64 `json:"rejections"`
	Trips      uint64 `json:"trips"`
	Resets     uint64 `json:"resets"`
}

// WindowMetrics is what a breaker's rate rules see in their window now.
type WindowMetrics struct {
	Calls        int64   `json:"calls"`
	Failures     int64   `json:"failures"`
	SlowCalls    int64   `json:"slow_calls"`
	FailureRate  float64 `json:"failure_rate"`
	SlowCallRate float64 `json:"slow_call_rate"`
}

// Metrics returns the breaker's state and counters. It takes no lock and
// allocates nothing.
func (b *Breaker) Metrics() Metrics {
	g := b.cur.Load()
	base := b.base.Load() // before the counters: they only grow past it
	life := b.ctr.sum(b.used.Load())
	lifeTrips := b.tripCount.Load()
	t, trips := life.since(base), lifeTrips
	var resets uint64
	if base != nil {
		trips -= base.trips
		resets = base.resets
	}
	m := Metrics{
		State:               g.state,
		Calls:               t.successes + t.failures + t.ignored + t.late,
		Successes:           t.successes,
		Failures:            t.failures,
		Ignored:             t.ignored,
		Late:                t.late,
		SlowCalls:           t.slow,
		Rejections:          t.rejections,
		Trips:               trips,
		LastTransition:      time.Unix(0, b.lastTransition.Load()).UTC(),
		ConsecutiveFailures: g.consecutive.Load(),
		Lifetime: Lifetime{
			Calls: life.successes + life.failures + life.ignored + life.late, Successes: life.successes,
			Failures: life.failures, Ignored: life.ignored, Late: life.late, SlowCalls: life.slow,
			Rejections: life.rejections, Trips: lifeTrips, Resets: resets,
		},
	}
	switch g.state {
	case Open:
		m.OpenTimeout = antifragile.Duration(g.openTimeout)
		m.HalfOpenAt = g.halfOpenAt.UTC()
	case HalfOpen:
		m.TrialCalls = g.permits.Load()
		m.TrialSuccesses = g.trialSuccesses.Load()
	}
	if g.cwin != nil || g.twin != nil {
		m.Window = g.windowMetrics()
	}
	return m
}

// Summary is the part of Metrics that a health report reads: the state, the
// successes and failures since the breaker was created or reset, the current run of failures and the time
// of the last transition.
type Summary struct {
	State               State
	Successes           uint64
	Failures            uint64
	ConsecutiveFailures int64
	LastTransition      time.Time
}

// Summary returns the breaker's Summary at a fraction of the cost of
// Metrics: a few loads from the cache lines a call writes anyway. It takes
// no lock and allocates nothing.
func (b *Breaker) Summary() Summary {
	g := b.cur.Load()
	var s Summary
	base := b.base.Load()
	for used := b.used.Load(); used != 0; used &= used - 1 {
		st := &b.ctr.s[bits.TrailingZeros32(used)]
		s.Successes += st.successes.Load()
		s.Failures += st.failures.Load()
	}
	if base != nil {
		s.Successes -= base.successes
		s.Failures -= base.failures
	}
	s.State = g.state
	s.ConsecutiveFailures = g.consecutive.Load()
	s.LastTransition = time.Unix(0, b.lastTransition.Load()).UTC()
	return s
}

// windowMetrics reads the window of a closed generation.
func (g *gen) windowMetrics() WindowMetrics {
	var w WindowMetrics
	if g.cwin != nil {
		w.Calls, w.Failures, w.SlowCalls = g.cwin.totals()
	} else {
		w.Calls, w.Failures, w.SlowCalls = g.twin.totals(mono())
	}
	if w.Calls > 0 {
		w.FailureRate = float64(w.Failures) / float64(w.Calls)
		w.SlowCallRate = float64(w.SlowCalls) / float64(w.Calls)
	}
	return w
}

// StateSource is anything whose breaker state can be watched, such as a
// *Breaker or an adapter around another library's breaker.
type StateSource interface {
	State() State
}

// MetricsSource is a StateSource that also reports counters.
type MetricsSource interface {
	StateSource
	Metrics() Metrics
}

var _ MetricsSource = (*Breaker)(nil)
