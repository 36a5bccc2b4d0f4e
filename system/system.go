package system

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/redis/go-redis/v9"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/cluster"
	"github.com/antifragile-go/antifragile/cluster/clusternats"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/latency"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/metering/natssink"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
	"github.com/antifragile-go/antifragile/ops"
	"github.com/antifragile-go/antifragile/recovery"
)

// Errors of Run.
var (
	// ErrRunning is returned by Run while another Run of the system runs.
	ErrRunning = errors.New("system: already running")
	// ErrClosed is returned by Run once the system has run or been closed:
	// a System runs once.
	ErrClosed = errors.New("system: closed")
)

// System is every component of the toolkit built from one Config and wired
// together: the breaker registry, the health aggregator over it, the
// recovery orchestrator, the chaos engine, the meter with its sink and the
// in-memory usage aggregation, the agent bus, and the ops API handler over
// them all. New builds it and starts nothing; Run runs every component and,
// when its context ends, stops them in the one correct order. A System runs
// once. Its methods are safe for concurrent use.
type System struct {
	cfg *Config // validated, as built; the hash handed to every component
	log *slog.Logger

	// live is the configuration in force: cfg, then each Reload's live
	// settings over it. It is replaced whole, never modified.
	live     atomic.Pointer[Config]
	tokens   *ops.Tokens // the ops API's tokens, swapped by Reload
	reloadMu sync.Mutex  // serializes Reload
	// write and read are the tokens in force, as resolved; guarded by
	// reloadMu after New.
	write, read string

	reg     *breaker.Registry
	health  *health.Aggregator
	rec     *recovery.Orchestrator
	chaos   *chaos.Engine
	meter   *metering.Meter
	usage   *metering.MemorySink
	sink    func(context.Context) error // closes the durable sink; nil for memory
	spool   *metering.Spool             // between the meter and the durable sink; nil without spool_dir
	jsink   *natssink.Sink              // the durable sink when it is nats://: Run folds its totals
	bus     *bus.Bus
	member  *cluster.Member    // nil unless cluster mode is on
	store   *clusternats.Store // the member's NATS connection
	ledger  *ledger            // the tuning ledger
	trials  trials             // the tuning trial in progress
	opsOpts ops.Options
	handler http.Handler

	started chan struct{} // closed once every component's Run runs

	mu    sync.Mutex
	state int           // guarded by mu: idle, running or done
	stop  chan struct{} // closed by Close to stop Run
	done  chan struct{} // closed once everything is released
	once  sync.Once     // closes stop
}

const (
	idle = iota
	running
	done
)

// New builds a system from cfg: it validates cfg — an invalid one is
// refused with every problem as a *ValidationError naming its JSON path —
// and builds every component, creating the breakers of cfg.Breakers.Named,
// the recovery policies of cfg.Recovery.Policies, and the metering sink (a
// file sink opens its file now; a Redis sink connects on its first write).
// New starts no goroutine. A system that is never run must be closed with
// Close, which delivers what was recorded and closes the sink.
func New(cfg Config) (*System, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("system: invalid configuration:\n%w", err)
	}
	s := &System{
		cfg:     cfg.Clone(),
		log:     cfg.Logger,
		started: make(chan struct{}),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.write, s.read = s.cfg.Token(), s.cfg.ReadToken()
	if err := exposure(s.cfg, s.write, s.log); err != nil {
		return nil, fmt.Errorf("system: invalid configuration:\n%w", err)
	}
	s.tokens = ops.NewTokens(s.write, s.read)
	s.cfg.ConstitutionalHash = antifragile.HashOrDefault(s.cfg.ConstitutionalHash)
	if err := s.build(); err != nil {
		_ = s.shutdown(context.Background(), nil)
		return nil, err
	}
	s.live.Store(s.cfg.Clone())
	return s, nil
}

// build constructs the components in dependency order; on error, the
// caller releases what exists.
func (s *System) build() error {
	steps := []struct {
		name  string
		build func() error
	}{
		{"breakers", s.buildBreakers},
		{"health", s.buildHealth},
		{"recovery", s.buildRecovery},
		{"chaos", s.buildChaos},
		{"metering", s.buildMetering},
		{"bus", s.buildBus},
		{"cluster", s.buildCluster},
		{"tune", s.buildLedger},
	}
	for _, st := range steps {
		if err := st.build(); err != nil {
			return fmt.Errorf("system: %s: %w", st.name, err)
		}
	}
	s.opsOpts = ops.Options{
		Registry:      s.reg,
		Health:        s.health,
		Recovery:      s.rec,
		Chaos:         s.chaos,
		Meter:         s.meter,
		Usage:         s.usage,
		Spool:         s.spool,
		Bus:           s.bus,
		Cluster:       s.member,
		ClusterUsage:  s.clusterUsageSource(),
		Tokens:        s.tokens,
		Tuner:         tuner{s},
		AllowedHosts:  s.cfg.Ops.AllowedHosts,
		ReadyStatuses: s.cfg.Ops.ReadyStatuses,
		MaxBodyBytes:  int64(s.cfg.Ops.MaxBodyBytes),
		Dashboard:     s.cfg.Dashboard,
		Logger:        s.log,
	}
	if s.cfg.Source != nil {
		s.opsOpts.Reloader = sourceReloader{s}
	}
	if err := s.opsOpts.Validate(); err != nil {
		return fmt.Errorf("system: ops: %w", err)
	}
	s.handler = ops.Handler(s.opsOpts)
	return nil
}

