package breaker

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/internal/fanout"
	"github.com/antifragile-go/antifragile/latency"
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
//
// Every transition starts a new generation. A call counts only in the
// generation that admitted it: its Done after a transition (a trip, the
// move to half-open, a close, a force open, a release, a reset, a disable,
// a Reconfigure) changes no consecutive count, no window and no half-open
// decision, and is counted only as Late. The generation carries the Config
// in force, so that Reconfigure changes the rules without a lock on the
// call path.
type Breaker struct {
	// The fields every call reads come first, on one cache line.
	cur  atomic.Pointer[gen] // the current generation, with the Config in force
	ctr  *counters
	used atomic.Uint32 // bit i: stripe i of ctr has been written
	// lastTransition (unix nanoseconds) shares the line: a health report
	// reads it with the state and the counters.
	lastTransition atomic.Int64

	name      string        // set by New and, under mu, by Registry.Register before the breaker is shared
	tripCount atomic.Uint64 // lifetime: Reset does not clear it
	// base holds the lifetime counts at the last Reset (nil before the
	// first): the counters never go back, and Metrics reports the counts
	// since the reset as the lifetime ones less base.
	base atomic.Pointer[resetBase]
	// lat holds the timed calls' durations since the last Reset; nil until
	// a Config in force times calls (then set before that generation is
	// published, and kept).
	lat atomic.Pointer[latency.Histogram]

	local    fanout.Hub[Event]           // this breaker's own subscribers
	registry *fanout.Hub[Event]          // the owning registry's subscribers; set before the breaker is shared
	log      atomic.Pointer[slog.Logger] // the owning registry's Logger; nil logs nothing

	mu    sync.Mutex
	timer *time.Timer // guarded by mu: open → half-open, or the half-open time limit
	trips int         // guarded by mu: trips since the breaker last closed
}

// settings is a Config in force (defaults applied) with what the call path
// derives from it. It never changes once a generation carrying it is
// published: Reconfigure publishes a new generation with new settings.
type settings struct {
	cfg      Config
	rules    []string // cfg.Rules(), shared read-only by every Snapshot
	needTime bool     // slow-call counting or a time window
	slowRule bool     // the slow-call-rate rule is on
}

// newSettings derives the settings of cfg, which has its defaults applied.
func newSettings(cfg Config) *settings {
	return &settings{
		cfg:      cfg,
		rules:    cfg.Rules(),
		needTime: cfg.timed() || (cfg.rateRules() && cfg.Window == TimeWindow),
		slowRule: cfg.SlowCallRate > 0,
	}
}

// gen is one generation: the breaker's state between two transitions (or a
// Reconfigure) and what its rules have counted in it. Its fields other than
// the counters never change after it is published.
type gen struct {
	state         State
	untimedClosed bool         // closed, and calls are not timed: Allow's fast path
	needTime      bool         // set.needTime, beside state for Done's fast path
	set           *settings    // the Config in force in this generation
	consecutive   atomic.Int64 // closed: the current run of failures
	cwin          *countWindow // closed, count window rule: the window
	twin          *timeWindow  // closed, time window rule: the window
	id            uint64       // grows by one on every transition

	permits atomic.Int64 // half-open: trial permits taken and not given back
	// half-open: successful trials; written under the breaker's mu
	trialSuccesses atomic.Int64

	openTimeout time.Duration // open: how long this trip lasts
	halfOpenAt  time.Time     // open: when the breaker moves to half-open
}

// New returns a closed breaker configured by cfg, or the *ValidationError
// (or hash mismatch) of every invalid field. It starts nothing.
func New(cfg Config) (*Breaker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	set := newSettings(cfg.withDefaults())
	b := &Breaker{name: cfg.Name, ctr: new(counters)}
	if set.needTime {
		b.lat.Store(new(latency.Histogram))
	}
	b.cur.Store(newGen(set, Closed, 0))
	b.lastTransition.Store(time.Now().UnixNano())
	return b, nil
}

