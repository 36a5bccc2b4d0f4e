package gameday

import (
	"context"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/bus"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/metering"
	"github.com/antifragile-go/antifragile/recovery"
)

// UsageSource reports metered usage per tenant; *metering.MemorySink
// implements it.
type UsageSource interface {
	Totals() []metering.Usage
}

// Components are the parts of a running system that a simulation and a
// LocalTarget use. They are built and run by their owner (a daemon, or
// Local).
type Components struct {
	// Registry holds the agents' breakers. Required.
	Registry *breaker.Registry
	// Health scores the breakers. Required.
	Health *health.Aggregator
	// Recovery, if set, gets a policy per agent whose health check probes
	// the agent.
	Recovery *recovery.Orchestrator
	// Chaos injects the faults. Required by targets; a simulation without
	// it cannot be disturbed.
	Chaos *chaos.Engine
	// Meter, if set, is flushed before each observation so that the
	// metered counts are current.
	Meter *metering.Meter
	// Usage, if set, reports the metered events per tenant.
	Usage UsageSource
	// Bus carries the agents' messages. Required by simulations.
	Bus *bus.Bus
}

func (c Components) validate(target bool) error {
	var p antifragile.Problems
	if c.Registry == nil {
		p.Invalid("registry", nil, "is required")
	}
	if c.Health == nil {
		p.Invalid("health", nil, "is required")
	}
	if target && c.Chaos == nil {
		p.Invalid("chaos", nil, "is required")
	}
	if !target && c.Bus == nil {
		p.Invalid("bus", nil, "is required")
	}
	return p.Err()
}

// SimConfig configures a Simulation.
type SimConfig struct {
	// Scale multiplies the timings of the agents' breakers and recovery
	// policies, so that a game day shrunk with Scenario.Scaled behaves as
	// the full one does. 0 means 1; negative is invalid.
	Scale float64
	// Traffic configures the load.
	Traffic GeneratorConfig
}

// Simulation is the set of simulated governance agents on a bus, with their
// breakers, health weights and recovery policies, and the traffic between
// them.
type Simulation struct {
	c       Components
	traffic *Generator
	agents  *agents
}

