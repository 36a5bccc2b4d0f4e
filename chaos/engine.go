package chaos

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/fanout"
)

// Engine injects faults. Scenarios are activated with Inject (or a
// convenience such as InjectLatency) and end by themselves when their
// duration is over, by Deactivate, by EmergencyStop, when a stop condition
// holds, or by Close.
//
// Code under test asks the engine on its hot path — Latency, Error,
// Partitioned, TimesOut, Bandwidth, or all at once with Apply. Those checks
// take no lock and allocate nothing; with nothing active they cost one
// atomic load.
//
// Goroutines: the engine starts goroutines only for cpu and disk_io
// scenarios, and owns them; they stop when their scenario ends. Run runs the
// stop-condition checker. Call Close when done with the engine: it ends
// every scenario and waits until every goroutine the engine started has
// exited.
//
// All methods are safe for concurrent use.
type Engine struct {
	cfg atomic.Pointer[Config] // defaults applied; replaced whole by Reconfigure
	reg *breaker.Registry

	idx     atomic.Pointer[index] // nil when no scenario affects the hot path
	stopped atomic.Bool           // emergency stop active
	closing atomic.Bool           // Close has been called
	halt    atomic.Pointer[chan struct{}]

	started   chan struct{} // closed once by the first Run, when it runs
	startOnce sync.Once

	seeded bool
	rngMu  sync.Mutex
	rng    *rand.Rand // guarded by rngMu; only when seeded

	scenariosRun       atomic.Uint64
	latencyInjections  atomic.Uint64
	latencyInjected    atomic.Int64
	errorsInjected     atomic.Uint64
	messageFaults      atomic.Uint64
	partitionsInjected atomic.Uint64
	timeoutsInjected   atomic.Uint64
	breakersForced     atomic.Uint64
	durationsCapped    atomic.Uint64
	cpuGoroutines      atomic.Int64
	cpuBusy            atomic.Int64
	memHeld            atomic.Int64
	diskWriters        atomic.Int64
	diskWritten        atomic.Int64
	diskErrors         atomic.Uint64
	connsOccupied      atomic.Int64

	seen *seenTargets // the targets the hot path was asked about

	hub fanout.Hub[Event]

	closeCh chan struct{} // closed by Close; ends Run

	mu         sync.Mutex
	scenarios  map[string]*active        // guarded by mu
	gen        uint64                    // guarded by mu: activation counter
	forced     map[string]*forcedBreaker // guarded by mu
	pools      map[string]*Pool          // guarded by mu
	burners    map[*burner]struct{}      // guarded by mu: started, not yet seen exited
	closed     bool                      // guarded by mu
	toLog      []Event                   // guarded by mu: events published under mu, for unlockAndLog
	running    bool                      // guarded by mu: Run is running
	runDone    chan struct{}             // guarded by mu: closed when Run returns
	stopReason string                    // guarded by mu
	recent     []Ended                   // guarded by mu: the last RecentEnded ended scenarios, oldest first
}

// active is an active scenario and everything it holds.
type active struct {
	s        Scenario // changed once installed only under mu (Reconfigure shortens Duration)
	gen      uint64
	targets  []string
	guarded  bool // some stop condition applies
	timer    *time.Timer
	done     chan struct{} // closed when the scenario ends
	errs     map[string]*InjectedError
	capKeys  []string // resources whose total level is capped at 1
	breakers []string
	pools    []poolHold
	mem      [][]byte
	memBytes int64
	disk     *diskJob // until its writer starts
	diskRate int64    // disk_io: the writer's bytes per second
	diskMax  int64    // disk_io: the writer's file size bound
	burner   *burner
}

type poolHold struct {
	p     *Pool
	slots int
}

type forcedBreaker struct {
	b       *breaker.Breaker
	refs    int  // active scenarios forcing it
	owned   bool // this engine forced it (so it releases it)
	created bool // this engine created it (so it removes it from the registry)
}

// New returns an engine configured by cfg, or the validation errors of cfg.
// reg is the breaker registry that circuit_breaker scenarios force breakers
// of; it may be nil, and then those scenarios fail with ErrNoRegistry. New
// starts no goroutine.
func New(cfg Config, reg *breaker.Registry) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	cfg.StopConditions = slices.Clone(cfg.StopConditions)
	e := &Engine{
		reg:       reg,
		closeCh:   make(chan struct{}),
		started:   make(chan struct{}),
		scenarios: make(map[string]*active),
		forced:    make(map[string]*forcedBreaker),
		pools:     make(map[string]*Pool),
		burners:   make(map[*burner]struct{}),
		seen:      newSeenTargets(),
	}
	if cfg.Seed != 0 {
		e.seeded = true
		e.rng = rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15))
	}
	e.cfg.Store(&cfg)
	h := make(chan struct{})
	e.halt.Store(&h)
	return e, nil
}