// newGen returns generation id in state s under settings set, with a fresh
// window when s is closed and a rate rule is on.
func newGen(set *settings, s State, id uint64) *gen {
	g := &gen{state: s, id: id, set: set, needTime: set.needTime, untimedClosed: s == Closed && !set.needTime}
	if s == Closed && set.cfg.rateRules() {
		if set.cfg.Window == TimeWindow {
			g.twin = newTimeWindow(set.cfg.WindowDuration, set.cfg.Buckets)
		} else {
			g.cwin = newCountWindow(set.cfg.WindowSize)
		}
	}
	return g
}

// Name returns the breaker's name.
func (b *Breaker) Name() string { return b.name }

// Config returns the breaker's configuration in force, with defaults
// applied. It takes no lock.
func (b *Breaker) Config() Config {
	c := b.cur.Load().set.cfg
	c.Name = b.name
	return c
}

// Rules returns the trip rules in force (Config.Rules). The slice is shared:
// do not modify it. It takes no lock.
func (b *Breaker) Rules() []string { return b.cur.Load().set.rules }

// State returns the current state. It takes no lock.
func (b *Breaker) State() State { return b.cur.Load().state }

// Ticket is the permission Allow grants for one call. Report the call's
// outcome exactly once, with Done (an error to classify) or Report (an
// Outcome). The zero Ticket's Done and Report do nothing.
type Ticket struct {
	b     *Breaker
	g     *gen  // the generation that admitted the call
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
	g := b.cur.Load()
	if g.untimedClosed { // the common case, small enough to inline
		return Ticket{b: b, g: g}, nil
	}
	return b.allow(g)
}

// allow is Allow for every state and for timed calls.
func (b *Breaker) allow(g *gen) (Ticket, error) {
	switch g.state {
	case Closed, Disabled:
	case HalfOpen:
		if !g.takePermit(int64(g.set.cfg.HalfOpenMaxCalls)) {
			b.stripe().rejections.Add(1)
			return Ticket{}, ErrTooManyRequests
		}
	default:
		b.stripe().rejections.Add(1)
		return Ticket{}, ErrOpen
	}
	t := Ticket{b: b, g: g}
	if g.needTime {
		t.start = mono()
	}
	return t, nil
}

// takePermit takes one of max trial permits, or reports false when all are
// out. A permit given back by an ignored trial can be taken again.
func (g *gen) takePermit(max int64) bool {
	for {
		p := g.permits.Load()
		if p >= max {
			return false
		}
		if g.permits.CompareAndSwap(p, p+1) {
			return true
		}
	}
}

// Done records the outcome of the call the ticket admitted: a nil err is a
// success, any other is classified by Config.Classify. It never blocks the
// caller; a transition it causes takes the breaker's lock briefly.
func (t Ticket) Done(err error) {
	b := t.b
	if b == nil {
		return
	}
	if err == nil && !t.g.needTime && t.g.state != HalfOpen {
		// An untimed success while closed or disabled: the healthy path.
		g := t.g
		s := b.stripe()
		if b.cur.Load() != g {
			s.late.Add(1)
			return
		}
		s.successes.Add(1)
		if g.consecutive.Load() != 0 {
			g.consecutive.Store(0)
		}
		if cw := g.cwin; cw != nil && !cw.clean() {
			b.recordWindow(g, false, false, 0)
		}
		return
	}
	o := Success
	if err != nil {
		o = t.g.set.cfg.Classify(err)
	}
	b.record(t, o)
}

// Report records the outcome of the call the ticket admitted as o itself,
// without asking Config.Classify: for callers that classify a result that is
// not an error, such as an HTTP status or a gRPC code. Success, Failure and
// Ignored count as their documentation says; any other value counts as a
// Failure. Like Done it must be called at most once per ticket (a ticket
// reports through Done or Report, not both), it never blocks, it allocates
// nothing, and the zero Ticket's Report does nothing.
func (t Ticket) Report(o Outcome) {
	if t.b == nil {
		return
	}
	if o == Success {
		t.Done(nil) // the allocation-free success path
		return
	}
	t.b.record(t, o)
}

