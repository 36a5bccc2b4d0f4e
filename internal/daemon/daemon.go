package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/system"
)

// maxHeaderBytes bounds a request's headers (net/http's default is 1 MiB);
// no request of the ops API needs more than a few hundred bytes.
const maxHeaderBytes = 64 << 10

// Errors of Run.
var (
	// ErrRunning is returned by Run while another Run of the daemon runs.
	ErrRunning = errors.New("daemon: already running")
	// ErrClosed is returned by Run once the daemon has run or been closed:
	// a Daemon runs once.
	ErrClosed = errors.New("daemon: closed")
)

// Daemon is a System served over HTTP: the ops API of a whole running
// antifragile system on the address its config names. New builds it and
// starts nothing; Run runs it until its context ends and then shuts it down
// in order. A Daemon runs once. Its methods are safe for concurrent use.
type Daemon struct {
	*system.System

	cfg *system.Config
	log *slog.Logger
	tls *tls.Config // nil for plain HTTP

	ready chan struct{} // closed once the listener is up
	addr  atomic.Pointer[string]

	mu    sync.Mutex
	state int           // guarded by mu: idle, running or done
	stop  chan struct{} // closed by Close to stop Run
	once  sync.Once     // closes stop
	done  chan struct{} // closed once everything is released
}

const (
	idle = iota
	running
	done
)

// New builds a daemon from cfg (nil means system.Default()): the System
// (see system.New, which validates cfg and reports every problem by its
// JSON path) and nothing else yet. New starts no goroutine. A daemon that
// is never run must be closed with Close.
func New(cfg *system.Config) (*Daemon, error) {
	if cfg == nil {
		cfg = system.Default()
	}
	sys, err := system.New(*cfg)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	d := &Daemon{
		System: sys, cfg: sys.Config(), log: sys.Logger(),
		ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{}),
	}
	if o := d.cfg.Ops; o.TLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			_ = sys.Close(context.Background())
			return nil, fmt.Errorf("daemon: %w", &system.ValidationError{Field: "ops.tls_cert_file", Value: o.TLSCertFile, Err: err})
		}
		d.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return d, nil
}

// Ready returns a channel closed once Run's listener is up and every
// component runs (Addr is then set). It is never closed if Run fails before
// listening, so wait on Run's result as well.
func (d *Daemon) Ready() <-chan struct{} { return d.ready }

// Addr returns the address the ops API listens on, such as
// "127.0.0.1:41234" (the actual port when the config asked for port 0),
// or "" before Ready.
func (d *Daemon) Addr() string {
	if p := d.addr.Load(); p != nil {
		return *p
	}
	return ""
}

// URL returns "http://" + Addr() ("https://" with TLS), or "" before
// Ready.
func (d *Daemon) URL() string {
	a := d.Addr()
	switch {
	case a == "":
		return ""
	case d.tls != nil:
		return "https://" + a
	}
	return "http://" + a
}

// begin moves an idle daemon to running.
func (d *Daemon) begin() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch d.state {
	case running:
		return ErrRunning
	case done:
		return ErrClosed
	}
	d.state = running
	return nil
}

// end marks the daemon done once Run has released everything.
func (d *Daemon) end() {
	d.mu.Lock()
	d.state = done
	d.mu.Unlock()
	close(d.done)
}

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
		err := d.System.Close(ctx)
		close(d.done)
		return err
	case running:
		d.once.Do(func() { close(d.stop) })
	}
	d.mu.Unlock()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// processCollectors are the collectors the daemon's /metrics serves beside
// the toolkit's series: the Go runtime's (go_*) and the process's
// (process_*: CPU, memory, open files), as any Go service exports them.
func processCollectors() []prometheus.Collector {
	return []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
}

// newServer returns the HTTP server of the ops API, whose requests' base
// context is streams.
func (d *Daemon) newServer(streams context.Context) *http.Server {
	o := d.cfg.Ops
	opts := d.OpsOptions()
	opts.AllowedHosts = d.cfg.AllowedHosts()
	opts.Collectors = append(opts.Collectors, processCollectors()...)
	return &http.Server{
		Handler:           withBodyDeadline(ops.Handler(opts), orDefault(o.BodyTimeout, system.DefaultBodyTimeout)),
		MaxHeaderBytes:    maxHeaderBytes,
		ReadHeaderTimeout: orDefault(o.ReadHeaderTimeout, system.DefaultReadHeaderTimeout),
		ReadTimeout:       o.ReadTimeout,
		IdleTimeout:       orDefault(o.IdleTimeout, system.DefaultIdleTimeout),
		BaseContext:       func(net.Listener) context.Context { return streams },
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelWarn),
	}
}
