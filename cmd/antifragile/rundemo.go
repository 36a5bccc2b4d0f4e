package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/internal/nilcheck"
	"github.com/antifragile-go/antifragile/system"
)

// demoConfig configures playDemo.
type demoConfig struct {
	// Addr is the ops API and dashboard's listen address. Empty means
	// 127.0.0.1:8080; port 0 picks a free port.
	Addr string
	// Scenario is the game day. nil means Default().
	Scenario *scenario.Scenario
	// Duration shrinks or stretches the game day to last that long in
	// all (Scenario.Scaled), and the agents' breaker and recovery timings
	// with it. 0 keeps the scenario's durations.
	Duration time.Duration
	// Report is the HTML report's path. Empty means gameday.html in the
	// working directory.
	Report string
	// Seed makes the injected errors and the traffic reproducible. 0 means
	// a random seed, which the demo prints.
	Seed uint64
	// Token is the bearer token of the write routes. Empty means a fresh
	// random one (crypto/rand), which the demo prints.
	Token string
	// KeepRunning leaves the server and the traffic running after the game
	// day until ctx ends.
	KeepRunning bool
	// Dashboard is served at / by the ops API. nil means none (a JSON index
	// of the routes); a typed nil is invalid.
	Dashboard http.Handler
	// Out receives the banner, the progress, the summary and the report's
	// path. nil means io.Discard; a typed nil (such as a nil *bytes.Buffer)
	// is invalid.
	Out io.Writer
	// Terminal says that Out is a terminal (see IsTerminal).
	Terminal bool
	// Ready, if set, is called with the server's URL and the token once the
	// server listens.
	Ready func(url, token string)
}

// newToken returns 32 random bytes from crypto/rand in hex.
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("gameday: generating a token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// newSeed returns a random non-zero seed.
func newSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	s := uint64(0)
	for _, v := range b {
		s = s<<8 | uint64(v)
	}
	return max(s>>1, 1) // printable as a positive int64 too
}

// demoConfigFile is the daemon configuration of the demo: the embedded
// defaults, listening on addr with token, a livelier health history, a
// watching recovery orchestrator and seeded chaos.
func demoConfigFile(addr, token string, seed uint64, dashboard http.Handler) *system.Config {
	cfg := system.Default()
	cfg.Ops.Listen = addr
	cfg.Ops.Token = token
	cfg.Health.CheckInterval = 250 * time.Millisecond
	cfg.Health.MaxHistory = 1200 // five minutes at 250 ms
	cfg.Recovery.Watch = true
	cfg.Recovery.MaxConcurrent = 4
	cfg.Recovery.Seed = seed
	cfg.Chaos.Engine.Seed = seed
	cfg.Metering.Meter.FlushInterval = 250 * time.Millisecond
	cfg.Dashboard = dashboard
	return cfg
}

// playDemo runs the demo: a daemon on the embedded defaults (in-memory
// metering, nothing external) serving the ops API and the dashboard at
// cfg.Addr, the simulated governance agents on its bus with their traffic,
// and the game day against them, with live progress, the summary table
// and the HTML report. It blocks until the game day ends (and, with
// KeepRunning, until ctx ends), then shuts everything down and returns the
// result; judge it with Result.Err. An interruption (ctx ending) stops the
// chaos engine first and still writes the report. The error is for what
// kept the demo from running: an invalid configuration, an address in use,
// a report that could not be written.
func playDemo(ctx context.Context, cfg demoConfig) (*gameday.Result, error) {
	var p antifragile.Problems
	p.Add(nilcheck.Optional("out", cfg.Out))
	p.Add(nilcheck.Optional("dashboard", cfg.Dashboard))
	if err := p.Err(); err != nil {
		return nil, err
	}
	out := cfg.Out
	if out == nil {
		out = io.Discard
	}
	sc := cfg.Scenario
	if sc == nil {
		sc = scenario.Default()
	}
	if err := sc.CheckTargets(agentsim.Agents()); err != nil {
		return nil, err
	}
	if cfg.Duration < 0 {
		return nil, antifragile.Invalid("duration", cfg.Duration, "must not be negative (0 keeps the scenario's durations)")
	}
	scaled, scale := sc.Scaled(cfg.Duration)
	addr := cfg.Addr
	if addr == "" {
		addr = system.DefaultListen
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, antifragile.Invalid("addr", addr, "must be host:port, such as 127.0.0.1:8080 (port 0 picks a free port)")
	}
	reportPath := cfg.Report
	if reportPath == "" {
		reportPath = report.DefaultFile
	}
	seed := cfg.Seed
	if seed == 0 {
		seed = newSeed()
	}
	token := cfg.Token
	if token == "" {
		var err error
		if token, err = newToken(); err != nil {
			return nil, err
		}
	}

	d, err := daemon.New(demoConfigFile(addr, token, seed, cfg.Dashboard))
	if err != nil {
		return nil, err
	}
	sim, err := agentsim.NewSimulation(d.System, agentsim.SimConfig{Scale: scale, Traffic: agentsim.GeneratorConfig{Rate: scaled.Traffic.Rate, Tenants: scaled.Traffic.Tenants, Seed: seed}})
	if err != nil {
		_ = d.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	target := gameday.NewLocalTarget(sim.System(), sim.Traffic())

	// The daemon outlives ctx until the game day has cleaned up.
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDaemon()
	daemonErr := make(chan error, 1)
	go func() { daemonErr <- d.Run(dctx) }()
	select {
	case <-d.Ready():
	case err := <-daemonErr:
		return nil, fmt.Errorf("gameday: the demo server did not start: %w", err)
	case <-ctx.Done():
		stopDaemon()
		<-daemonErr
		return nil, ctx.Err()
	}
	url := d.URL()
	fmt.Fprintf(out, "antifragile demo: game day %q, %d phases in %s\n", scaled.Name, len(scaled.Phases), gameday.RoundDuration(scaled.Total()))
	fmt.Fprintf(out, "  dashboard  %s/\n", url)
	fmt.Fprintf(out, "  token      %s   (the dashboard asks for it before write actions)\n", token)
	fmt.Fprintf(out, "  seed       %d   (-seed %d injects the same faults again)\n\n", seed, seed)
	if cfg.Ready != nil {
		cfg.Ready(url, token)
	}

	tctx, stopTraffic := context.WithCancel(dctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = sim.Run(tctx) })
	stop := func() error {
		stopTraffic()
		wg.Wait()
		stopDaemon()
		return <-daemonErr
	}

	res, err := gameday.Run(ctx, gameday.Config{
		Scenario: scaled, Target: target, Progress: out, Terminal: cfg.Terminal,
		Description: "in-process simulation at " + url, Seed: seed, Scale: scale,
	})
	if err != nil {
		_ = stop()
		return nil, err
	}
	fmt.Fprintln(out)
	_ = report.WriteSummary(out, res)
	var errs []error
	if err := report.WriteReportFile(reportPath, res); err != nil {
		errs = append(errs, fmt.Errorf("gameday: writing the report: %w", err))
	} else {
		abs, aerr := filepath.Abs(reportPath)
		if aerr != nil {
			abs = reportPath
		}
		fmt.Fprintf(out, "report: %s\n", abs)
	}
	if cfg.KeepRunning && ctx.Err() == nil {
		fmt.Fprintf(out, "still serving %s/ — press Ctrl-C to stop\n", url)
		<-ctx.Done()
	}
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("gameday: the demo server: %w", err))
	}
	return res, errors.Join(errs...)
}