// record counts one outcome of a call admitted in generation t.g.
func (b *Breaker) record(t Ticket, o Outcome) {
	var now int64
	g := t.g
	if g.needTime {
		now = mono()
		b.lat.Load().Observe(time.Duration(now - t.start))
	}
	if g.state == HalfOpen {
		b.probe(t, o, now)
		return
	}
	s := b.stripe()
	if b.cur.Load() != g {
		s.late.Add(1)
		return
	}
	if o == Ignored {
		s.ignored.Add(1)
		return
	}
	failed := o != Success
	slow := g.needTime && slowCall(t, now)
	if failed {
		s.failures.Add(1)
	} else {
		s.successes.Add(1)
	}
	if slow {
		s.slow.Add(1)
	}
	if g.state == Closed {
		b.recordClosed(g, failed, slow, now)
	}
}

// recordClosed applies one outcome of generation g, closed, to its trip
// rules. A success is checked against the rates too: the call that completes
// MinimumCalls may be the one that reaches the threshold.
func (b *Breaker) recordClosed(g *gen, failed, slow bool, now int64) {
	if failed {
		if n := g.consecutive.Add(1); g.set.cfg.ConsecutiveFailures > 0 && n >= int64(g.set.cfg.ConsecutiveFailures) {
			b.trip(g, ReasonConsecutiveFailures)
			return
		}
	} else if g.consecutive.Load() != 0 {
		g.consecutive.Store(0)
	}
	if !failed && !slow && g.cwin != nil && g.cwin.clean() {
		return // a full window of successes cannot trip
	}
	b.recordWindow(g, failed, slow, now)
}

// recordWindow enters one outcome of closed generation g in its window, if it
// has one, and trips the breaker when a rate rule fires.
func (b *Breaker) recordWindow(g *gen, failed, slow bool, now int64) {
	var calls, failures, slows int64
	switch {
	case g.cwin != nil:
		calls, failures, slows = g.cwin.record(outcomeBits(failed, slow))
	case g.twin != nil:
		calls, failures, slows = g.twin.record(outcomeBits(failed, slow), now)
	default:
		return
	}
	if reason := g.set.rateRule(calls, failures, slows); reason != "" {
		b.trip(g, reason)
	}
}

// rateRule returns the rate rule that window totals trip, or "".
func (set *settings) rateRule(calls, failures, slows int64) Reason {
	if calls < int64(set.cfg.MinimumCalls) || calls <= 0 {
		return ""
	}
	switch {
	case set.cfg.FailureRate > 0 && float64(failures)/float64(calls) >= set.cfg.FailureRate:
		return ReasonFailureRate
	case set.slowRule && float64(slows)/float64(calls) >= set.cfg.SlowCallRate:
		return ReasonSlowCallRate
	}
	return ""
}

// ExecuteContext runs fn with ctx if the breaker admits the call, and
// records its outcome by this rule:
//
//   - a ctx already done is neither admitted nor counted: ctx.Err() is
//     returned and fn does not run;
//   - when fn fails after ctx was cancelled, the caller gave up, which says
//     nothing about the dependency: the outcome is ignored;
//   - when fn fails after ctx's deadline passed, the dependency did not
//     answer in the time the caller gave it: a failure, whatever the error;
//   - otherwise a nil error is a success and any other is classified by
//     Config.Classify.
//
// A rejected call returns ErrOpen or ErrTooManyRequests without running fn.
// A panic in fn is recorded as a failure and re-raised.
func (b *Breaker) ExecuteContext(ctx context.Context, fn func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
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
	err = fn(ctx)
	finished = true
	t.doneContext(ctx, err)
	return err
}

// DoContext runs fn through b like ExecuteContext and returns its result. A
// call that is not made returns the zero T.
func DoContext[T any](ctx context.Context, b *Breaker, fn func(context.Context) (T, error)) (T, error) {
	var v T
	err := b.ExecuteContext(ctx, func(ctx context.Context) error {
		var err error
		v, err = fn(ctx)
		return err
	})
	return v, err
}

