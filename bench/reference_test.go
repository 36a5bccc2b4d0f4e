package bench_test

import (
	"errors"
	"sync/atomic"
	"unsafe"
)

// refBreaker is the minimal reference breaker the issue measures against: an
// admitted call costs one atomic state load and one striped counter add, a
// rejection one atomic load and one striped counter add. It has no trip
// rules, no windows and no events; it is the floor a real breaker's hot path
// can approach, not a breaker to use.
type refBreaker struct {
	open atomic.Bool
	ctr  [refStripes]refStripe
}

const (
	refStripeBits = 3
	refStripes    = 1 << refStripeBits
)

// refStripe is one cache line of counters.
type refStripe struct {
	successes  atomic.Uint64
	failures   atomic.Uint64
	rejections atomic.Uint64
	_          [40]byte
}

var errRefOpen = errors.New("reference: circuit open")

// stripe picks a counter stripe from the address of the caller's stack, a
// cheap per-goroutine (and so, under RunParallel, roughly per-CPU) hash.
//
//go:nosplit
func (r *refBreaker) stripe() *refStripe {
	var marker byte
	p := uintptr(unsafe.Pointer(&marker))
	return &r.ctr[((p>>10)*0x9E3779B97F4A7C15)>>(64-refStripeBits)]
}

// refTicket is the permission Allow grants.
type refTicket struct{ r *refBreaker }

func (r *refBreaker) Allow() (refTicket, error) {
	if r.open.Load() {
		r.stripe().rejections.Add(1)
		return refTicket{}, errRefOpen
	}
	return refTicket{r}, nil
}

func (t refTicket) Done(err error) {
	s := t.r.stripe()
	if err != nil {
		s.failures.Add(1)
		return
	}
	s.successes.Add(1)
}

func (r *refBreaker) Execute(fn func() error) error {
	t, err := r.Allow()
	if err != nil {
		return err
	}
	err = fn()
	t.Done(err)
	return err
}

func (r *refBreaker) calls() (successes, failures, rejections uint64) {
	for i := range r.ctr {
		successes += r.ctr[i].successes.Load()
		failures += r.ctr[i].failures.Load()
		rejections += r.ctr[i].rejections.Load()
	}
	return successes, failures, rejections
}
