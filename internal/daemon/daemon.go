package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/config"
	"github.com/antifragile-go/antifragile/metering"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/redis/go-redis/v9"
)

// Defaults of the timeouts whose config field is zero.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultCloseTimeout      = 30 * time.Second
)

// Errors of Run.
var (
	// ErrRunning is returned by Run while another Run of the daemon runs.
	ErrRunning = errors.New("daemon: already running")
	// ErrClosed is returned by Run once the daemon has run or been closed:
	// a Daemon runs once.
	ErrClosed = errors.New("daemon: closed")
)

// Option adjusts what New builds.
type Option func(*options)

type options struct {
	logger    *slog.Logger
	dashboard http.Handler
	getenv    func(string) string
}

// WithLogger sets the logger of the daemon and of its meter, ops API and
// HTTP server. The default discards everything.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithDashboard sets the handler the ops API serves at GET / (and its
// assets). The default answers GET / with a JSON index of the routes.
func WithDashboard(h http.Handler) Option { return func(o *options) { o.dashboard = h } }

// WithGetenv sets how the ops token's environment variable is read. The
// default is os.Getenv.
func WithGetenv(fn func(string) string) Option { return func(o *options) { o.getenv = fn } }

// Daemon is a whole running antifragile system built from one config.File:
// the breaker registry, the health aggregator, the recovery orchestrator,
// the chaos engine, the meter with its sink, the agent bus and the ops HTTP
// API over them. New builds it and starts nothing; Run runs it until its
// context ends and then shuts it down in order. A Daemon runs once. Its
// methods are safe for concurrent use.
type Daemon struct {
	cfg     *config.File
	log     *slog.Logger
	token   string
	reg     *breaker.Registry
	agg     *health.Aggregator
	rec     *recovery.Orchestrator
	eng     *chaos.Engine
	meter   *metering.Meter
	usage   *metering.MemorySink
	sink    closer // the durable sink (file or Redis); nil for memory
	bus     *bus.Bus
	handler http.Handler

	ready chan struct{} // closed once the listener is up
	addr  atomic.Pointer[string]

	mu       sync.Mutex
	state    int           // guarded by mu: idle, running or done
	stopping bool          // guarded by mu: stop is closed
	stop     chan struct{} // closed by Close to stop Run
	done     chan struct{} // closed once everything is released
}

const (
	idle = iota
	running
	done
)

// closer releases a durable sink.
type closer func(ctx context.Context) error