// conf returns the configuration in force. It is never modified: Reconfigure
// publishes a new one.
func (e *Engine) conf() *Config { return e.cfg.Load() }

// Config returns the engine's configuration in force, with defaults
// applied. It takes no lock.
func (e *Engine) Config() Config { return *e.conf() }

// ConstitutionalHash returns the engine's validated hash.
func (e *Engine) ConstitutionalHash() string { return e.conf().ConstitutionalHash }

func (e *Engine) halted() bool { return e.stopped.Load() || e.closing.Load() }

// Inject validates s and activates it until its duration ends (capped at
// Config.MaxDuration; the returned copy then has CappedFrom set). A
// scenario with the same name is replaced: its timer is cancelled and it
// ends with reason "replaced". Inject returns the active copy, with
// CreatedAt and Active set.
//
// It fails with a *ValidationError or hash mismatch for an invalid s,
// ErrEmergencyStop after EmergencyStop until Reset, ErrClosed after Close,
// ErrStopCondition if one of s's or the engine's stop conditions already
// holds, an *UnknownTargetError (ErrUnknownTarget) under
// Config.StrictTargets when a target is unknown (see CheckTargets),
// ErrNotRunning if a stop condition applies and Run is not running,
// and for resource scenarios ErrResourceCap, ErrNoPool or the error of
// creating the disk_io directory; circuit_breaker scenarios need a registry
// (ErrNoRegistry).
//
// Inject does not block on other calls for long, except that a memory
// scenario allocates and touches its memory while holding the engine's lock.
func (e *Engine) Inject(s Scenario) (Scenario, error) {
	a, err := e.inject(s)
	if err != nil {
		return Scenario{}, err
	}
	return a.s.clone(), nil
}

// admit checks s before it is activated — the refusal in force, its own
// validity, the stop conditions, strict targets and the engine's bounds —
// and returns the copy to activate, with its duration capped, and whether
// stop conditions guard it.
func (e *Engine) admit(s Scenario) (Scenario, bool, error) {
	if err := e.refusal(); err != nil {
		return Scenario{}, false, err
	}
	if err := s.Validate(); err != nil {
		return Scenario{}, false, err
	}
	s = s.clone()
	s.ConstitutionalHash = antifragile.HashOrDefault(s.ConstitutionalHash)
	cfg := e.conf() // one configuration for the whole check
	conds := slices.Concat(cfg.StopConditions, s.StopConditions)
	if c, ok := firstHolding(conds); ok {
		return Scenario{}, false, fmt.Errorf("%w: %q (scenario %q not started)", ErrStopCondition, c.Name, s.Name)
	}
	if cfg.StrictTargets {
		if err := e.CheckTargets(s); err != nil {
			return Scenario{}, false, err
		}
	}
	if s.Type == TypeLatency && s.Delay > cfg.MaxDelay {
		return Scenario{}, false, antifragile.Invalid("delay", s.Delay, "exceeds the engine's max_delay %s", cfg.MaxDelay)
	}
	s.Active = true
	s.CreatedAt = time.Now()
	s.CappedFrom = 0
	if s.Duration > cfg.MaxDuration {
		s.CappedFrom, s.Duration = s.Duration, cfg.MaxDuration
	}
	return s, len(conds) > 0, nil
}

