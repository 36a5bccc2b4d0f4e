package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/antifragile-go/antifragile/system"
)

// Run listens on the config's ops.listen, runs the System and serves the
// ops API until ctx ends, Close is called or a component fails; then it
// shuts down in order:
//
//  1. the HTTP server stops accepting connections, ends the /events
//     streams and waits for requests in flight (ops.shutdown_timeout,
//     then it closes the connections);
//  2. the System stops, in its own order (see system.System.Run): chaos,
//     the bus's undelivered messages, recovery, health, the meter's last
//     flush, the sink.
//
// Run blocks, owns every goroutine it starts and returns only after all of
// them have exited. It returns nil after a clean shutdown, the error that
// ended it early (the listener failing, a component failing) or the
// problems of the shutdown (such as events the meter could not deliver).
// Ready is closed once the listener is up and every component runs. A
// daemon runs once: Run returns ErrRunning while it runs and ErrClosed
// afterwards or after Close.
func (d *Daemon) Run(ctx context.Context) error {
	if err := d.begin(); err != nil {
		return err
	}
	defer d.end()
	bg := context.WithoutCancel(ctx)

	ln, err := d.listen()
	if err != nil {
		return errors.Join(err, d.System.Close(bg))
	}
	var r serving
	defer r.release()
	if err := d.startSystem(bg, &r); err != nil {
		_ = ln.Close()
		return err
	}
	d.startServer(bg, ln, &r)
	select {
	case <-ctx.Done():
	case <-d.stop:
	case r.serveErr = <-r.served:
		r.serveEnded = true
	case r.sysErr = <-r.sysDone:
		r.sysEnded = true
	}
	return d.shutdown(bg, &r)
}

// listen opens the ops API's listener: TCP on ops.listen, at most
// ops.max_connections connections at once, TLS inside when configured.
func (d *Daemon) listen() (net.Listener, error) {
	ln, err := net.Listen("tcp", d.cfg.ListenAddr())
	if err != nil {
		return nil, fmt.Errorf("daemon: listen on %s: %w", d.cfg.ListenAddr(), err)
	}
	ln = newLimitListener(ln, maxConnections(d.cfg.Ops.MaxConnections), d.log)
	if d.tls != nil {
		ln = tls.NewListener(ln, d.tls)
	}
	return ln, nil
}

// serving is what one Run started: the System's goroutine and the HTTP
// server's, the means to stop each, and their results once received.
type serving struct {
	stopSys context.CancelFunc // ends System.Run
	sysDone chan error         // receives System.Run's result
	sysErr  error
	// sysEnded says that sysErr holds the result.
	sysEnded bool

	srv        *http.Server
	endStreams context.CancelFunc // ends the requests' base context (the /events streams)
	served     chan error         // receives srv.Serve's result
	serveErr   error
	// serveEnded says that serveErr holds the result.
	serveEnded bool
}

// release cancels the contexts r created; Run defers it.
func (r *serving) release() {
	if r.endStreams != nil {
		r.endStreams()
	}
	if r.stopSys != nil {
		r.stopSys()
	}
}

// startSystem runs the System in a goroutine of r and waits until every
// component runs. It returns the System's error when a component failed at
// once.
func (d *Daemon) startSystem(ctx context.Context, r *serving) error {
	sysCtx, stopSys := context.WithCancel(ctx)
	r.stopSys, r.sysDone = stopSys, make(chan error, 1)
	go func() { r.sysDone <- d.System.Run(sysCtx) }()
	select {
	case <-d.Started():
		return nil
	case err := <-r.sysDone: // a component failed at once
		return err
	}
}

// startServer serves the ops API on ln in a goroutine of r, then publishes
// the address and closes Ready.
func (d *Daemon) startServer(ctx context.Context, ln net.Listener, r *serving) {
	streams, endStreams := context.WithCancel(ctx)
	r.endStreams = endStreams
	r.srv = d.newServer(streams)
	// Shutdown does not cancel the contexts of requests in flight; this
	// does, so that the long-lived /events streams end at once.
	r.srv.RegisterOnShutdown(endStreams)
	r.served = make(chan error, 1)
	go func() { r.served <- r.srv.Serve(ln) }()
	addr := ln.Addr().String()
	d.addr.Store(&addr)
	close(d.ready)
	d.log.Info("ops API listening", "url", d.URL(), "writes_enabled", d.HasToken(),
		"max_connections", maxConnections(d.cfg.Ops.MaxConnections))
}

// shutdown stops what r runs in order — the HTTP server (see stopServer),
// then the System — waits for both and returns their errors joined.
func (d *Daemon) shutdown(ctx context.Context, r *serving) error {
	d.log.Info("shutting down")
	d.stopServer(ctx, r.srv)
	r.endStreams()
	if !r.serveEnded {
		r.serveErr = <-r.served
	}
	serveErr := r.serveErr
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	} else if serveErr != nil {
		serveErr = fmt.Errorf("daemon: http server: %w", serveErr)
	}
	r.stopSys()
	if !r.sysEnded {
		r.sysErr = <-r.sysDone
	}
	err := errors.Join(serveErr, r.sysErr)
	if err != nil {
		d.log.Error("stopped with errors", "err", err)
	} else {
		d.log.Info("stopped")
	}
	return err
}

// stopServer shuts srv down, waiting for requests in flight up to
// ops.shutdown_timeout, then closes their connections.
func (d *Daemon) stopServer(ctx context.Context, srv *http.Server) {
	shCtx, cancel := context.WithTimeout(ctx, orDefault(d.cfg.Ops.ShutdownTimeout, system.DefaultShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(shCtx); err != nil {
		d.log.Warn("requests still in flight at the shutdown timeout; closing their connections", "err", err)
		_ = srv.Close()
	}
}

func orDefault(v, dflt time.Duration) time.Duration {
	if v == 0 {
		return dflt
	}
	return v
}
