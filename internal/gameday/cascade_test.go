package gameday_test

import (
	"context"
	"sync"
	"testing"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/system"
)

// runBuiltin runs the built-in game day name shrunk by f, with fallback
// set as given, on a fresh local system, and returns the judged result.
func runBuiltin(t *testing.T, name string, f float64, fallback bool) *gameday.Result {
	t.Helper()
	full, err := scenario.Builtin(name)
	if err != nil {
		t.Fatal(err)
	}
	full.Traffic.Fallback = fallback
	sc, scale := full.Scaled(scenario.ScaleDuration(full.Total(), f))
	sys, err := system.New(localConfig(scale, 5))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := agentsim.NewSimulation(sys, agentsim.ScenarioConfig(sc, scale, 5))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- sys.Run(ctx) }()
	<-sys.Started()
	var wg sync.WaitGroup
	tctx, stopTraffic := context.WithCancel(context.Background())
	wg.Go(func() { _ = sim.Run(tctx) })
	res, err := gameday.Run(context.Background(), gameday.Config{Scenario: sc, Target: gameday.NewLocalTarget(sys, sim.Traffic()), Scale: scale})
	stopTraffic()
	wg.Wait()
	cancel()
	if rerr := <-ran; rerr != nil && rerr != context.Canceled {
		t.Errorf("system: %v", rerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestCascade: a crash of validator, downstream of policy_engine and
// proposer in the cascade topology, opens all three breakers (in that
// order, the report says so, not contained) — unless the callers fall
// back, when validator's alone opens.
func TestCascade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs two game days")
	}
	phase := func(r *gameday.Result) gameday.PhaseResult {
		for _, p := range r.Phases {
			if p.Name == "validator-crash" {
				return p
			}
		}
		t.Fatal("no validator-crash phase")
		return gameday.PhaseResult{}
	}
	t.Run("spreads up the calls", func(t *testing.T) {
		p := phase(runBuiltin(t, "cascade", 0.25, false))
		var names []string
		for _, o := range p.Opened {
			names = append(names, o.Breaker)
		}
		if len(names) < 3 || names[0] != agentsim.Validator || p.Contained {
			t.Fatalf("opened %v, contained %v: want validator first, then its callers, not contained", names, p.Contained)
		}
		for _, want := range []string{agentsim.PolicyEngine, agentsim.Proposer} {
			found := false
			for _, n := range names {
				found = found || n == want
			}
			if !found {
				t.Errorf("%s did not open: %v", want, names)
			}
		}
	})
	t.Run("contained when the callers fall back", func(t *testing.T) {
		p := phase(runBuiltin(t, "cascade", 0.25, true))
		if len(p.Opened) != 1 || p.Opened[0].Breaker != agentsim.Validator || !p.Contained {
			t.Fatalf("opened %+v, contained %v: want validator alone", p.Opened, p.Contained)
		}
	})
}