// exposure refuses the tokens of cfg (token being the write token it
// resolves) that are too short or malformed, wherever they come from, and
// a listener beyond loopback without a token unless AllowUnauthenticated
// says so (then it warns through log, if not nil).
func exposure(cfg *Config, token string, log *slog.Logger) error {
	var p antifragile.Problems
	if cfg.Ops.Token == "" && token != "" {
		p.Add(checkToken("ops.token_env", token, cfg.TokenEnvName()))
	}
	if rt := cfg.ReadToken(); cfg.Ops.ReadToken == "" && rt != "" {
		p.Add(checkToken("ops.read_token_env", rt, cfg.Ops.ReadTokenEnv))
	}
	if token == "" && !isLoopback(cfg.ListenAddr()) {
		if !cfg.Ops.AllowUnauthenticated {
			p.Invalid("ops.listen", cfg.ListenAddr(), "is not a loopback address and no token is configured: set $%s "+
				"(or ops.token), or set ops.allow_unauthenticated to serve it to everyone who can reach it", cfg.TokenEnvName())
		} else if log != nil {
			log.Warn("the ops API listens beyond loopback without a token: anyone who can reach it reads every tenant's usage",
				"listen", cfg.ListenAddr())
		}
	}
	return p.Err()
}

func (s *System) hash(h string) string { return hashOr(h, s.cfg.ConstitutionalHash) }

func (s *System) buildBreakers() error {
	dflt := s.cfg.Breakers.Default
	dflt.ConstitutionalHash = s.hash(dflt.ConstitutionalHash)
	var err error
	if s.reg, err = breaker.NewRegistry(breaker.RegistryConfig{Default: dflt, ConstitutionalHash: s.cfg.ConstitutionalHash, Logger: s.log}); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(s.cfg.Breakers.Named)) {
		if _, err := s.reg.GetOrCreate(name, s.cfg.BreakerConfig(name)); err != nil {
			return fmt.Errorf("%q: %w", name, err)
		}
	}
	return nil
}

// logger returns l, a component's own Logger, or the system's when l is nil.
func (s *System) logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return s.log
}

func (s *System) buildHealth() error {
	hc := s.cfg.Health
	hc.ConstitutionalHash = s.hash(hc.ConstitutionalHash)
	hc.Logger = s.logger(hc.Logger)
	if hc.Anomaly.Latency == nil {
		// Agents' breakers do not time their calls; the bus does. s.bus is
		// built later in New, before anything collects.
		hc.Anomaly.Latency = func(name string) (latency.Snapshot, bool) {
			if s.bus == nil {
				return latency.Snapshot{}, false
			}
			return s.bus.Latency(name)
		}
	}
	var err error
	s.health, err = health.New(hc, s.reg)
	return err
}

func (s *System) buildRecovery() error {
	rc := s.cfg.Recovery
	rc.ConstitutionalHash = s.hash(rc.ConstitutionalHash)
	rc.Logger = s.logger(rc.Logger)
	rc.DefaultPolicy.ConstitutionalHash = s.hash(rc.DefaultPolicy.ConstitutionalHash)
	rc.Policies = maps.Clone(rc.Policies)
	for name, p := range rc.Policies {
		p.ConstitutionalHash = s.hash(p.ConstitutionalHash)
		rc.Policies[name] = p
	}
	var err error
	s.rec, err = recovery.New(rc, s.reg)
	return err
}

func (s *System) buildChaos() error {
	cc := s.cfg.Chaos.Engine
	cc.ConstitutionalHash = s.hash(cc.ConstitutionalHash)
	cc.Logger = s.logger(cc.Logger)
	if s.cfg.Chaos.StopOnCritical {
		agg := s.health
		cc.StopConditions = append(slices.Clone(cc.StopConditions), chaos.StopCondition{
			Name:  "health status is CRITICAL",
			Check: func() bool { r := agg.Current(); return r != nil && r.Status == health.Critical },
		})
	}
	var err error
	s.chaos, err = chaos.New(cc, s.reg)
	return err
}

func (s *System) buildMetering() error {
	m := s.cfg.Metering
	var err error
	if s.usage, err = metering.NewMemorySink(metering.MemoryConfig{
		Window: m.Meter.AggregationInterval, MaxWindows: m.Memory.MaxWindows, MaxSeries: m.Memory.MaxSeries, BillAll: m.BillAll,
	}); err != nil {
		return err
	}
	var sink metering.Sink = s.usage
	if !m.Meter.Disabled {
		durable, err := s.openSink()
		if err != nil {
			return err
		}
		if durable != nil && m.SpoolDir != "" {
			if s.spool, err = metering.NewSpool(metering.SpoolConfig{
				Dir: m.SpoolDir, Sink: durable, MaxBytes: m.SpoolMaxBytes, Logger: s.log,
			}); err != nil {
				return err
			}
			durable = s.spool
		}
		if durable != nil {
			sink = tee{durable: durable, memory: s.usage}
		}
	}
	mc := m.Meter
	if s.spool != nil && mc.FlushInterval == 0 {
		mc.FlushInterval = metering.SpoolFlushInterval
	}
	mc.ConstitutionalHash = s.hash(mc.ConstitutionalHash)
	mc.Sink, mc.Logger = sink, s.log
	s.meter, err = metering.New(mc)
	return err
}

