package system

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/metering"
)

// component is the Run goroutine of one component.
type component struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// stop cancels the component's context and waits for its Run to return;
// a nil component was never started.
func (c *component) stop() {
	if c != nil {
		c.cancel()
		<-c.done
	}
}

// components are the Run goroutines of a running system.
type components struct {
	meter, spool, fold, health, recovery, chaos, bus, cluster, predict *component
}

// Run runs every component — the meter, the health aggregator, the recovery
// orchestrator, the chaos engine, the bus, the cluster member, and with
// anomaly detection on the feed of its at-risk signals to the orchestrator
// as predictions — until ctx
// ends, Close is called or a component's Run fails; then it stops them in
// this order:
//
//  0. the cluster member leaves (its heartbeat removed);
//  1. the chaos engine is emergency-stopped (every scenario ended, every
//     breaker it forced open released) and closed;
//  2. the bus stops and closes: it refuses new messages and delivers what
//     was published but not yet handled, so that it is metered;
//  3. the recovery orchestrator stops (attempts in flight are cancelled);
//  4. the health aggregator stops;
//  5. the meter is closed, delivering every queued event
//     (metering.close_timeout bounds it and the next two steps);
//  6. with a spool, it delivers what it holds to the durable sink; what
//     it cannot deliver in time stays on disk for the next start;
//  7. the durable sink is closed (a nats:// sink's fold loop stopped
//     first), then the cluster's NATS connection.
//
// Whatever serves the ops API should stop before Run's context ends (the
// daemon shuts its HTTP server down first). Run blocks, owns every
// goroutine it starts and returns only after all of them have exited. It
// returns nil after a clean shutdown, the error that ended it early (a
// component failing), joined with the problems of the shutdown (such as
// events the meter could not deliver). Started is closed once every
// component runs. A system runs once: Run returns ErrRunning while it runs
// and ErrClosed afterwards or after Close.
func (s *System) Run(ctx context.Context) error {
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	bg := context.WithoutCancel(ctx) // keeps ctx's values for the components
	failed := make(chan error, 8)    // one per component: none ever blocks
	comps := s.startComponents(bg, failed)
	s.awaitStarted(comps)
	close(s.started)
	s.log.Info("system running")

	var errs []error
	select {
	case <-ctx.Done():
	case <-s.stop:
	case err := <-failed:
		errs = append(errs, err)
	}
	s.log.Info("system stopping")
	errs = append(errs, s.shutdown(bg, comps))
	for drained := false; !drained; {
		select {
		case err := <-failed:
			// A Run that had not started when shutdown closed its
			// component refuses to start: that is the stop, not a failure.
			if !errors.Is(err, metering.ErrClosed) {
				errs = append(errs, err)
			}
		default:
			drained = true
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		s.log.Error("system stopped with errors", "err", err)
	} else {
		s.log.Info("system stopped")
	}
	return err
}

// startComponents starts the Run goroutine of every component; a Run that
// fails sends its error on failed.
func (s *System) startComponents(bg context.Context, failed chan<- error) *components {
	start := func(name string, run func(context.Context) error) *component {
		cctx, cancel := context.WithCancel(bg)
		c := &component{cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(c.done)
			if err := run(cctx); err != nil {
				failed <- fmt.Errorf("system: %s: %w", name, err)
			}
		}()
		return c
	}
	comps := &components{
		meter:    start("metering", s.meter.Run),
		health:   start("health", s.health.Run),
		recovery: start("recovery", s.rec.Run),
		chaos:    start("chaos", s.chaos.Run),
		bus:      start("bus", s.bus.Run),
	}
	if s.spool != nil {
		comps.spool = start("metering spool", s.spool.Run)
	}
	if s.jsink != nil {
		comps.fold = start("metering sink fold", s.jsink.Run)
	}
	if s.member != nil {
		comps.cluster = start("cluster", s.member.Run)
	}
	if s.cfg.Health.Anomaly.Enabled {
		comps.predict = start("predictions", s.predict)
	}
	return comps
}

// predict hands every at-risk signal of the health aggregator's anomaly
// detection to the recovery orchestrator as a prediction (AtRisk: counted
// as true when an outage of the service follows within
// recovery.prediction_horizon, and making its breaker cautious when
// recovery.cautious says so) until ctx ends.
func (s *System) predict(ctx context.Context) error {
	sub := s.health.SubscribeAnomalies(256)
	defer sub.Close()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev := <-sub.C:
			if ev.Kind == "at_risk" {
				s.rec.AtRisk(ev.Anomaly.Breaker, ev.Anomaly.Since)
			}
		}
	}
}

// handshake is a component's start-up signal: started closes once it runs
// as promised, done once its Run has returned (it failed to start).
type handshake struct{ started, done <-chan struct{} }

