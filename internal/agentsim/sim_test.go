package agentsim_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/system"
)

// TestSimulation_traffic: the agents answer the traffic on a system's bus,
// every message sent is delivered or failed, and each is metered.
func TestSimulation_traffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sys, err := system.New(system.Config{Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		sim, err := agentsim.NewSimulation(sys, agentsim.SimConfig{Traffic: agentsim.GeneratorConfig{Rate: 200, Seed: 1}})
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range agentsim.Agents() {
			if _, ok := sys.Registry().Get(name); !ok {
				t.Fatalf("agent %s has no breaker", name)
			}
		}
		ctx, stop := context.WithCancel(context.Background())
		ran := make(chan error, 1)
		go func() { ran <- sys.Run(ctx) }()
		<-sys.Started()
		tctx, stopTraffic := context.WithTimeout(context.Background(), 2*time.Second)
		defer stopTraffic()
		if err := sim.Run(tctx); err != nil {
			t.Fatal(err)
		}
		stop()
		if err := <-ran; err != nil {
			t.Fatal(err)
		}
		m := sim.Traffic().Metrics()
		if m.Delivered == 0 || m.Failed != 0 {
			t.Fatalf("traffic %+v: want deliveries and no failure on a healthy system", m)
		}
		var metered, tokens int64
		for _, u := range sys.Usage().Totals() {
			metered += u.Count
			tokens += u.Tokens
		}
		if metered < int64(m.Delivered) {
			t.Fatalf("metered %d of %d delivered messages", metered, m.Delivered)
		}
		// Each agent reports the tokens it processed (issue 14: the usage
		// said 0 tokens whatever the traffic).
		if tokens < 8*metered {
			t.Fatalf("metered %d tokens for %d messages, want at least 8 each", tokens, metered)
		}
	})
}
