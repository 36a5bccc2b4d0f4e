package recovery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
)

// attempt is one attempt being started: the task, its number and the
// policy it runs with.
type attempt struct {
	t      *task
	n      int
	policy *Policy
	ctx    context.Context // the attempt's own context; lives as long as the attempt
}

// Run runs the orchestrator until ctx ends: it sleeps until the earliest
// due task (a timer, no polling), wakes early when a task is scheduled,
// resumed or cancelled, and starts due tasks in priority order, at most
// Config.MaxConcurrent at once and never two of one service. With
// Config.Watch it also follows the registry's breaker events.
//
// When ctx ends Run cancels the running attempts' contexts, waits for them
// and returns nil. An attempt cut short that way does not count: its task
// is due again at once and runs when Run is called again. An action or
// health check that ignores its context is abandoned AbandonGrace after its
// timeout (or ctx) ends; the goroutine running it exits when it returns.
//
// Run returns ErrRunning while another Run is running, and a hash mismatch
// error before it starts anything.
func (o *Orchestrator) Run(ctx context.Context) error {
	if err := o.checkHash(); err != nil {
		return err
	}
	ctx, r, err := o.beginRun(ctx)
	if err != nil {
		return err
	}
	defer o.endRun(r)

	var breakerEvents <-chan breaker.Event
	if r.sub != nil {
		breakerEvents = r.sub.C
		o.scheduleOpen()
	}
	return o.loop(ctx, &r.attempts, breakerEvents)
}

// runState is one call of Run: what it must stop and release before it
// returns.
type runState struct {
	cancel   context.CancelFunc    // ends Run's context, and so its attempts'
	done     chan struct{}         // closed once Run has released everything (Close waits on it)
	sub      *breaker.Subscription // the registry's events with Config.Watch, else nil
	attempts sync.WaitGroup        // the attempt goroutines Run started
}

// beginRun marks the orchestrator running, under o.mu: it refuses a closed
// orchestrator (ErrClosed) and a second Run (ErrRunning), records how Close
// stops this Run and, with Config.Watch, subscribes to the registry's
// breaker events. It returns the Run's context, a child of ctx that the
// runState's cancel ends.
func (o *Orchestrator) beginRun(ctx context.Context) (context.Context, *runState, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case o.closed:
		return nil, nil, ErrClosed
	case o.running:
		return nil, nil, ErrRunning
	}
	o.running = true
	ctx, cancel := context.WithCancel(ctx)
	r := &runState{cancel: cancel, done: make(chan struct{})}
	o.runStop, o.runDone = cancel, r.done
	if o.cfg.Watch {
		r.sub = o.reg.Subscribe(o.cfg.WatchBuffer)
		o.watchSub = r.sub
	}
	return ctx, r, nil
}

// endRun is Run's last step: it cancels the attempts' contexts and waits
// for them to return, then, under o.mu, marks the orchestrator stopped and
// closes the subscription (keeping its drop count for Status), and last
// closes r.done, which releases Close.
func (o *Orchestrator) endRun(r *runState) {
	r.cancel()
	r.attempts.Wait()
	o.mu.Lock()
	o.running = false
	o.runStop, o.runDone = nil, nil
	if r.sub != nil {
		r.sub.Close()
		o.droppedBefore += r.sub.Dropped()
		o.watchSub = nil
	}
	o.mu.Unlock()
	close(r.done)
}

// scheduleOpen schedules the recovery of every breaker already open when a
// watching Run starts (see autoSchedule). It runs without o.mu, which
// autoSchedule takes.
func (o *Orchestrator) scheduleOpen() {
	o.reg.Each(func(name string, b *breaker.Breaker) {
		if b.State() == breaker.Open {
			o.autoSchedule(name)
		}
	})
}

// loop is the body of Run until ctx (Run's own context) ends: it starts
// what is due (see dispatch), then sleeps until the next task is due (a
// timer, no polling), a wake-up (poke) or a breaker event. Each attempt
// runs in its own goroutine, counted by attempts, with ctx as Run's
// context.
func (o *Orchestrator) loop(ctx context.Context, attempts *sync.WaitGroup, breakerEvents <-chan breaker.Event) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var starts []attempt
	for {
		var next mono
		starts, next = o.dispatch(ctx, starts[:0])
		o.start(ctx, attempts, starts)
		if next == 0 {
			timer.Stop()
		} else {
			timer.Reset(time.Duration(next - o.now()))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-o.wake:
		case <-timer.C:
		case ev := <-breakerEvents:
			o.onBreakerEvent(ev)
		}
	}
}

