package chaos

import (
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/antifragile-go/antifragile"
)

// index maps each target to the faults that apply to it. It is immutable:
// every Inject and every end of a scenario builds a new one (copy on write),
// so that the hot path reads it with one atomic load and one map lookup,
// whatever the number of scenarios on other targets.
type index struct {
	targets map[string]*faults
	// replaced is closed when another index (or none) takes this one's
	// place, so that a call sleeping on a delay re-reads what applies.
	replaced chan struct{}
}

// swapIndex makes idx (nil for none) the engine's index and wakes the calls
// sleeping on the one it replaces. Each index is replaced once: Swap hands
// it to exactly one caller.
func (e *Engine) swapIndex(idx *index) {
	if old := e.idx.Swap(idx); old != nil {
		close(old.replaced)
	}
}

// faults are the faults that apply to one target, combined.
type faults struct {
	latency   time.Duration // sum of the delays of the latency scenarios, at most Config.MaxDelay
	errs      []errorFault  // in activation order; each draws independently
	partition bool
	timeout   <-chan struct{} // non-nil under a timeout scenario: closed when it ends
	bandwidth int64           // bytes per second, when throttled
	throttled bool
	msgs      []messageFault // the message faults, in activation order
}

// messageFault is one message fault on a target.
type messageFault struct {
	kind  Type
	share float64
	delay time.Duration
	name  string
}

type errorFault struct {
	rate float64
	err  *InjectedError
}

// rebuildLocked publishes the index of the active scenarios (nil when none
// affects the hot path, or the engine is halted).
func (e *Engine) rebuildLocked() {
	if len(e.scenarios) == 0 || e.halted() {
		e.swapIndex(nil)
		return
	}
	all := make([]*active, 0, len(e.scenarios))
	for _, a := range e.scenarios {
		all = append(all, a)
	}
	// Activation order: the error scenarios of a target draw in it.
	slices.SortFunc(all, func(x, y *active) int { return cmp.Compare(x.gen, y.gen) })
	b := indexBuilder{}
	for _, a := range all {
		b.add(a, int64(e.conf().NetworkBandwidth), e.conf().MaxDelay)
	}
	if len(b) == 0 {
		e.swapIndex(nil)
		return
	}
	e.swapIndex(&index{targets: b, replaced: make(chan struct{})})
}

// indexBuilder collects the faults of each target while an index is
// built.
type indexBuilder map[string]*faults

// at returns the faults of target t, adding them.
func (b indexBuilder) at(t string) *faults {
	f := b[t]
	if f == nil {
		f = &faults{}
		b[t] = f
	}
	return f
}

// add combines the faults of scenario a into those of each of its targets.
// A scenario that injects nothing (a latency of 0, an error rate of 0, a
// resource other than network bandwidth) adds no target. networkBandwidth
// is Config.NetworkBandwidth, maxDelay Config.MaxDelay.
func (b indexBuilder) add(a *active, networkBandwidth int64, maxDelay time.Duration) {
	s := a.s
	switch s.Type {
	case TypeLatency:
		if s.Delay > 0 {
			for _, t := range a.targets {
				f := b.at(t)
				f.latency = min(f.latency+s.Delay, maxDelay) // saturates: both are ≤ MaxDelay
			}
		}
	case TypeError:
		if s.ErrorRate > 0 {
			for _, t := range a.targets {
				f := b.at(t)
				f.errs = append(f.errs, errorFault{rate: s.ErrorRate, err: a.errs[t]})
			}
		}
	case TypeNetworkPartition:
		for _, t := range a.targets {
			b.at(t).partition = true
		}
	case TypeTimeout:
		for _, t := range a.targets {
			if f := b.at(t); f.timeout == nil {
				f.timeout = a.done
			}
		}
	case TypeCorruptReply, TypeDuplicate, TypeReorder, TypeWrongHash, TypePoison, TypeCrash:
		if s.Type == TypePoison && s.Delay == 0 {
			return
		}
		for _, t := range a.targets {
			f := b.at(t)
			f.msgs = append(f.msgs, messageFault{kind: s.Type, share: s.Share(), delay: min(s.Delay, maxDelay), name: s.Name})
		}
	case TypeResourceExhaustion:
		if s.ResourceType == ResourceNetworkBandwidth {
			bw := int64((1 - s.ResourceLevel) * float64(networkBandwidth))
			for _, t := range a.targets {
				if f := b.at(t); !f.throttled || bw < f.bandwidth {
					f.bandwidth, f.throttled = bw, true
				}
			}
		}
	}
}

