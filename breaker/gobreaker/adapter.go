package gobreaker

import (
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	gb "github.com/sony/gobreaker/v2"
)

// Source is the part of a sony/gobreaker v2 breaker an Adapter reads. Both
// *gobreaker.CircuitBreaker[T] and *gobreaker.TwoStepCircuitBreaker[T]
// satisfy it, for any T.
type Source interface {
	Name() string
	State() gb.State
	Counts() gb.Counts
}

var (
	_ Source = (*gb.CircuitBreaker[any])(nil)
	_ Source = (*gb.TwoStepCircuitBreaker[any])(nil)
)

// Adapter presents a sony/gobreaker breaker as a breaker.MetricsSource. It
// only reads the breaker (through its State and Counts methods, which take
// gobreaker's mutex briefly) and is safe for concurrent use.
type Adapter struct {
	src Source
	tr  *Transitions // nil: trips and transition times unknown
}

var (
	_ breaker.StateSource   = (*Adapter)(nil)
	_ breaker.MetricsSource = (*Adapter)(nil)
)

// New returns an Adapter reading src. tr may be nil; when it is the
// Transitions wired into src's Settings.OnStateChange, Metrics reports trips
// and the last transition time. A nil src is a *breaker.ValidationError for
// the field "source". New starts nothing.
func New(src Source, tr *Transitions) (*Adapter, error) {
	if src == nil {
		return nil, antifragile.Invalid("source", nil, "must be a gobreaker circuit breaker, not nil")
	}
	return &Adapter{src: src, tr: tr}, nil
}

// Name returns the gobreaker breaker's name (Settings.Name).
func (a *Adapter) Name() string { return a.src.Name() }

// State returns the breaker's state: gobreaker's closed, open and half-open
// map to breaker.Closed, breaker.Open and breaker.HalfOpen. gobreaker moves
// from open to half-open lazily, when it is asked after its timeout, so
// State (like Metrics) may itself cause that transition. It never blocks
// beyond gobreaker's mutex.
func (a *Adapter) State() breaker.State { return mapState(a.src.State()) }

// mapState maps a gobreaker state; a state gobreaker does not define is
// reported as open, the state that asks a watcher to look.
func mapState(s gb.State) breaker.State {
	switch s {
	case gb.StateClosed:
		return breaker.Closed
	case gb.StateHalfOpen:
		return breaker.HalfOpen
	default:
		return breaker.Open
	}
}

// Metrics returns the breaker's state and gobreaker's Counts:
// Calls is Requests (admitted calls, including calls still running and calls
// excluded by Settings.IsExcluded), Successes is TotalSuccesses, Failures is
// TotalFailures and ConsecutiveFailures is ConsecutiveFailures. gobreaker
// clears its counts on every state change and every closed-state Interval,
// so these count since then, not since the breaker was created.
//
// gobreaker does not count rejections or slow calls: Rejections and
// SlowCalls are 0. Trips and LastTransition come from the Adapter's
// Transitions, and are 0 and the zero time without one.
func (a *Adapter) Metrics() breaker.Metrics {
	state := a.State()
	c := a.src.Counts()
	m := breaker.Metrics{
		State:               state,
		Calls:               uint64(c.Requests),
		Successes:           uint64(c.TotalSuccesses),
		Failures:            uint64(c.TotalFailures),
		ConsecutiveFailures: int64(c.ConsecutiveFailures),
	}
	if a.tr != nil {
		m.Trips = a.tr.Trips()
		m.LastTransition = a.tr.LastTransition()
	}
	return m
}

// Transitions records the state changes of a gobreaker breaker: pass its
// OnStateChange method as the breaker's Settings.OnStateChange (or call it
// from yours), then give it to New. The zero value is ready to use and it is
// safe for concurrent use.
type Transitions struct {
	trips atomic.Uint64
	last  atomic.Int64 // unix nanoseconds; 0: no transition yet
}

// OnStateChange records one transition. gobreaker calls it under the
// breaker's mutex, so it only updates atomics: it never calls back into the
// breaker and never blocks. A move to open counts as a trip.
func (t *Transitions) OnStateChange(_ string, _, to gb.State) {
	if to == gb.StateOpen {
		t.trips.Add(1)
	}
	t.last.Store(time.Now().UnixNano())
}

// Trips returns how many times the breaker opened (from closed or from a
// failed half-open trial) since the Transitions was wired in.
func (t *Transitions) Trips() uint64 { return t.trips.Load() }

// LastTransition returns the time of the latest state change, in UTC, or the
// zero time if there was none.
func (t *Transitions) LastTransition() time.Time {
	ns := t.last.Load()
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}
