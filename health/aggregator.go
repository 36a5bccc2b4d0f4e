package health

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/internal/fanout"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
)

// Errors returned by Run.
var (
	// ErrRunning is returned by Run while another Run of the same
	// aggregator is going.
	ErrRunning = errors.New("health: aggregator already running")
	// ErrClosed is returned by Run after Close.
	ErrClosed = errors.New("health: aggregator closed")
)

// membershipBuffer is the buffer of the registry subscription that tells
// the aggregator which breakers were added or removed. When it overflows the
// aggregator rereads the whole registry, so its size only bounds how often
// that happens.
const membershipBuffer = 1024

// wakeBuffer is the buffer of the subscription Run wakes up on; a dropped
// event does not matter, as the ones still buffered wake Run anyway.
const wakeBuffer = 64

// Aggregator computes a 0–1 health score over every breaker of a registry,
// present and future, plus custom sources. All methods are safe for
// concurrent use. Reading (Current, Report, History, Metrics) never blocks
// calls through the breakers: breakers are read with atomic loads only.
type Aggregator struct {
	cfg     Config
	reg     *breaker.Registry
	sub     *breaker.Subscription // membership changes of reg; nil without reg
	unknown *Report               // what Current returns before the first collection

	view atomic.Pointer[view]   // the members, sorted by name; replaced, never modified
	cur  atomic.Pointer[Report] // the last collected report
	bad  atomic.Pointer[badSet] // the bad members of the last report with any; nil when none
	cbs  atomic.Pointer[[]*callback]
	wake chan struct{} // tells Run that the members changed; capacity 1

	det   *detector    // nil unless Config.Anomaly.Enabled
	queue chan *Report // status changes waiting for the callbacks
	hub   fanout.Hub[*Report]

	collected atomic.Uint64
	fired     atomic.Uint64
	failed    atomic.Uint64
	dropped   atomic.Uint64
	running   atomic.Bool
	started   chan struct{} // closed once by the first Run, when it runs
	startOnce sync.Once

	mu          sync.Mutex
	regs        map[string]*breaker.Breaker    // guarded by mu: the registry's breakers as last synced
	custom      map[string]breaker.StateSource // guarded by mu
	weights     map[string]float64             // guarded by mu
	seenDropped uint64                         // guarded by mu: sub.Dropped() at the last sync
	changed     []string                       // guarded by mu: scratch for sync
	closed      bool                           // guarded by mu
	runStop     context.CancelFunc             // guarded by mu: stops the current Run
	runDone     chan struct{}                  // guarded by mu: closed when the current Run returns

	cmu sync.Mutex // serialises Collect

	hmu  sync.Mutex
	hist ring // guarded by hmu
}

// member is one watched breaker or custom source.
type member struct {
	name   string
	b      *breaker.Breaker      // set when the source is a *breaker.Breaker
	ms     breaker.MetricsSource // set when the source reports metrics
	src    breaker.StateSource
	weight float64
	custom bool
}

// view is an immutable list of members sorted by name.
type view struct {
	members []member
}

type callback struct {
	fn func(Report)
}

// New returns an aggregator over reg (which may be nil: custom sources
// only) configured by cfg, or the *ValidationError (or hash mismatch) of
// every invalid field. It starts no goroutine; it subscribes to reg's
// events to follow its membership, a subscription Close releases.
func New(cfg Config, reg *breaker.Registry) (*Aggregator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	a := &Aggregator{
		cfg:     cfg,
		reg:     reg,
		unknown: emptyReport(time.Time{}, cfg.ConstitutionalHash),
		wake:    make(chan struct{}, 1),
		started: make(chan struct{}),
		queue:   make(chan *Report, cfg.CallbackQueue),
		regs:    make(map[string]*breaker.Breaker),
		custom:  make(map[string]breaker.StateSource),
		weights: make(map[string]float64, len(cfg.Weights)),
		hist:    newRing(cfg.MaxHistory),
	}
	for n, w := range cfg.Weights {
		a.weights[n] = w
	}
	a.cfg.Weights = nil // the live weights are a.weights
	if cfg.Anomaly.Enabled {
		a.det = newDetector(cfg.Anomaly, cfg.ConstitutionalHash)
	}
	a.cur.Store(a.unknown)
	a.cbs.Store(&[]*callback{})
	a.view.Store(&view{})
	if reg != nil {
		// Subscribe before reading the registry so that no change is missed.
		a.sub = reg.Subscribe(membershipBuffer)
		a.mu.Lock()
		a.resyncLocked()
		a.mu.Unlock()
	}
	return a, nil
}

