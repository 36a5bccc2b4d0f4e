package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/backoff"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/codec"
	"github.com/antifragile-go/antifragile/internal/fanout"
)

// Errors matched with errors.Is.
var (
	// ErrNotFound is matched by a *NotFoundError: no task for the service.
	ErrNotFound = errors.New("recovery: service not found")
	// ErrInProgress is matched by a *StateError for an operation that needs
	// the service's attempt to be finished.
	ErrInProgress = errors.New("recovery: attempt in progress")
	// ErrNotAwaitingManual is matched by a *StateError from Resume or
	// Resolve on a task that does not wait for an operator.
	ErrNotAwaitingManual = errors.New("recovery: not awaiting manual intervention")
	// ErrRunning is returned by Run while another Run is running.
	ErrRunning = errors.New("recovery: orchestrator already running")
	// ErrClosed is returned by Run and Schedule after Close.
	ErrClosed = errors.New("recovery: orchestrator closed")
)

// NotFoundError reports an operation on a service that has no task.
type NotFoundError struct{ Service string }

// Error reads like `recovery: no task for service "db"`.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("recovery: no task for service %q", e.Service)
}

// Is reports whether target is ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// StateError reports an operation that the task's state does not allow. It
// unwraps to ErrInProgress or ErrNotAwaitingManual.
type StateError struct {
	Service string
	Op      string // "execute", "resume" or "resolve"
	State   State
	Err     error
}

// Error reads like `recovery: cannot resume "db": it is scheduled, not awaiting_manual`.
func (e *StateError) Error() string {
	if e.Err == ErrInProgress {
		return fmt.Sprintf("recovery: cannot %s %q: an attempt is in progress", e.Op, e.Service)
	}
	return fmt.Sprintf("recovery: cannot %s %q: it is %s, not awaiting_manual", e.Op, e.Service, e.State)
}

// Unwrap returns ErrInProgress or ErrNotAwaitingManual.
func (e *StateError) Unwrap() error { return e.Err }

// Config defaults.
const (
	DefaultMaxConcurrent = 1
	DefaultMaxHistory    = 100
	DefaultRestartWindow = time.Minute
	DefaultWatchBuffer   = 1024
	// DefaultMaxOutagesPerService is Config.MaxOutagesPerService when 0.
	DefaultMaxOutagesPerService = 50
	// DefaultMaxOutages is Config.MaxOutages when 0.
	DefaultMaxOutages = 10_000
	// DefaultLearnMinOutages is Config.LearnMinOutages when 0.
	DefaultLearnMinOutages = 3
	// RecentResults is how many results Status carries.
	RecentResults = 10
)

// Upper bounds of a Config, checked by Validate.
const (
	MaxMaxConcurrent = 1024    // attempts at once
	MaxMaxHistory    = 100_000 // results kept
	MaxMaxRestarts   = 1_000_000
	MaxWatchBuffer   = 1 << 20
	// MaxMaxOutagesPerService bounds Config.MaxOutagesPerService (and so
	// Config.LearnMinOutages).
	MaxMaxOutagesPerService = 10_000
	// MaxMaxOutages bounds Config.MaxOutages.
	MaxMaxOutages = 1_000_000
)

