package promexport

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// Config names the components a Collector reads. It is plain data; only
// Registry is required. A nil component adds none of its series.
type Config struct {
	// Registry is the breaker registry: the breakers' series, and the
	// constitutional hash of antifragile_info. Required.
	Registry *breaker.Registry
	// Health adds the health score, status and breaker counts of its
	// current report (a fresh report while it has collected none).
	Health *health.Aggregator
	// Recovery adds the recovery orchestrator's gauges.
	Recovery *recovery.Orchestrator
	// Chaos adds the chaos engine's counters and gauges.
	Chaos *chaos.Engine
	// Meter adds the meter's counters and gauges.
	Meter *metering.Meter
	// Spool, if the meter delivers through one, adds its backlog.
	Spool *metering.Spool
	// Bus adds the bus's message counters and each agent's delivery-time
	// histogram.
	Bus *bus.Bus
}

// Collector is a prometheus.Collector over the components of a Config. It
// reads every component when scraped (Collect) and keeps no state of its
// own: no goroutine, no cached value. Every series it exports is described
// by Describe, so it suits a pedantic registry. It is safe for concurrent
// use.
type Collector struct {
	cfg   Config
	descs []*prometheus.Desc // every Desc, in the order made

	info *prometheus.Desc
	br   breakerDescs
	hl   healthDescs
	rec  recoveryDescs
	ch   chaosDescs
	mt   meterDescs
	sp   spoolDescs
	bs   busDescs
}

var _ prometheus.Collector = (*Collector)(nil)

// New returns a Collector over the components of cfg, or a
// *antifragile.ValidationError naming "registry" when cfg.Registry is nil.
// It starts nothing and reads no component yet.
func New(cfg Config) (*Collector, error) {
	if cfg.Registry == nil {
		return nil, antifragile.Invalid("registry", nil, "is required")
	}
	c := &Collector{cfg: cfg}
	c.info = c.desc("info", "Always 1; labels carry the version and the constitutional hash.", "version", "constitutional_hash")
	c.br = newBreakerDescs(c.desc)
	c.hl = newHealthDescs(c.desc)
	c.rec = newRecoveryDescs(c.desc)
	c.ch = newChaosDescs(c.desc)
	c.mt = newMeterDescs(c.desc)
	c.sp = newSpoolDescs(c.desc)
	c.bs = newBusDescs(c.desc)
	return c, nil
}

// descFunc makes the Desc of the series antifragile_<name>.
type descFunc func(name, help string, labels ...string) *prometheus.Desc

// desc makes the Desc of antifragile_<name> and remembers it for Describe.
func (c *Collector) desc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc("antifragile_"+name, help, labels, nil)
	c.descs = append(c.descs, d)
	return d
}

// Describe sends the Desc of every series the Collector can export,
// whichever components its Config names. It implements
// prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

// Collect reads every component of the Config now and sends its series. It
// implements prometheus.Collector; it takes the components' own locks
// briefly, as their Metrics and Status methods do, and never blocks on
// anything else.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	w := writer(ch)
	cfg := c.cfg
	w.gauge(c.info, 1, antifragile.Version, cfg.Registry.ConstitutionalHash())
	c.br.collect(w, cfg.Registry)
	if h := cfg.Health; h != nil {
		c.hl.collect(w, currentReport(h))
	}
	if o := cfg.Recovery; o != nil {
		c.rec.collect(w, o.Status())
	}
	if e := cfg.Chaos; e != nil {
		c.ch.collect(w, e.Metrics())
	}
	if m := cfg.Meter; m != nil {
		c.mt.collect(w, m.Metrics())
	}
	if s := cfg.Spool; s != nil {
		c.sp.collect(w, s.Metrics())
	}
	if b := cfg.Bus; b != nil {
		c.bs.collect(w, b.Metrics(), b.Latencies())
	}
}

// currentReport returns the aggregator's last collected report, or a fresh
// one while it has collected none.
func currentReport(h *health.Aggregator) *health.Report {
	if rep := h.Current(); !rep.Timestamp.IsZero() {
		return rep
	}
	return h.Report()
}
