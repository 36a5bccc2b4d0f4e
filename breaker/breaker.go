package breaker

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/internal/fanout"
)

// Errors returned when a breaker rejects a call. They are returned as is,
// without wrapping, so that a rejection allocates nothing.
var (
	// ErrOpen rejects a call while the breaker is open or forced open.
	ErrOpen = errors.New("breaker: circuit open")
	// ErrTooManyRequests rejects a call in half-open state once the permitted
	// trial calls are taken.
	ErrTooManyRequests = errors.New("breaker: too many requests in half-open state")
	// ErrPanic is the outcome recorded for a call that panicked inside
	// Execute or Do; the panic itself is re-raised.
	ErrPanic = errors.New("breaker: call panicked")
)

// Breaker is a circuit breaker. All methods are safe for concurrent use.
// Allow, Ticket.Done, State and Metrics take no lock: a call through a
// closed breaker costs a few atomic operations and allocates nothing.
type Breaker struct {
	cfg      Config
	win      window       // nil unless a rate rule is on
	cwin     *countWindow // win when it is a count window, else nil
	needTime bool         // slow-call counting or a time window

	// sg packs the state (low 8 bits) and a generation that grows on every
	// transition (the rest), so that a ticket knows which state admitted it.
	sg             atomic.Uint64
	consecutive    atomic.Int64
	permits        atomic.Int64 // trial calls taken in the current half-open state
	lastTransition atomic.Int64 // unix nanoseconds
	// ctr is allocated on its own: a 512-byte object is 512-byte aligned, so
	// every stripe has its cache line to itself and writes to it never
	// invalidate the read-mostly fields above.
	ctr *counters

	local    fanout.Hub[Event]  // this breaker's own subscribers
	registry *fanout.Hub[Event] // the owning registry's subscribers; set before the breaker is shared

	mu             sync.Mutex
	timer          *time.Timer // guarded by mu: open → half-open
	trips          int         // guarded by mu: trips since the breaker last closed
	probeSuccesses int         // guarded by mu: successful trials in this half-open state
	tripCount      atomic.Uint64

	// With a count window, closed-state successes are derived from the
	// window's position: calls recorded since posBase, minus closedFailures.
	posBase        atomic.Uint64
	closedFailures atomic.Uint64
}

// New returns a closed breaker configured by cfg, or the *ValidationError
// (or hash mismatch) of every invalid field. It starts nothing.
func New(cfg Config) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	b := &Breaker{cfg: cfg, ctr: new(counters)}
	if cfg.rateRules() {
		if cfg.Window == TimeWindow {
			b.win = newTimeWindow(cfg.WindowDuration, cfg.Buckets)
		} else {
			b.cwin = newCountWindow(cfg.WindowSize)
			b.win = b.cwin
		}
	}
	b.needTime = cfg.timed() || (b.win != nil && cfg.Window == TimeWindow)
	b.lastTransition.Store(time.Now().UnixNano())
	return b, nil
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.cfg.Name }

// Config returns the breaker's configuration with defaults applied.
func (b *Breaker) Config() Config { return b.cfg }

// State returns the current state. It takes no lock.
func (b *Breaker) State() State { return State(b.sg.Load()) }

// Ticket is the permission Allow grants for one call. Report the call's
// outcome with Done exactly once. The zero Ticket's Done does nothing.
type Ticket struct {
	b     *Breaker
	sg    uint64
	start int64 // monotonic nanoseconds, only when calls are timed
}

// epoch anchors monotonic readings: time.Since reads only the monotonic
// clock, which costs less than time.Now. It is set once and never changed.
var epoch = time.Now()

// mono returns monotonic nanoseconds since epoch.
func mono() int64 { return int64(time.Since(epoch)) }

// Allow asks to make one call. It returns a Ticket whose Done must be called
// with the call's error, or ErrOpen / ErrTooManyRequests when the call is
// rejected. It never blocks, takes no lock and allocates nothing.
func (b *Breaker) Allow() (Ticket, error) {
	v := b.sg.Load()
	switch State(v) {
	case Closed, Disabled:
	case HalfOpen:
		if b.permits.Add(1) > int64(b.cfg.HalfOpenMaxCalls) {
			b.ctr.local().rejections.Add(1)
			return Ticket{}, ErrTooManyRequests
		}
	default:
		b.ctr.local().rejections.Add(1)
		return Ticket{}, ErrOpen
	}
	t := Ticket{b: b, sg: v}
	if b.needTime {
		t.start = mono()
	}
	return t, nil
}

