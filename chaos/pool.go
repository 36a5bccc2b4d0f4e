package chaos

import (
	"container/list"
	"context"
	"sync"
)

// Pool is a counting semaphore standing for a bounded resource such as a
// connection pool: code asks it for a slot before it uses a connection.
// A connections scenario occupies level × Size slots of the pools it
// targets, so that callers wait (Acquire) or fail (TryAcquire) as they would
// against an exhausted pool. Get one with Engine.Pool. It is safe for
// concurrent use; waiters are served first in, first out.
type Pool struct {
	size int

	mu       sync.Mutex
	inUse    int       // guarded by mu: slots held by callers
	occupied int       // guarded by mu: slots held by chaos scenarios
	waiters  list.List // guarded by mu: of chan struct{}, closed when granted
}

func newPool(size int) *Pool {
	if size <= 0 {
		size = DefaultPoolSize
	}
	return &Pool{size: size}
}

// Size returns the number of slots.
func (p *Pool) Size() int { return p.size }

// InUse returns the number of slots held by callers.
func (p *Pool) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Occupied returns the number of slots held by chaos scenarios.
func (p *Pool) Occupied() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.occupied
}

// Available returns the number of free slots.
func (p *Pool) Available() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return max(0, p.freeLocked())
}

func (p *Pool) freeLocked() int { return p.size - p.inUse - p.occupied }

// Acquire takes a slot, blocking until one is free or ctx ends (then it
// returns ctx's error and holds nothing). Release the slot when done.
func (p *Pool) Acquire(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p.mu.Lock()
	if p.waiters.Len() == 0 && p.freeLocked() > 0 {
		p.inUse++
		p.mu.Unlock()
		return nil
	}
	ready := make(chan struct{})
	elem := p.waiters.PushBack(ready)
	p.mu.Unlock()
	select {
	case <-ready:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		select {
		case <-ready: // granted meanwhile: hand it on
			p.inUse--
		default:
			p.waiters.Remove(elem)
		}
		p.grantLocked()
		p.mu.Unlock()
		return ctx.Err()
	}
}

// TryAcquire takes a slot if one is free right now and reports whether it
// did. It never blocks.
func (p *Pool) TryAcquire() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waiters.Len() == 0 && p.freeLocked() > 0 {
		p.inUse++
		return true
	}
	return false
}

// Release returns a slot taken by Acquire or TryAcquire. Releasing a slot
// that was not taken panics.
func (p *Pool) Release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inUse <= 0 {
		panic("chaos: Pool.Release without a matching Acquire")
	}
	p.inUse--
	p.grantLocked()
}

// occupy makes n more slots unavailable to callers (slots already held
// stay held until released).
func (p *Pool) occupy(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.occupied += n
}

// vacate gives back n slots occupied by occupy.
func (p *Pool) vacate(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.occupied -= n
	p.grantLocked()
}

// grantLocked hands free slots to waiters in order.
func (p *Pool) grantLocked() {
	for p.waiters.Len() > 0 && p.freeLocked() > 0 {
		front := p.waiters.Front()
		p.waiters.Remove(front)
		p.inUse++
		close(front.Value.(chan struct{}))
	}
}