// doneContext is Done under the context rule of ExecuteContext.
func (t Ticket) doneContext(ctx context.Context, err error) {
	if err == nil || t.b == nil {
		t.Done(err)
		return
	}
	switch ctx.Err() {
	case context.Canceled:
		t.b.record(t, Ignored)
	case context.DeadlineExceeded:
		t.b.record(t, Failure)
	default:
		t.Done(err)
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

// trip opens the breaker if generation g is still the current one.
func (b *Breaker) trip(g *gen, reason Reason) {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur.Load() != g {
		return
	}
	ev = b.transitionLocked(Open, reason)
}

// slowCall reports whether the timed call t, reported at now (monotonic
// nanoseconds), was slower than the slow-call threshold of the generation
// that admitted it.
func slowCall(t Ticket, now int64) bool {
	d := t.g.set.cfg.SlowCallThreshold
	return d > 0 && time.Duration(now-t.start) > d
}

// probe records the outcome of a trial call admitted in half-open
// generation t.g, reported at now (monotonic nanoseconds, when calls are
// timed). It decides under the lock, so a trial is either counted in its
// generation or Late, never both.
func (b *Breaker) probe(t Ticket, o Outcome, now int64) {
	slow := t.g.needTime && o == Success && slowCall(t, now)
	s := b.stripe()
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	g := t.g
	if b.cur.Load() != g {
		s.late.Add(1)
		return
	}
	switch o {
	case Ignored:
		s.ignored.Add(1)
		g.permits.Add(-1) // the permit goes back; nothing is decided
		return
	case Success:
		s.successes.Add(1)
	default:
		s.failures.Add(1)
		ev = b.transitionLocked(Open, ReasonProbeFailure)
		return
	}
	if slow {
		s.slow.Add(1)
		if g.set.slowRule {
			ev = b.transitionLocked(Open, ReasonProbeSlow)
			return
		}
	}
	if g.trialSuccesses.Add(1) >= int64(g.set.cfg.HalfOpenSuccesses) {
		ev = b.transitionLocked(Closed, ReasonProbeSuccess)
	}
}

// openTimeout returns the timeout of the n-th trip since the breaker last
// closed (n ≥ 1).
func (set *settings) openTimeout(n int) time.Duration {
	c := &set.cfg
	d := float64(c.OpenTimeout) * math.Pow(c.OpenTimeoutMultiplier, float64(n-1))
	if d > float64(c.MaxOpenTimeout) || math.IsInf(d, 0) {
		return c.MaxOpenTimeout
	}
	return time.Duration(d)
}

// transitionLocked moves the breaker to state to, publishes the event and
// returns it, for the caller to log once it has released the lock (see
// logTransition). The caller holds b.mu. Publishing never blocks: it only
// offers the event to the subscriptions' buffers, so listeners never run
// under the lock.
func (b *Breaker) transitionLocked(to State, reason Reason) Event {
	from := b.State()
	now := time.Now()
	b.nextGenLocked(to, now)
	b.lastTransition.Store(now.UnixNano())
	ev := Event{Breaker: b.name, From: from, To: to, At: now.UTC(), Reason: reason}
	b.local.Publish(ev)
	b.registry.Publish(ev)
	return ev
}

// logTransition logs *ev, the transition a method made under b.mu, through
// the owning registry's Logger: Warn when the breaker opens (or is forced
// open), Info otherwise. Methods defer it before taking the lock, so that it
// runs after the unlock; a zero *ev (no transition) or no logger costs a
// load and a compare.
func (b *Breaker) logTransition(ev *Event) {
	if ev.Reason == "" {
		return
	}
	l := b.log.Load()
	if l == nil {
		return
	}
	level := slog.LevelInfo
	if ev.To == Open || ev.To == ForcedOpen {
		level = slog.LevelWarn
	}
	l.LogAttrs(context.Background(), level, "breaker: state changed",
		slog.String("breaker", ev.Breaker), slog.String("from", ev.From.String()),
		slog.String("to", ev.To.String()), slog.String("reason", string(ev.Reason)))
}

// nextGenLocked starts the next generation, in state to, and the timer that
// state needs. The caller holds b.mu.
func (b *Breaker) nextGenLocked(to State, now time.Time) {
	if b.timer != nil {
		b.timer.Stop()
		b.timer = nil
	}
	old := b.cur.Load()
	g := newGen(old.set, to, old.id+1)
	switch to {
	case Open:
		b.trips++
		b.tripCount.Add(1)
		g.openTimeout = g.set.openTimeout(b.trips)
		g.halfOpenAt = now.Add(g.openTimeout)
		b.timer = time.AfterFunc(g.openTimeout, func() { b.timeout(g) })
	case HalfOpen:
		b.timer = time.AfterFunc(g.set.cfg.HalfOpenTimeout, func() { b.halfOpenExpired(g) })
	case Closed:
		b.trips = 0
	}
	b.cur.Store(g)
}

// timeout moves an open breaker of generation g to half-open.
func (b *Breaker) timeout(g *gen) {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur.Load() == g {
		ev = b.transitionLocked(HalfOpen, ReasonTimeout)
	}
}

// halfOpenExpired ends the half-open time limit of generation g: with a
// trial still unreported the breaker opens again; otherwise the limit starts
// over.
func (b *Breaker) halfOpenExpired(g *gen) {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cur.Load() != g {
		return
	}
	if g.permits.Load() > g.trialSuccesses.Load() {
		ev = b.transitionLocked(Open, ReasonHalfOpenTimeout)
		return
	}
	b.timer = time.AfterFunc(g.set.cfg.HalfOpenTimeout, func() { b.halfOpenExpired(g) })
}

// reasonTrip is the reason Trip records when it is given none.
const reasonTrip Reason = "trip"

// Trip opens a closed or half-open breaker as a trip rule does, recording
// reason in the event ("trip" when reason is empty): the open timeout of
// this trip follows the configured growth, the breaker moves to half-open
// when it ends, and its trial calls decide from there, exactly as after a
// consecutive-failure trip. Calls in flight become Late. It reports whether
// the state changed: an open, forced-open or disabled breaker is left
// alone and Trip returns false. Callers that act on evidence from elsewhere
// (the cluster's quorum of peers) use it; it takes the breaker's lock
// briefly and never blocks on anything else.
func (b *Breaker) Trip(reason string) bool {
	r := Reason(reason)
	if r == "" {
		r = reasonTrip
	}
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.State() {
	case Closed, HalfOpen:
		ev = b.transitionLocked(Open, r)
		return true
	}
	return false
}

// ForceOpen holds the breaker open until Release or Reset; no timeout ends
// it. It reports whether the state changed (false if it was already forced).
func (b *Breaker) ForceOpen() bool {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.State() == ForcedOpen {
		return false
	}
	ev = b.transitionLocked(ForcedOpen, ReasonForced)
	return true
}

// Release closes a forced-open breaker and reports whether it was forced
// open; other states are left alone.
func (b *Breaker) Release() bool {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.State() != ForcedOpen {
		return false
	}
	ev = b.transitionLocked(Closed, ReasonReleased)
	return true
}

// Reset closes the breaker from any state and clears its counters (the
// lifetime ones of Metrics.Lifetime go on, and count the reset). Calls in
// flight become late. Resetting a closed breaker starts a new generation
// without an event.
func (b *Breaker) Reset() {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	nb := &resetBase{totals: b.ctr.sum(b.used.Load()), trips: b.tripCount.Load()}
	if old := b.base.Load(); old != nil {
		nb.resets = old.resets
	}
	nb.resets++
	b.base.Store(nb)
	if lat := b.lat.Load(); lat != nil {
		lat.Reset()
	}
	if b.State() != Closed {
		ev = b.transitionLocked(Closed, ReasonReset)
		return
	}
	b.nextGenLocked(Closed, time.Now())
}

// Disable makes the breaker admit every call and never trip, while still
// recording outcomes, until Reset.
func (b *Breaker) Disable() {
	var ev Event
	defer b.logTransition(&ev) // after the unlock below
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.State() != Disabled {
		ev = b.transitionLocked(Disabled, ReasonDisabled)
	}
}

// stop cancels a pending timer (used when a registry drops the breaker).
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
