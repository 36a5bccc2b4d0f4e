package gameday

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/recovery"
)

// Defaults of Config.
const (
	DefaultObserveTimeout = 2 * time.Second
	minSampleInterval     = 20 * time.Millisecond
	maxSampleInterval     = 250 * time.Millisecond
	maxEvents             = 5000
	cleanupTimeout        = 5 * time.Second
)

// Config configures a game day run.
type Config struct {
	// Scenario is the game day, run as it is (shrink it first with
	// Scenario.Scaled). Required.
	Scenario *scenario.Scenario
	// Target is the system under test. Required; a typed nil (such as a
	// nil *LocalTarget) is invalid.
	Target Target
	// Progress, if set, receives the live progress: a line per sample
	// updated in place when Terminal is set, otherwise plain lines at most
	// once a second and at every phase change. A typed nil is invalid.
	Progress io.Writer
	// Terminal says that Progress is a terminal (see IsTerminal).
	Terminal bool
	// SampleInterval is the period of the observations. 0 means a 240th of
	// the game day, within [20 ms, 250 ms].
	SampleInterval time.Duration
	// ObserveTimeout bounds each observation and each call to the target.
	// 0 means 2 s.
	ObserveTimeout time.Duration
	// Description says what the target is, for the report ("in-process
	// simulation", "http://host:8080").
	Description string
	// Traffic says what makes the traffic, for the report ("simulated: 200
	// msg/s", "the service's own").
	Traffic string
	// Seed and Scale are recorded in the report.
	Seed  uint64
	Scale float64
	// OnPhase, if set, is called in the runner's goroutine at the start of
	// each phase, after its faults are injected, with the phase's index.
	// It may disrupt the system in ways a chaos scenario cannot — the demo
	// across processes kills an agent's process — and returns what it did:
	// each Disruption is recorded and judged as a fault of the phase, and
	// ended by the runner (see Disruption). The phase's observations wait
	// for it, so it should return quickly.
	OnPhase func(ctx context.Context, phase int) []Disruption
	// Cluster, if set, is called once after the last phase (or the
	// interruption), before the result is judged, with the result so far:
	// it returns the game day's account of a cluster of processes (see
	// ClusterResult), or nil.
	Cluster func(ctx context.Context, res *Result) *ClusterResult
}

// Disruption is something a game day did to the system besides a chaos
// scenario (see Config.OnPhase), such as killing a process. The runner
// records it as a FaultResult of its phase, judged like any fault (the
// breakers of Fault.Targets are the evidence of its effect), and calls End
// once Fault.Duration has passed since it, or at the end of the game day.
type Disruption struct {
	// Fault describes it to the judge: Name (unique among the game day's
	// faults), Target and BlastRadius (the breakers it disturbs), Duration
	// (when End is due) and Type, the chaos fault it amounts to
	// (chaos.TypeCrash for a killed process). It is not injected anywhere.
	Fault chaos.Scenario
	// Description says what was done, for the progress and the report
	// ("SIGKILL of process demo-3"). Empty means the fault's description.
	Description string
	// Err is why it could not be done; the fault is then recorded as not
	// injected, which fails the game day.
	Err error
	// End undoes it (restarts the process) when it is due, bounded by
	// Config.ObserveTimeout (and, after an interruption, by the cleanup's
	// own timeout); nil means it ends by itself.
	End func(ctx context.Context) error
}