// New builds a daemon from cfg (nil means config.Default()): it validates
// cfg — an invalid one is refused with every problem as a
// *config.ValidationError naming its JSON path — and builds every
// component, creating the breakers of cfg.Breakers.Named, setting the
// recovery policies, opening the metering sink (a file sink opens its file
// now; a Redis sink connects on its first write). New starts no goroutine.
// A daemon that is never run must be closed with Close.
func New(cfg *config.File, opts ...Option) (*Daemon, error) {
	if cfg == nil {
		cfg = config.Default()
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("daemon: invalid configuration:\n%w", err)
	}
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	d := &Daemon{cfg: cfg.Clone(), log: o.logger, ready: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	d.token = d.cfg.Token(o.getenv)
	if err := d.build(o); err != nil {
		_ = d.release(context.Background())
		return nil, err
	}
	return d, nil
}

// build constructs the components; on error, release frees what exists.
func (d *Daemon) build(o options) error {
	cfg := d.cfg
	var err error
	if d.reg, err = breaker.NewRegistry(cfg.RegistryConfig()); err != nil {
		return fmt.Errorf("daemon: breakers: %w", err)
	}
	names := make([]string, 0, len(cfg.Breakers.Named))
	for name := range cfg.Breakers.Named {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := d.reg.GetOrCreate(name, cfg.BreakerConfig(name)); err != nil {
			return fmt.Errorf("daemon: breaker %q: %w", name, err)
		}
	}
	if d.agg, err = health.New(cfg.HealthConfig(), d.reg); err != nil {
		return fmt.Errorf("daemon: health: %w", err)
	}
	if d.rec, err = recovery.New(cfg.RecoveryConfig(), d.reg); err != nil {
		return fmt.Errorf("daemon: recovery: %w", err)
	}
	for name, p := range cfg.Policies() {
		if err := d.rec.SetPolicy(name, p); err != nil {
			return fmt.Errorf("daemon: recovery policy %q: %w", name, err)
		}
	}
	cc := cfg.ChaosConfig()
	if cfg.Chaos.StopOnCritical {
		agg := d.agg
		cc.StopConditions = append(cc.StopConditions, chaos.StopCondition{
			Name:  "health status is CRITICAL",
			Check: func() bool { r := agg.Current(); return r != nil && r.Status == health.Critical },
		})
	}
	if d.eng, err = chaos.New(cc, d.reg); err != nil {
		return fmt.Errorf("daemon: chaos: %w", err)
	}
	if d.usage, err = metering.NewMemorySink(cfg.MemoryConfig()); err != nil {
		return fmt.Errorf("daemon: metering: %w", err)
	}
	var sink metering.Sink = d.usage
	if !cfg.Metering.Disabled {
		durable, err := d.openSink()
		if err != nil {
			return err
		}
		if durable != nil {
			sink = tee{durable: durable, memory: d.usage}
		}
	}
	mc := cfg.MeterConfig()
	mc.Sink = sink
	mc.Logger = d.log
	if d.meter, err = metering.New(mc); err != nil {
		return fmt.Errorf("daemon: metering: %w", err)
	}
	bc := cfg.BusConfig()
	bc.Registry, bc.Chaos, bc.Meter = d.reg, d.eng, d.meter
	if d.bus, err = bus.New(bc); err != nil {
		return fmt.Errorf("daemon: bus: %w", err)
	}
	d.handler = ops.Handler(ops.Options{
		Registry:      d.reg,
		Health:        d.agg,
		Recovery:      d.rec,
		Chaos:         d.eng,
		Meter:         d.meter,
		Usage:         d.usage,
		Bus:           d.bus,
		Token:         d.token,
		ReadyStatuses: cfg.Ops.ReadyStatuses,
		MaxBodyBytes:  int64(cfg.Ops.MaxBodyBytes),
		Dashboard:     o.dashboard,
		Logger:        d.log,
	})
	return nil
}

// openSink opens the durable sink that cfg.Metering.Sink names, or returns
// nil for "memory".
func (d *Daemon) openSink() (metering.Sink, error) {
	m := d.cfg.Metering
	target, err := d.cfg.SinkTarget()
	if err != nil {
		return nil, fmt.Errorf("daemon: metering.sink: %w", err)
	}
	switch target.Kind {
	case config.SinkFile:
		fs, err := metering.NewFileSink(metering.FileConfig{
			Path: target.Path, MaxBytes: antifragile.ByteSize(m.File.MaxBytes), MaxFiles: m.File.MaxFiles,
		})
		if err != nil {
			return nil, fmt.Errorf("daemon: metering file sink: %w", err)
		}
		d.sink = fs.Close
		return fs, nil
	case config.SinkRedis:
		client := redis.NewClient(target.Redis)
		rs, err := redissink.New(redissink.Config{
			Client: client, Stream: m.Redis.Stream, KeyPrefix: m.Redis.KeyPrefix,
			MaxLen: m.Redis.MaxLen, BatchTTL: m.Redis.BatchTTL.D(), BillAll: m.BillAll,
		})
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("daemon: metering redis sink: %w", err)
		}
		d.sink = func(context.Context) error { return errors.Join(rs.Close(), client.Close()) }
		return rs, nil
	default:
		return nil, nil
	}
}

// tee writes each batch to the durable sink and, once that succeeded, to
// the in-memory aggregation, so that a batch the meter re-sends is counted
// in memory once.
type tee struct {
	durable metering.Sink
	memory  *metering.MemorySink
}

func (t tee) Write(ctx context.Context, events []metering.Event) error {
	if err := t.durable.Write(ctx, events); err != nil {
		return err
	}
	return t.memory.Write(ctx, events)
}

// Config returns a copy of the daemon's configuration.
func (d *Daemon) Config() *config.File { return d.cfg.Clone() }

// Registry returns the shared breaker registry.
func (d *Daemon) Registry() *breaker.Registry { return d.reg }

// Health returns the health aggregator.
func (d *Daemon) Health() *health.Aggregator { return d.agg }

// Recovery returns the recovery orchestrator.
func (d *Daemon) Recovery() *recovery.Orchestrator { return d.rec }

// Chaos returns the chaos engine.
func (d *Daemon) Chaos() *chaos.Engine { return d.eng }

// Meter returns the meter.
func (d *Daemon) Meter() *metering.Meter { return d.meter }

// Bus returns the agent bus; register agents on it before or during Run.
func (d *Daemon) Bus() *bus.Bus { return d.bus }

// Usage returns the in-memory usage aggregation that the ops API serves.
// Whatever the configured sink, every delivered event is aggregated here
// too (after the durable sink accepted it).
func (d *Daemon) Usage() *metering.MemorySink { return d.usage }

// Handler returns the ops API handler that Run serves, for mounting
// elsewhere or for tests.
func (d *Daemon) Handler() http.Handler { return d.handler }

// HasToken reports whether a bearer token was configured, that is whether
// the ops API's write routes are enabled.
func (d *Daemon) HasToken() bool { return d.token != "" }

// Ready returns a channel closed once Run's listener is up (Addr is then
// set). It is never closed if Run fails before listening, so wait on Run's
// result as well.
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

// URL returns "http://" + Addr(), or "" before Ready.
func (d *Daemon) URL() string {
	if a := d.Addr(); a != "" {
		return "http://" + a
	}
	return ""
}
