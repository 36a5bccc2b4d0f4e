package tune

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/system"
)

// Local runs game days in this process: for each run a fresh system built
// from Config (its health, recovery, chaos and metering settings; the
// agents' breakers and recovery timings come from the run's Settings), the
// simulated agents and their traffic, and the scenario against them, all
// with the same seed. Scale compresses time: the scenario was shrunk by
// it (Scenario.Scaled) and the settings' durations are multiplied by it
// when installed, so that the results' times, divided by Scale, are those
// of a run at full length.
type Local struct {
	Config   *system.Config     // the system's configuration; nil means system.Default()
	Scenario *scenario.Scenario // required
	Seed     uint64             // 0 means 1
	Scale    float64            // 0 means 1
}

// Run is a Runner: one game day with settings s.
func (l Local) Run(ctx context.Context, s Settings) (*gameday.Result, error) {
	cfg := system.Default()
	if l.Config != nil {
		cfg = l.Config.Clone()
	}
	seed := max(l.Seed, 1)
	cfg.Recovery.Watch = true
	cfg.Recovery.Seed = seed
	cfg.Chaos.Engine.Seed = seed
	cfg.Ops.Token = ""
	cfg.Getenv = func(string) string { return "" }
	if cfg.Metering.Sink == "" {
		cfg.Metering.Sink = "memory"
	}
	sys, err := system.New(*cfg)
	if err != nil {
		return nil, err
	}
	simCfg := agentsim.ScenarioConfig(l.Scenario, l.Scale, seed)
	simCfg.Breaker, simCfg.Recovery = &s.Breaker, &s.Recovery
	sim, err := agentsim.NewSimulation(sys, simCfg)
	if err != nil {
		_ = sys.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	stop := start(ctx, sys, sim)
	res, err := gameday.Run(ctx, gameday.Config{Scenario: l.Scenario, Target: gameday.NewLocalTarget(sys, sim.Traffic()),
		Description: "tuning run, in process", Seed: seed, Scale: l.Scale})
	if serr := stop(); serr != nil && err == nil {
		err = fmt.Errorf("tune: the system stopped with: %w", serr)
	}
	if err != nil {
		return nil, err
	}
	unscale(res, l.Scale)
	return res, nil
}

// start runs sys and the traffic; stop ends the traffic, then the system,
// and returns the system's Run result.
func start(ctx context.Context, sys *system.System, sim *agentsim.Simulation) (stop func() error) {
	sysCtx, stopSys := context.WithCancel(context.WithoutCancel(ctx))
	trafficCtx, stopTraffic := context.WithCancel(context.WithoutCancel(ctx))
	ran := make(chan error, 1)
	go func() { ran <- sys.Run(sysCtx) }()
	<-sys.Started()
	var wg sync.WaitGroup
	wg.Go(func() { _ = sim.Run(trafficCtx) })
	return func() error {
		stopTraffic()
		wg.Wait()
		stopSys()
		if err := <-ran; err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
		return nil
	}
}

// unscale divides the times of r that Measure reads by scale, so that a
// compressed run reports full-length times.
func unscale(r *gameday.Result, scale float64) {
	if scale <= 0 || scale == 1 {
		return
	}
	f := func(d time.Duration) time.Duration { return time.Duration(float64(d) / scale) }
	r.Elapsed, r.SampleInterval = f(r.Elapsed), f(r.SampleInterval)
	for i := range r.Samples {
		r.Samples[i].At = f(r.Samples[i].At)
	}
	for i := range r.Phases {
		p := &r.Phases[i]
		p.TimeToDetect, p.TimeToRecover, p.FaultStart = f(p.TimeToDetect), f(p.TimeToRecover), f(p.FaultStart)
		if p.FaultEnd > 0 {
			p.FaultEnd = f(p.FaultEnd)
		}
	}
}
