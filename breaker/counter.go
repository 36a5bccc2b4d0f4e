package breaker

import (
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

// local returns the calling goroutine's stripe. The hash of a stack address
// is stable for a goroutine (until its stack moves) and differs between
// goroutines, which is what a per-CPU counter approximates.
//
//go:nosplit
func (c *counters) local() *stripe {
	var marker byte
	p := uintptr(unsafe.Pointer(&marker))
	h := (p >> 10) * 0x9E3779B97F4A7C15
	return &c.s[h>>(64-stripeBits)]
}

type totals struct {
	successes, failures, slow, rejections, ignored, late uint64
}

func (c *counters) sum() totals {
	var t totals
	for i := range c.s {
		s := &c.s[i]
		t.successes += s.successes.Load()
		t.failures += s.failures.Load()
		t.slow += s.slow.Load()
		t.rejections += s.rejections.Load()
		t.ignored += s.ignored.Load()
		t.late += s.late.Load()
	}
	return t
}

func (c *counters) reset() {
	for i := range c.s {
		s := &c.s[i]
		s.successes.Store(0)
		s.failures.Store(0)
		s.slow.Store(0)
		s.rejections.Store(0)
		s.ignored.Store(0)
		s.late.Store(0)
	}
}

// The layout the striping relies on: one cache line per stripe, and a
// counters object in the 512-byte size class (which the allocator aligns).
var (
	_ [64 - unsafe.Sizeof(stripe{})]byte
	_ [unsafe.Sizeof(stripe{}) - 64]byte
	_ [512 - unsafe.Sizeof(counters{})]byte
)