// Config returns the aggregator's configuration with defaults applied
// (without Weights, see Weight, and without the Anomaly.Latency function,
// which is wiring rather than a setting).
func (a *Aggregator) Config() Config {
	c := a.cfg
	c.Anomaly.Latency = nil
	return c
}

// Register adds a custom source under name, or replaces the one registered
// under that name. A custom source wins over a registry breaker of the same
// name, which then counts once. An empty name is a *ValidationError; so is
// a nil source, and a source that is a typed nil — such as the nil
// *breaker.Breaker of a failed Registry.Get — which would panic when
// collected: errors.Is(err, antifragile.ErrNil) holds for both, and the
// registered sources are left as they were. It does not block; a running
// Run collects at once.
func (a *Aggregator) Register(name string, src breaker.StateSource) error {
	if name == "" {
		return antifragile.Invalid("name", name, "must not be empty")
	}
	if err := nilcheck.Required("source", src); err != nil {
		return err
	}
	a.mu.Lock()
	a.custom[name] = src
	a.patchLocked([]string{name})
	a.mu.Unlock()
	a.poke()
	return nil
}

// Unregister removes the custom source named name; an unknown name is not
// an error. A registry breaker of the same name counts again.
func (a *Aggregator) Unregister(name string) {
	a.mu.Lock()
	_, ok := a.custom[name]
	if ok {
		delete(a.custom, name)
		a.patchLocked([]string{name})
	}
	a.mu.Unlock()
	if ok {
		a.poke()
	}
}

// SetWeight sets the weight of the breaker or custom source named name,
// present or future. A weight that is not positive and finite is a
// *ValidationError and changes nothing.
func (a *Aggregator) SetWeight(name string, w float64) error {
	if err := checkWeight(name, w); err != nil {
		return err
	}
	a.mu.Lock()
	a.weights[name] = w
	a.patchLocked([]string{name})
	a.mu.Unlock()
	a.poke()
	return nil
}

// Weight returns the weight of name: the one set by Config.Weights or
// SetWeight, else 1.
func (a *Aggregator) Weight(name string) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.weightLocked(name)
}

func (a *Aggregator) weightLocked(name string) float64 {
	if w, ok := a.weights[name]; ok {
		return w
	}
	return 1
}

// OnChange registers fn to be called with the report of every collection
// whose status differs from the previous one; the first collection counts
// as a change from UNKNOWN. Callbacks run on Run's delivery goroutine, one
// after the other, never under a lock and never delaying collection: a
// panic is recovered and counted, and when the bounded queue is full the
// report is dropped and counted. Reports collected while Run is not going
// wait in the queue. The returned function removes fn; it is idempotent.
// A nil fn registers nothing.
func (a *Aggregator) OnChange(fn func(Report)) (remove func()) {
	if fn == nil {
		return func() {}
	}
	cb := &callback{fn: fn}
	a.mu.Lock()
	next := append(slices.Clone(*a.cbs.Load()), cb)
	a.cbs.Store(&next)
	a.mu.Unlock()
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		cur := *a.cbs.Load()
		if i := slices.Index(cur, cb); i >= 0 {
			next := slices.Delete(slices.Clone(cur), i, i+1)
			a.cbs.Store(&next)
		}
	}
}

