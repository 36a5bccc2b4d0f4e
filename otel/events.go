package afotel

import (
	"context"
	"sync"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/recovery"
)

type transitionKey struct {
	name     string
	from, to breaker.State
	reason   breaker.Reason
}

type outcomeKey struct {
	service string
	state   recovery.State
}

// eventCounts counts the breaker transitions and the recovery attempts and
// their outcomes seen on two subscriptions. The counts of a breaker, and of
// the recovery of the service of its name, are forgotten when the registry
// removes it, so that they stay bounded by the breakers present.
type eventCounts struct {
	breakers *breaker.Subscription  // nil without a registry
	recovery *recovery.Subscription // nil without an orchestrator

	mu          sync.Mutex
	transitions map[transitionKey]int64 // guarded by mu
	attempts    map[string]int64        // guarded by mu: attempts started, by service
	outcomes    map[outcomeKey]int64    // guarded by mu
	inAttempt   map[string]bool         // guarded by mu: services whose attempt has not ended
}

func (e *eventCounts) init() {
	e.transitions = map[transitionKey]int64{}
	e.attempts = map[string]int64{}
	e.outcomes = map[outcomeKey]int64{}
	e.inAttempt = map[string]bool{}
}

// run counts events as they come until ctx ends or done is closed.
func (e *eventCounts) run(ctx context.Context, done <-chan struct{}) {
	var bc <-chan breaker.Event
	var rc <-chan recovery.Event
	if e.breakers != nil {
		bc = e.breakers.C
	}
	if e.recovery != nil {
		rc = e.recovery.C
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			return
		case ev := <-bc:
			e.mu.Lock()
			e.breakerEvent(ev)
			e.mu.Unlock()
		case ev := <-rc:
			e.mu.Lock()
			e.recoveryEvent(ev)
			e.mu.Unlock()
		}
	}
}

// drain counts the events buffered now, without waiting: at most a
// buffer's worth of each kind, so that a stream of events cannot hold a
// collection. Run may take events beside it.
func (e *eventCounts) drain() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.breakers != nil {
		drainInto(e.breakers.C, e.breakerEvent)
	}
	if e.recovery != nil {
		drainInto(e.recovery.C, e.recoveryEvent)
	}
}

func drainInto[E any](c <-chan E, count func(E)) {
	for range cap(c) {
		select {
		case ev := <-c:
			count(ev)
		default:
			return
		}
	}
}

// breakerEvent counts a transition, or forgets a removed breaker; the
// caller holds e.mu.
func (e *eventCounts) breakerEvent(ev breaker.Event) {
	switch {
	case ev.Reason == breaker.ReasonRemoved:
		for k := range e.transitions {
			if k.name == ev.Breaker {
				delete(e.transitions, k)
			}
		}
		delete(e.attempts, ev.Breaker)
		delete(e.inAttempt, ev.Breaker)
		for k := range e.outcomes {
			if k.service == ev.Breaker {
				delete(e.outcomes, k)
			}
		}
	case ev.From != ev.To:
		e.transitions[transitionKey{ev.Breaker, ev.From, ev.To, ev.Reason}]++
	}
}

// recoveryEvent counts an attempt as it starts, and its outcome — the
// state the task moved to next — as it ends; the caller holds e.mu.
func (e *eventCounts) recoveryEvent(ev recovery.Event) {
	if ev.State == recovery.InProgress {
		e.attempts[ev.Service]++
		e.inAttempt[ev.Service] = true
		return
	}
	if e.inAttempt[ev.Service] {
		delete(e.inAttempt, ev.Service)
		e.outcomes[outcomeKey{ev.Service, ev.State}]++
	}
}

// close stops the subscriptions.
func (e *eventCounts) close() {
	if e.breakers != nil {
		e.breakers.Close()
	}
	if e.recovery != nil {
		e.recovery.Close()
	}
}
