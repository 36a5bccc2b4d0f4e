package gameday_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/system"
)

// local is a whole system in this process with the simulated agents on its
// bus, running until the test ends: what a game day runs against in tests.
type local struct {
	*system.System
	sim *agentsim.Simulation
}

// localConfig is the configuration of a local system: in-memory metering
// flushed every 100 ms, a recovery orchestrator watching the registry,
// seeded chaos, and the agents' breaker config as every breaker's default.
func localConfig(scale float64, seed uint64) system.Config {
	var cfg system.Config
	cfg.Breakers.Default = agentsim.BreakerConfig(scale)
	cfg.Recovery.Watch = true
	cfg.Recovery.MaxConcurrent = 4
	cfg.Recovery.Seed = seed
	cfg.Chaos.Engine.Seed = seed
	cfg.Metering.Meter.FlushInterval = 100 * time.Millisecond
	cfg.Getenv = func(string) string { return "" }
	return cfg
}

// newLocal builds a local system and the simulation on it; start runs them.
func newLocal(t testing.TB, scale float64, seed uint64, traffic agentsim.GeneratorConfig) *local {
	t.Helper()
	sys, err := system.New(localConfig(scale, seed))
	if err != nil {
		t.Fatal(err)
	}
	if traffic.Seed == 0 {
		traffic.Seed = seed
	}
	sim, err := agentsim.NewSimulation(sys, agentsim.SimConfig{Scale: scale, Traffic: traffic})
	if err != nil {
		_ = sys.Close(context.Background())
		t.Fatal(err)
	}
	return &local{System: sys, sim: sim}
}

// start runs the system and the traffic until the returned stop is called
// (or the test ends): stop ends the traffic first, then the system, and
// returns the system's result.
func (l *local) start(t testing.TB) (stop func() error) {
	t.Helper()
	sysCtx, stopSys := context.WithCancel(context.Background())
	trafficCtx, stopTraffic := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- l.Run(sysCtx) }()
	<-l.Started()
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.sim.Run(trafficCtx) })
	var once sync.Once
	var result error
	stop = func() error {
		once.Do(func() {
			stopTraffic()
			wg.Wait()
			stopSys()
			result = <-ran
		})
		return result
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("the local system stopped with: %v", err)
		}
	})
	return stop
}
