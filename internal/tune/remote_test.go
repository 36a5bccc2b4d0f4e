package tune_test

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/tune"
	"github.com/antifragile-go/antifragile/system"
)

const remoteToken = "tune-remote-test-token"

// slowerToHeal is slowToHeal with the first recovery attempt 4 s after
// the trip: past the end of the storm game day, so that against a server,
// whose runs are noisier than in-process ones, the better setting stands
// out by seconds.
var slowerToHeal = func() tune.Settings {
	s := slowToHeal
	s.Recovery.InitialDelay = 4 * time.Second
	return s
}()

// serveAgents runs a system with the simulated agents on slowerToHeal and
// their traffic, serving the ops API, until the test ends. It returns the
// system and a client of its API with the token.
func serveAgents(t *testing.T) (*system.System, *client.Client) {
	t.Helper()
	cfg := system.Default()
	cfg.Ops.Token = remoteToken
	cfg.Getenv = func(string) string { return "" }
	cfg.Metering.Sink = "memory"
	cfg.Recovery.Watch = true
	cfg.Health.CheckInterval = 100 * time.Millisecond
	sys, err := system.New(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	simCfg := agentsim.SimConfig{Traffic: agentsim.GeneratorConfig{Rate: 200, Seed: 5}}
	simCfg.Breaker, simCfg.Recovery = &slowerToHeal.Breaker, &slowerToHeal.Recovery
	sim, err := agentsim.NewSimulation(sys, simCfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := sys.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("system: %v", err)
		}
	})
	<-sys.Started()
	wg.Go(func() { _ = sim.Run(ctx) })
	srv := httptest.NewServer(sys.Handler())
	t.Cleanup(func() {
		srv.Close()
		cancel()
		wg.Wait()
	})
	c, err := client.New(client.Config{BaseURL: srv.URL, Token: remoteToken})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return sys, c
}

// TestRemote_findsTheBetterSetting: tuning against a running server — each
// run a trial of the candidate on its live breakers and policies — finds
// the earlier first recovery attempt on the storm game day, and the trial's
// end puts the server's settings back.
func TestRemote_findsTheBetterSetting(t *testing.T) {
	if testing.Short() {
		t.Skip("runs four game days of 4.5 s against a server in real time")
	}
	sys, c := serveAgents(t)
	sc := mustScenario(t, stormScenario)
	k := knobs(t, "recovery.initial_delay")
	k[0].Values = []string{"100ms", "4s"}
	var progress bytes.Buffer
	ctx := context.Background()
	r, err := tune.NewRemote(ctx, tune.RemoteConfig{Client: c, Scenario: sc, Services: agentsim.Agents(), Knobs: k,
		Settle: time.Minute, Seed: 7, By: "test", Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Current(); got.Recovery.InitialDelay != 4*time.Second || got.Breaker.OpenTimeout != 5*time.Second || len(r.Differ()) != 0 {
		t.Fatalf("current settings from the server: %+v / %+v, differ %v", got.Breaker, got.Recovery, r.Differ())
	}
	out, err := tune.Search(ctx, tune.Config{Current: r.Current(), Objective: sc.Objective, Knobs: k, Progress: &progress, Run: r.Run})
	if cerr := r.Close(ctx); cerr != nil {
		t.Error(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s\n%s", progress.String(), out.Why)
	if !out.Better || out.Proposed.Recovery.InitialDelay != 100*time.Millisecond {
		t.Fatalf("no better setting found against the server: %s", out.Why)
	}
	tr := sys.Trial()
	if tr.Active || tr.Ended != "ended" || tr.Runs != len(out.Trials)+1 { // the opening trial with no change, then one per run
		t.Errorf("the trial after the search: %+v (runs %d)", tr, len(out.Trials))
	}
	for _, name := range agentsim.Agents() {
		if p := sys.Recovery().Policy(name); p.InitialDelay != 4*time.Second || p.HealthCheck == nil {
			t.Errorf("%s: initial_delay %s after the trial, want its own 4s back (with its health check)", name, p.InitialDelay)
		}
	}
	if len(sys.Ledger()) != 0 {
		t.Error("a trial went into the ledger")
	}
}

// TestNewRemote_invalid: what NewRemote needs is named.
func TestNewRemote_invalid(t *testing.T) {
	_, err := tune.NewRemote(context.Background(), tune.RemoteConfig{})
	for _, field := range []string{"client", "scenario", "services"} {
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(field)) {
			t.Errorf("err = %v, want it to name %s", err, field)
		}
	}
}
