package latency

import (
	"sync/atomic"
	"time"
)

// Buckets is the number of buckets with a finite upper bound; a Snapshot
// has one more, the overflow bucket.
const Buckets = 19

// bounds are the upper bounds of the finite buckets, ascending.
var bounds = [Buckets]time.Duration{
	10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond,
	time.Millisecond, 2500 * time.Microsecond, 5 * time.Millisecond,
	10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
	time.Second, 2500 * time.Millisecond, 5 * time.Second,
	10 * time.Second,
}

// Bounds returns the upper bounds of the finite buckets, ascending: 10 µs,
// 25 µs, 50 µs, 100 µs, … 1 s, 2.5 s, 5 s, 10 s. Bucket i of a Snapshot
// counts the observations d with Bounds()[i-1] < d ≤ Bounds()[i]. The array
// is a copy; Bounds allocates nothing.
func Bounds() [Buckets]time.Duration { return bounds }

// Histogram counts durations into the fixed buckets of Bounds and adds them
// up. Its zero value is an empty histogram ready for use. It is safe for
// concurrent use; it must not be copied after first use.
type Histogram struct {
	counts [Buckets + 1]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
}

// Observe counts the duration d (a negative d counts as 0). It never
// blocks, takes no lock and allocates nothing.
func (h *Histogram) Observe(d time.Duration) {
	d = max(d, 0)
	h.counts[bucket(d)].Add(1)
	h.sum.Add(int64(d))
}

// bucket returns the index of the bucket d falls in. A linear scan from the
// smallest bound: in-process latencies end it within a few comparisons, and
// its branches are predictable.
func bucket(d time.Duration) int {
	for i, b := range bounds {
		if d <= b {
			return i
		}
	}
	return Buckets
}

// Snapshot returns the histogram's counts and sum now. It takes no lock and
// allocates nothing. Observations that run concurrently may be in the
// counts but not yet in the sum (or the reverse); Count is always the sum of
// the counts.
func (h *Histogram) Snapshot() Snapshot {
	var s Snapshot
	for i := range h.counts {
		s.Counts[i] = h.counts[i].Load()
	}
	s.Sum = time.Duration(h.sum.Load())
	return s
}

// Reset empties the histogram. Observations concurrent with it may survive
// it, in part.
func (h *Histogram) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.sum.Store(0)
}

// Snapshot is a histogram's counts at one time.
type Snapshot struct {
	// Counts holds each bucket's observations, not cumulative: Counts[i]
	// for i < Buckets counts those in (Bounds()[i-1], Bounds()[i]];
	// Counts[Buckets] those above the last bound, 10 s.
	Counts [Buckets + 1]uint64
	// Sum is the total of the observed durations.
	Sum time.Duration
}

// Count returns the number of observations: the sum of Counts.
func (s Snapshot) Count() uint64 {
	var n uint64
	for _, c := range s.Counts {
		n += c
	}
	return n
}

// Add adds the counts and the sum of o to s, as if s had observed what o
// did: the histograms of several breakers or agents merge into one.
func (s *Snapshot) Add(o Snapshot) {
	for i, c := range o.Counts {
		s.Counts[i] += c
	}
	s.Sum += o.Sum
}
