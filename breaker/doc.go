// Package breaker is a circuit breaker with the states closed, open and
// half-open, plus forced open (held by an operator or the chaos engine until
// released) and disabled (admits everything, still records), a Registry of
// named breakers, and state-change events.
//
// A breaker trips on consecutive failures (5 by default), on a failure rate
// or on a slow-call rate over a count-based or time-based window. After the
// open timeout (30 s by default, optionally growing on repeated trips) it
// admits a configured number of trial calls; enough successes close it, any
// failure opens it again.
//
// The hot path costs nothing it does not need: Allow and Ticket.Done take no
// lock, allocate nothing and read no clock unless slow-call counting or a
// time window needs one; a rejection is one atomic load and one striped
// counter add. Listeners subscribe to events through a buffered channel that
// the breaker never waits on: a slow listener loses events, and the loss is
// counted.
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	b, _ := reg.GetOrCreate("payments", breaker.Config{FailureRate: 0.5})
//	t, err := b.Allow()
//	if err != nil {
//		return err // breaker.ErrOpen or breaker.ErrTooManyRequests
//	}
//	err = charge(ctx)
//	t.Done(err)
package breaker