// start runs each attempt of starts in a goroutine of its own, counted by
// attempts, with runCtx as Run's context (see perform), and clears starts
// for reuse.
func (o *Orchestrator) start(runCtx context.Context, attempts *sync.WaitGroup, starts []attempt) {
	for i := range starts {
		a := starts[i]
		starts[i] = attempt{}
		attempts.Add(1)
		go func() {
			defer attempts.Done()
			o.perform(a, runCtx)
		}()
	}
}

// dispatch starts what is due and free to run, appending the attempts to
// starts, and returns when the next waiting task is due (zero if none).
func (o *Orchestrator) dispatch(ctx context.Context, starts []attempt) ([]attempt, mono) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.q.promote(now)
	for ctx.Err() == nil && o.active < o.cfg.MaxConcurrent && o.q.ready.Len() > 0 {
		t := o.q.popReady()
		if _, busy := o.inflight[t.name]; busy {
			o.q.block(t)
			continue
		}
		actx, stop := context.WithCancel(ctx)
		a := o.beginLocked(t, stop, now)
		a.ctx = actx
		o.active++
		starts = append(starts, a)
	}
	var next mono
	if t := o.q.waiting.head(); t != nil {
		next = t.due
	}
	return starts, next
}

func (o *Orchestrator) beginLocked(t *task, stop context.CancelFunc, now mono) attempt {
	t.state = InProgress
	t.attempts++
	l := t.logOf()
	l.lastAttemptAt = now
	if len(l.delays) < MaxOutageDelays {
		l.delays = append(l.delays, time.Duration(now-t.waitFrom))
	}
	l.stop = stop
	o.inflight[t.name] = t
	o.emitLocked(t, now, "")
	return attempt{t: t, n: int(t.attempts), policy: t.policy}
}

// Execute runs one attempt of the service's task now, in the caller's
// goroutine, and returns its result; the attempt's outcome moves the task
// as any attempt does. It blocks until the attempt ends (ctx bounds it).
// It returns a *NotFoundError for a service without a task, a *StateError
// (ErrInProgress) while an attempt of the service runs, or a hash mismatch.
// A failed attempt is not an error: see Result.
func (o *Orchestrator) Execute(ctx context.Context, name string) (Result, error) {
	if err := o.checkHash(); err != nil {
		return Result{}, err
	}
	o.mu.Lock()
	now := o.now()
	t, ok := o.tasks[name]
	if !ok {
		o.mu.Unlock()
		return Result{}, &NotFoundError{Service: name}
	}
	if _, busy := o.inflight[name]; busy {
		o.mu.Unlock()
		return Result{}, &StateError{Service: name, Op: "execute", State: t.state, Err: ErrInProgress}
	}
	o.q.remove(t)
	actx, stop := context.WithCancel(ctx)
	a := o.beginLocked(t, stop, now)
	a.ctx = actx
	o.mu.Unlock()
	return o.perform(a, nil), nil
}

// perform runs attempt a and applies its outcome. runCtx is Run's context
// (nil for Execute): an attempt that failed because it ended is not counted.
// The attempt runs without o.mu; its outcome is applied under it, and the
// loop of Run is woken afterwards.
func (o *Orchestrator) perform(a attempt, runCtx context.Context) Result {
	if l := o.cfg.Logger; l != nil {
		l.LogAttrs(context.Background(), slog.LevelInfo, "recovery: attempt started",
			slog.String("service", a.t.name), slog.Int("attempt", a.n))
	}
	start := o.now()
	err, passed := runAttempt(a.ctx, a.policy)
	end := o.now()
	interrupted := err != nil && runCtx != nil && runCtx.Err() != nil

	o.mu.Lock()
	t := a.t
	o.finishLocked(t, runCtx != nil)
	res := o.resultLocked(a, err, passed, end-start, end)
	switch {
	case o.tasks[t.name] != t: // cancelled while it ran
		res.State = Cancelled
		if res.Error == "" {
			res.Error = "cancelled while the attempt ran"
		}
		o.recordLocked(res)
	case interrupted:
		o.requeueLocked(t, end)
		res.State = Scheduled
	default:
		o.settleLocked(t, &res, err, end)
	}
	o.mu.Unlock()
	o.flushOutages()
	o.logResult(res) // before poke: the next attempt's lines come after this one's
	o.poke()
	return res
}