func (e *Engine) inject(s Scenario) (*active, error) {
	s, guarded, err := e.admit(s)
	if err != nil {
		return nil, err
	}
	a := &active{s: s, targets: s.Targets(), guarded: guarded, done: make(chan struct{})}
	if s.Type == TypeError && s.ErrorRate > 0 {
		a.errs = make(map[string]*InjectedError, len(a.targets))
		for _, t := range a.targets {
			a.errs[t] = &InjectedError{Scenario: s.Name, Target: t, Message: s.ErrorMessage, Err: s.Err}
		}
	}

	e.mu.Lock()
	defer e.unlockAndLog()
	if err := e.refusal(); err != nil {
		return nil, err
	}
	if a.guarded && !e.running {
		return nil, ErrNotRunning
	}
	old := e.scenarios[s.Name]
	if err := e.acquireLocked(a, old); err != nil {
		e.rebuildLocked() // old may have ended
		return nil, err
	}
	e.gen++
	a.gen = e.gen
	e.scenarios[s.Name] = a
	name, gen := s.Name, a.gen
	a.timer = time.AfterFunc(s.Duration, func() { e.expire(name, gen) })
	e.shortenLocked(a, e.conf().MaxDuration) // a Reconfigure since admit lowered it
	e.rebuildLocked()
	e.scenariosRun.Add(1)
	if s.CappedFrom != 0 {
		e.durationsCapped.Add(1)
	}
	e.publish(a, EventStarted, ReasonInjected)
	return a, nil
}

// refusal returns the error that refuses injections now, if any.
func (e *Engine) refusal() error {
	switch {
	case e.closing.Load():
		return ErrClosed
	case e.stopped.Load():
		return ErrEmergencyStop
	}
	return nil
}

// acquireLocked takes what a needs (breakers, pool slots, memory, disk,
// cpu) and ends old, the scenario a replaces, at the right moment: after
// a's breakers and pool slots are taken (so that a shared breaker does not
// flap) and before memory and burners start (so that old and a never
// consume together). On failure a holds nothing and old is left alone,
// unless the engine halted meanwhile.
func (e *Engine) acquireLocked(a *active, old *active) error {
	s := a.s
	resource := s.ResourceType
	if s.Type != TypeResourceExhaustion {
		resource = ""
	}
	pools, err := e.capLocked(a, resource)
	if err != nil {
		return err
	}
	if resource == ResourceDiskIO && s.ResourceLevel > 0 {
		j, err := e.prepareDisk(s.ResourceLevel)
		if err != nil {
			return fmt.Errorf("chaos: disk_io scenario %q: %w", s.Name, err)
		}
		a.disk, a.diskRate, a.diskMax = j, j.rate, j.maxSize
	}
	if err := e.holdLocked(a, pools); err != nil {
		return err
	}
	if old != nil {
		e.endLocked(old, ReasonReplaced)
	}
	return e.consumeLocked(a, resource)
}

// capLocked finds what limits a: the pools of the targets of a connections
// scenario and the capped resources a uses (a.capKeys). It refuses a
// circuit_breaker scenario without a registry, a connections scenario none
// of whose targets has a pool, and a scenario that would use a capped
// resource above level 1 (see checkCapsLocked). a holds nothing yet.
func (e *Engine) capLocked(a *active, resource ResourceType) ([]*Pool, error) {
	var pools []*Pool
	switch {
	case a.s.Type == TypeCircuitBreaker && e.reg == nil:
		return nil, ErrNoRegistry
	case resource == ResourceConnections:
		for _, t := range a.targets {
			if p := e.pools[t]; p != nil {
				pools = append(pools, p)
				a.capKeys = append(a.capKeys, "connections:"+t)
			}
		}
		if len(pools) == 0 {
			return nil, fmt.Errorf("%w: create a pool named %q with Engine.Pool", ErrNoPool, a.s.Target)
		}
	case resource == ResourceCPU, resource == ResourceMemory, resource == ResourceDiskIO:
		a.capKeys = []string{string(resource)}
	}
	if err := e.checkCapsLocked(a); err != nil {
		return nil, err
	}
	return pools, nil
}

// holdLocked forces the breakers of a circuit_breaker scenario open and
// occupies a's share of each of pools. When a breaker cannot be forced, it
// releases everything a holds (its prepared disk job too) and fails.
func (e *Engine) holdLocked(a *active, pools []*Pool) error {
	s := a.s
	if s.Type == TypeCircuitBreaker {
		for _, t := range a.targets {
			if err := e.forceLocked(t); err != nil {
				e.releaseLocked(a)
				return fmt.Errorf("chaos: circuit_breaker scenario %q: %w", s.Name, err)
			}
			a.breakers = append(a.breakers, t)
		}
	}
	for _, p := range pools {
		h := poolHold{p: p, slots: int(s.ResourceLevel * float64(p.Size()))}
		p.occupy(h.slots)
		e.connsOccupied.Add(int64(h.slots))
		a.pools = append(a.pools, h)
	}
	return nil
}