// Done records the outcome of the call the ticket admitted: err is
// classified by Config.IsFailure. It never blocks the caller; a transition it
// causes takes the breaker's lock briefly.
func (t Ticket) Done(err error) {
	b := t.b
	if b == nil {
		return
	}
	failed := err != nil && b.cfg.IsFailure(err)
	var now int64
	slow := false
	if b.needTime {
		now = mono()
		slow = b.cfg.timed() && time.Duration(now-t.start) > b.cfg.SlowCallThreshold
	}
	closed := State(t.sg) == Closed
	s := b.ctr.local()
	if failed {
		s.failures.Add(1)
	} else if !closed || b.cwin == nil {
		// With a count window, a closed-state success is counted by the
		// window's position alone (see Metrics): one atomic add, not two.
		s.successes.Add(1)
	}
	if slow {
		s.slow.Add(1)
	}
	var consecutive int64
	if failed {
		consecutive = b.consecutive.Add(1)
	} else if b.consecutive.Load() != 0 {
		b.consecutive.Store(0)
	}

	switch State(t.sg) {
	case Closed:
	case HalfOpen:
		b.probe(t.sg, failed)
		return
	default:
		return
	}
	if b.win != nil {
		o := uint32(outcomeCall)
		if failed {
			o |= outcomeFailure
		}
		if slow {
			o |= outcomeSlow
		}
		if cw := b.cwin; cw != nil { // a direct call: no interface dispatch
			cw.record(o, now)
			if failed {
				b.closedFailures.Add(1)
			}
		} else {
			b.win.record(o, now)
		}
	}
	if failed && b.cfg.ConsecutiveFailures > 0 && consecutive >= int64(b.cfg.ConsecutiveFailures) {
		b.trip(t.sg, ReasonConsecutiveFailures)
		return
	}
	if b.win != nil && (failed || slow) {
		calls, failures, slows := b.win.totals(now)
		if calls < int64(b.cfg.MinimumCalls) || calls == 0 {
			return
		}
		switch {
		case b.cfg.FailureRate > 0 && float64(failures)/float64(calls) >= b.cfg.FailureRate:
			b.trip(t.sg, ReasonFailureRate)
		case b.cfg.SlowCallRate > 0 && float64(slows)/float64(calls) >= b.cfg.SlowCallRate:
			b.trip(t.sg, ReasonSlowCallRate)
		}
	}
}

// Execute runs fn if the breaker admits the call and records its outcome.
// A rejected call returns ErrOpen or ErrTooManyRequests without running fn.
// A panic in fn is recorded as a failure and re-raised.
func (b *Breaker) Execute(fn func() error) error {
	t, err := b.Allow()
	if err != nil {
		return err
	}
	finished := false
	defer func() {
		if !finished {
			t.Done(ErrPanic)
		}
	}()
	err = fn()
	finished = true
	t.Done(err)
	return err
}

// Do runs fn through b like Execute and returns its result. A rejected call
// returns the zero T and ErrOpen or ErrTooManyRequests.
func Do[T any](b *Breaker, fn func() (T, error)) (T, error) {
	t, err := b.Allow()
	if err != nil {
		var zero T
		return zero, err
	}
	finished := false
	defer func() {
		if !finished {
			t.Done(ErrPanic)
		}
	}()
	v, err := fn()
	finished = true
	t.Done(err)
	return v, err
}

// trip opens the breaker if it is still in the state (and generation) sg.
func (b *Breaker) trip(sg uint64, reason Reason) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sg.Load() != sg {
		return
	}
	b.transitionLocked(Open, reason)
}

// probe records the outcome of a half-open trial call.
func (b *Breaker) probe(sg uint64, failed bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.sg.Load() != sg {
		return
	}
	if failed {
		b.transitionLocked(Open, ReasonProbeFailure)
		return
	}
	b.probeSuccesses++
	if b.probeSuccesses >= b.cfg.HalfOpenSuccesses {
		b.transitionLocked(Closed, ReasonProbeSuccess)
	}
}

// openTimeout returns the timeout of the n-th trip since the breaker last
// closed (n ≥ 1).
func (b *Breaker) openTimeout(n int) time.Duration {
	d := float64(b.cfg.OpenTimeout) * math.Pow(b.cfg.OpenTimeoutMultiplier, float64(n-1))
	if d > float64(b.cfg.MaxOpenTimeout) || math.IsInf(d, 0) {
		return b.cfg.MaxOpenTimeout
	}
	return time.Duration(d)
}

