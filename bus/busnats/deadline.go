package busnats

import (
	"context"
	"sync"
	"time"
)

// deliveryContext is the context one delivery runs under. It is done at
// its deadline, when its parent is done (the worker's context, which Close
// cancels) or when the delivery ends (end), whichever comes first, as
// context.WithDeadline(parent, deadline) with its cancel would be; but it
// starts its deadline's timer and registers with its parent only once
// Done or AfterFunc is called. A delivery whose pipeline and handler never
// wait on their context (checking Err is not waiting) costs one allocation
// and no timer, instead of four and a timer set and stopped. Contexts
// derived from it with the context package are cancelled with it, without
// a goroutine of their own (it has the AfterFunc method the context
// package looks for). It carries no values: the transport's contexts have
// none. Safe for concurrent use.
type deliveryContext struct {
	parent   context.Context
	deadline time.Time

	mu     sync.Mutex
	err    error                // guarded by mu: why it is done; nil until then
	done   chan struct{}        // guarded by mu: made by Done or AfterFunc
	timer  *time.Timer          // guarded by mu: the deadline's, once watched
	stop   func() bool          // guarded by mu: ends the watch of parent
	afters map[*func()]struct{} // guarded by mu: the functions of AfterFunc
}

var _ context.Context = (*deliveryContext)(nil)

// newDeliveryContext returns the context of a delivery under parent until
// deadline; the caller calls end once the delivery is over.
func newDeliveryContext(parent context.Context, deadline time.Time) *deliveryContext {
	return &deliveryContext{parent: parent, deadline: deadline}
}

// Deadline returns the delivery's deadline.
func (c *deliveryContext) Deadline() (time.Time, bool) { return c.deadline, true }

// Value returns nil: the context carries no values.
func (c *deliveryContext) Value(any) any { return nil }

// Err returns nil while the context is not done, then
// context.DeadlineExceeded (its deadline passed), the parent's error, or
// context.Canceled (the delivery ended), as Done is closed.
func (c *deliveryContext) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err != nil {
		return err
	}
	if err := c.parent.Err(); err != nil {
		c.finish(err)
		return c.Err()
	}
	if !time.Now().Before(c.deadline) {
		c.finish(context.DeadlineExceeded)
		return c.Err()
	}
	return nil
}

// Done returns a channel closed when the context is done; the first call
// starts the deadline's timer and the watch of the parent.
func (c *deliveryContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchLocked()
	return c.done
}

// AfterFunc arranges to call f in its own goroutine once the context is
// done (at once if it is) and returns a function that stops the call,
// reporting whether it did, as context.AfterFunc does.
func (c *deliveryContext) AfterFunc(f func()) (stop func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		go f()
		return func() bool { return false }
	}
	c.watchLocked()
	if c.afters == nil {
		c.afters = make(map[*func()]struct{}, 1)
	}
	key := &f
	c.afters[key] = struct{}{}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.afters[key]
		delete(c.afters, key)
		return ok
	}
}

// watchLocked makes the done channel, closed at once if the context is
// done, or else with the timer of the deadline and the watch of the
// parent started; the caller holds c.mu.
func (c *deliveryContext) watchLocked() {
	if c.done != nil {
		return
	}
	c.done = make(chan struct{})
	if c.err != nil {
		close(c.done)
		return
	}
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.finish(context.DeadlineExceeded) })
	c.stop = context.AfterFunc(c.parent, func() { c.finish(c.parent.Err()) })
}

// end ends the context as the delivery is over (context.Canceled, unless
// it was done already) and stops its timer and watch.
func (c *deliveryContext) end() { c.finish(context.Canceled) }

// finish makes the context done with err unless it is done already,
// closing the done channel, stopping the timer and the watch of the
// parent, and starting the functions of AfterFunc.
func (c *deliveryContext) finish(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
	timer, stop, afters := c.timer, c.stop, c.afters
	c.afters = nil
	c.mu.Unlock()
	if timer != nil {
		timer.Stop()
	}
	if stop != nil {
		stop()
	}
	for f := range afters {
		go (*f)()
	}
}
