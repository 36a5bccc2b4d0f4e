package agentsim

import (
	"context"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/recovery"
	"github.com/antifragile-go/antifragile/system"
)

// SimConfig configures a Simulation.
type SimConfig struct {
	// Scale multiplies the timings of the agents' breakers and recovery
	// policies, so that a game day shrunk with Scenario.Scaled behaves as
	// the full one does. 0 means 1; negative is invalid.
	Scale float64
	// Traffic configures the load.
	Traffic GeneratorConfig
	// Fallback, with the cascade topology (Traffic.Topology), makes an
	// agent whose call to its downstream failed (its breaker open, or its
	// own failure) go on without it instead of failing.
	Fallback bool
	// Breaker, if set, is the agents' breaker configuration instead of
	// BreakerConfig's, its timings multiplied by Scale like those.
	Breaker *breaker.Config
	// Recovery, if set, gives the agents' recovery policies their attempts,
	// strategy and delays instead of RecoveryPolicy's, the delays
	// multiplied by Scale; the health check (and its timeout) stays the
	// simulation's.
	Recovery *recovery.Policy
}

// breakerConfig is the agents' breaker configuration under cfg.
func (cfg SimConfig) breakerConfig() breaker.Config {
	if cfg.Breaker == nil {
		return BreakerConfig(cfg.Scale)
	}
	c, f := *cfg.Breaker, cfg.Scale
	if f <= 0 {
		f = 1
	}
	for _, d := range []*time.Duration{&c.OpenTimeout, &c.MaxOpenTimeout, &c.HalfOpenTimeout, &c.WindowDuration, &c.SlowCallThreshold} {
		*d = scenario.ScaleDuration(*d, f)
	}
	return c
}

// recoveryPolicy is the recovery policy of an agent under cfg, with the
// health check check.
func (cfg SimConfig) recoveryPolicy(check func(context.Context) error) recovery.Policy {
	p := RecoveryPolicy(cfg.Scale, check)
	if r := cfg.Recovery; r != nil {
		f := cfg.Scale
		if f <= 0 {
			f = 1
		}
		p.MaxRetryAttempts, p.BackoffMultiplier, p.Jitter, p.Strategy = r.MaxRetryAttempts, r.BackoffMultiplier, r.Jitter, r.Strategy
		p.InitialDelay, p.MaxDelay = scenario.ScaleDuration(r.InitialDelay, f), scenario.ScaleDuration(r.MaxDelay, f)
	}
	return p
}

// ScenarioConfig returns the SimConfig of a game day of sc: its traffic's
// rate, tenants, topology and fallback, seeded with seed, the timings
// multiplied by scale.
func ScenarioConfig(sc *scenario.Scenario, scale float64, seed uint64) SimConfig {
	t := sc.Traffic
	return SimConfig{Scale: scale, Fallback: t.Fallback,
		Traffic: GeneratorConfig{Rate: t.Rate, Tenants: t.Tenants, Topology: t.Topology, Seed: seed}}
}

// Simulation is the set of simulated governance agents on a bus, with their
// breakers, health weights and recovery policies, and the traffic between
// them.
type Simulation struct {
	sys     *system.System
	traffic *Generator
	agents  *agents
}

// NewSimulation installs the agents on sys: it creates their breakers in the
// registry (SimConfig.Breaker or BreakerConfig; an existing breaker keeps its
// configuration), sets their health weights (Weights), sets their recovery
// policies (SimConfig.Recovery's timings or RecoveryPolicy, whose health check applies the chaos engine to the agent
// and pings its handler, so that it fails while a fault lasts) and
// registers their handlers on the bus. It starts nothing; Run sends the
// traffic.
func NewSimulation(sys *system.System, cfg SimConfig) (*Simulation, error) {
	if sys == nil {
		return nil, antifragile.Invalid("system", nil, "is required")
	}
	if cfg.Scale < 0 {
		return nil, antifragile.Invalid("scale", cfg.Scale, "must not be negative (0 means 1)")
	}
	tr, err := NewGenerator(sys.Bus(), cfg.Traffic)
	if err != nil {
		return nil, err
	}
	s := &Simulation{sys: sys, traffic: tr, agents: &agents{bus: sys.Bus(), cascade: cfg.Traffic.Topology == scenario.TopologyCascade, fallback: cfg.Fallback}}
	weights := Weights()
	for _, name := range Agents() {
		if _, err := sys.Registry().GetOrCreate(name, cfg.breakerConfig()); err != nil {
			return nil, err
		}
		if err := sys.Health().SetWeight(name, weights[name]); err != nil {
			return nil, err
		}
		h := s.agents.handler(name)
		if err := sys.Recovery().SetPolicy(name, cfg.recoveryPolicy(s.probe(name, h))); err != nil {
			return nil, err
		}
		if err := sys.Bus().Register(name, h); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// probe is the recovery health check of an agent: the chaos engine's faults
// for it, then a ping of its handler.
func (s *Simulation) probe(name string, h bus.Handler) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := s.sys.Chaos().Apply(ctx, name); err != nil {
			return err
		}
		_, err := h(ctx, bus.NewMessage("recovery", name, pingType, nil))
		return err
	}
}

// Traffic returns the simulation's traffic generator.
func (s *Simulation) Traffic() *Generator { return s.traffic }

// System returns the system the simulation runs on.
func (s *Simulation) System() *system.System { return s.sys }

// Run sends the traffic until ctx ends; it blocks and returns after every
// message in flight has ended.
func (s *Simulation) Run(ctx context.Context) error { return s.traffic.Run(ctx) }