// lookup returns the faults of target, or nil, and the index they come
// from. With nothing active it is one atomic load.
func (e *Engine) lookup(target string) (*faults, *index) {
	idx := e.idx.Load()
	if idx == nil || e.stopped.Load() {
		return nil, nil
	}
	return idx.targets[target], idx
}

// Latency returns the latency to inject into a call to target: the sum of
// the delays of the active latency scenarios whose blast radius admits
// target, at most Config.MaxDelay, or 0. It does not sleep (Apply does,
// and ends the sleep with the scenario); the caller sleeps it, and Metrics
// counts it as injected. It never blocks and allocates nothing.
func (e *Engine) Latency(target string) time.Duration {
	e.seen.note(target)
	f, _ := e.lookup(target)
	if f == nil || f.latency == 0 {
		return 0
	}
	e.latencyInjections.Add(1)
	e.latencyInjected.Add(int64(f.latency))
	return f.latency
}

// Error returns the error to inject into a call to target, or nil. Each
// active error scenario admitting target draws independently with its
// rate, in activation order; the first that fires wins, so rates p and q
// combine to 1 − (1−p)(1−q). The error is an *InjectedError. With
// Config.Seed set the draws come from one seeded source, serialised by a
// mutex taken only when an error scenario matches. It never blocks on I/O
// and allocates nothing.
func (e *Engine) Error(target string) error {
	e.seen.note(target)
	if e.idx.Load() == nil { // nothing active: the note and one load
		return nil
	}
	return e.injectError(target)
}

func (e *Engine) injectError(target string) error {
	f, _ := e.lookup(target)
	if f == nil || len(f.errs) == 0 {
		return nil
	}
	if err := e.draw(f.errs); err != nil {
		e.errorsInjected.Add(1)
		return err
	}
	return nil
}

func (e *Engine) draw(errs []errorFault) *InjectedError {
	if e.seeded {
		e.rngMu.Lock()
		defer e.rngMu.Unlock()
		for _, ef := range errs {
			if e.rng.Float64() < ef.rate {
				return ef.err
			}
		}
		return nil
	}
	for _, ef := range errs {
		if rand.Float64() < ef.rate {
			return ef.err
		}
	}
	return nil
}

// Partitioned reports whether an active network_partition scenario cuts
// target off. It never blocks and allocates nothing.
func (e *Engine) Partitioned(target string) bool {
	e.seen.note(target)
	if e.idx.Load() == nil {
		return false
	}
	return e.partitioned(target)
}

// partitioned is Partitioned past the first load, kept out of line so
// that Partitioned inlines.
//
//go:noinline
func (e *Engine) partitioned(target string) bool {
	f, _ := e.lookup(target)
	if f == nil || !f.partition {
		return false
	}
	e.partitionsInjected.Add(1)
	return true
}

// TimesOut reports whether an active timeout scenario makes calls to
// target hang. It never blocks and allocates nothing.
func (e *Engine) TimesOut(target string) bool {
	e.seen.note(target)
	if e.idx.Load() == nil {
		return false
	}
	return e.timesOut(target)
}

// timesOut is TimesOut past the first load, kept out of line so that
// TimesOut inlines.
//
//go:noinline
func (e *Engine) timesOut(target string) bool {
	f, _ := e.lookup(target)
	if f == nil || f.timeout == nil {
		return false
	}
	e.timeoutsInjected.Add(1)
	return true
}

// Bandwidth returns the bandwidth in bytes per second left to target by
// the most restrictive active network_bandwidth scenario admitting it, and
// whether there is one (0 with true means no bandwidth at all). It never
// blocks and allocates nothing.
func (e *Engine) Bandwidth(target string) (bytesPerSecond int64, ok bool) {
	e.seen.note(target)
	f, _ := e.lookup(target)
	if f == nil || !f.throttled {
		return 0, false
	}
	return f.bandwidth, true
}

// Halted returns a channel that is closed when EmergencyStop, a stop
// condition or Close ends every scenario (Reset brings a fresh one).
// Waits that a fault causes, such as bandwidth throttling in chaoshttp,
// select on it so that they end at once.
func (e *Engine) Halted() <-chan struct{} { return *e.halt.Load() }