// logResult logs the outcome of an attempt (see Config.Logger).
func (o *Orchestrator) logResult(res Result) {
	l := o.cfg.Logger
	if l == nil {
		return
	}
	level := slog.LevelWarn
	switch {
	case res.Success:
		level = slog.LevelInfo
	case res.State == Failed || res.State == AwaitingManual:
		level = slog.LevelError
	}
	l.LogAttrs(context.Background(), level, "recovery: attempt ended",
		slog.String("service", res.Service), slog.Int("attempt", res.AttemptNumber),
		slog.String("state", res.State.String()), slog.String("error", res.Error))
}

// finishLocked ends t's attempt: t is no longer in flight, the attempt's
// context is released, an attempt Run started (ofRun) no longer counts
// against Config.MaxConcurrent, and a newer task of the service parked
// behind it may run.
func (o *Orchestrator) finishLocked(t *task, ofRun bool) {
	if o.inflight[t.name] == t {
		delete(o.inflight, t.name)
	}
	t.log.stop() // an attempt ran: the log exists
	t.log.stop = nil
	if ofRun {
		o.active--
	}
	o.q.unblock(t.name) // a newer task of the service parked behind this attempt
}

// resultLocked returns the Result of attempt a, which ended at end after
// elapsed with err; its State is left to the caller.
func (o *Orchestrator) resultLocked(a attempt, err error, passed bool, elapsed, end mono) Result {
	res := Result{
		Service:            a.t.name,
		AttemptNumber:      a.n,
		TotalAttempts:      a.t.policy.MaxRetryAttempts,
		Elapsed:            antifragile.Duration(elapsed),
		HealthCheckPassed:  passed,
		Timestamp:          o.wall(end),
		ConstitutionalHash: o.hash,
	}
	if err != nil {
		res.Error = err.Error()
	}
	return res
}

// requeueLocked puts t back in the queue, due at once, after an attempt cut
// short by Run stopping: that attempt does not count.
func (o *Orchestrator) requeueLocked(t *task, end mono) {
	if l := t.log; l != nil && t.attempts <= MaxOutageDelays && len(l.delays) == int(t.attempts) {
		l.delays = l.delays[:len(l.delays)-1] // the attempt does not count
	}
	t.attempts--
	t.state = Scheduled
	t.waitFrom, t.due = end, end
	o.q.push(t)
	o.emitLocked(t, end, "interrupted: the orchestrator stopped")
}

// settleLocked applies the outcome err of an attempt of t that ended at end
// to t and to its breaker (closed after a success), records res and
// publishes t's new state.
func (o *Orchestrator) settleLocked(t *task, res *Result, err error, end mono) {
	if err == nil {
		res.Success = true
		o.resetBreaker(t.name)
		o.endOutageLocked(t, Recovered, end)
	} else {
		t.log.lastError = res.Error // an attempt ran: the log exists
		t.log.lastFailAt = end
	}
	switch {
	case t.again: // scheduled again while the attempt ran
		t.again = false
		t.attempts = 0
		t.scheduledAt = end
		if err == nil { // a new outage begins
			t.log.openedAt, t.log.lastFailAt, t.log.delays, t.learned = end, 0, nil, false
			o.outageOpenedLocked(t.name, end)
		}
		o.waitLocked(t, end)
	case err == nil:
		t.state = Succeeded
		o.dropLocked(t)
	case t.strategy == Manual:
		t.state = AwaitingManual
	case int(t.attempts) >= t.policy.MaxRetryAttempts:
		t.state = Failed
		o.dropLocked(t)
		o.endOutageLocked(t, GaveUp, end)
	default:
		o.waitLocked(t, end)
	}
	res.State = t.state
	o.recordLocked(*res)
	o.emitLocked(t, end, res.Error)
}

