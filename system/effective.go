package system

import (
	"maps"
	"slices"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/metering"
	redissink "github.com/antifragile-go/antifragile/metering/redis"
	"github.com/antifragile-go/antifragile/ops"
)

// Effective returns a copy of c with every default in force written out:
// each zero field replaced by the value the system (and the daemon serving
// it) runs with, as each component's own WithDefaults says — the ops
// server's address, token variables, allowed hosts, body limit and
// timeouts; every breaker's, the health aggregator's, the recovery
// orchestrator's and its policies', the chaos engine's, the meter's and the
// bus's settings; the options of the durable sinks and of the spool (in
// force once they are used); the cluster section when cluster mode is on
// (left as it is otherwise). It resolves no token (Ops.Token stays as configured) and
// touches neither the network nor the file system, except that a cluster
// member without an instance name is named after the host.
//
// Two values depend on the machine and are shown as configured defaults:
// ops.max_connections (the daemon lowers 1,024 to the process's open-file
// limit less 64) and, with cluster mode on, cluster.instance (host-pid of
// this process). c is not modified; it need not be valid.
func (c *Config) Effective() *Config {
	e := c.Clone()
	e.ConstitutionalHash = antifragile.HashOrDefault(c.ConstitutionalHash)
	e.effectiveOps()
	own := e.Breakers.Default.ConstitutionalHash
	e.Breakers.Default = e.Breakers.Default.WithDefaults()
	e.Breakers.Default.ConstitutionalHash = e.hash(own)
	for name := range e.Breakers.Named {
		b := e.BreakerConfig(name).WithDefaults()
		b.Name = ""
		e.Breakers.Named[name] = b
	}
	e.Health = e.Health.WithDefaults()
	e.Health.ConstitutionalHash = e.hash(c.Health.ConstitutionalHash)
	e.effectiveRecovery(c)
	hash := e.hash(c.Chaos.Engine.ConstitutionalHash)
	e.Chaos.Engine = e.Chaos.Engine.WithDefaults()
	e.Chaos.Engine.ConstitutionalHash = hash
	e.effectiveMetering(c)
	hash = e.hash(c.Bus.ConstitutionalHash)
	e.Bus = e.Bus.WithDefaults()
	e.Bus.ConstitutionalHash = hash
	if e.Cluster.Enabled() {
		e.effectiveCluster(c)
	}
	return e
}

// hash returns h, or the system's hash when h is empty: what the system
// hands a component without a hash of its own.
func (c *Config) hash(h string) string { return hashOr(h, c.ConstitutionalHash) }

func (c *Config) effectiveOps() {
	o := &c.Ops
	o.Listen = c.ListenAddr()
	o.TokenEnv = c.TokenEnvName()
	if o.ReadTokenEnv == "" {
		o.ReadTokenEnv = DefaultReadTokenEnv
	}
	o.AllowedHosts = slices.Clone(c.AllowedHosts())
	if len(o.ReadyStatuses) == 0 {
		o.ReadyStatuses = ops.DefaultReadyStatuses()
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = ops.DefaultMaxBodyBytes
	}
	o.ReadHeaderTimeout = orDefault(o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	o.IdleTimeout = orDefault(o.IdleTimeout, DefaultIdleTimeout)
	o.BodyTimeout = orDefault(o.BodyTimeout, DefaultBodyTimeout)
	o.ShutdownTimeout = orDefault(o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
}

func (c *Config) effectiveRecovery(orig *Config) {
	r := c.Recovery.WithDefaults()
	r.ConstitutionalHash = c.hash(orig.Recovery.ConstitutionalHash)
	r.DefaultPolicy.ConstitutionalHash = c.hash(orig.Recovery.DefaultPolicy.ConstitutionalHash)
	r.Policies = maps.Clone(r.Policies)
	for name, p := range r.Policies {
		own := p.ConstitutionalHash
		p = p.WithDefaults()
		p.ConstitutionalHash = c.hash(own)
		r.Policies[name] = p
	}
	c.Recovery = r
}

func (c *Config) effectiveMetering(orig *Config) {
	m := &c.Metering
	if m.Sink == "" {
		m.Sink = DefaultSink
	}
	if target, err := ParseSink(m.Sink); err == nil && target.Kind != SinkMemory && !m.Meter.Disabled &&
		m.SpoolDir != "" && m.Meter.FlushInterval == 0 {
		m.Meter.FlushInterval = metering.SpoolFlushInterval // what the system gives a meter in front of a spool
	}
	m.Meter = m.Meter.WithDefaults()
	m.Meter.ConstitutionalHash = c.hash(orig.Metering.Meter.ConstitutionalHash)
	m.CloseTimeout = orDefault(m.CloseTimeout, DefaultCloseTimeout)
	m.SpoolMaxBytes = orDefault(m.SpoolMaxBytes, metering.DefaultSpoolMaxBytes)
	// The in-memory aggregation's defaults are its own: building one makes
	// a map, nothing more.
	if usage, err := metering.NewMemorySink(metering.MemoryConfig{
		Window: m.Meter.AggregationInterval, MaxWindows: m.Memory.MaxWindows, MaxSeries: m.Memory.MaxSeries,
	}); err == nil {
		mc := usage.Config()
		m.Memory = MemorySinkConfig{MaxWindows: mc.MaxWindows, MaxSeries: mc.MaxSeries}
	}
	// The options of both durable sinks, whichever is in use.
	m.File.MaxBytes = orDefault(m.File.MaxBytes, metering.DefaultFileMaxBytes)
	m.File.MaxFiles = orDefault(m.File.MaxFiles, metering.DefaultFileMaxFiles)
	m.Redis.Stream = orDefault(m.Redis.Stream, redissink.DefaultStream)
	m.Redis.KeyPrefix = orDefault(m.Redis.KeyPrefix, redissink.DefaultKeyPrefix)
	m.Redis.MaxLen = orDefault(m.Redis.MaxLen, redissink.DefaultMaxLen)
	m.Redis.BatchTTL = orDefault(m.Redis.BatchTTL, redissink.DefaultBatchTTL)
}

func (c *Config) effectiveCluster(orig *Config) {
	cc := &c.Cluster
	cc.Member = cc.Member.WithDefaults()
	cc.Member.ConstitutionalHash = c.hash(orig.Cluster.Member.ConstitutionalHash)
	cc.Member.Labels = maps.Clone(cc.Member.Labels)
	cc.Member.Quorum = maps.Clone(cc.Member.Quorum)
	nc := cc.NATS
	nc.URL = cc.URL
	nc = nc.WithDefaults()
	nc.URL = "" // the section's url is cluster.url
	cc.NATS = nc
}