// Result is the record of a game day: every sample, every fault, the
// per-phase figures and the verdict. It is plain data; its JSON form (the
// -json output of `antifragile gameday`) gives durations and offsets in
// nanoseconds.
type Result struct {
	Scenario    *scenario.Scenario `json:"-"`
	Name        string             `json:"name"`
	Description string             `json:"target"`
	Traffic     string             `json:"traffic,omitempty"`
	Seed        uint64             `json:"seed,omitempty"`
	Scale       float64            `json:"scale,omitempty"`
	Started     time.Time          `json:"started"`
	Elapsed     time.Duration      `json:"elapsed"`
	// Interrupted is set when the run's context ended before the last
	// phase did.
	Interrupted bool `json:"interrupted"`
	// SampleInterval is the period of the samples.
	SampleInterval time.Duration `json:"sample_interval"`
	Samples        []Sample      `json:"samples"`
	Faults         []FaultResult `json:"faults"`
	Phases         []PhaseResult `json:"phases"`
	// Breakers names every breaker seen, sorted; Tenants every tenant
	// metered, sorted.
	Breakers []string `json:"breakers"`
	Tenants  []string `json:"tenants"`
	// LatencyKind is the kind of Sample.Latency (LatencyP99 or
	// LatencyMean).
	LatencyKind string `json:"latency_kind"`
	// Cluster is the account of a game day across processes (see
	// Config.Cluster); nil for one in a single process.
	Cluster *ClusterResult `json:"cluster,omitempty"`
	// Predictions are the recovery orchestrator's prediction counts over
	// the game day: the last observation's less the first's (anomaly
	// detection's at-risk signals followed by an outage or not, and
	// outages nobody predicted).
	Predictions recovery.PredictionCounts `json:"predictions"`
	// Events is the target's event log (see Watcher), at most 5000.
	Events []TimedEvent `json:"events,omitempty"`
	// Errors lists the observations and calls that failed.
	Errors  []string `json:"errors,omitempty"`
	Verdict Verdict  `json:"verdict"`
}

// TimedEvent is an Event with its offset from the start of the game day.
type TimedEvent struct {
	At time.Duration `json:"at"`
	Event
}

// Sample is one observation.
type Sample struct {
	// At is the time since the start of the game day.
	At time.Duration `json:"at"`
	// Phase is the index of the phase it belongs to.
	Phase int `json:"phase"`
	// OK is false when the observation failed; Status is then UNKNOWN.
	OK     bool          `json:"ok"`
	Status health.Status `json:"status"`
	Score  float64       `json:"score"`
	// NotClosed holds the breakers that were not closed (closed ones are
	// left out).
	NotClosed map[string]breaker.State `json:"not_closed,omitempty"`
	// Open counts the breakers rejecting calls (open or forced open).
	Open int `json:"open"`
	// Throughput and FailureRate are messages and failures per second over
	// the last max(SampleInterval, 250 ms); Failed counts the failures since
	// the previous sample.
	Throughput  float64 `json:"throughput"`
	FailureRate float64 `json:"failure_rate"`
	Failed      uint64  `json:"failed"`
	// Latency is of kind Result.LatencyKind.
	Latency       time.Duration    `json:"latency"`
	RecoveryQueue int              `json:"recovery_queue"`
	Metered       map[string]int64 `json:"metered,omitempty"`
	// Messages counts the messages handled and Calls the calls that
	// reached a breaker since the previous successful sample: the traffic.
	Messages uint64 `json:"messages"`
	Calls    uint64 `json:"calls"`

	messages, failed uint64 // cumulative counters of the observation
}

// FaultResult is one fault of the game day.
type FaultResult struct {
	Phase    int            `json:"phase"`
	Scenario chaos.Scenario `json:"scenario"`
	// Description says what a Disruption did ("SIGKILL of process
	// demo-3"); empty for a chaos scenario, which describes itself.
	Description string `json:"description,omitempty"`
	// Injected is when it was injected; Ended when it ended, or -1 when it
	// was still active at the end of the game day (the runner then ended
	// it).
	Injected time.Duration `json:"injected"`
	Ended    time.Duration `json:"ended"`
	// Error is why it could not be injected; it then has no times.
	Error string `json:"error,omitempty"`
	// Unknown lists its targets the system did not know — no breaker or
	// agent of that name — when it was injected nor while it lasted (not
	// checked for a fault on the whole process, see ProcessWide).
	Unknown []string `json:"unknown,omitempty"`
	// Reached counts the calls that reached its targets' breakers while it
	// lasted (for a fault on the whole process, the messages the system
	// handled); Touched says a targeted breaker left the closed state.
	Reached uint64 `json:"reached"`
	Touched bool   `json:"touched,omitempty"`
}

// WasInjected reports whether the fault was injected (Error is empty).
func (f FaultResult) WasInjected() bool { return f.Error == "" }