// resetBreaker closes the service's breaker after a successful recovery. A
// breaker held open by an operator or the chaos engine, or disabled, is left
// alone. It runs under o.mu, before the succeeded event is published; the
// breaker never calls back into the orchestrator (its events reach Run
// through a buffered channel), so the lock order o.mu → breaker is safe.
func (o *Orchestrator) resetBreaker(name string) {
	if o.reg == nil {
		return
	}
	b, ok := o.reg.Get(name)
	if !ok {
		return
	}
	switch b.State() {
	case breaker.ForcedOpen, breaker.Disabled:
		return
	}
	b.Reset()
}

// runAttempt runs the policy's action, then its health check, each bounded
// by its timeout. passed reports whether a health check ran and passed.
func runAttempt(ctx context.Context, p *Policy) (err error, passed bool) {
	if p.Action != nil {
		if err := call(ctx, p.Action, p.ActionTimeout, "action"); err != nil {
			return err, false
		}
	}
	if p.HealthCheck == nil {
		return nil, false
	}
	if err := call(ctx, p.HealthCheck, p.HealthCheckTimeout, "health check"); err != nil {
		return err, false
	}
	return nil, true
}

type panicError struct {
	what  string
	value any
}

func (e *panicError) Error() string { return fmt.Sprintf("%s panicked: %v", e.what, e.value) }

// AbandonGrace is how long an attempt waits, once the context of its action
// or health check has ended (timeout, Cancel, Run stopping), for the
// function to return before abandoning it. A function that honours its
// context returns within it, so that Run never leaves it behind.
const AbandonGrace = 100 * time.Millisecond

// call runs fn with a context bounded by timeout and returns its error, a
// panic turned into an error, or a timeout. fn runs in its own goroutine so
// that a function ignoring its context is still cut off, AbandonGrace after
// its context ends; that goroutine exits when fn returns.
func call(ctx context.Context, fn func(context.Context) error, timeout time.Duration, what string) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- &panicError{what: what, value: r}
			}
		}()
		done <- fn(cctx)
	}()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		grace := time.NewTimer(AbandonGrace)
		select {
		case err = <-done:
		case <-grace.C:
		}
		grace.Stop()
	}
	var pe *panicError
	switch {
	case errors.As(err, &pe):
		return err
	case cctx.Err() == nil:
		if err == nil {
			return nil
		}
		return fmt.Errorf("%s: %w", what, err)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w", what, ctx.Err())
	default:
		return fmt.Errorf("%s timed out after %s", what, timeout)
	}
}

// onBreakerEvent schedules a recovery for a breaker that opened by itself
// and ends a waiting task whose breaker closed by itself.
func (o *Orchestrator) onBreakerEvent(ev breaker.Event) {
	switch {
	case ev.To == breaker.Open && ev.Reason.Tripped():
		o.autoSchedule(ev.Breaker)
	case ev.To == breaker.Closed && ev.Reason == breaker.ReasonProbeSuccess:
		o.closedByItself(ev.Breaker)
	}
}

// autoSchedule creates a task for name with its service policy's strategy
// and priority, unless it already has one.
func (o *Orchestrator) autoSchedule(name string) {
	o.mu.Lock()
	if _, ok := o.tasks[name]; ok {
		o.mu.Unlock()
		return
	}
	p := o.servicePolicyLocked(name)
	o.scheduleLocked(name, p.Strategy, p.Priority, nil, o.now())
	o.mu.Unlock()
}

// closedByItself ends a scheduled task as succeeded: its breaker's probe
// succeeded before the attempt.
func (o *Orchestrator) closedByItself(name string) {
	o.mu.Lock()
	t, ok := o.tasks[name]
	if !ok || t.state != Scheduled {
		o.mu.Unlock()
		return
	}
	now := o.now()
	o.q.remove(t)
	o.dropLocked(t)
	t.state = Succeeded
	o.endOutageLocked(t, ClosedByItself, now)
	o.emitLocked(t, now, "breaker closed by itself")
	o.mu.Unlock()
	o.flushOutages()
}