// consumeLocked starts what a consumes: a memory scenario's memory, a cpu
// or disk_io scenario's burner (recorded in e.burners). When the engine
// halts while the memory is allocated, it releases everything a holds and
// returns the refusal.
func (e *Engine) consumeLocked(a *active, resource ResourceType) error {
	s := a.s
	switch resource {
	case ResourceMemory:
		n := int64(s.ResourceLevel * float64(e.conf().MemoryCap))
		if n > 0 {
			a.mem = e.allocate(n)
			if a.mem == nil {
				e.releaseLocked(a)
				return e.refusal()
			}
			a.memBytes = n
			e.memHeld.Add(n)
		}
	case ResourceCPU:
		if s.ResourceLevel > 0 {
			a.burner = e.startCPU(s.ResourceLevel)
		}
	case ResourceDiskIO:
		if a.disk != nil {
			a.burner = e.startDisk(a.disk)
			a.disk = nil
		}
	}
	if a.burner != nil {
		e.burners[a.burner] = struct{}{}
	}
	return nil
}

// checkCapsLocked refuses a if, with every other active scenario except
// the one it replaces, a capped resource would be used above level 1.
func (e *Engine) checkCapsLocked(a *active) error {
	for _, key := range a.capKeys {
		total := a.s.ResourceLevel
		for name, o := range e.scenarios {
			if name != a.s.Name && slices.Contains(o.capKeys, key) {
				total += o.s.ResourceLevel
			}
		}
		if total > 1+1e-9 {
			return fmt.Errorf("%w: %s would be used at level %s (at most 1.0)", ErrResourceCap, key, FormatRate(total))
		}
	}
	return nil
}

func (e *Engine) forceLocked(name string) error {
	fb := e.forced[name]
	if fb == nil {
		b, existed := e.reg.Get(name)
		if !existed {
			var err error
			if b, err = e.reg.GetOrCreate(name, breaker.Config{}); err != nil {
				return err
			}
		}
		// A breaker the scenario had to create (a typo, often) is removed
		// again when the last scenario forcing it ends.
		fb = &forcedBreaker{b: b, created: !existed}
		e.forced[name] = fb
	}
	if fb.b.ForceOpen() {
		fb.owned = true
		e.breakersForced.Add(1)
	}
	fb.refs++
	return nil
}

func (e *Engine) unforceLocked(name string) {
	fb := e.forced[name]
	if fb == nil {
		return
	}
	fb.refs--
	if fb.refs > 0 {
		return
	}
	delete(e.forced, name)
	if fb.owned {
		fb.b.Release()
	}
	if fb.created {
		if cur, ok := e.reg.Get(name); ok && cur == fb.b {
			e.reg.Remove(name)
		}
	}
}

// releaseLocked gives back everything a holds and stops its burner without
// waiting for it.
func (e *Engine) releaseLocked(a *active) {
	for _, name := range a.breakers {
		e.unforceLocked(name)
	}
	a.breakers = nil
	for _, h := range a.pools {
		h.p.vacate(h.slots)
		e.connsOccupied.Add(-int64(h.slots))
	}
	a.pools = nil
	if a.mem != nil {
		a.mem = nil
		e.memHeld.Add(-a.memBytes)
		a.memBytes = 0
		// Give the memory back to the operating system now, not at the
		// next GC cycle: a replacing scenario allocates right after, and
		// the process would otherwise hold both.
		debug.FreeOSMemory()
	}
	if a.disk != nil {
		a.disk.cleanup()
		a.disk = nil
	}
	if a.burner != nil {
		a.burner.stop()
	}
}