// Describe says what the fault did, and for how long: its Description or
// else its scenario's (DescribeFault).
func (f FaultResult) Describe() string {
	if f.Description != "" {
		return f.Description + " for " + RoundDuration(f.Scenario.Duration).String()
	}
	return DescribeFault(f.Scenario)
}

// Run runs the game day: it observes the target, then runs the phases one
// after the other, injecting each phase's faults when it starts and ending
// each fault when its phase ends (one with a duration of its own, when that
// is over), observing the target every SampleInterval and showing the
// progress: a warning for a fault whose target the system does not know
// when it is injected, and for a phase that hit nothing or saw no traffic
// when it ends. When ctx ends first it stops the
// chaos engine of the target (emergency stop) and ends every fault it
// injected, then returns the partial result with Interrupted set. Faults
// still active after the last phase are ended too. The result is judged
// (see Judge); Run's error is only for an invalid Config.
//
// Run blocks for the length of the game day and returns only after every
// goroutine it started has exited.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.Scenario == nil || cfg.Target == nil {
		return nil, antifragile.Invalid("config", nil, "needs a Scenario and a Target")
	}
	var p antifragile.Problems
	p.Add(nilcheck.Optional("target", cfg.Target))
	p.Add(nilcheck.Optional("progress", cfg.Progress))
	if err := p.Err(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, sc: cfg.Scenario}
	if r.cfg.ObserveTimeout <= 0 {
		r.cfg.ObserveTimeout = DefaultObserveTimeout
	}
	if r.cfg.SampleInterval <= 0 {
		r.cfg.SampleInterval = min(max(r.sc.Total()/240, minSampleInterval), maxSampleInterval)
	}
	r.progress = newProgress(cfg.Progress, cfg.Terminal, r.sc)
	return r.run(ctx), nil
}

type runner struct {
	cfg      Config
	sc       *scenario.Scenario
	res      *Result
	start    time.Time
	progress *progress

	evMu   sync.Mutex
	events []TimedEvent // guarded by evMu

	last time.Duration // when the last sample was taken

	// The previous successful observation, for the traffic per fault:
	// when, its breakers' call counters and its message count.
	prevAt    time.Duration
	prevCalls map[string]uint64
	prevMsgs  uint64
	havePrev  bool
	known     map[string]breaker.State      // the breakers of the latest successful observation
	seen      []map[string]bool             // per fault: the targets the system was seen to know
	dues      []time.Duration               // per fault: when the runner ends it
	ends      []func(context.Context) error // per fault: a Disruption's End; nil for a chaos scenario
	predBase  struct {                      // the first observation's prediction counts
		set bool
		c   recovery.PredictionCounts
	}
}

func (r *runner) since() time.Duration { return time.Since(r.start) }

// run runs the game day (see Run) and returns its judged result.
func (r *runner) run(ctx context.Context) *Result {
	r.start = time.Now()
	r.res = &Result{
		Scenario: r.sc, Name: r.sc.Name, Description: r.cfg.Description, Traffic: r.cfg.Traffic, Seed: r.cfg.Seed,
		Scale: r.cfg.Scale, Started: r.start.UTC(), SampleInterval: r.cfg.SampleInterval,
	}
	for _, p := range r.sc.Phases {
		r.res.Phases = append(r.res.Phases, PhaseResult{Name: p.Name, Expect: p.Expect, Duration: p.Duration})
	}
	stopWatch := r.watch(ctx)
	r.sample(ctx, 0, false)
	r.runPhases(ctx)
	r.cleanUp(ctx)
	r.res.Elapsed = r.since()
	stopWatch()
	r.progress.done()

	r.evMu.Lock()
	r.res.Events = r.events
	r.evMu.Unlock()
	r.finish()
	if r.cfg.Cluster != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		r.res.Cluster = r.cfg.Cluster(cctx, r.res)
		cancel()
		if r.res.Cluster != nil {
			r.res.Cluster.timeline(r.res.Events)
		}
	}
	Judge(r.res)
	return r.res
}