// Config configures an Orchestrator. The zero value is usable: one attempt
// at a time, the default Policy, 100 results of history, no restart
// intensity limit, no watching.
type Config struct {
	// DefaultPolicy is the policy of a service with neither a policy given
	// to Schedule nor one set with SetPolicy. Its zero fields take their
	// defaults (see Policy).
	DefaultPolicy Policy `json:"default_policy"`

	// Policies sets the policy of services by name, as SetPolicy does
	// before New returns. In JSON, each entry starts as a copy of
	// DefaultPolicy (the one of the same document) and overrides the fields
	// it sets. A name must not be empty.
	Policies map[string]Policy `json:"policies"`

	// MaxConcurrent is the most attempts Run runs at once. 0 means 1;
	// negative or above MaxMaxConcurrent (1024) is invalid. Execute's attempts run in the caller's goroutine
	// and are not counted.
	MaxConcurrent int `json:"max_concurrent"`

	// MaxHistory is how many results History keeps. 0 means 100; negative
	// or above MaxMaxHistory (100,000) is invalid.
	MaxHistory int `json:"max_history"`

	// MaxRestarts is the restart intensity (Erlang/OTP's idea): a service
	// whose recovery would be the (MaxRestarts+1)-th created within
	// RestartWindow is escalated to awaiting_manual instead of scheduled.
	// 0 turns the limit off; negative or above MaxMaxRestarts is invalid.
	MaxRestarts int `json:"max_restarts"`
	// RestartWindow is the window of MaxRestarts. 0 means 1 min; negative
	// or above MaxPolicyDuration (24 h) is invalid.
	RestartWindow time.Duration `json:"restart_window"`

	// Watch makes Run subscribe to the registry given to New and schedule a
	// recovery, with the service's policy (its Strategy and Priority
	// included), whenever a breaker opens by itself — a trip rule or a
	// failed probe, never an operator's or the chaos engine's ForceOpen. A
	// scheduled task whose breaker closes by itself (a successful probe)
	// ends as succeeded without an attempt. When Run starts it also
	// schedules every breaker that is already open. Watch needs a registry.
	Watch bool `json:"watch"`
	// WatchBuffer is the buffer of the registry subscription. 0 or negative
	// means 1024; at most MaxWatchBuffer. Lost events are counted in
	// Status.DroppedBreakerEvents.
	WatchBuffer int `json:"watch_buffer"`

	// Seed seeds the jitter generator, so that the same seed spreads the
	// same delays. 0 means a random seed.
	Seed uint64 `json:"seed"`

	// ConstitutionalHash must equal antifragile.ConstitutionalHash; empty
	// means that hash.
	ConstitutionalHash string `json:"constitutional_hash,omitempty"`

	// HistoryPath, if set, is the file that keeps the outage history
	// across restarts (a FileStore of DefaultHistoryFileBytes): New loads
	// it, every ended outage is appended. Empty means no file: the history
	// lives as long as the orchestrator. HistoryStore, if set, wins.
	HistoryPath string `json:"history_path"`
	// HistoryStore, if set, keeps the outage history instead of
	// HistoryPath's file. nil means HistoryPath's, or none.
	HistoryStore HistoryStore `json:"-"`
	// MaxOutagesPerService is how many outages are kept per service, the
	// oldest dropped first. 0 means 50; negative or above
	// MaxMaxOutagesPerService (10,000) is invalid.
	MaxOutagesPerService int `json:"max_outages_per_service"`
	// MaxOutages is how many outages are kept in all, the oldest of all
	// services dropped first. 0 means 10,000; negative or above
	// MaxMaxOutages (1,000,000) is invalid.
	MaxOutages int `json:"max_outages"`
	// LearnMinOutages is how many healed outages of a service the Learned
	// strategy needs before it learns; with fewer it uses the policy's
	// Fallback. 0 means 3 (or MaxOutagesPerService if that is smaller);
	// negative or above MaxOutagesPerService is invalid.
	LearnMinOutages int `json:"learn_min_outages"`

	// PredictionHorizon is how long after an AtRisk prediction an outage
	// of the service counts as predicted. 0 means 5 min; negative or above
	// MaxPolicyDuration (24 h) is invalid.
	PredictionHorizon time.Duration `json:"prediction_horizon"`
	// OnPrediction, if set, is called with the service's name each time
	// AtRisk counts a prediction, in AtRisk's caller's goroutine and
	// without the orchestrator's lock: the seam where a breaker may be made
	// cautious for a while. It must not block for long. nil means nothing
	// is called.
	OnPrediction func(service string) `json:"-"`
	// Cautious, when enabled, tightens the breaker of a service predicted
	// at risk whose predictions have come true before (see
	// CautiousConfig). Off by default.
	Cautious CautiousConfig `json:"cautious"`

	// Logger receives a line when an attempt starts (Info) and one when it
	// ends (keys service, attempt, state, error; Info on success, Warn when
	// the task will be retried or was cancelled, Error when it failed or
	// awaits an operator), logged by the goroutine running the attempt
	// outside the orchestrator's lock. nil means no logging.
	Logger *slog.Logger `json:"-"`
}

// WithDefaults returns c with every zero field set to the default New
// applies, so that a caller can show the configuration in force. It does
// not validate.
func (c Config) WithDefaults() Config { return c.withDefaults() }