// endLocked deactivates a (which must be installed or being replaced):
// cancels its timer, releases what it holds, wakes waiters on its done
// channel and publishes the ended event. The caller rebuilds the index.
func (e *Engine) endLocked(a *active, reason Reason) {
	if e.scenarios[a.s.Name] == a {
		delete(e.scenarios, a.s.Name)
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	e.releaseLocked(a)
	close(a.done)
	e.publish(a, EventEnded, reason)
	e.rememberLocked(a, reason, time.Now())
	for b := range e.burners {
		if b.exited() {
			delete(e.burners, b)
		}
	}
}

// publish publishes a's event and, with a Logger, keeps it for
// unlockAndLog. The caller holds e.mu.
func (e *Engine) publish(a *active, kind EventKind, reason Reason) {
	ev := Event{Scenario: a.s.Name, Type: a.s.Type, Target: a.s.Target, Kind: kind, Reason: reason, At: time.Now()}
	e.hub.Publish(ev)
	if e.conf().Logger != nil {
		e.toLog = append(e.toLog, ev)
	}
}

// unlockAndLog releases e.mu, then logs the events published under it (see
// Config.Logger).
func (e *Engine) unlockAndLog() {
	evs := e.toLog
	e.toLog = nil
	e.mu.Unlock()
	for _, ev := range evs {
		msg := "chaos: scenario started"
		if ev.Kind == EventEnded {
			msg = "chaos: scenario ended"
		}
		e.conf().Logger.LogAttrs(context.Background(), slog.LevelInfo, msg,
			slog.String("scenario", ev.Scenario), slog.String("type", string(ev.Type)),
			slog.String("target", ev.Target), slog.String("reason", string(ev.Reason)))
	}
}

// expire ends the scenario name of generation gen when its timer fires. A
// scenario that was replaced meanwhile has another generation and is left
// alone. It does not wait for burners to exit.
func (e *Engine) expire(name string, gen uint64) {
	e.mu.Lock()
	defer e.unlockAndLog()
	a := e.scenarios[name]
	if a == nil || a.gen != gen {
		return
	}
	e.endLocked(a, ReasonExpired)
	e.rebuildLocked()
}

// Deactivate ends the active scenario named name early and reports whether
// there was one. It releases what the scenario holds (a forced breaker is
// released unless it was already forced when the scenario started) and
// blocks until the scenario's goroutines, if any, have exited.
func (e *Engine) Deactivate(name string) bool {
	e.mu.Lock()
	a := e.scenarios[name]
	if a == nil {
		e.mu.Unlock()
		return false
	}
	e.endLocked(a, ReasonDeactivated)
	e.rebuildLocked()
	e.unlockAndLog()
	wait(a.burner)
	return true
}

// end ends the scenario name if it is still generation gen, and waits for
// its goroutines.
func (e *Engine) end(name string, gen uint64, reason Reason) {
	e.mu.Lock()
	a := e.scenarios[name]
	if a == nil || a.gen != gen {
		e.mu.Unlock()
		return
	}
	e.endLocked(a, reason)
	e.rebuildLocked()
	e.unlockAndLog()
	wait(a.burner)
}

func wait(b *burner) {
	if b != nil {
		<-b.done
	}
}

// endAllLocked ends every active scenario and returns their burners.
func (e *Engine) endAllLocked(reason Reason) []*burner {
	all := make([]*active, 0, len(e.scenarios))
	for _, a := range e.scenarios {
		all = append(all, a)
	}
	slices.SortFunc(all, func(x, y *active) int { return cmp.Compare(x.gen, y.gen) })
	var bs []*burner
	for _, a := range all {
		e.endLocked(a, reason)
		if a.burner != nil {
			bs = append(bs, a.burner)
		}
	}
	e.rebuildLocked()
	return bs
}

// EmergencyStop ends every scenario at once: the hot-path checks see
// nothing active from the moment it is called, every breaker the engine
// forced open is released, every resource is given back, and calls blocked
// in Apply return. It blocks until every burner goroutine has exited —
// microseconds for cpu, at most one disk write and fsync for disk_io.
// Until Reset, Inject fails with ErrEmergencyStop and Stopped reports true.
// It is idempotent.
func (e *Engine) EmergencyStop() { e.abort(ReasonEmergencyStop, "emergency stop") }

func (e *Engine) abort(reason Reason, why string) {
	e.stopped.Store(true)
	e.swapIndex(nil)
	e.mu.Lock()
	if e.stopReason == "" {
		e.stopReason = why
	}
	e.closeHaltLocked()
	n := len(e.scenarios)
	bs := e.endAllLocked(reason)
	e.unlockAndLog()
	if e.conf().Logger != nil {
		e.conf().Logger.LogAttrs(context.Background(), slog.LevelWarn, "chaos: emergency stop",
			slog.String("reason", why), slog.Int("scenarios", n))
	}
	for _, b := range bs {
		wait(b)
	}
}

// closeHaltLocked wakes every Apply sleeping on the current halt channel.
func (e *Engine) closeHaltLocked() {
	h := e.halt.Load()
	select {
	case <-*h:
	default:
		close(*h)
	}
}

// Stopped reports whether an emergency stop (or a stop condition) is in
// force, that is, until Reset.
func (e *Engine) Stopped() bool { return e.stopped.Load() }

// Reset lifts an emergency stop and clears its reason, so that Inject works
// again; any scenario still active is ended. Reset does not reopen a closed
// engine and keeps the counters of Metrics.
func (e *Engine) Reset() {
	e.mu.Lock()
	bs := e.endAllLocked(ReasonDeactivated)
	if e.stopped.Load() && !e.closed {
		h := make(chan struct{})
		e.halt.Store(&h)
		e.stopReason = ""
		e.stopped.Store(false)
	}
	e.unlockAndLog()
	for _, b := range bs {
		wait(b)
	}
}

// Close ends every scenario (reason "closed"), refuses further injections
// with ErrClosed, makes Run return, and waits until every goroutine the
// engine started has exited (and Run has returned) or ctx ends, returning
// ctx's error then. It is idempotent; calling it again waits again.
func (e *Engine) Close(ctx context.Context) error {
	e.closing.Store(true)
	e.swapIndex(nil)
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.closeCh)
		e.closeHaltLocked()
		e.endAllLocked(ReasonClosed)
	}
	bs := make([]*burner, 0, len(e.burners))
	for b := range e.burners {
		bs = append(bs, b)
	}
	runDone := e.runDone
	e.unlockAndLog()
	for _, b := range bs {
		select {
		case <-b.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if runDone != nil {
		select {
		case <-runDone:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	e.mu.Lock()
	for _, b := range bs {
		delete(e.burners, b)
	}
	e.mu.Unlock()
	return nil
}

// Run checks the stop conditions every Config.StopCheckInterval (100 ms at
// most) while scenarios are active, aborting as by EmergencyStop when one
// holds (see CheckStopConditions). It blocks until ctx ends or Close is
// called, then returns nil — after ending every scenario that a stop
// condition guards (reason "unwatched"), since nothing would check them any
// more. Only one Run may run at a time (ErrRunning); it fails with
// ErrClosed after Close.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	switch {
	case e.closed:
		e.mu.Unlock()
		return ErrClosed
	case e.running:
		e.mu.Unlock()
		return ErrRunning
	}
	e.running = true
	done := make(chan struct{})
	e.runDone = done
	e.mu.Unlock()
	e.startOnce.Do(func() { close(e.started) })
	defer func() {
		e.mu.Lock()
		var bs []*burner
		for _, a := range e.scenarios {
			if a.guarded {
				e.endLocked(a, ReasonUnwatched)
				if a.burner != nil {
					bs = append(bs, a.burner)
				}
			}
		}
		e.rebuildLocked()
		e.running = false
		e.runDone = nil
		e.unlockAndLog()
		for _, b := range bs {
			wait(b)
		}
		close(done)
	}()
	ticker := time.NewTicker(e.conf().StopCheckInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-e.closeCh:
			return nil
		case <-ticker.C:
			e.CheckStopConditions()
		}
	}
}

