package daemon

import (
	"context"
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

	ln, err := net.Listen("tcp", d.cfg.ListenAddr())
	if err != nil {
		return errors.Join(fmt.Errorf("daemon: listen on %s: %w", d.cfg.ListenAddr(), err), d.System.Close(bg))
	}
	sysCtx, stopSys := context.WithCancel(bg)
	defer stopSys()
	sysDone := make(chan error, 1)
	go func() { sysDone <- d.System.Run(sysCtx) }()
	select {
	case <-d.Started():
	case err := <-sysDone: // a component failed at once
		_ = ln.Close()
		return err
	}

	streams, endStreams := context.WithCancel(bg)
	defer endStreams()
	srv := d.newServer(streams)
	// Shutdown does not cancel the contexts of requests in flight; this
	// does, so that the long-lived /events streams end at once.
	srv.RegisterOnShutdown(endStreams)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	d.addr.Store(&addr)
	close(d.ready)
	d.log.Info("ops API listening", "url", "http://"+addr, "writes_enabled", d.HasToken())

	var serveErr, sysErr error
	serveEnded, sysEnded := false, false
	select {
	case <-ctx.Done():
	case <-d.stop:
	case serveErr = <-served:
		serveEnded = true
	case sysErr = <-sysDone:
		sysEnded = true
	}
	d.log.Info("shutting down")
	d.stopServer(bg, srv)
	endStreams()
	if !serveEnded {
		serveErr = <-served
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	} else if serveErr != nil {
		serveErr = fmt.Errorf("daemon: http server: %w", serveErr)
	}
	stopSys()
	if !sysEnded {
		sysErr = <-sysDone
	}
	err = errors.Join(serveErr, sysErr)
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
