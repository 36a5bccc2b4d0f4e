package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"
)

// component is a Run goroutine of one component.
type component struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// stop cancels the component's context and waits for its Run to return;
// nil is a component that was never started.
func (c *component) stop() {
	if c != nil {
		c.cancel()
		<-c.done
	}
}

// components are the Run goroutines of a running daemon.
type components struct {
	meter, health, recovery, chaos, bus *component
}

// Run listens on cfg.Ops.Listen, runs every component — meter, health
// aggregator, recovery orchestrator, chaos engine, bus — and serves the ops
// API until ctx ends or Close is called; then it shuts down in order:
//
//  1. the HTTP server stops accepting connections, ends the /events
//     streams and waits for requests in flight (ops.shutdown_timeout,
//     then it closes the connections);
//  2. the chaos engine is emergency-stopped (every scenario ended, every
//     breaker it forced open released) and closed;
//  3. the bus stops (its handlers in flight finish and are metered);
//  4. the recovery orchestrator stops (attempts in flight are cancelled);
//  5. the health aggregator stops;
//  6. the meter is closed, delivering every queued event
//     (metering.close_timeout bounds it);
//  7. the durable sink is closed.
//
// Run blocks, owns every goroutine it starts and returns only after all of
// them have exited. It returns nil after a clean shutdown, the error that
// ended it early (the listener failing, a component failing) or the
// problems of the shutdown (such as events the meter could not deliver).
// Ready is closed once the listener is up. A daemon runs once: Run returns
// ErrRunning while it runs and ErrClosed afterwards or after Close.
func (d *Daemon) Run(ctx context.Context) error {
	d.mu.Lock()
	switch d.state {
	case running:
		d.mu.Unlock()
		return ErrRunning
	case done:
		d.mu.Unlock()
		return ErrClosed
	}
	d.state = running
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		d.state = done
		d.mu.Unlock()
		close(d.done)
	}()
	bg := context.WithoutCancel(ctx) // keeps ctx's values for the components

	ln, err := net.Listen("tcp", d.cfg.ListenAddr())
	if err != nil {
		return errors.Join(fmt.Errorf("daemon: listen on %s: %w", d.cfg.ListenAddr(), err), d.shutdown(bg, &components{}))
	}

	failed := make(chan error, 6) // one per goroutine below: none ever blocks
	start := func(name string, run func(context.Context) error) *component {
		cctx, cancel := context.WithCancel(bg)
		c := &component{cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(c.done)
			if err := run(cctx); err != nil {
				failed <- fmt.Errorf("daemon: %s: %w", name, err)
			}
		}()
		return c
	}
	comps := &components{}
	comps.meter = start("metering", d.meter.Run)
	comps.health = start("health", d.agg.Run)
	comps.recovery = start("recovery", d.rec.Run)
	comps.chaos = start("chaos", d.eng.Run)
	comps.bus = start("bus", d.bus.Run)
	// Ready promises a running system: chaos refuses guarded injections
	// until its Run runs, and health callbacks (the /events health
	// stream) fire only while its Run runs. Both start at once.
	waitStarted(d.eng.Running, comps.chaos.done)
	if !d.cfg.Health.Disabled {
		waitStarted(func() bool { return d.agg.Metrics().Running }, comps.health.done)
	}

	streams, endStreams := context.WithCancel(bg)
	defer endStreams()
	srv := &http.Server{
		Handler:           d.handler,
		ReadHeaderTimeout: orDefault(d.cfg.Ops.ReadHeaderTimeout.D(), DefaultReadHeaderTimeout),
		ReadTimeout:       d.cfg.Ops.ReadTimeout.D(),
		IdleTimeout:       orDefault(d.cfg.Ops.IdleTimeout.D(), DefaultIdleTimeout),
		BaseContext:       func(net.Listener) context.Context { return streams },
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
	// Shutdown does not cancel the contexts of requests in flight; this
	// does, so that the long-lived /events streams end at once.
	srv.RegisterOnShutdown(endStreams)
	served := make(chan struct{})
	go func() {
		defer close(served)
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("daemon: http server: %w", err)
		}
	}()
	addr := ln.Addr().String()
	d.addr.Store(&addr)
	close(d.ready)
	d.log.Info("ops API listening", "url", "http://"+addr, "writes_enabled", d.HasToken())

	var errs []error
	select {
	case <-ctx.Done():
	case <-d.stop:
	case err := <-failed:
		errs = append(errs, err)
	}
	d.log.Info("shutting down")

	shCtx, cancel := context.WithTimeout(bg, orDefault(d.cfg.Ops.ShutdownTimeout.D(), DefaultShutdownTimeout))
	if err := srv.Shutdown(shCtx); err != nil {
		d.log.Warn("requests still in flight at the shutdown timeout; closing their connections", "err", err)
		_ = srv.Close()
	}
	cancel()
	endStreams()
	<-served

	errs = append(errs, d.shutdown(bg, comps))
