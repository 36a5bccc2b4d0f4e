package agentsim_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/natstest"
	"github.com/antifragile-go/antifragile/internal/servertest"
	"github.com/antifragile-go/antifragile/system"
)

// node is one side of a simulation split over two systems: its system
// (running), its transport and its simulation.
type node struct {
	sys *system.System
	tr  *busnats.Transport
	sim *agentsim.Simulation
}

// startNode runs a system whose bus reaches the agents it does not host
// through a busnats transport on url, installs the simulation with local
// agents and serves them.
func startNode(t *testing.T, url, process string, traffic agentsim.GeneratorConfig, local ...string) *node {
	t.Helper()
	tr, err := busnats.New(busnats.Config{URL: url, Process: process})
	if err != nil {
		t.Fatal(err)
	}
	cfg := system.Config{Getenv: func(string) string { return "" }}
	cfg.Bus.Transport = tr
	sys, err := system.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := agentsim.NewSimulation(sys, agentsim.SimConfig{Local: local, Remote: tr, Traffic: traffic})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range sim.Local() {
		if err := tr.Serve(sys.Bus(), a); err != nil {
			t.Fatal(err)
		}
	}
	if err := tr.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = sys.Run(ctx) })
	<-sys.Started()
	t.Cleanup(func() {
		_ = tr.Close(context.Background())
		stop()
		wg.Wait()
	})
	return &node{sys: sys, tr: tr, sim: sim}
}

// TestSimulation_acrossProcesses: the agents split over two systems on a
// real nats-server answer the traffic of one of them correctly (the
// proposals and replies cross as JSON), and the recovery health check of
// a remote agent follows the link's chaos and whether a process serves it.
func TestSimulation_acrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts nats-server")
	}
	srv := natstest.Start(t)
	a := startNode(t, srv.URL(), "a", agentsim.GeneratorConfig{Rate: 300, Seed: 2}, agentsim.Proposer, agentsim.Deliberation)
	b := startNode(t, srv.URL(), "b", agentsim.GeneratorConfig{Seed: 3}, agentsim.Validator, agentsim.PolicyEngine, agentsim.Executor, agentsim.Auditor)
	if got := a.sim.Local(); !slices.Equal(got, []string{agentsim.Proposer, agentsim.Deliberation}) {
		t.Fatalf("Local() = %v", got)
	}

	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- a.sim.Run(ctx) }()
	servertest.Eventually(t, 20*time.Second, "300 messages across", func() bool { return b.sys.Bus().Metrics().Received >= 300 })
	stop()
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	m := a.sim.Traffic().Metrics()
	if m.Failed != 0 || m.WrongReplies != 0 || m.Delivered == 0 {
		t.Fatalf("traffic %+v: want deliveries, no failure and no wrong reply across processes", m)
	}
	// Only the messages in flight when the traffic stopped (their context
	// ended before they left) may have reached no receiver: at most one per
	// worker.
	if bm := a.sys.Bus().Metrics(); bm.Remote == 0 || bm.RemoteUndelivered > agentsim.DefaultWorkers {
		t.Fatalf("sender's bus: remote %d, undelivered %d", bm.Remote, bm.RemoteUndelivered)
	}

	hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	check := a.sys.Recovery().Policy(agentsim.Executor).HealthCheck
	if err := check(hctx); err != nil {
		t.Fatalf("health check of the remote executor: %v", err)
	}
	s := chaos.PartitionScenario(a.tr.Link(agentsim.Executor), time.Minute)
	s.Name = "cut-executor"
	if _, err := a.sys.Chaos().Inject(s); err != nil {
		t.Fatal(err)
	}
	if err := check(hctx); !errors.Is(err, chaos.ErrPartitioned) {
		t.Fatalf("health check with the link partitioned = %v, want chaos.ErrPartitioned", err)
	}
	a.sys.Chaos().Deactivate(s.Name)
	b.tr.Unserve(agentsim.Executor)
	if err := b.tr.Conn().Flush(); err != nil { // the server has the unsubscription
		t.Fatal(err)
	}
	if err := check(hctx); !errors.Is(err, busnats.ErrNoResponders) {
		t.Fatalf("health check with nobody serving executor = %v, want busnats.ErrNoResponders", err)
	}
	// A local agent's check is still its handler's.
	if err := a.sys.Recovery().Policy(agentsim.Proposer).HealthCheck(hctx); err != nil {
		t.Fatalf("health check of the local proposer: %v", err)
	}
}

func TestNewSimulation_local(t *testing.T) {
	sys, err := system.New(system.Config{Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		cfg   agentsim.SimConfig
		field string
	}{
		"an unknown agent":            {agentsim.SimConfig{Local: []string{"proposer", "nobody"}}, "local[1]"},
		"an agent twice":              {agentsim.SimConfig{Local: []string{"proposer", "proposer"}}, "local[1]"},
		"agents left out, no remote":  {agentsim.SimConfig{Local: []string{"proposer"}}, "remote"},
		"a typed nil remote":          {agentsim.SimConfig{Local: []string{"proposer"}, Remote: (*busnats.Transport)(nil)}, "remote"},
		"a typed nil remote, all six": {agentsim.SimConfig{Remote: (*busnats.Transport)(nil)}, "remote"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := agentsim.NewSimulation(sys, c.cfg)
			var ve *antifragile.ValidationError
			if !errors.As(err, &ve) || ve.Field != c.field {
				t.Fatalf("NewSimulation = %v, want a validation error of %q", err, c.field)
			}
		})
	}
}
