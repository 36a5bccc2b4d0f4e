package health

import (
	"context"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
)

// Started returns a channel that is closed once Run has started: from then
// on, status changes reach the callbacks and subscribers. With Disabled it
// is closed by Run, which returns at once. It is never closed if Run is not
// called, or returns an error before it starts.
func (a *Aggregator) Started() <-chan struct{} { return a.started }

// Run collects at once, then every Config.CheckInterval, and also right
// after any state change or membership change of the registry's breakers
// (see Config.MinEventInterval), or a Register, Unregister or SetWeight
// call; only the first and the periodic collections go to the history. It
// delivers the OnChange callbacks on a goroutine of its own. It blocks
// until ctx ends or Close is called, and returns nil only after every
// goroutine it started has exited; a callback that never returns therefore
// keeps Run from returning.
//
// A disabled aggregator's Run returns nil at once. Run returns ErrRunning
// while another Run is going and ErrClosed after Close.
func (a *Aggregator) Run(ctx context.Context) error {
	if a.cfg.Disabled {
		a.markStarted()
		return nil
	}
	a.mu.Lock()
	switch {
	case a.closed:
		a.mu.Unlock()
		return ErrClosed
	case a.runDone != nil:
		a.mu.Unlock()
		return ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	a.runStop, a.runDone = cancel, done
	var sub *breaker.Subscription
	var events <-chan breaker.Event
	if a.reg != nil {
		sub = a.reg.Subscribe(wakeBuffer)
		events = sub.C
	}
	a.mu.Unlock()

	a.running.Store(true)
	a.markStarted()
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		if sub != nil {
			sub.Close()
		}
		a.running.Store(false)
		a.mu.Lock()
		a.runStop, a.runDone = nil, nil
		a.mu.Unlock()
		close(done)
	}()
	wg.Go(func() { a.deliver(ctx) })
	a.loop(ctx, events)
	return nil
}

// loop is Run's collection loop: a ticker, the registry's events and the
// aggregator's own wake-ups.
func (a *Aggregator) loop(ctx context.Context, events <-chan breaker.Event) {
	ticker := time.NewTicker(a.cfg.CheckInterval)
	defer ticker.Stop()
	var hold *time.Timer // set while events wait for MinEventInterval
	defer func() {
		if hold != nil {
			hold.Stop()
		}
	}()
	var holdC <-chan time.Time
	evC, wakeC := events, (<-chan struct{})(a.wake)
	var last time.Time // the last collection caused by an event
	collect := func(record bool) {
		drain(events)
		drain(a.wake)
		a.collect(record)
	}
	react := func() {
		gap := a.cfg.MinEventInterval
		since := time.Since(last)
		if gap <= 0 || last.IsZero() || since >= gap {
			collect(false)
			last = time.Now()
			return
		}
		// Too soon after the last one: gather what follows until the gap
		// has passed, then collect once.
		hold = time.NewTimer(gap - since)
		holdC, evC, wakeC = hold.C, nil, nil
	}

	collect(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			collect(true)
		case <-evC:
			react()
		case <-wakeC:
			react()
		case <-holdC:
			hold, holdC, evC, wakeC = nil, nil, events, a.wake
			collect(false)
			last = time.Now()
		}
	}
}

// drain empties ch without blocking, taking at most what it held.
func drain[T any](ch <-chan T) {
	for range len(ch) {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// deliver runs the OnChange callbacks for each queued report until ctx
// ends.
func (a *Aggregator) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case r := <-a.queue:
			for _, cb := range *a.cbs.Load() {
				a.call(cb, *r)
			}
		}
	}
}

// call runs one callback, recovering and counting a panic.
func (a *Aggregator) call(cb *callback, r Report) {
	a.fired.Add(1)
	defer func() {
		if recover() != nil {
			a.failed.Add(1)
		}
	}()
	cb.fn(r)
}

// markStarted closes the Started channel, once.
func (a *Aggregator) markStarted() { a.startOnce.Do(func() { close(a.started) }) }
