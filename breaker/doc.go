// Package breaker is a circuit breaker with the states closed, open and
// half-open, plus forced open (held by an operator or the chaos engine until
// released) and disabled (admits everything, still records), a Registry of
// named breakers, and state-change events.
//
// A breaker trips on consecutive failures (5 by default), on a failure rate
// or on a slow-call rate over a count-based or time-based window; a rate rule
// is checked after every recorded outcome once the window holds
// MinimumCalls, and setting one turns the default consecutive rule off
// (Config.Rules says what is in force). After the open timeout (30 s by
// default, optionally growing on repeated trips) it admits a configured
// number of trial calls; enough successes close it, a failed trial (or a
// slow one, when the slow-call rule is on) opens it again, and a trial that
// never reports is reclaimed after HalfOpenTimeout so that half-open cannot
// wedge.
//
// # Outcomes and generations
//
// A finished call is a Success, a Failure or Ignored: Config.Classify
// decides for non-nil errors, and by default context.Canceled is ignored and
// every other error is a failure. An ignored call touches no rule; in
// half-open it gives its trial permit back. ExecuteContext and DoContext add
// the caller's context: a call whose ctx is already done is not made, a
// failure after the caller cancelled is ignored, and a failure after the
// caller's deadline passed is a failure whatever the error says.
//
// Every transition starts a new generation, and an outcome counts only in
// the generation that admitted its call: a Done that arrives after a trip, a
// close, a reset or any other transition is counted only as Late. Metrics
// gives the lifetime totals (Calls = Successes + Failures + Ignored + Late)
// beside what the rules see now.
//
// # Cost
//
// The hot path costs nothing it does not need: Allow and Ticket.Done take no
// lock, allocate nothing and read no clock unless slow-call counting or a
// time window needs one; a rejection is one atomic load and one striped
// counter add. While a count window is full of successes, a success does not
// touch the window at all. Listeners subscribe to events through a buffered
// channel that the breaker never waits on: a slow listener loses events, and
// the loss is counted.
//
//	reg, _ := breaker.NewRegistry(breaker.RegistryConfig{})
//	b, _ := reg.GetOrCreate("payments", breaker.Config{FailureRate: 0.5})
//	err := b.ExecuteContext(ctx, func(ctx context.Context) error {
//		return charge(ctx)
//	}) // breaker.ErrOpen or breaker.ErrTooManyRequests when rejected
package breaker