// Subscribe returns a subscription to status changes: the report of every
// collection whose status differs from the previous one (the first
// collection counts as a change from UNKNOWN), buffered to buffer reports
// (≤ 0 means 64). A full buffer drops reports and counts them; collection
// never waits. Unlike OnChange, reports reach a subscription whether or not
// Run is going. The reports are shared: do not modify them. Close the
// subscription when done.
func (a *Aggregator) Subscribe(buffer int) *Subscription { return a.hub.Subscribe(buffer) }

// Current returns the last collected report without doing any work, or an
// UNKNOWN report (zero Timestamp) before the first collection and when the
// aggregator is disabled. It never returns nil. The report is shared:
// callers must not modify it.
func (a *Aggregator) Current() *Report { return a.cur.Load() }

// Report computes a fresh report on demand, without storing it, recording
// it in the history or firing callbacks. Its status applies hysteresis
// relative to the current one. When the aggregator is disabled it is an
// UNKNOWN report with no breakers. It reads every breaker with atomic loads
// and takes the aggregator's lock only briefly.
func (a *Aggregator) Report() *Report {
	now := time.Now().UTC()
	if a.cfg.Disabled {
		return emptyReport(now, a.cfg.ConstitutionalHash)
	}
	return a.build(a.members(), now, a.cur.Load().Status)
}

// Collect takes a report, makes it the current one, adds its snapshot to
// the history and, when the status changed, queues it for the OnChange
// callbacks. It is the step Run repeats; tests may call it directly.
// Concurrent calls are serialised. When the aggregator is disabled it does
// nothing and returns the UNKNOWN report.
func (a *Aggregator) Collect() *Report { return a.collect(true) }

// collect is Collect; record says whether the snapshot goes to the history
// (Run's collections caused by events do not, so that the history stays a
// steady series).
func (a *Aggregator) collect(record bool) *Report {
	if a.cfg.Disabled {
		return a.unknown
	}
	r, prev, evs := a.collectLocked(record)
	if a.cfg.Logger != nil {
		if r.Status != prev {
			a.logChange(r, prev)
		}
		if len(evs) > 0 {
			a.det.log(a.cfg.Logger, evs)
		}
	}
	return r
}

// logChange logs the status change to r from prev (see Config.Logger).
func (a *Aggregator) logChange(r *Report, prev Status) {
	level := slog.LevelInfo
	if r.Status == Critical {
		level = slog.LevelWarn
	}
	a.cfg.Logger.LogAttrs(context.Background(), level, "health: status changed",
		slog.String("status", r.Status.String()), slog.String("previous", prev.String()),
		slog.Float64("score", float64(r.Score)))
}

// collectLocked is collect under cmu; it also returns the previous status
// and the anomaly signals the collection raised or cleared.
func (a *Aggregator) collectLocked(record bool) (*Report, Status, []AnomalyEvent) {
	a.cmu.Lock()
	defer a.cmu.Unlock()
	v := a.members()
	now := time.Now().UTC()
	prev := a.cur.Load()
	var evs []AnomalyEvent
	if record && a.det != nil {
		evs = a.det.step(v, now)
	}
	r := a.build(v, now, prev.Status)
	a.cur.Store(r)
	a.collected.Add(1)
	if record {
		a.hmu.Lock()
		a.hist.add(r.Snapshot, now.Add(-a.cfg.HistoryWindow))
		a.hmu.Unlock()
	}
	if r.Status != prev.Status {
		if len(*a.cbs.Load()) > 0 {
			select {
			case a.queue <- r:
			default:
				a.dropped.Add(1)
			}
		}
		a.hub.Publish(r)
	}
	return r, prev.Status, evs
}