// Apply applies to one call to target the faults active for it, in this
// order: a partition returns ErrPartitioned at once; a timeout blocks until
// ctx ends (returning its error) or every timeout scenario on target ends;
// latency sleeps — until the delay has passed, or ctx ends (returning its
// error), or an emergency stop, or the scenarios change so that less delay
// applies (a latency scenario ending, replaced or deactivated wakes its
// sleepers: a call sleeps for the delay in force, not the one it started
// under); then an injected error, if one is drawn, is returned.
// With nothing active it returns nil after one atomic load. Like every
// hot-path check, it first notes target as seen (see Known): a hash and,
// for a name already seen, one more atomic load. This is what
// the bus and chaoshttp call.
func (e *Engine) Apply(ctx context.Context, target string) error {
	e.seen.note(target)
	if e.idx.Load() == nil {
		return nil
	}
	return e.apply(ctx, target)
}

func (e *Engine) apply(ctx context.Context, target string) error {
	f, idx := e.lookup(target)
	if f == nil {
		return nil
	}
	if f.partition {
		e.partitionsInjected.Add(1)
		return ErrPartitioned
	}
	if f.timeout != nil {
		e.timeoutsInjected.Add(1)
		for f != nil && f.timeout != nil {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-f.timeout:
			}
			f, idx = e.lookup(target)
		}
		if f == nil {
			return nil
		}
	}
	if d := f.latency; d > 0 {
		e.latencyInjections.Add(1)
		if err := e.delay(ctx, target, idx, d); err != nil {
			return err
		}
	}
	if len(f.errs) > 0 {
		if err := e.draw(f.errs); err != nil {
			e.errorsInjected.Add(1)
			return err
		}
	}
	return nil
}

// delay sleeps d for a call to target under idx, re-reading the delay in
// force whenever idx is replaced, and adds the delay it injected to the
// metrics: the delay in force when the timer fired, or the time slept when
// the call was woken earlier (timer overshoot is not counted). It returns
// ctx's error if ctx ends first.
func (e *Engine) delay(ctx context.Context, target string, idx *index, d time.Duration) error {
	start := time.Now()
	injected := d
	defer func() { e.latencyInjected.Add(int64(injected)) }()
	early := func() { injected = min(time.Since(start), injected) }
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			early()
			return ctx.Err()
		case <-e.Halted():
			early()
			return nil
		case <-idx.replaced:
			var f *faults
			if f, idx = e.lookup(target); f == nil {
				early()
				return nil // nothing applies to target any more
			}
			elapsed := time.Since(start)
			if f.latency <= elapsed {
				injected = min(elapsed, injected) // the call slept under the old delay
				return nil
			}
			injected = f.latency
			t.Reset(f.latency - elapsed)
		}
	}
}

// Metrics is a point-in-time copy of an engine's counters and state.
type Metrics struct {
	// ScenariosRun counts the scenarios activated since the engine was built.
	ScenariosRun uint64 `json:"scenarios_run"`
	// LatencyInjections counts the calls that were given latency, and
	// LatencyInjected sums the time they spent in it (added as each delay
	// ends; never negative).
	LatencyInjections uint64        `json:"latency_injections"`
	LatencyInjected   time.Duration `json:"latency_injected"`
	// ErrorsInjected counts the injected errors.
	ErrorsInjected uint64 `json:"errors_injected"`
	// MessageFaults counts the messages hit by a message fault, once per
	// scenario that hit them.
	MessageFaults uint64 `json:"message_faults,omitempty"`
	// PartitionsInjected and TimeoutsInjected count the calls that met a
	// partition or a timeout.
	PartitionsInjected uint64 `json:"partitions_injected"`
	TimeoutsInjected   uint64 `json:"timeouts_injected"`
	// BreakersForced counts the breakers this engine forced open.
	BreakersForced uint64 `json:"breakers_forced"`
	// DurationsCapped counts the scenarios whose duration was capped.
	DurationsCapped uint64 `json:"durations_capped"`
	// ActiveScenarios is the number of active scenarios.
	ActiveScenarios int `json:"active_scenarios"`
	// EmergencyStop reports an emergency stop in force (until Reset), and
	// StopReason says what caused it.
	EmergencyStop bool   `json:"emergency_stop"`
	StopReason    string `json:"stop_reason,omitempty"`
	// Resources is what resource scenarios hold now.
	Resources Resources `json:"resources"`
	// Timestamp is when the copy was taken.
	Timestamp time.Time `json:"timestamp"`
	// ConstitutionalHash is the engine's hash.
	ConstitutionalHash string `json:"constitutional_hash"`
}