// watch follows the target's events (addEvent) when it is a Watcher, in a
// goroutine that runs until ctx ends or the returned stop is called; stop
// waits for it to exit.
func (r *runner) watch(ctx context.Context) (stop func()) {
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if w, ok := r.cfg.Target.(Watcher); ok {
		wg.Go(func() {
			if err := w.Watch(wctx, r.addEvent); err != nil && wctx.Err() == nil {
				r.addError(fmt.Sprintf("event watch: %v", err))
			}
		})
	}
	return func() {
		stopWatch()
		wg.Wait()
	}
}

// runPhases runs the phases one after the other, each injecting its faults
// when it starts and sampling until its planned end, until the last phase
// ends or ctx does.
func (r *runner) runPhases(ctx context.Context) {
	var planned time.Duration // the planned end of the current phase
	for i, ph := range r.sc.Phases {
		if ctx.Err() != nil {
			return
		}
		res := &r.res.Phases[i]
		res.Ran = true
		res.Start = r.since()
		planned += ph.Duration
		r.progress.phase(i)
		for _, f := range ph.Faults {
			r.inject(ctx, i, f, planned)
		}
		if r.cfg.OnPhase != nil {
			at := r.since()
			for _, d := range r.cfg.OnPhase(ctx, i) {
				r.disrupted(i, d, at, planned)
			}
		}
		done := r.wait(ctx, i, planned)
		res.End = r.since()
		if !done {
			return
		}
		r.checkPhase(i)
	}
}

// checkPhase warns, at the end of phase i, of what makes it inconclusive so
// far: faults that hit nothing yet, no traffic during it.
func (r *runner) checkPhase(i int) {
	for _, f := range r.res.Faults {
		if f.Phase != i || !f.WasInjected() {
			continue
		}
		switch {
		case ProcessWide(f.Scenario) && f.Reached == 0:
			r.progress.warn(fmt.Sprintf("fault %q has hit nothing so far: the system handled no message while it lasted", f.Scenario.Name))
		case !ProcessWide(f.Scenario) && f.Reached == 0 && !f.Touched:
			r.progress.warn(fmt.Sprintf("fault %q has hit nothing so far: no call reached %s", f.Scenario.Name, quoteList(f.Scenario.Targets())))
		}
	}
	var traffic uint64
	for _, s := range r.res.Samples {
		if s.Phase == i && s.At > 0 {
			traffic += s.Messages + s.Calls
		}
	}
	if traffic == 0 {
		r.progress.warn(fmt.Sprintf("phase %q saw no traffic (0 messages, 0 calls): INCONCLUSIVE", r.sc.Phases[i].Name))
	}
}

// cleanUp runs after the phases: after an interruption (ctx ended) it stops
// the target's chaos engine, then it ends every fault still active — the
// faults that outlast the game day, or everything after an interruption.
// Those calls are bounded by cleanupTimeout, whatever ctx does.
func (r *runner) cleanUp(ctx context.Context) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if ctx.Err() != nil {
		r.res.Interrupted = true
		if err := r.cfg.Target.EmergencyStop(cctx); err != nil {
			r.addError(fmt.Sprintf("emergency stop: %v", err))
		}
	}
	for i := range r.res.Faults {
		f := &r.res.Faults[i]
		if f.WasInjected() && f.Ended < 0 {
			r.end(cctx, i)
		}
	}
}

// end ends fault k: a chaos scenario through the target, a Disruption by
// its End. A failure is recorded in the result's errors.
func (r *runner) end(ctx context.Context, k int) {
	f := &r.res.Faults[k]
	var err error
	switch end := r.ends[k]; {
	case end != nil:
		err = end(ctx)
	case f.Description == "":
		err = r.cfg.Target.End(ctx, f.Scenario.Name)
	}
	if err != nil {
		r.addError(fmt.Sprintf("end fault %q: %v", f.Scenario.Name, err))
	}
}

