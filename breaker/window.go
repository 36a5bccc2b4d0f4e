package breaker

import (
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// outcome bits recorded in a window slot.
const (
	outcomeCall    = 1 << 0 // slot holds a call
	outcomeFailure = 1 << 1
	outcomeSlow    = 1 << 2
)

// window remembers recent outcomes for the rate rules.
type window interface {
	record(outcome uint32, now int64)
	// totals returns the calls, failures and slow calls in the window.
	totals(now int64) (calls, failures, slow int64)
	reset()
}

// countWindow remembers the last len(slots) calls in a lock-free ring. pos
// counts every call ever recorded; it is never reset.
type countWindow struct {
	pos      atomic.Uint64
	calls    atomic.Int64
	failures atomic.Int64
	slow     atomic.Int64
	slots    []atomic.Uint32
}

func newCountWindow(size int) *countWindow {
	return &countWindow{slots: make([]atomic.Uint32, size)}
}

func (w *countWindow) record(o uint32, _ int64) {
	i := (w.pos.Add(1) - 1) % uint64(len(w.slots))
	slot := &w.slots[i]
	if slot.Load() == o { // steady state: overwrite a like outcome, no write
		return
	}
	old := slot.Swap(o)
	if old == o {
		return
	}
	if old&outcomeCall == 0 {
		w.calls.Add(1)
	}
	if d := int64(o&outcomeFailure) - int64(old&outcomeFailure); d != 0 {
		w.failures.Add(d / outcomeFailure)
	}
	if d := int64(o&outcomeSlow) - int64(old&outcomeSlow); d != 0 {
		w.slow.Add(d / outcomeSlow)
	}
}

func (w *countWindow) totals(int64) (int64, int64, int64) {
	return w.calls.Load(), w.failures.Load(), w.slow.Load()
}

func (w *countWindow) reset() {
	for i := range w.slots {
		w.slots[i].Store(0)
	}
	w.calls.Store(0)
	w.failures.Store(0)
	w.slow.Store(0)
	// pos keeps counting: the breaker derives its success count from it.
}

// timeWindow remembers the calls of the last len(buckets)·width in rolling
// buckets. A bucket is recycled under a mutex once per width; counts that
// race a recycle at a bucket boundary may land in either bucket.
type timeWindow struct {
	width   time.Duration
	mu      sync.Mutex // serialises bucket recycling
	buckets []timeBucket
}

type timeBucket struct {
	epoch    atomic.Int64
	calls    atomic.Int64
	failures atomic.Int64
	slow     atomic.Int64
}

func newTimeWindow(span time.Duration, n int) *timeWindow {
	w := &timeWindow{width: span / time.Duration(n), buckets: make([]timeBucket, n)}
	for i := range w.buckets {
		w.buckets[i].epoch.Store(math.MinInt64)
	}
	return w
}

func (w *timeWindow) epoch(now int64) int64 { return now / int64(w.width) }

func (w *timeWindow) record(o uint32, now int64) {
	e := w.epoch(now)
	n := int64(len(w.buckets))
	b := &w.buckets[(e%n+n)%n] // e may be negative: readings are relative
	if b.epoch.Load() != e {
		w.mu.Lock()
		if b.epoch.Load() != e {
			b.calls.Store(0)
			b.failures.Store(0)
			b.slow.Store(0)
			b.epoch.Store(e)
		}
		w.mu.Unlock()
	}
	b.calls.Add(1)
	if o&outcomeFailure != 0 {
		b.failures.Add(1)
	}
	if o&outcomeSlow != 0 {
		b.slow.Add(1)
	}
}

func (w *timeWindow) totals(now int64) (calls, failures, slow int64) {
	e := w.epoch(now)
	oldest := e - int64(len(w.buckets)) + 1
	for i := range w.buckets {
		b := &w.buckets[i]
		if be := b.epoch.Load(); be >= oldest && be <= e {
			calls += b.calls.Load()
			failures += b.failures.Load()
			slow += b.slow.Load()
		}
	}
	return calls, failures, slow
}

func (w *timeWindow) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := range w.buckets {
		b := &w.buckets[i]
		b.epoch.Store(math.MinInt64)
		b.calls.Store(0)
		b.failures.Store(0)
		b.slow.Store(0)
	}
}