// transitionLocked moves the breaker to state to and publishes the event.
// The caller holds b.mu. Publishing never blocks: it only offers the event to
// the subscriptions' buffers, so listeners never run under the lock.
func (b *Breaker) transitionLocked(to State, reason Reason) {
	v := b.sg.Load()
	from := State(v)
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	gen := v>>8 + 1
	switch to {
	case Open:
		b.trips++
		b.tripCount.Add(1)
		d := b.openTimeout(b.trips)
		b.timer = time.AfterFunc(d, func() { b.timeout(gen) })
	case HalfOpen:
		b.permits.Store(0)
		b.probeSuccesses = 0
	case Closed:
		b.trips = 0
		b.consecutive.Store(0)
		if b.win != nil {
			b.win.reset()
		}
	}
	b.sg.Store(gen<<8 | uint64(to))
	now := time.Now()
	b.lastTransition.Store(now.UnixNano())
	ev := Event{Breaker: b.cfg.Name, From: from, To: to, At: now.UTC(), Reason: reason}
	b.local.Publish(ev)
	b.registry.Publish(ev)
}

// timeout moves an open breaker of generation gen to half-open.
func (b *Breaker) timeout(gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if v := b.sg.Load(); v>>8 == gen && State(v) == Open {
		b.transitionLocked(HalfOpen, ReasonTimeout)
	}
}

// ForceOpen holds the breaker open until Release or Reset; no timeout ends
// it. It reports whether the state changed (false if it was already forced).
func (b *Breaker) ForceOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.State() == ForcedOpen {
		return false
	}
	b.transitionLocked(ForcedOpen, ReasonForced)
	return true
}

// Release closes a forced-open breaker and reports whether it was forced
// open; other states are left alone.
func (b *Breaker) Release() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.State() != ForcedOpen {
		return false
	}
	b.transitionLocked(Closed, ReasonReleased)
	return true
}

// Reset closes the breaker from any state and clears its counters.
func (b *Breaker) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.ctr.reset()
	if b.cwin != nil {
		b.posBase.Store(b.cwin.pos.Load())
		b.closedFailures.Store(0)
	}
	b.tripCount.Store(0)
	if b.State() != Closed {
		b.transitionLocked(Closed, ReasonReset)
		return
	}
	b.trips = 0
	b.consecutive.Store(0)
	if b.win != nil {
		b.win.reset()
	}
}

// Disable makes the breaker admit every call and never trip, while still
// recording outcomes, until Reset.
func (b *Breaker) Disable() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.State() != Disabled {
		b.transitionLocked(Disabled, ReasonDisabled)
	}
}

// stop cancels a pending open timeout (used when a registry drops the
// breaker).
func (b *Breaker) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
}

// Subscribe returns a subscription to this breaker's state transitions,
// buffered to buffer events (≤ 0 means DefaultSubscriptionBuffer). A full
// buffer drops events and counts them; the breaker never waits.
func (b *Breaker) Subscribe(buffer int) *Subscription { return b.local.Subscribe(buffer) }

// Metrics is a point-in-time copy of a breaker's state and counters.
type Metrics struct {
	State               State     `json:"state"`
	Calls               uint64    `json:"calls"`
	Successes           uint64    `json:"successes"`
	Failures            uint64    `json:"failures"`
	SlowCalls           uint64    `json:"slow_calls"`
	Rejections          uint64    `json:"rejections"`
	ConsecutiveFailures int64     `json:"consecutive_failures"`
	Trips               uint64    `json:"trips"`
	LastTransition      time.Time `json:"last_transition"`
}

// Metrics returns the breaker's counters since it was created or last Reset.
// Calls = Successes + Failures; Rejections are not calls. It takes no lock.
func (b *Breaker) Metrics() Metrics {
	t := b.ctr.sum()
	if cw := b.cwin; cw != nil {
		recorded := cw.pos.Load() - b.posBase.Load()
		if f := b.closedFailures.Load(); recorded > f {
			t.successes += recorded - f
		}
	}
	return Metrics{
		State:               b.State(),
		Calls:               t.successes + t.failures,
		Successes:           t.successes,
		Failures:            t.failures,
		SlowCalls:           t.slow,
		Rejections:          t.rejections,
		ConsecutiveFailures: b.consecutive.Load(),
		Trips:               b.tripCount.Load(),
		LastTransition:      time.Unix(0, b.lastTransition.Load()).UTC(),
	}
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