// disrupted records the Disruption d of phase i, done at offset at, as a
// fault of the phase, due to end after its duration (at the phase's
// planned end, phaseEnd, when it has none), and shows it.
func (r *runner) disrupted(i int, d Disruption, at, phaseEnd time.Duration) {
	fr := FaultResult{Phase: i, Scenario: d.Fault, Description: d.Description, Injected: at, Ended: -1}
	if fr.Description == "" {
		fr.Description = d.Fault.Describe()
	}
	due := fr.Injected + d.Fault.Duration
	if d.Fault.Duration <= 0 {
		due = max(phaseEnd, fr.Injected)
	}
	if d.Err != nil {
		fr.Error = d.Err.Error()
		fr.Injected, fr.Ended = 0, 0
		r.addError(fmt.Sprintf("disruption %q: %v", d.Fault.Name, d.Err))
	}
	r.res.Faults = append(r.res.Faults, fr)
	r.dues = append(r.dues, due)
	r.ends = append(r.ends, d.End)
	r.seen = append(r.seen, map[string]bool{})
	if fr.WasInjected() {
		r.progress.note(fr.Describe())
	}
}

// inject injects the fault fl of phase i, which ends at its phase's
// planned end when it lasts its phase, else after its duration.
func (r *runner) inject(ctx context.Context, i int, fl scenario.Fault, phaseEnd time.Duration) {
	s := fl.Scenario
	ictx, cancel := context.WithTimeout(ctx, r.cfg.ObserveTimeout)
	defer cancel()
	fr := FaultResult{Phase: i, Scenario: s, Injected: r.since(), Ended: -1}
	if err := r.cfg.Target.Inject(ictx, s); err != nil {
		fr.Error = err.Error()
		fr.Injected, fr.Ended = 0, 0
		r.addError(fmt.Sprintf("inject fault %q: %v", s.Name, err))
	}
	r.res.Faults = append(r.res.Faults, fr)
	due := fr.Injected + s.Duration
	if fl.ForPhase {
		due = max(phaseEnd, fr.Injected)
	}
	r.dues = append(r.dues, due)
	r.ends = append(r.ends, nil)
	seen := map[string]bool{}
	r.seen = append(r.seen, seen)
	if ProcessWide(s) || !fr.WasInjected() {
		return
	}
	var unknown []string
	for _, t := range s.Targets() {
		if _, found := r.known[t]; found {
			seen[t] = true
		} else {
			unknown = append(unknown, t)
		}
	}
	if len(unknown) > 0 && r.havePrev {
		r.progress.warn(fmt.Sprintf("fault %q: %s %s not a service or agent the system knows (it has: %s); unless it appears, the phase is INCONCLUSIVE",
			s.Name, quoteList(unknown), isAre(len(unknown)), knownList(sortedKeys(r.known))))
	}
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// wait samples phase i until its planned end; it reports false when ctx
// ended first.
func (r *runner) wait(ctx context.Context, i int, planned time.Duration) bool {
	next := r.since() + r.cfg.SampleInterval
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	sampled := false
	for {
		now := r.since()
		wake := min(next, planned)
		for k, f := range r.res.Faults {
			if f.WasInjected() && f.Ended < 0 {
				wake = min(wake, r.dues[k])
			}
		}
		timer.Reset(max(wake-now, 0))
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
		}
		now = r.since()
		ended := r.endDue(ctx, now)
		// At the end of the phase, an observation unless one was taken a
		// moment ago — and one anyway right after faults end (so that the
		// last phase's recovery has one) or when the phase has none yet (a
		// run running late must still observe every phase).
		atEnd := now >= planned && (ended || !sampled || now-r.last >= r.cfg.SampleInterval/2)
		if now >= next || atEnd {
			r.sample(ctx, i, true)
			next, sampled = now+r.cfg.SampleInterval, true
		}
		if now >= planned {
			return true
		}
	}
}

// endDue ends the faults that are due, and reports whether it ended one.
func (r *runner) endDue(ctx context.Context, now time.Duration) (ended bool) {
	for k := range r.res.Faults {
		f := &r.res.Faults[k]
		if !f.WasInjected() || f.Ended >= 0 {
			continue
		}
		if end := r.dues[k]; end <= now {
			ectx, cancel := context.WithTimeout(ctx, r.cfg.ObserveTimeout)
			r.end(ectx, k)
			cancel()
			f.Ended, ended = end, true
		}
	}
	return ended
}