// Started returns a channel that is closed once Run has started (the first
// time): from then on guarded injections are accepted and stop conditions
// are checked. It is never closed if Run is not called, or fails before it
// starts.
func (e *Engine) Started() <-chan struct{} { return e.started }

// Running reports whether Run is running.
func (e *Engine) Running() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running
}

// CheckStopConditions evaluates, if any scenario is active, the engine's
// stop conditions and those of every active scenario; the first that holds
// aborts everything as EmergencyStop does (events carry reason
// "stop_condition") and is recorded in Metrics().StopReason. It reports
// whether it aborted. Run calls it periodically; tests may call it
// directly. The conditions run on the caller's goroutine, without the
// engine's lock.
func (e *Engine) CheckStopConditions() bool {
	type named struct {
		c        StopCondition
		scenario string
	}
	e.mu.Lock()
	if len(e.scenarios) == 0 {
		e.mu.Unlock()
		return false
	}
	var conds []named
	for _, c := range e.conf().StopConditions {
		conds = append(conds, named{c: c})
	}
	for _, a := range e.scenarios {
		for _, c := range a.s.StopConditions {
			conds = append(conds, named{c, a.s.Name})
		}
	}
	e.mu.Unlock()
	for _, n := range conds {
		if holds(n.c) {
			why := "stop condition " + strconv.Quote(n.c.Name) + " held"
			if n.scenario != "" {
				why += " (scenario " + strconv.Quote(n.scenario) + ")"
			}
			e.abort(ReasonStopCondition, why)
			return true
		}
	}
	return false
}