func (c Config) withDefaults() Config {
	if c.MaxConcurrent == 0 {
		c.MaxConcurrent = DefaultMaxConcurrent
	}
	if c.MaxHistory == 0 {
		c.MaxHistory = DefaultMaxHistory
	}
	if c.RestartWindow == 0 {
		c.RestartWindow = DefaultRestartWindow
	}
	if c.WatchBuffer <= 0 {
		c.WatchBuffer = DefaultWatchBuffer
	}
	if c.MaxOutagesPerService == 0 {
		c.MaxOutagesPerService = DefaultMaxOutagesPerService
	}
	if c.MaxOutages == 0 {
		c.MaxOutages = DefaultMaxOutages
	}
	if c.LearnMinOutages == 0 {
		c.LearnMinOutages = DefaultLearnMinOutages
		if c.MaxOutagesPerService > 0 {
			c.LearnMinOutages = min(c.LearnMinOutages, c.MaxOutagesPerService)
		}
	}
	c.Cautious = c.Cautious.withDefaults()
	if c.PredictionHorizon == 0 {
		c.PredictionHorizon = DefaultPredictionHorizon
	}
	c.DefaultPolicy = c.DefaultPolicy.withDefaults()
	c.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	return c
}

// Validate reports every invalid field of c, after defaults are applied,
// joined with errors.Join; nil when c is valid. The default policy's fields
// are named "default_policy.<field>".
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	if err := antifragile.ValidateHashFor(c.ConstitutionalHash, "recovery orchestrator"); err != nil {
		errs = append(errs, err)
	}
	if err := c.DefaultPolicy.validate("default_policy."); err != nil {
		errs = append(errs, err)
	}
	if c.MaxConcurrent < 0 {
		errs = append(errs, antifragile.Invalid("max_concurrent", c.MaxConcurrent, "must not be negative (0 means %d)", DefaultMaxConcurrent))
	}
	if c.MaxHistory < 0 {
		errs = append(errs, antifragile.Invalid("max_history", c.MaxHistory, "must not be negative (0 means %d)", DefaultMaxHistory))
	}
	if c.MaxRestarts < 0 {
		errs = append(errs, antifragile.Invalid("max_restarts", c.MaxRestarts, "must not be negative (0 turns the limit off)"))
	}
	if c.RestartWindow < 0 {
		errs = append(errs, antifragile.Invalid("restart_window", c.RestartWindow, "must not be negative"))
	}
	errs = append(errs, c.validateLearning())
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "max_concurrent", c.MaxConcurrent, MaxMaxConcurrent)
	antifragile.AtMost(&bounds, "max_history", c.MaxHistory, MaxMaxHistory)
	antifragile.AtMost(&bounds, "max_restarts", c.MaxRestarts, MaxMaxRestarts)
	antifragile.AtMost(&bounds, "restart_window", c.RestartWindow, MaxPolicyDuration)
	antifragile.AtMost(&bounds, "watch_buffer", c.WatchBuffer, MaxWatchBuffer)
	errs = append(errs, bounds.Err())
	for _, name := range slices.Sorted(maps.Keys(c.Policies)) {
		path := codec.MapPath("policies", name)
		if err := antifragile.CheckName(path, name); err != nil {
			errs = append(errs, err)
		}
		if err := c.Policies[name].validate(path + "."); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validateLearning reports the invalid fields of the outage history and
// the predictions, after defaults.
func (c Config) validateLearning() error {
	var errs []error
	for _, f := range []struct {
		field string
		v     int
	}{{"max_outages_per_service", c.MaxOutagesPerService}, {"max_outages", c.MaxOutages}, {"learn_min_outages", c.LearnMinOutages}} {
		if f.v < 0 {
			errs = append(errs, antifragile.Invalid(f.field, f.v, "must not be negative (0 means its default)"))
		}
	}
	if c.PredictionHorizon < 0 {
		errs = append(errs, antifragile.Invalid("prediction_horizon", c.PredictionHorizon, "must not be negative"))
	}
	var bounds antifragile.Problems
	antifragile.AtMost(&bounds, "max_outages_per_service", c.MaxOutagesPerService, MaxMaxOutagesPerService)
	antifragile.AtMost(&bounds, "max_outages", c.MaxOutages, MaxMaxOutages)
	antifragile.AtMost(&bounds, "learn_min_outages", c.LearnMinOutages, max(c.MaxOutagesPerService, 1))
	antifragile.AtMost(&bounds, "prediction_horizon", c.PredictionHorizon, MaxPolicyDuration)
	c.Cautious.validate(&bounds)
	errs = append(errs, bounds.Err())
	return errors.Join(errs...)
}

// Orchestrator recovers failed services: it keeps one task per service in a
// priority queue, runs attempts (an optional action, then an optional health
// check) when they are due, retries failures with backoff, and on success
// resets the service's breaker. All methods are safe for concurrent use and
// work before Run: tasks scheduled earlier wait for Run (or Execute).
//
// Attempts run only inside Run, or in Execute's caller. Callers never wait
// for an attempt except in Execute; the queue is guarded by one mutex under
// which no user code (action, health check, event listener) ever runs.
type Orchestrator struct {
	cfg    Config // defaults applied
	hash   string
	reg    *breaker.Registry
	events fanout.Hub[Event]
	wake   chan struct{} // buffer 1: something changed, Run should look
	dflt   *Policy       // cfg.DefaultPolicy; stored policies are never modified
	epoch  time.Time     // origin of mono times

	mu            sync.Mutex
	tasks         map[string]*task      // guarded by mu: the active set
	list          []*task               // guarded by mu: the active set, dense (task.pos)
	q             queue                 // guarded by mu
	policies      map[string]*Policy    // guarded by mu: SetPolicy, defaults applied
	inflight      map[string]*task      // guarded by mu: service → task whose attempt runs
	active        int                   // guarded by mu: attempts Run started that run
	running       bool                  // guarded by mu
	closed        bool                  // guarded by mu: Close was called
	runStop       context.CancelFunc    // guarded by mu: stops the running Run
	runDone       chan struct{}         // guarded by mu: closed when that Run returns
	seq           uint64                // guarded by mu
	rng           *rand.Rand            // guarded by mu
	history       []Result              // guarded by mu: ring of MaxHistory
	histStart     int                   // guarded by mu
	restarts      map[string][]mono     // guarded by mu: recent task creations per service
	watchSub      *breaker.Subscription // guarded by mu
	droppedBefore uint64                // guarded by mu: drops of earlier Runs' subscriptions
	book          book                  // guarded by mu: the outage history
	pred          predictions           // guarded by mu
	cautious      map[string]*caution   // guarded by mu: the breakers in cautious mode
	unsaved       []Outage              // guarded by mu: ended outages not yet appended to store
	hist          HistoryStatus         // guarded by mu: the counters of Status.History

	store   HistoryStore // nil: no persistence
	storeMu sync.Mutex   // held while appending, so that outages reach the store in order
}

// New returns an orchestrator configured by cfg, or the validation errors of
// cfg (a hash mismatch among them). reg, which may be nil, holds the
// breakers that a successful recovery resets and that Config.Watch watches.
// New starts nothing.
func New(cfg Config, reg *breaker.Registry) (*Orchestrator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Watch && reg == nil {
		return nil, antifragile.Invalid("watch", true, "needs a breaker registry, but New was given nil")
	}
	cfg = cfg.withDefaults()
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	dflt := cfg.DefaultPolicy
	o := &Orchestrator{
		q: queue{
			waiting: taskHeap{where: inWaiting},
			ready:   taskHeap{where: inReady, byPriority: true},
		},
		cfg:      cfg,
		dflt:     &dflt,
		hash:     cfg.ConstitutionalHash,
		reg:      reg,
		wake:     make(chan struct{}, 1),
		tasks:    make(map[string]*task),
		policies: make(map[string]*Policy),
		inflight: make(map[string]*task),
		restarts: make(map[string][]mono),
		epoch:    time.Now(),
		rng:      rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	for name, p := range cfg.Policies {
		sp := p.withDefaults()
		o.policies[name] = &sp
	}
	if err := o.loadHistory(); err != nil {
		return nil, err
	}
	return o, nil
}

// loadHistory opens the configured store and keeps what it loads, within
// the caps.
func (o *Orchestrator) loadHistory() error {
	o.book = newBook(o.cfg)
	o.store = o.cfg.HistoryStore
	if o.store == nil && o.cfg.HistoryPath != "" {
		fs, err := NewFileStore(FileStoreConfig{Path: o.cfg.HistoryPath})
		if err != nil {
			return err
		}
		o.store = fs
	}
	if o.store == nil {
		return nil
	}
	outages, skipped, err := o.store.Load()
	if err != nil {
		return err
	}
	o.hist.Persistent, o.hist.Skipped = true, skipped
	for _, u := range outages {
		if !u.valid() { // a custom store's record, checked as the file's are
			o.hist.Skipped++
			continue
		}
		o.book.add(u)
	}
	return nil
}

// ConstitutionalHash returns the orchestrator's validated hash.
func (o *Orchestrator) ConstitutionalHash() string { return o.hash }

func (o *Orchestrator) checkHash() error {
	return antifragile.ValidateHashFor(o.hash, "recovery orchestrator")
}

// poke tells Run to look at the queue again; it never blocks.
func (o *Orchestrator) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Subscribe returns a subscription to the orchestrator's events, buffered
// to buffer events (≤ 0 means DefaultSubscriptionBuffer). A full buffer
// drops events and counts them; the orchestrator never waits.
func (o *Orchestrator) Subscribe(buffer int) *Subscription { return o.events.Subscribe(buffer) }

// Schedule asks for the recovery of service name with strategy and priority
// (lower runs first; equal priorities run in the order they became due, then
// the order scheduled). policy may be nil: the service's policy (SetPolicy)
// or the default then applies. The first attempt is due after the delay of
// attempt 1: InitialDelay for the growing strategies, at once for Immediate
// and Manual.
//
// A service that already has a task is updated in place — strategy,
// priority, policy — and never queued twice; a scheduled task's next attempt
// is recomputed from when its wait began. A task whose attempt is running
// starts a new round (attempt count 0) when that attempt ends, whatever its
// outcome, so that a request made during an attempt is never lost. A task
// awaiting an operator stays so (use Resume). Schedule never blocks on attempts and returns the
// validation error of an empty name, an unknown strategy or an invalid
// policy, or a hash mismatch.
func (o *Orchestrator) Schedule(name string, strategy Strategy, priority int, policy *Policy) error {
	if err := o.checkHash(); err != nil {
		return err
	}
	if err := antifragile.CheckName("service", name); err != nil {
		return err
	}
	if !strategy.Valid() {
		return antifragile.Invalid("strategy", strategy, "must be one of exponential_backoff, linear_backoff, immediate, manual, learned")
	}
	var p *Policy
	if policy != nil {
		if err := policy.Validate(); err != nil {
			return err
		}
		p = new(Policy)
		*p = policy.withDefaults()
	}
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return ErrClosed
	}
	o.scheduleLocked(name, strategy, priority, p, o.now())
	o.mu.Unlock()
	o.poke()
	return nil
}

// servicePolicyLocked returns the policy set for name, or the default.
func (o *Orchestrator) servicePolicyLocked(name string) *Policy {
	if p, ok := o.policies[name]; ok {
		return p
	}
	return o.dflt
}

// scheduleLocked creates or updates the task of name; p is the policy given
// to Schedule, nil for the service's policy.
func (o *Orchestrator) scheduleLocked(name string, strategy Strategy, priority int, p *Policy, now mono) {
	explicit := p != nil
	if !explicit {
		p = o.servicePolicyLocked(name)
	}
	t, ok := o.tasks[name]
	if !ok {
		t = &task{name: name, strategy: strategy, priority: priority, policy: p, explicit: explicit, seq: o.seq, scheduledAt: now, index: -1}
		o.seq++
		o.addLocked(t)
		o.outageOpenedLocked(name, now)
		if o.cfg.MaxRestarts > 0 && !o.admitLocked(name, now) {
			t.state = AwaitingManual
			l := t.logOf()
			l.lastError = fmt.Sprintf("restart intensity exceeded: more than %d recoveries within %s", o.cfg.MaxRestarts, o.cfg.RestartWindow)
			o.emitLocked(t, now, l.lastError)
			return
		}
		o.waitLocked(t, now)
		o.emitLocked(t, now, "")
		return
	}
	t.strategy, t.priority, t.policy, t.explicit = strategy, priority, p, explicit
	if t.state == InProgress {
		t.again = true
	}
	if t.state != Scheduled {
		return
	}
	o.rescheduleLocked(t)
	o.emitLocked(t, now, "")
}

// admitLocked records a new recovery of name at now and reports whether it
// stays within the restart intensity.
func (o *Orchestrator) admitLocked(name string, now mono) bool {
	ts := o.restarts[name]
	cut := now - mono(o.cfg.RestartWindow)
	i := 0
	for i < len(ts) && ts[i] <= cut {
		i++
	}
	ts = ts[i:]
	if len(ts) >= o.cfg.MaxRestarts {
		o.restarts[name] = ts
		return false
	}
	o.restarts[name] = append(ts, now)
	return true
}

// delayLocked returns the wait before attempt n of t, whose wait began at
// t.waitFrom.
func (o *Orchestrator) delayLocked(t *task, n int) time.Duration {
	switch t.strategy {
	case Manual:
		return 0 // only the first attempt (or a resumed one) is ever waited for
	case Learned:
		d, learned := o.learnedDelayLocked(t.name, n, time.Duration(t.waitFrom-t.openedAt()), t.policy)
		t.learned = t.learned || learned
		return d
	}
	p := t.policy
	s := backoff.Schedule{Strategy: t.strategy, Initial: p.InitialDelay, Max: p.MaxDelay, Multiplier: p.BackoffMultiplier, Jitter: p.Jitter}
	d, _ := s.Delay(n, o.rng)
	return d
}

// waitLocked queues t for its next attempt, waiting from now.
func (o *Orchestrator) waitLocked(t *task, now mono) {
	t.state = Scheduled
	t.waitFrom = now
	t.due = now + mono(o.delayLocked(t, int(t.attempts)+1))
	o.q.push(t)
}

// delaysOf returns the waits of t's outage before each attempt made (at
// most MaxOutageDelays): the gap from the opening or the end of the
// previous attempt to the start of the next, as waited.
func delaysOf(t *task) []antifragile.Duration {
	if t.log == nil {
		return []antifragile.Duration{}
	}
	out := make([]antifragile.Duration, len(t.log.delays))
	for i, d := range t.log.delays {
		out[i] = antifragile.Duration(d)
	}
	return out
}

// endOutageLocked records the end of t's outage at now with outcome c, to
// be appended to the store by flushOutages.
func (o *Orchestrator) endOutageLocked(t *task, c Outcome, now mono) {
	u := Outage{Service: t.name, OpenedAt: o.wall(t.openedAt()), EndedAt: o.wall(now),
		Attempts: int(t.attempts), Strategy: t.strategy, Learned: t.learned, Delays: delaysOf(t), Outcome: c}
	if t.log != nil {
		u.LastFailureAt = o.wall(t.log.lastFailAt)
	}
	if c.Healed() {
		u.HealedAt = u.EndedAt
	}
	o.book.add(u)
	if o.store != nil {
		o.unsaved = append(o.unsaved, u)
	}
}

// flushOutages appends the ended outages to the store, in order, outside
// o.mu; a failure is counted in Status.History and logged.
func (o *Orchestrator) flushOutages() {
	if o.store == nil {
		return
	}
	o.storeMu.Lock()
	defer o.storeMu.Unlock()
	o.mu.Lock()
	batch := o.unsaved
	o.unsaved = nil
	o.mu.Unlock()
	for _, u := range batch {
		if err := o.store.Append(u); err != nil {
			o.mu.Lock()
			o.hist.StoreErrors++
			o.hist.LastStoreError = err.Error()
			o.mu.Unlock()
			if l := o.cfg.Logger; l != nil {
				l.Error("recovery: outage history not stored", "service", u.Service, "error", err)
			}
		}
	}
}

// rescheduleLocked recomputes a scheduled task's due time after its
// strategy or policy changed, and moves it to its place.
func (o *Orchestrator) rescheduleLocked(t *task) {
	t.due = t.waitFrom + mono(o.delayLocked(t, int(t.attempts)+1))
	o.q.requeue(t)
}

// emitLocked publishes t's current state. Publishing under the lock keeps
// every subscriber's events in order; it never blocks — it only offers the
// event to the subscriptions' buffers — so no listener runs under the lock.
func (o *Orchestrator) emitLocked(t *task, now mono, detail string) {
	if !(o.events.Len() > 0) {
		return
	}
	o.events.Publish(Event{Service: t.name, State: t.state, Attempt: int(t.attempts), At: o.wall(now), Detail: detail})
}

// addLocked adds t to the active set.
func (o *Orchestrator) addLocked(t *task) {
	o.tasks[t.name] = t
	t.pos = len(o.list)
	o.list = append(o.list, t)
}

// dropLocked removes t from the active set.
func (o *Orchestrator) dropLocked(t *task) {
	delete(o.tasks, t.name)
	last := len(o.list) - 1
	o.list[t.pos] = o.list[last]
	o.list[t.pos].pos = t.pos
	o.list[last] = nil
	o.list = o.list[:last]
}

// Cancel removes the service's task so that it never runs again, cutting a
// running attempt short through its context, and reports whether there was
// one. It never blocks on the attempt.
func (o *Orchestrator) Cancel(name string) bool {
	o.mu.Lock()
	now := o.now()
	t, ok := o.tasks[name]
	if !ok {
		o.mu.Unlock()
		return false
	}
	o.dropLocked(t)
	o.q.remove(t)
	if t.log != nil && t.log.stop != nil {
		t.log.stop()
	}
	t.state = Cancelled
	o.endOutageLocked(t, Abandoned, now)
	o.emitLocked(t, now, "")
	o.mu.Unlock()
	o.flushOutages()
	o.poke()
	return true
}

// Resume makes a task that awaits an operator due at once. It returns a
// *NotFoundError for an unknown service and a *StateError (ErrNotAwaitingManual)
// for a task in another state.
func (o *Orchestrator) Resume(name string) error {
	o.mu.Lock()
	now := o.now()
	t, err := o.awaitingLocked(name, "resume")
	if err != nil {
		o.mu.Unlock()
		return err
	}
	t.state = Scheduled
	t.waitFrom, t.due = now, now
	o.q.push(t)
	o.emitLocked(t, now, "resumed")
	o.mu.Unlock()
	o.poke()
	return nil
}

// Resolve marks a task that awaits an operator idle and removes it: the
// operator dealt with the service. Errors as for Resume.
func (o *Orchestrator) Resolve(name string) error {
	o.mu.Lock()
	now := o.now()
	t, err := o.awaitingLocked(name, "resolve")
	if err != nil {
		o.mu.Unlock()
		return err
	}
	o.dropLocked(t)
	t.state = Idle
	o.endOutageLocked(t, Abandoned, now)
	o.emitLocked(t, now, "resolved")
	o.mu.Unlock()
	o.flushOutages()
	return nil
}

func (o *Orchestrator) awaitingLocked(name, op string) (*task, error) {
	t, ok := o.tasks[name]
	if !ok {
		return nil, &NotFoundError{Service: name}
	}
	if t.state != AwaitingManual {
		return nil, &StateError{Service: name, Op: op, State: t.state, Err: ErrNotAwaitingManual}
	}
	return t, nil
}

// SetPolicy sets the policy of service name, used by later Schedule calls
// without a policy and by automatic scheduling. A task of that service that
// follows its service policy picks it up at once. It returns the policy's
// validation errors or a hash mismatch.
func (o *Orchestrator) SetPolicy(name string, p Policy) error {
	if err := o.checkHash(); err != nil {
		return err
	}
	if err := antifragile.CheckName("service", name); err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	sp := p.withDefaults()
	o.mu.Lock()
	o.policies[name] = &sp
	if t, ok := o.tasks[name]; ok && !t.explicit {
		t.policy = &sp
		if t.state == Scheduled {
			o.rescheduleLocked(t)
		}
	}
	o.mu.Unlock()
	o.poke()
	return nil
}

// HasPolicy reports whether service name has a policy of its own (set
// with SetPolicy or named in Config.Policies) rather than the default.
func (o *Orchestrator) HasPolicy(name string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	_, ok := o.policies[name]
	return ok
}

// ClearPolicy removes the policy of its own of service name: it follows
// the default policy from then on, and a task of that service that follows
// its service policy picks the default up at once. It reports whether there
// was one to remove.
func (o *Orchestrator) ClearPolicy(name string) bool {
	o.mu.Lock()
	_, ok := o.policies[name]
	delete(o.policies, name)
	if t, tok := o.tasks[name]; ok && tok && !t.explicit {
		t.policy = o.dflt
		if t.state == Scheduled {
			o.rescheduleLocked(t)
		}
	}
	o.mu.Unlock()
	if ok {
		o.poke()
	}
	return ok
}

// Policy returns the policy of service name — the one set with SetPolicy or
// the default — with defaults applied.
func (o *Orchestrator) Policy(name string) Policy {
	o.mu.Lock()
	defer o.mu.Unlock()
	return *o.servicePolicyLocked(name)
}

// Task returns a copy of the service's task and whether there is one.
func (o *Orchestrator) Task(name string) (Task, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	t, ok := o.tasks[name]
	if !ok {
		return Task{}, false
	}
	return o.snapshot(t), true
}

// Status returns a copy of the orchestrator's state: every tracked task and
// the last 10 results. It holds the lock while it copies (tens of
// nanoseconds per task).
func (o *Orchestrator) Status() Status {
	o.mu.Lock()
	defer o.mu.Unlock()
	st := Status{
		Running:              o.running,
		ActiveCount:          len(o.list),
		QueuedCount:          o.q.len(),
		InProgressCount:      len(o.inflight),
		Services:             make([]Task, len(o.list)),
		RecentResults:        o.lastLocked(RecentResults),
		DroppedBreakerEvents: o.droppedBefore,
		Timestamp:            o.wall(o.now()),
		ConstitutionalHash:   o.hash,
	}
	st.History = o.hist
	st.History.Services, st.History.Outages, st.History.Evicted = len(o.book.services), o.book.count, o.book.evicted
	st.Predictions = o.predictionStatusLocked(st.Timestamp)
	st.Cautious = o.cautiousLocked()
	if o.watchSub != nil {
		st.DroppedBreakerEvents += o.watchSub.Dropped()
	}
	for i, t := range o.list {
		st.Services[i] = o.snapshot(t)
	}
	return st
}

// History returns the kept results, oldest first (at most MaxHistory).
func (o *Orchestrator) History() []Result {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.lastLocked(len(o.history))
}

func (o *Orchestrator) recordLocked(r Result) {
	if len(o.history) < o.cfg.MaxHistory {
		o.history = append(o.history, r)
		return
	}
	o.history[o.histStart] = r
	o.histStart = (o.histStart + 1) % len(o.history)
}

func (o *Orchestrator) lastLocked(n int) []Result {
	l := len(o.history)
	n = min(n, l)
	out := make([]Result, n)
	for i := range n {
		out[i] = o.history[(o.histStart+l-n+i)%l]
	}
	return out
}

// plainConfig is Config without its JSON methods, for the codec.
type plainConfig Config

// MarshalJSON writes the config's JSON form, durations as strings such as
// "1m0s".
func (c Config) MarshalJSON() ([]byte, error) { return codec.Encode(plainConfig(c)) }

// UnmarshalJSON reads the form MarshalJSON writes, strictly (unknown and
// duplicated fields are refused, every problem a *ValidationError naming its
// JSON path); fields absent from b keep their values. Each entry of
// policies starts as a copy of default_policy. It does not validate.
func (c *Config) UnmarshalJSON(b []byte) error {
	err := codec.Decode(b, (*plainConfig)(c))
	codec.Inherit(b, "policies", c.DefaultPolicy, c.Policies)
	return err
}

// Close stops a running Run (attempts in flight are cancelled) and waits for
// it to return, or for ctx to end (then it returns ctx's error). After
// Close, Run and Schedule return ErrClosed; Status, History and the other
// reads keep working. It is idempotent and safe for concurrent use.
func (o *Orchestrator) Close(ctx context.Context) error {
	o.endCautions()
	o.mu.Lock()
	o.closed = true
	stop, done := o.runStop, o.runDone
	o.mu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (o *Orchestrator) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}