// sample observes the target for phase i, showing the progress if show. A
// failed observation is a sample with status UNKNOWN, unless ctx ended.
func (r *runner) sample(ctx context.Context, i int, show bool) {
	octx, cancel := context.WithTimeout(ctx, r.cfg.ObserveTimeout)
	o, err := r.cfg.Target.Observe(octx)
	cancel()
	s := Sample{At: r.since(), Phase: i}
	r.last = s.At
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		r.addError(fmt.Sprintf("observe at %s: %v", RoundDuration(s.At), err))
		s.Status = health.Unknown
	} else {
		r.record(&s, o)
	}
	r.res.Samples = append(r.res.Samples, s)
	if show {
		r.progress.sample(s, r.res, err)
	}
}

// record fills s, not yet in the result, from the successful observation
// o: its figures, its breakers and tenants (added to the result's) and its
// rates.
func (r *runner) record(s *Sample, o Observation) {
	s.OK = true
	s.Status, s.Score = o.Status, o.Score
	s.RecoveryQueue = o.RecoveryQueue
	s.Latency = o.Latency
	s.messages, s.failed = o.Messages, o.Failed
	if r.res.LatencyKind == "" {
		r.res.LatencyKind = o.LatencyKind
	}
	r.recordBreakers(s, o.Breakers)
	r.recordTraffic(s, o)
	r.recordPredictions(o.Predictions)
	if len(o.Metered) > 0 {
		s.Metered = maps.Clone(o.Metered)
		for t := range o.Metered {
			r.res.Tenants = appendNew(r.res.Tenants, t)
		}
	}
	r.rates(s)
}

// recordPredictions keeps the prediction counts of the game day: p, the
// orchestrator's cumulative counts, less those of the first observation.
func (r *runner) recordPredictions(p recovery.PredictionCounts) {
	if !r.predBase.set {
		r.predBase.set, r.predBase.c = true, p
	}
	b := r.predBase.c
	d := recovery.PredictionCounts{TruePositives: p.TruePositives - b.TruePositives,
		FalsePositives: p.FalsePositives - b.FalsePositives, Misses: p.Misses - b.Misses, Pending: p.Pending}
	if n := d.TruePositives + d.FalsePositives; n > 0 {
		v := float64(d.TruePositives) / float64(n)
		d.Precision = &v
	}
	if n := d.TruePositives + d.Misses; n > 0 {
		v := float64(d.TruePositives) / float64(n)
		d.Recall = &v
	}
	r.res.Predictions = d
}

// recordBreakers keeps in s the breakers of states that are not closed
// and counts those rejecting calls; every name joins the result's.
func (r *runner) recordBreakers(s *Sample, states map[string]breaker.State) {
	for name, st := range states {
		r.res.Breakers = appendNew(r.res.Breakers, name)
		if st != breaker.Closed {
			if s.NotClosed == nil {
				s.NotClosed = make(map[string]breaker.State)
			}
			s.NotClosed[name] = st
		}
		if st.Rejecting() {
			s.Open++
		}
	}
}

// rates sets the throughput and the failure rate of s, measured from its
// base sample (see base), and its failures since the previous successful
// sample. A counter that went backwards (a restarted target) gives none.
func (r *runner) rates(s *Sample) {
	if p, found := r.base(s.At); found {
		if dt := (s.At - p.At).Seconds(); dt > 0 {
			if s.messages >= p.messages {
				s.Throughput = float64(s.messages-p.messages) / dt
			}
			if s.failed >= p.failed {
				s.FailureRate = float64(s.failed-p.failed) / dt
			}
		}
	}
	if p, found := r.previous(); found && s.failed >= p.failed {
		s.Failed = s.failed - p.failed
	}
}