// holds runs c.Check; a panic counts as holding.
func holds(c StopCondition) (held bool) {
	defer func() {
		if recover() != nil {
			held = true
		}
	}()
	return c.Check()
}

func firstHolding(conds []StopCondition) (StopCondition, bool) {
	for _, c := range conds {
		if holds(c) {
			return c, true
		}
	}
	return StopCondition{}, false
}

// Active returns a copy of every active scenario, sorted by name.
func (e *Engine) Active() []Scenario {
	e.mu.Lock()
	out := make([]Scenario, 0, len(e.scenarios))
	for _, a := range e.scenarios {
		out = append(out, a.s.clone())
	}
	e.mu.Unlock()
	slices.SortFunc(out, func(x, y Scenario) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// Lookup returns a copy of the active scenario named name.
func (e *Engine) Lookup(name string) (Scenario, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.scenarios[name]
	if !ok {
		return Scenario{}, false
	}
	return a.s.clone(), true
}

// Pool returns the engine's connection pool named name, creating it with
// size slots (≤ 0 means DefaultPoolSize, 100) if it does not exist; an
// existing pool keeps its size. A connections scenario whose target or
// blast radius names the pool occupies level × size of its slots.
func (e *Engine) Pool(name string, size int) *Pool {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.pools[name]
	if p == nil {
		p = newPool(size)
		e.pools[name] = p
	}
	return p
}

// Subscribe returns a subscription to scenario starts and ends, buffered
// to buffer events (≤ 0 means DefaultSubscriptionBuffer). A full buffer
// drops events and counts them; the engine never waits.
func (e *Engine) Subscribe(buffer int) *Subscription { return e.hub.Subscribe(buffer) }

// With activates s, runs fn, and deactivates s when fn returns (or
// panics), unless s was replaced or ended meanwhile. It returns Inject's
// error without running fn, or fn's error. A nil fn is a *ValidationError
// for "fn" wrapping antifragile.ErrNil, and s is then not injected.
func (e *Engine) With(ctx context.Context, s Scenario, fn func(context.Context) error) error {
	if fn == nil {
		return &ValidationError{Field: "fn", Err: antifragile.ErrNil}
	}
	a, err := e.inject(s)
	if err != nil {
		return err
	}
	defer e.end(a.s.Name, a.gen, ReasonDeactivated)
	return fn(ctx)
}

// InjectLatency injects LatencyScenario(target, delay, duration,
// blastRadius...): calls to the target are delayed by delay.
func (e *Engine) InjectLatency(target string, delay, duration time.Duration, blastRadius ...string) (Scenario, error) {
	return e.Inject(LatencyScenario(target, delay, duration, blastRadius...))
}

// InjectErrors injects ErrorScenario(target, rate, err, duration,
// blastRadius...): calls to the target fail with probability rate, with err
// (nil means the default *InjectedError).
func (e *Engine) InjectErrors(target string, rate float64, err error, duration time.Duration, blastRadius ...string) (Scenario, error) {
	return e.Inject(ErrorScenario(target, rate, err, duration, blastRadius...))
}

// ForceBreakerOpen injects BreakerScenario(breakerName, duration,
// blastRadius...): the breaker is forced open until the scenario ends, then
// released (unless it was already forced open before).
func (e *Engine) ForceBreakerOpen(breakerName string, duration time.Duration, blastRadius ...string) (Scenario, error) {
	return e.Inject(BreakerScenario(breakerName, duration, blastRadius...))
}

// ExhaustResource injects ResourceScenario(resource, level, target,
// duration, blastRadius...).
func (e *Engine) ExhaustResource(resource ResourceType, level float64, target string, duration time.Duration, blastRadius ...string) (Scenario, error) {
	return e.Inject(ResourceScenario(resource, level, target, duration, blastRadius...))
}

// Partition injects PartitionScenario(target, duration, blastRadius...):
// calls to the target fail with ErrPartitioned.
func (e *Engine) Partition(target string, duration time.Duration, blastRadius ...string) (Scenario, error) {
	return e.Inject(PartitionScenario(target, duration, blastRadius...))
}

// InjectTimeouts injects TimeoutScenario(target, duration,
// blastRadius...): calls to the target hang until their context ends.
func (e *Engine) InjectTimeouts(target string, duration time.Duration, blastRadius ...string) (Scenario, error) {
	return e.Inject(TimeoutScenario(target, duration, blastRadius...))
}