// History returns the snapshots taken at or after now − window, oldest
// first; a window ≤ 0 returns every snapshot kept. The history holds at
// most Config.MaxHistory snapshots no older than Config.HistoryWindow,
// evicting the oldest first. It records Collect calls and Run's periodic
// collections, not the extra ones Run makes on breaker events, so that it
// stays a steady series (300 snapshots at 1 s cover 5 minutes).
func (a *Aggregator) History(window time.Duration) []Snapshot {
	now := time.Now()
	a.hmu.Lock()
	defer a.hmu.Unlock()
	a.hist.evict(now.Add(-a.cfg.HistoryWindow))
	var from time.Time
	if window > 0 {
		from = now.Add(-window)
	}
	return a.hist.since(from)
}

// Metrics is a point-in-time copy of an aggregator's counters and state.
type Metrics struct {
	// SnapshotsCollected counts collections: Collect calls and Run's
	// collections, periodic or caused by events.
	SnapshotsCollected uint64 `json:"snapshots_collected"`
	// CallbacksFired counts callback invocations, panicking ones included.
	CallbacksFired uint64 `json:"callbacks_fired"`
	// CallbacksFailed counts callback invocations that panicked.
	CallbacksFailed uint64 `json:"callbacks_failed"`
	// CallbacksDropped counts status-change reports dropped because the
	// callback queue was full.
	CallbacksDropped uint64 `json:"callbacks_dropped"`
	// HistorySize is the number of snapshots in the history.
	HistorySize int `json:"history_size"`
	// Running reports whether Run is going.
	Running bool `json:"running"`
	// Enabled is false when Config.Disabled is set.
	Enabled bool `json:"enabled"`
	// Status is the current status.
	Status Status `json:"current_status"`
	// Score is the current score.
	Score Score `json:"current_score"`
	// TotalBreakers counts the breakers in the current report.
	TotalBreakers int `json:"total_breakers"`
	// AnomaliesRaised counts the at-risk signals raised and
	// AnomaliesCleared those cleared, adapted or removed (see
	// AnomalyConfig); AtRisk is how many are raised now.
	AnomaliesRaised  uint64 `json:"anomalies_raised,omitempty"`
	AnomaliesCleared uint64 `json:"anomalies_cleared,omitempty"`
	AtRisk           int    `json:"at_risk,omitempty"`
	// ConstitutionalHash is the aggregator's validated hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Metrics returns the aggregator's counters and current status. It does
// not block on collection.
func (a *Aggregator) Metrics() Metrics {
	now := time.Now()
	a.hmu.Lock()
	a.hist.evict(now.Add(-a.cfg.HistoryWindow))
	size := a.hist.n
	a.hmu.Unlock()
	r := a.cur.Load()
	m := Metrics{
		SnapshotsCollected: a.collected.Load(),
		CallbacksFired:     a.fired.Load(),
		CallbacksFailed:    a.failed.Load(),
		CallbacksDropped:   a.dropped.Load(),
		HistorySize:        size,
		Running:            a.running.Load(),
		Enabled:            !a.cfg.Disabled,
		Status:             r.Status,
		Score:              r.Score,
		TotalBreakers:      r.Total,
		ConstitutionalHash: a.cfg.ConstitutionalHash,
	}
	if d := a.det; d != nil {
		m.AnomaliesRaised, m.AnomaliesCleared = d.raised.Load(), d.cleared.Load()
		m.AtRisk = len(*d.current.Load())
	}
	return m
}

// Close releases the registry subscription and stops a running Run,
// waiting for it to return or for ctx to end (then it returns ctx's error).
// It is idempotent. After Close, Run returns ErrClosed; Report and Collect
// keep working, rereading the registry's membership on every call.
func (a *Aggregator) Close(ctx context.Context) error {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		if a.sub != nil {
			a.sub.Close()
		}
	}
	stop, done := a.runStop, a.runDone
	a.mu.Unlock()
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

// poke tells a running Run that the members changed.
func (a *Aggregator) poke() {
	select {
	case a.wake <- struct{}{}:
	default:
	}
}

// members brings the member list up to date with the registry and returns
// it.
func (a *Aggregator) members() *view {
	if a.reg == nil {
		return a.view.Load()
	}
	a.mu.Lock()
	a.syncLocked()
	v := a.view.Load()
	a.mu.Unlock()
	return v
}

// syncLocked applies the registry's membership changes received since the
// last sync. It rereads the whole registry when events were dropped or
// after Close. Each change is applied by asking the registry for the name's
// current breaker, so the order of events does not matter.
func (a *Aggregator) syncLocked() {
	if a.closed {
		a.resyncLocked()
		return
	}
	changed := a.changed[:0]
drain:
	for range cap(a.sub.C) {
		select {
		case ev := <-a.sub.C:
			if ev.Reason == breaker.ReasonAdded || ev.Reason == breaker.ReasonRemoved {
				changed = append(changed, ev.Breaker)
			}
		default:
			break drain
		}
	}
	a.changed = changed[:0]
	if d := a.sub.Dropped(); d != a.seenDropped {
		a.seenDropped = d
		a.resyncLocked()
		return
	}
	if len(changed) == 0 {
		return
	}
	for _, name := range changed {
		if b, ok := a.reg.Get(name); ok {
			a.regs[name] = b
		} else {
			delete(a.regs, name)
		}
	}
	a.patchLocked(changed)
}

// resyncLocked rereads the registry and, unless its membership is still the
// one last synced, rebuilds the member list. The view is always current for
// the custom sources and weights (patchLocked keeps it so), so an unchanged
// membership needs no new view and no sort: after Close, or after an
// overflow of state-change events, reports do not re-sort names that have
// not changed.
func (a *Aggregator) resyncLocked() {
	regs := make(map[string]*breaker.Breaker, a.reg.Len())
	a.reg.Each(func(name string, b *breaker.Breaker) { regs[name] = b })
	if maps.Equal(regs, a.regs) {
		return
	}
	a.regs = regs
	names := make([]string, 0, len(regs)+len(a.custom))
	for n := range regs {
		if _, ok := a.custom[n]; !ok {
			names = append(names, n)
		}
	}
	for n := range a.custom {
		names = append(names, n)
	}
	slices.Sort(names)
	members := make([]member, 0, len(names))
	for _, n := range names {
		m, _ := a.memberLocked(n)
		members = append(members, m)
	}
	a.view.Store(&view{members: members})
}

// patchLocked replaces the members named in changed (sorting it in place)
// by their current definition, in one merge pass over the sorted list.
func (a *Aggregator) patchLocked(changed []string) {
	slices.Sort(changed)
	changed = slices.Compact(changed)
	old := a.view.Load().members
	out := make([]member, 0, len(old)+len(changed))
	i := 0
	for _, name := range changed {
		j, found := slices.BinarySearchFunc(old[i:], name, func(m member, n string) int {
			return strings.Compare(m.name, n)
		})
		out = append(out, old[i:i+j]...)
		i += j
		if found {
			i++
		}
		if m, ok := a.memberLocked(name); ok {
			out = append(out, m)
		}
	}
	out = append(out, old[i:]...)
	a.view.Store(&view{members: out})
}

// memberLocked returns the current definition of the member named name:
// the custom source if there is one, else the registry's breaker.
func (a *Aggregator) memberLocked(name string) (member, bool) {
	m := member{name: name, weight: a.weightLocked(name)}
	if src, ok := a.custom[name]; ok {
		m.src, m.custom = src, true
	} else if b, ok := a.regs[name]; ok {
		m.src = b
	} else {
		return member{}, false
	}
	m.b, _ = m.src.(*breaker.Breaker)
	if m.b == nil {
		m.ms, _ = m.src.(breaker.MetricsSource)
	}
	return m, true
}

// Subscription receives the reports of status changes on C; see
// Aggregator.Subscribe. Close it when done; Close is idempotent.
type Subscription = fanout.Subscription[*Report]