// openSink opens the durable sink that Metering.Sink names, or returns nil
// for "memory".
func (s *System) openSink() (metering.Sink, error) {
	m := s.cfg.Metering
	target, err := ParseSink(m.Sink)
	if err != nil {
		return nil, fmt.Errorf("sink: %w", err)
	}
	switch target.Kind {
	case SinkFile:
		fs, err := metering.NewFileSink(metering.FileConfig{Path: target.Path, MaxBytes: m.File.MaxBytes, MaxFiles: m.File.MaxFiles})
		if err != nil {
			return nil, fmt.Errorf("file sink: %w", err)
		}
		s.sink = fs.Close
		return fs, nil
	case SinkRedis:
		client := redis.NewClient(target.Redis)
		rs, err := redissink.New(redissink.Config{
			Client: client, Stream: m.Redis.Stream, KeyPrefix: m.Redis.KeyPrefix,
			MaxLen: m.Redis.MaxLen, BatchTTL: m.Redis.BatchTTL, BillAll: m.BillAll,
		})
		if err != nil {
			_ = client.Close()
			return nil, fmt.Errorf("redis sink: %w", err)
		}
		s.sink = func(ctx context.Context) error { return errors.Join(rs.Close(ctx), client.Close()) }
		return rs, nil
	case SinkNATS:
		return s.openNATSSink(target)
	}
	return nil, nil
}

func (s *System) buildBus() error {
	bc := s.cfg.Bus
	bc.ConstitutionalHash = s.hash(bc.ConstitutionalHash)
	bc.Registry, bc.Chaos, bc.Meter = s.reg, s.chaos, s.meter
	bc.Logger = s.logger(bc.Logger)
	var err error
	s.bus, err = bus.New(bc)
	return err
}

// buildCluster joins the cluster when cluster.url is set: it opens the NATS
// connection (which keeps reconnecting in the background until Close, so
// that the instance starts and carries on locally while NATS is down) and
// builds the member over the system's components.
func (s *System) buildCluster() error {
	cc := s.cfg.Cluster
	if !cc.Enabled() {
		return nil
	}
	nc := cc.NATS
	nc.URL = cc.URL
	var err error
	if s.store, err = clusternats.Open(context.Background(), nc); err != nil {
		return err
	}
	mc := cc.Member
	mc.ConstitutionalHash = s.hash(mc.ConstitutionalHash)
	mc.Logger = s.log
	s.member, err = cluster.New(mc, cluster.Sources{Breakers: s.reg, Health: s.health, Chaos: s.chaos, Recovery: s.rec}, s.store)
	return err
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

// Config returns a copy of the configuration in force (validated, its hash
// filled in): the one New was given, with the live settings of every
// successful Reload since (the settings a Reload could not apply keep the
// values New was given). It takes no lock.
func (s *System) Config() *Config { return s.live.Load().Clone() }

// Registry returns the shared breaker registry.
func (s *System) Registry() *breaker.Registry { return s.reg }

// Health returns the health aggregator.
func (s *System) Health() *health.Aggregator { return s.health }

// Recovery returns the recovery orchestrator.
func (s *System) Recovery() *recovery.Orchestrator { return s.rec }

// Chaos returns the chaos engine.
func (s *System) Chaos() *chaos.Engine { return s.chaos }

// Meter returns the meter.
func (s *System) Meter() *metering.Meter { return s.meter }

// Usage returns the in-memory usage aggregation that the ops API serves.
// Whatever the configured sink, every delivered event is aggregated here
// too (after the durable sink accepted it).
func (s *System) Usage() *metering.MemorySink { return s.usage }

// Cluster returns the cluster member, or nil when cluster mode is off.
func (s *System) Cluster() *cluster.Member { return s.member }

// Bus returns the agent bus; register agents on it before or during Run.
func (s *System) Bus() *bus.Bus { return s.bus }

// Handler returns the ops API over the system's components, for an
// http.Server or for mounting under a prefix. It starts nothing.
func (s *System) Handler() http.Handler { return s.handler }

// OpsOptions returns the options Handler was built with, for building a
// handler that differs in some option. Their Tokens is the holder Reload
// swaps, so such a handler follows the reloads too (unless it sets Token or
// ReadToken of its own).
func (s *System) OpsOptions() ops.Options { return s.opsOpts }

// HasToken reports whether a bearer token is in force, that is whether
// the ops API's write routes are enabled (a Reload may change it).
func (s *System) HasToken() bool { return s.tokens.HasWrite() }

// Logger returns the system's logger (a discarding one when Config.Logger
// is nil).
func (s *System) Logger() *slog.Logger { return s.log }