// Resources is what the resource scenarios of an engine hold.
type Resources struct {
	// CPUGoroutines is the number of running cpu burner goroutines, and
	// CPUBusy the total time they have spent busy.
	CPUGoroutines int64         `json:"cpu_goroutines"`
	CPUBusy       time.Duration `json:"cpu_busy"`
	// MemoryHeld is the memory held by memory scenarios, in bytes.
	MemoryHeld int64 `json:"memory_held"`
	// DiskWriters is the number of running disk_io writers, DiskBytesWritten
	// the bytes they have written, and DiskErrors the writers stopped by an
	// I/O error.
	DiskWriters      int64  `json:"disk_writers"`
	DiskBytesWritten int64  `json:"disk_bytes_written"`
	DiskErrors       uint64 `json:"disk_errors"`
	// ConnectionsOccupied is the number of pool slots occupied.
	ConnectionsOccupied int64 `json:"connections_occupied"`
}

// MarshalJSON writes the durations as strings such as "1.5s".
func (r Resources) MarshalJSON() ([]byte, error) {
	type plain Resources
	return json.Marshal(struct {
		plain
		CPUBusy string `json:"cpu_busy"`
	}{plain(r), r.CPUBusy.String()})
}

// UnmarshalJSON reads the form MarshalJSON writes.
func (r *Resources) UnmarshalJSON(b []byte) error {
	type plain Resources
	var w struct {
		plain
		CPUBusy string `json:"cpu_busy"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d, err := parseMetricDuration("cpu_busy", w.CPUBusy)
	if err != nil {
		return err
	}
	*r = Resources(w.plain)
	r.CPUBusy = d
	return nil
}

// MarshalJSON writes the durations as strings such as "1.5s".
func (m Metrics) MarshalJSON() ([]byte, error) {
	type plain Metrics
	return json.Marshal(struct {
		plain
		LatencyInjected string `json:"latency_injected"`
	}{plain(m), m.LatencyInjected.String()})
}

// UnmarshalJSON reads the form MarshalJSON writes, so that clients of the
// ops API decode the engine's metrics into this type.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	type plain Metrics
	var w struct {
		plain
		LatencyInjected string `json:"latency_injected"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	d, err := parseMetricDuration("latency_injected", w.LatencyInjected)
	if err != nil {
		return err
	}
	*m = Metrics(w.plain)
	m.LatencyInjected = d
	return nil
}

// parseMetricDuration parses a duration written by MarshalJSON; empty is 0.
func parseMetricDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, antifragile.Invalid(field, s, "not a duration: %v", err)
	}
	return d, nil
}

// Metrics returns the engine's counters and state. It takes the engine's
// lock briefly.
func (e *Engine) Metrics() Metrics {
	e.mu.Lock()
	activeN, reason := len(e.scenarios), e.stopReason
	e.mu.Unlock()
	return Metrics{
		ScenariosRun:       e.scenariosRun.Load(),
		LatencyInjections:  e.latencyInjections.Load(),
		LatencyInjected:    time.Duration(e.latencyInjected.Load()),
		ErrorsInjected:     e.errorsInjected.Load(),
		MessageFaults:      e.messageFaults.Load(),
		PartitionsInjected: e.partitionsInjected.Load(),
		TimeoutsInjected:   e.timeoutsInjected.Load(),
		BreakersForced:     e.breakersForced.Load(),
		DurationsCapped:    e.durationsCapped.Load(),
		ActiveScenarios:    activeN,
		EmergencyStop:      e.stopped.Load(),
		StopReason:         reason,
		Resources: Resources{
			CPUGoroutines:       e.cpuGoroutines.Load(),
			CPUBusy:             time.Duration(e.cpuBusy.Load()),
			MemoryHeld:          e.memHeld.Load(),
			DiskWriters:         e.diskWriters.Load(),
			DiskBytesWritten:    e.diskWritten.Load(),
			DiskErrors:          e.diskErrors.Load(),
			ConnectionsOccupied: e.connsOccupied.Load(),
		},
		Timestamp:          time.Now(),
		ConstitutionalHash: e.conf().ConstitutionalHash,
	}
}