// NewSimulation installs the agents on c: it creates their breakers in the
// registry (BreakerConfig; an existing breaker keeps its configuration),
// sets their health weights (Weights), sets their recovery policies
// (RecoveryPolicy, whose health check applies the chaos engine to the agent
// and pings its handler, so that it fails while a fault lasts) and
// registers their handlers on the bus. It starts nothing; Run sends the
// traffic.
func NewSimulation(c Components, cfg SimConfig) (*Simulation, error) {
	if err := c.validate(false); err != nil {
		return nil, err
	}
	if cfg.Scale < 0 {
		return nil, antifragile.Invalid("scale", cfg.Scale, "must not be negative (0 means 1)")
	}
	tr, err := NewGenerator(c.Bus, cfg.Traffic)
	if err != nil {
		return nil, err
	}
	s := &Simulation{c: c, traffic: tr, agents: &agents{}}
	weights := Weights()
	for _, name := range Agents() {
		if _, err := c.Registry.GetOrCreate(name, BreakerConfig(cfg.Scale)); err != nil {
			return nil, err
		}
		if err := c.Health.SetWeight(name, weights[name]); err != nil {
			return nil, err
		}
		h := s.agents.handler(name)
		if c.Recovery != nil {
			if err := c.Recovery.SetPolicy(name, RecoveryPolicy(cfg.Scale, s.probe(name, h))); err != nil {
				return nil, err
			}
		}
		if err := c.Bus.Register(name, h); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// probe is the recovery health check of an agent: the chaos engine's faults
// for it, then a ping of its handler.
func (s *Simulation) probe(name string, h bus.Handler) func(context.Context) error {
	return func(ctx context.Context) error {
		if s.c.Chaos != nil {
			if err := s.c.Chaos.Apply(ctx, name); err != nil {
				return err
			}
		}
		_, err := h(ctx, bus.NewMessage("recovery", name, pingType, nil))
		return err
	}
}

// Traffic returns the simulation's traffic generator.
func (s *Simulation) Traffic() *Generator { return s.traffic }

// Target returns a LocalTarget over the simulation's components (Chaos is
// required).
func (s *Simulation) Target() (*LocalTarget, error) { return NewLocalTarget(s.c, s.traffic) }

// Run sends the traffic until ctx ends; it blocks and returns after every
// message in flight has ended.
func (s *Simulation) Run(ctx context.Context) error { return s.traffic.Run(ctx) }

// LocalConfig configures a Local system.
type LocalConfig struct {
	// Scale multiplies the breakers' and recovery policies' timings (see
	// SimConfig.Scale). 0 means 1.
	Scale float64
	// Seed makes the injected errors and the traffic reproducible. 0 means
	// random.
	Seed uint64
	// Traffic configures the load; its Seed defaults to Seed.
	Traffic GeneratorConfig
}

// Local is a whole system in this process, built from the domain packages
// with in-memory metering flushed every 100 ms: registry, health aggregator, recovery
// orchestrator (watching the registry), chaos engine, meter, bus and the
// simulation. It is what a game day runs against in tests; the demo uses
// the daemon instead.
type Local struct {
	c    Components
	sim  *Simulation
	sink *metering.MemorySink
}

// NewLocal builds a Local system; it starts nothing.
func NewLocal(cfg LocalConfig) (*Local, error) {
	reg, err := breaker.NewRegistry(breaker.RegistryConfig{Default: BreakerConfig(cfg.Scale)})
	if err != nil {
		return nil, err
	}
	agg, err := health.New(health.Config{}, reg)
	if err != nil {
		return nil, err
	}
	rec, err := recovery.New(recovery.Config{Watch: true, MaxConcurrent: 4, Seed: cfg.Seed}, reg)
	if err != nil {
		_ = agg.Close(context.Background())
		return nil, err
	}
	eng, err := chaos.New(chaos.Config{Seed: cfg.Seed}, reg)
	if err != nil {
		_ = agg.Close(context.Background())
		return nil, err
	}
	sink, err := metering.NewMemorySink(metering.MemoryConfig{})
	if err != nil {
		_ = agg.Close(context.Background())
		return nil, err
	}
	meter, err := metering.New(metering.Config{Sink: sink, FlushInterval: 100 * time.Millisecond})
	if err != nil {
		_ = agg.Close(context.Background())
		return nil, err
	}
	b, err := bus.New(bus.Config{Registry: reg, Chaos: eng, Meter: meter})
	if err != nil {
		_ = agg.Close(context.Background())
		return nil, err
	}
	c := Components{Registry: reg, Health: agg, Recovery: rec, Chaos: eng, Meter: meter, Usage: sink, Bus: b}
	tc := cfg.Traffic
	if tc.Seed == 0 {
		tc.Seed = cfg.Seed
	}
	sim, err := NewSimulation(c, SimConfig{Scale: cfg.Scale, Traffic: tc})
	if err != nil {
		_ = agg.Close(context.Background())
		return nil, err
	}
	return &Local{c: c, sim: sim, sink: sink}, nil
}

// Components returns the system's components.
func (l *Local) Components() Components { return l.c }

// Simulation returns the system's simulation.
func (l *Local) Simulation() *Simulation { return l.sim }

// Target returns a LocalTarget over the system.
func (l *Local) Target() *LocalTarget {
	t, _ := l.sim.Target() // Chaos is set
	return t
}

// Run runs every component and the traffic until ctx ends, then stops the
// chaos engine (every fault ends), the traffic, the components, and closes
// the meter (delivering what is queued). It blocks and returns only after
// everything it started has exited; it returns the first error of a
// component that failed to run.
func (l *Local) Run(ctx context.Context) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	keep := func(err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
		}
	}
	wg.Go(func() { keep(l.c.Health.Run(ctx)) })
	wg.Go(func() { keep(l.c.Recovery.Run(ctx)) })
	wg.Go(func() { keep(l.c.Chaos.Run(ctx)) })
	wg.Go(func() { keep(l.c.Meter.Run(ctx)) })
	wg.Go(func() { keep(l.c.Bus.Run(ctx)) })
	wg.Go(func() { keep(l.sim.Run(ctx)) })
	<-ctx.Done()
	l.c.Chaos.EmergencyStop()
	wg.Wait()
	closeCtx := context.WithoutCancel(ctx)
	keep(l.c.Chaos.Close(closeCtx))
	keep(l.c.Meter.Close(closeCtx))
	keep(l.c.Health.Close(closeCtx))
	return first
}
