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

func outcomeBits(failed, slow bool) uint32 {
	o := uint32(outcomeCall)
	if failed {
		o |= outcomeFailure
	}
	if slow {
		o |= outcomeSlow
	}
	return o
}

// countWindow remembers the last len(slots) calls of one closed generation
// in a lock-free ring. A new generation gets a new window, so a late outcome
// can never land in it.
type countWindow struct {
	// The totals sit together on one read-mostly line: while the window is
	// full of successes nothing writes them.
	calls    atomic.Int64
	failures atomic.Int64
	slow     atomic.Int64
	_        [40]byte
	pos      atomic.Uint64 // calls recorded in the ring, ever
	_        [56]byte
	slots    []atomic.Uint32
}

func newCountWindow(size int) *countWindow {
	return &countWindow{slots: make([]atomic.Uint32, size)}
}

// clean reports whether the window is full of plain successes. Recording
// another success then changes nothing — the last N calls are still N
// successes, whatever slot the ring would have overwritten — so the caller
// may skip the ring, and the shared position is not written on the steady
// healthy path. A success that races a failure skipping the ring is ordered
// before that failure; the window stays exact.
func (w *countWindow) clean() bool {
	return w.failures.Load() == 0 && w.slow.Load() == 0 && w.calls.Load() == int64(len(w.slots))
}

// record enters one call and returns the window's totals after it.
func (w *countWindow) record(o uint32) (calls, failures, slow int64) {
	i := (w.pos.Add(1) - 1) % uint64(len(w.slots))
	slot := &w.slots[i]
	if slot.Load() != o { // steady state: overwrite a like outcome, no write
		if old := slot.Swap(o); old != o {
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
	}
	return w.totals()
}

func (w *countWindow) totals() (calls, failures, slow int64) {
	return w.calls.Load(), w.failures.Load(), w.slow.Load()
}

// timeWindow remembers the calls of the last len(buckets)·width of one
// closed generation in rolling buckets. A bucket is recycled under a mutex
// once per width; counts that race a recycle at a bucket boundary may land in
// either bucket.
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

// record enters one call made at now and returns the window's totals.
func (w *timeWindow) record(o uint32, now int64) (calls, failures, slow int64) {
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
	return w.totals(now)
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
