package breaker

import (
	"math/bits"
	"sync/atomic"
	"unsafe"
)

// stripes is the number of counter stripes per breaker. Each goroutine adds
// to the stripe its stack address hashes to, so parallel callers rarely share
// a cache line and a single caller always hits the same one.
const (
	stripeBits = 3
	stripes    = 1 << stripeBits
)

// stripe holds one share of a breaker's counters, padded to a cache line.
type stripe struct {
	successes  atomic.Uint64
	failures   atomic.Uint64
	slow       atomic.Uint64
	rejections atomic.Uint64
	ignored    atomic.Uint64
	late       atomic.Uint64
	_          [16]byte
}

// counters is a striped set of monotonic counters.
type counters struct {
	s [stripes]stripe
}

// stripeIndex returns the calling goroutine's stripe. The hash of a stack
// address is stable for a goroutine (until its stack moves) and differs
// between goroutines, which is what a per-CPU counter approximates.
//
//go:nosplit
func stripeIndex() uint {
	var marker byte
	p := uintptr(unsafe.Pointer(&marker))
	return uint(((p >> 10) * 0x9E3779B97F4A7C15) >> (64 - stripeBits))
}

// stripe returns the calling goroutine's counter stripe and marks it used,
// so that a reader sums only the stripes ever written: a breaker called from
// one goroutine costs a reader one cache line, not eight. The mark is a load
// of a read-mostly word after the first call from a stripe.
func (b *Breaker) stripe() *stripe {
	i := stripeIndex()
	if bit := uint32(1) << i; b.used.Load()&bit == 0 {
		b.used.Or(bit)
	}
	return &b.ctr.s[i]
}

type totals struct {
	successes, failures, slow, rejections, ignored, late uint64
}

// sum adds up the stripes whose bit is set in used. A stripe is marked
// before its first add, so no count is missed for longer than the race with
// that add.
func (c *counters) sum(used uint32) totals {
	var t totals
	for ; used != 0; used &= used - 1 {
		s := &c.s[bits.TrailingZeros32(used)]
		t.successes += s.successes.Load()
		t.failures += s.failures.Load()
		t.slow += s.slow.Load()
		t.rejections += s.rejections.Load()
		t.ignored += s.ignored.Load()
		t.late += s.late.Load()
	}
	return t
}

// resetBase is what the lifetime counters held when the breaker was last
// reset. It never changes once published.
type resetBase struct {
	totals
	trips  uint64
	resets uint64
}

// since returns t less the counts of base (nil: t itself). Counters only
// grow, so t, read after base was loaded, is never below it.
func (t totals) since(base *resetBase) totals {
	if base == nil {
		return t
	}
	return totals{
		successes: t.successes - base.successes, failures: t.failures - base.failures,
		slow: t.slow - base.slow, rejections: t.rejections - base.rejections,
		ignored: t.ignored - base.ignored, late: t.late - base.late,
	}
}

// The layout the striping relies on: one cache line per stripe, and a
// counters object in the 512-byte size class (which the allocator aligns).
var (
	_ [64 - unsafe.Sizeof(stripe{})]byte
	_ [unsafe.Sizeof(stripe{}) - 64]byte
	_ [512 - unsafe.Sizeof(counters{})]byte
)