drain:
	for {
		select {
		case err := <-failed:
			errs = append(errs, err)
		default:
			break drain
		}
	}
	err = errors.Join(errs...)
	if err != nil {
		d.log.Error("stopped with errors", "err", err)
	} else {
		d.log.Info("stopped")
	}
	return err
}

// shutdown stops the components after the HTTP server, in order, and
// releases the sink. comps holds the Run goroutines (none when the daemon
// never ran).
func (d *Daemon) shutdown(ctx context.Context, comps *components) error {
	var errs []error
	bounded := func(timeout time.Duration) (context.Context, context.CancelFunc) {
		return context.WithTimeout(ctx, timeout)
	}
	if d.eng != nil {
		d.eng.EmergencyStop()
		cctx, cancel := bounded(orDefault(d.cfg.Ops.ShutdownTimeout.D(), DefaultShutdownTimeout))
		if err := d.eng.Close(cctx); err != nil {
			errs = append(errs, fmt.Errorf("daemon: closing chaos: %w", err))
		}
		cancel()
	}
	comps.chaos.stop()
	comps.bus.stop()
	if d.bus != nil {
		// deliver what was published but not yet handled, so that it is metered
		bctx, cancel := bounded(orDefault(d.cfg.Ops.ShutdownTimeout.D(), DefaultShutdownTimeout))
		if err := d.bus.Drain(bctx); err != nil {
			errs = append(errs, fmt.Errorf("daemon: draining the bus: %w", err))
		}
		cancel()
	}
	comps.recovery.stop()
	comps.health.stop()
	if d.agg != nil {
		_ = d.agg.Close(ctx) // Run has returned: Close only drops the registry subscription
	}
	cctx, cancel := bounded(orDefault(d.cfg.Metering.CloseTimeout.D(), DefaultCloseTimeout))
	defer cancel()
	if d.meter != nil {
		if err := d.meter.Close(cctx); err != nil {
			errs = append(errs, fmt.Errorf("daemon: flushing metering: %w", err))
		}
	}
	comps.meter.stop()
	if d.sink != nil {
		if err := d.sink(cctx); err != nil {
			errs = append(errs, fmt.Errorf("daemon: closing the metering sink: %w", err))
		}
	}
	return errors.Join(errs...)
}

// release frees what New acquired, for a daemon that never ran: the meter
// delivers what was recorded, the sink is closed.
func (d *Daemon) release(ctx context.Context) error { return d.shutdown(ctx, &components{}) }

// Close stops the daemon. If Run is running, Close makes it shut down and
// waits for it to return (or for ctx to end, returning ctx's error); Run's
// own result reports the shutdown's problems. If Run was never called,
// Close releases what New acquired — delivering events already recorded
// and closing the sink — and Run then returns ErrClosed. Close is
// idempotent and safe for concurrent use.
func (d *Daemon) Close(ctx context.Context) error {
	d.mu.Lock()
	switch d.state {
	case idle:
		d.state = done
		d.mu.Unlock()
		err := d.release(ctx)
		close(d.done)
		return err
	case running:
		if !d.stopping {
			d.stopping = true
			close(d.stop)
		}
	}
	d.mu.Unlock()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitStarted yields until started reports true or the component's Run
// has returned (then its error reaches Run through failed). A Run sets its
// running flag first thing, so this is a few scheduler turns.
func waitStarted(started func() bool, done <-chan struct{}) {
	for !started() {
		select {
		case <-done:
			return
		default:
			runtime.Gosched()
		}
	}
}

func orDefault(v, dflt time.Duration) time.Duration {
	if v == 0 {
		return dflt
	}
	return v
}
