package agentsim

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
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
	// Local names the agents that live in this process: their handlers
	// are registered on the bus (serving them to other processes is the
	// caller's: busnats.Transport.Serve). Empty means all six (Agents).
	// Each must be one of Agents, once.
	Local []string
	// Remote reaches the agents left out of Local, which the bus sends to
	// through its Transport: their recovery policies' health check applies
	// the chaos engine to the link to the agent (Remote.Link) and then
	// Remote.HealthCheck(agent). Required when Local leaves an agent out;
	// a *busnats.Transport is one. A typed nil is invalid.
	Remote RemoteAgents
}

// RemoteAgents reaches agents of other processes: the chaos target of the
// link to one, and a health check of it. *busnats.Transport implements it.
type RemoteAgents interface {
	// Link returns the chaos target of the link to agent (see
	// bus.Transport).
	Link(agent string) string
	// HealthCheck returns a check that fails while no process serves
	// agent.
	HealthCheck(agent string) func(context.Context) error
}

// local returns the agents of cfg that live in this process, checked: the
// problems name the field "local", or "remote" when some agent has no way
// to be reached.
func (cfg SimConfig) local() (map[string]bool, error) {
	var p antifragile.Problems
	here := make(map[string]bool, len(Agents()))
	for i, name := range cfg.Local {
		field := fmt.Sprintf("local[%d]", i)
		switch {
		case !slices.Contains(Agents(), name):
			p.Invalid(field, name, "must be one of %s", strings.Join(Agents(), ", "))
		case here[name]:
			p.Invalid(field, name, "is listed twice")
		}
		here[name] = true
	}
	p.Add(nilcheck.Optional("remote", cfg.Remote))
	if len(cfg.Local) == 0 {
		for _, name := range Agents() {
			here[name] = true
		}
	} else if cfg.Remote == nil && len(here) < len(Agents()) {
		p.Invalid("remote", nil, "is required when local leaves agents out (they are reached through the bus's transport)")
	}
	return here, p.Err()
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
	local   []string // the agents registered on the bus, in Agents order
}

// NewSimulation installs the agents on sys: it creates their breakers in the
// registry (SimConfig.Breaker or BreakerConfig; an existing breaker keeps its
// configuration), sets their health weights (Weights), sets their recovery
// policies (SimConfig.Recovery's timings or RecoveryPolicy, whose health
// check applies the chaos engine to the agent and pings its handler — or,
// for an agent of another process, applies it to the agent's link and
// checks the agent through SimConfig.Remote — so that it fails while a
// fault lasts) and registers the handlers of the local agents
// (SimConfig.Local) on the bus. Every agent has its breaker, weight and
// policy, local or not: a remote one's breaker is the sender's. It starts
// nothing; Run sends the traffic.
func NewSimulation(sys *system.System, cfg SimConfig) (*Simulation, error) {
	if sys == nil {
		return nil, antifragile.Invalid("system", nil, "is required")
	}
	if cfg.Scale < 0 {
		return nil, antifragile.Invalid("scale", cfg.Scale, "must not be negative (0 means 1)")
	}
	here, err := cfg.local()
	if err != nil {
		return nil, err
	}
	tr, err := NewGenerator(sys.Bus(), cfg.Traffic)
	if err != nil {
		return nil, err
	}
	s := &Simulation{sys: sys, traffic: tr, agents: &agents{bus: sys.Bus(), cascade: cfg.Traffic.Topology == scenario.TopologyCascade, fallback: cfg.Fallback}}
	for _, name := range Agents() {
		if err := s.install(name, cfg, here[name]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// install gives the agent name its breaker, weight and recovery policy
// and, when it is local, registers its handler.
func (s *Simulation) install(name string, cfg SimConfig, local bool) error {
	sys := s.sys
	if _, err := sys.Registry().GetOrCreate(name, cfg.breakerConfig()); err != nil {
		return err
	}
	if err := sys.Health().SetWeight(name, Weights()[name]); err != nil {
		return err
	}
	h := s.agents.handler(name)
	check := s.remoteProbe(name, cfg.Remote)
	if local {
		check = s.probe(name, h)
	}
	if err := sys.Recovery().SetPolicy(name, cfg.recoveryPolicy(check)); err != nil {
		return err
	}
	if !local {
		return nil
	}
	s.local = append(s.local, name)
	return sys.Bus().Register(name, h)
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

// remoteProbe is the recovery health check of an agent of another
// process: the chaos engine's faults for the link to it, then r's check
// that a process serves it.
func (s *Simulation) remoteProbe(name string, r RemoteAgents) func(context.Context) error {
	if r == nil {
		return nil
	}
	link, check := r.Link(name), r.HealthCheck(name)
	return func(ctx context.Context) error {
		if err := s.sys.Chaos().Apply(ctx, link); err != nil {
			return err
		}
		return check(ctx)
	}
}

// Local returns the agents whose handlers the simulation registered on
// the bus (SimConfig.Local), in the order of Agents.
func (s *Simulation) Local() []string { return slices.Clone(s.local) }

// Traffic returns the simulation's traffic generator.
func (s *Simulation) Traffic() *Generator { return s.traffic }

// System returns the system the simulation runs on.
func (s *Simulation) System() *system.System { return s.sys }

// Run sends the traffic until ctx ends; it blocks and returns after every
// message in flight has ended.
func (s *Simulation) Run(ctx context.Context) error { return s.traffic.Run(ctx) }