// awaitStarted waits until the components whose Started promises something
// run: chaos refuses guarded injections until its Run runs, health reaches
// its subscribers only while its Run runs, and the cluster member has read
// the lever (booting stopped if the cluster is). A component that fails to
// start ends the wait too (and then the run).
func (s *System) awaitStarted(comps *components) {
	waits := []handshake{{s.chaos.Started(), comps.chaos.done}, {s.health.Started(), comps.health.done}}
	if s.member != nil {
		waits = append(waits, handshake{s.member.Started(), comps.cluster.done})
	}
	for _, w := range waits {
		select {
		case <-w.started:
		case <-w.done:
		}
	}
}

// begin moves an idle system to running.
func (s *System) begin() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.state {
	case running:
		return ErrRunning
	case done:
		return ErrClosed
	}
	s.state = running
	return nil
}

// end marks the system done once Run has released everything.
func (s *System) end() {
	s.mu.Lock()
	s.state = done
	s.mu.Unlock()
	close(s.done)
}

// Started returns a channel that is closed once Run has started every
// component. It is never closed if Run is not called.
func (s *System) Started() <-chan struct{} { return s.started }

// shutdown stops the components in order and releases the sink. comps holds
// the Run goroutines (nil when the system never ran).
func (s *System) shutdown(ctx context.Context, comps *components) error {
	if comps == nil {
		comps = &components{}
	}
	var errs []error
	step := orDefault(s.cfg.Ops.ShutdownTimeout, DefaultShutdownTimeout)
	bounded := func(d time.Duration, what string, fn func(context.Context) error) {
		cctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		if err := fn(cctx); err != nil {
			errs = append(errs, fmt.Errorf("system: %s: %w", what, err))
		}
	}
	// The member leaves first: it removes its heartbeat while the rest
	// still runs, and no lever or fleet assignment reaches a stopping
	// engine.
	comps.cluster.stop()
	if _, _, err := s.endTrialNow("closed"); err != nil {
		errs = append(errs, err)
	}
	if s.member != nil {
		bounded(step, "leaving the cluster", s.member.Close)
	}
	if s.chaos != nil {
		s.chaos.EmergencyStop()
		bounded(step, "closing chaos", s.chaos.Close)
	}
	comps.predict.stop()
	comps.chaos.stop()
	comps.bus.stop()
	if s.bus != nil {
		bounded(step, "closing the bus", s.bus.Close)
	}
	comps.recovery.stop()
	if s.rec != nil {
		_ = s.rec.Close(ctx) // Run has returned: Close only refuses new schedules
	}
	comps.health.stop()
	if s.health != nil {
		_ = s.health.Close(ctx) // Run has returned: Close only drops the registry subscription
	}
	errs = append(errs, s.closeMetering(ctx, comps)...)
	if s.store != nil {
		bounded(step, "closing the cluster's NATS connection", s.store.Close)
	}
	return errors.Join(errs...)
}

// closeMetering flushes the meter and closes the spool and the sink, in
// that order, within metering.close_timeout; it is the part of shutdown
// after every producer of usage events has stopped.
func (s *System) closeMetering(ctx context.Context, comps *components) []error {
	var errs []error
	cctx, cancel := context.WithTimeout(ctx, orDefault(s.cfg.Metering.CloseTimeout, DefaultCloseTimeout))
	defer cancel()
	if s.meter != nil {
		if err := s.meter.Close(cctx); err != nil {
			errs = append(errs, fmt.Errorf("system: flushing metering: %w", err))
		}
	}
	comps.meter.stop()
	comps.spool.stop()
	comps.fold.stop()
	if s.spool != nil {
		if err := s.spool.Close(cctx); err != nil {
			if cctx.Err() == nil {
				errs = append(errs, fmt.Errorf("system: closing the metering spool: %w", err))
			} else {
				m := s.spool.Metrics()
				s.log.Warn("metering: spool: undelivered batches stay on disk for the next start",
					"dir", s.cfg.Metering.SpoolDir, "batches", m.Pending, "bytes", m.PendingBytes)
			}
		}
	}
	if s.sink != nil {
		if err := s.sink(cctx); err != nil {
			errs = append(errs, fmt.Errorf("system: closing the metering sink: %w", err))
		}
	}
	return errs
}

// Close stops the system. If Run is running, Close makes it shut down and
// waits for it to return (or for ctx to end, returning ctx's error); Run's
// own result reports the shutdown's problems. If Run was never called,
// Close releases what New acquired — delivering events already recorded
// and closing the sink — and Run then returns ErrClosed. Close is
// idempotent and safe for concurrent use.
func (s *System) Close(ctx context.Context) error {
	s.mu.Lock()
	switch s.state {
	case idle:
		s.state = done
		s.mu.Unlock()
		err := s.shutdown(ctx, nil)
		close(s.done)
		return err
	case running:
		s.once.Do(func() { close(s.stop) })
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// orDefault returns v, or dflt when v is its type's zero value.
func orDefault[T comparable](v, dflt T) T {
	var zero T
	if v == zero {
		return dflt
	}
	return v
}