// recordTraffic sets the traffic of s since the previous successful
// observation and adds it to the faults active in between: the calls that
// reached their targets (the messages, for a fault on the whole process),
// whether a target was known and whether its breaker left the closed
// state. A call counter that went backwards (a reset breaker) counts from
// zero.
func (r *runner) recordTraffic(s *Sample, o Observation) {
	deltas := make(map[string]uint64, len(o.Calls))
	if r.havePrev {
		for name, n := range o.Calls {
			d := n
			if p := r.prevCalls[name]; n >= p {
				d = n - p
			}
			deltas[name] = d
			s.Calls += d
		}
		if o.Messages >= r.prevMsgs {
			s.Messages = o.Messages - r.prevMsgs
		}
		r.faultTraffic(s, o, deltas)
	}
	r.prevAt, r.prevCalls, r.prevMsgs, r.havePrev = s.At, o.Calls, o.Messages, true
	r.known = o.Breakers
}

// faultTraffic adds the traffic of s (deltas per breaker) to the faults
// active between the previous observation and s.
func (r *runner) faultTraffic(s *Sample, o Observation, deltas map[string]uint64) {
	for k := range r.res.Faults {
		f := &r.res.Faults[k]
		if !f.WasInjected() || f.Injected >= s.At || f.Ended >= 0 && f.Ended <= r.prevAt {
			continue
		}
		if ProcessWide(f.Scenario) {
			f.Reached += s.Messages
			continue
		}
		for _, t := range f.Scenario.Targets() {
			if _, found := o.Breakers[t]; found {
				r.seen[k][t] = true
			}
			f.Reached += deltas[t]
			if st, found := s.NotClosed[t]; found && st != breaker.Disabled {
				f.Touched = true
			}
		}
	}
}

// unknownTargets sets the Unknown targets of every injected fault.
func (r *runner) unknownTargets() {
	for k := range r.res.Faults {
		f := &r.res.Faults[k]
		f.Unknown = nil
		if !f.WasInjected() || ProcessWide(f.Scenario) {
			continue
		}
		for _, t := range f.Scenario.Targets() {
			if !r.seen[k][t] {
				f.Unknown = append(f.Unknown, t)
			}
		}
	}
}

// appendNew appends name to names unless it is there already.
func appendNew(names []string, name string) []string {
	if slices.Contains(names, name) {
		return names
	}
	return append(names, name)
}

// rateWindow is the least span over which rates are computed, so that a
// short sample interval does not turn the rates into noise.
const rateWindow = 250 * time.Millisecond

// base returns the sample that rates at offset at are measured from: the
// earliest successful one within max(SampleInterval, rateWindow) before at,
// or else the latest successful one.
func (r *runner) base(at time.Duration) (Sample, bool) {
	span := max(r.cfg.SampleInterval, rateWindow)
	var out Sample
	found := false
	for i := len(r.res.Samples) - 1; i >= 0; i-- {
		s := r.res.Samples[i]
		if !s.OK {
			continue
		}
		if found && at-s.At > span {
			break
		}
		out, found = s, true
	}
	return out, found
}

// previous returns the latest successful sample.
func (r *runner) previous() (Sample, bool) {
	for i := len(r.res.Samples) - 1; i >= 0; i-- {
		if r.res.Samples[i].OK {
			return r.res.Samples[i], true
		}
	}
	return Sample{}, false
}

func (r *runner) addEvent(ev Event) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	if len(r.events) < maxEvents {
		r.events = append(r.events, TimedEvent{At: max(ev.At.Sub(r.start), 0), Event: ev})
	}
}

func (r *runner) addError(msg string) {
	r.evMu.Lock()
	defer r.evMu.Unlock()
	if len(r.res.Errors) < 100 {
		r.res.Errors = append(r.res.Errors, msg)
	}
}

// finish sorts the names and computes the per-phase counts and the
// faults' unknown targets.
func (r *runner) finish() {
	r.unknownTargets()
	slices.Sort(r.res.Breakers)
	slices.Sort(r.res.Tenants)
	slices.SortStableFunc(r.res.Events, func(a, b TimedEvent) int { return cmp.Compare(a.At, b.At) })
	if r.res.LatencyKind == "" {
		r.res.LatencyKind = LatencyP99
	}
	var base map[string]int64
	if len(r.res.Samples) > 0 {
		base = r.res.Samples[0].Metered
	}
	for i := range r.res.Phases {
		ph := &r.res.Phases[i]
		last := base
		for _, s := range r.res.Samples {
			if s.Phase != i || s.At == 0 {
				continue
			}
			ph.Failed += s.Failed
			if s.OK && s.Metered != nil {
				last = s.Metered
			}
		}
		ph.Metered = make(map[string]int64, len(r.res.Tenants))
		for _, t := range r.res.Tenants {
			ph.Metered[t] = max(last[t]-base[t], 0)
		}
		base = last
	}
}

// Exit statuses of a game day's verdict, for the commands running one.
const (
	ExitPass         = 0
	ExitFail         = 1
	ExitInconclusive = 5
)

// VerdictError is the error of a game day whose steady-state hypothesis
// did not hold (or that was interrupted), or that was inconclusive: a
// phase tested nothing. ExitCode is the process exit status a command
// should end with.
type VerdictError struct {
	// Inconclusive is set when nothing failed but a phase tested nothing.
	Inconclusive bool
	Reasons      []string
}

func (e *VerdictError) Error() string {
	what := "gameday: the steady-state hypothesis did not hold"
	if e.Inconclusive {
		what = "gameday: inconclusive, the game day tested nothing in a phase"
	}
	if len(e.Reasons) == 0 {
		return what
	}
	return what + ": " + e.Reasons[0]
}

// ExitCode returns ExitFail (1) for a failed game day, ExitInconclusive
// (5) for an inconclusive one.
func (e *VerdictError) ExitCode() int {
	if e.Inconclusive {
		return ExitInconclusive
	}
	return ExitFail
}

// ErrFailed is matched (errors.Is) by the *VerdictError of a failed game
// day, ErrInconclusive by that of an inconclusive one.
var (
	ErrFailed       = errors.New("gameday: failed")
	ErrInconclusive = errors.New("gameday: inconclusive")
)

// Is reports whether target is ErrFailed (a failed game day) or
// ErrInconclusive (an inconclusive one).
func (e *VerdictError) Is(target error) bool {
	if e.Inconclusive {
		return target == ErrInconclusive
	}
	return target == ErrFailed
}

// Err returns nil when the game day passed, else a *VerdictError with the
// verdict's reasons (FAIL) or its inconclusive findings (INCONCLUSIVE).
func (r *Result) Err() error {
	switch {
	case r.Verdict.Passed:
		return nil
	case r.Verdict.Outcome == OutcomeInconclusive:
		return &VerdictError{Inconclusive: true, Reasons: slices.Clone(r.Verdict.Inconclusive)}
	}
	return &VerdictError{Reasons: slices.Clone(r.Verdict.Reasons)}
}

// RoundDuration rounds d for display: to 10 ms under 10 s, else to 100 ms.
func RoundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// VerdictText is the verdict in a few lines of text, ending with a newline:
// the outcome, the steady-state rule it was judged by, its reasons or
// inconclusive findings, and its notes.
func (r *Result) VerdictText() string {
	var b strings.Builder
	ss := steadyOf(r)
	switch r.Verdict.Outcome {
	case OutcomePass:
		fmt.Fprintf(&b, "verdict: PASS — back to %s within %s after every fault (game day %q, %s)\n",
			ss.MinStatus, ss.RecoveryBudget, r.Name, RoundDuration(r.Elapsed))
	case OutcomeInconclusive:
		fmt.Fprintf(&b, "verdict: INCONCLUSIVE — nothing failed, but the game day tested nothing in these phases (exit status %d):\n", ExitInconclusive)
		for _, reason := range r.Verdict.Inconclusive {
			fmt.Fprintf(&b, "  - %s\n", reason)
		}
	default:
		fmt.Fprintf(&b, "verdict: FAIL — the steady-state hypothesis (%s within %s after every fault) did not hold:\n", ss.MinStatus, ss.RecoveryBudget)
		for _, reason := range r.Verdict.Reasons {
			fmt.Fprintf(&b, "  - %s\n", reason)
		}
		for _, reason := range r.Verdict.Inconclusive {
			fmt.Fprintf(&b, "  - inconclusive: %s\n", reason)
		}
	}
	fmt.Fprintf(&b, "rule: %s\n", ss.Rule())
	for _, n := range r.Verdict.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}
