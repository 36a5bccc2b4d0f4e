package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/health"
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
	// Processes splits the six agents over that many OS processes on a
	// nats-server the demo starts (see playProcesses). 0 and 1 mean this
	// process alone; at most MaxDemoProcesses.
	Processes int
	// Kill numbers the agent process the process-kill phase kills: 2 (demo-2)
	// to Processes. 0 means the last.
	Kill int
	// NATSServer is the nats-server binary of a demo across processes.
	// Empty means the one on PATH.
	NATSServer string
	// Executable is the binary the agent processes run (its hidden
	// demo-agents subcommand). Empty means this program (os.Executable).
	Executable string
	// OnProcess, if set, is called with the name ("nats-server", "demo-2"
	// …) and pid of every process the demo starts.
	OnProcess func(name string, pid int)
}

// MaxDemoProcesses bounds demoConfig.Processes: one agent per process.
const MaxDemoProcesses = 6

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
// defaults, listening on addr with token, a livelier health history with
// anomaly detection, a watching recovery orchestrator and seeded chaos.
func demoConfigFile(addr, token string, seed uint64, dashboard http.Handler) *system.Config {
	cfg := system.Default()
	cfg.Ops.Listen = addr
	cfg.Ops.Token = token
	cfg.Health.CheckInterval = 250 * time.Millisecond
	cfg.Health.MaxHistory = 1200 // five minutes at 250 ms
	// Anomaly detection learns each agent's normal in the steady phase
	// (3 s of 250 ms intervals) and warns after 500 ms of departure.
	cfg.Health.Anomaly = health.AnomalyConfig{Enabled: true, Warmup: 12, MinDuration: 500 * time.Millisecond, MinCalls: 5}
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
	pl, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	if pl.processes > 1 {
		return playProcesses(ctx, cfg, pl)
	}
	srv, err := startDemoServer(ctx, demoConfigFile(pl.addr, pl.token, pl.seed, cfg.Dashboard), agentsim.ScenarioConfig(pl.scenario, pl.scale, pl.seed))
	if err != nil {
		return nil, err
	}
	defer srv.stopDaemon()
	url := srv.d.URL()
	pl.printBanner(url)
	if cfg.Ready != nil {
		cfg.Ready(url, pl.token)
	}
	srv.startTraffic(ctx)
	res, err := gameday.Run(ctx, gameday.Config{
		Scenario: pl.scenario, Target: srv.target, Progress: pl.out, Terminal: cfg.Terminal,
		Description: "in-process simulation at " + url, Seed: pl.seed, Scale: pl.scale,
		Traffic: fmt.Sprintf("simulated: %g msg/s for %s", pl.scenario.Traffic.Rate, strings.Join(pl.scenario.Traffic.Tenants, ", ")),
	})
	if err != nil {
		_ = srv.stop()
		return nil, err
	}
	errs := pl.writeResults(res)
	if cfg.KeepRunning && ctx.Err() == nil {
		fmt.Fprintf(pl.out, "still serving %s/ — press Ctrl-C to stop\n", url)
		<-ctx.Done()
	}
	if err := srv.stop(); err != nil && !errors.Is(err, context.Canceled) {
		errs = append(errs, fmt.Errorf("gameday: the demo server: %w", err))
	}
	return res, errors.Join(errs...)
}

// demoPlan is a demoConfig checked, with its defaults filled in.
type demoPlan struct {
	out        io.Writer          // never nil
	scenario   *scenario.Scenario // scaled to demoConfig.Duration
	scale      float64            // the factor of that scaling
	addr       string
	reportPath string
	seed       uint64 // never 0
	token      string // never empty
	processes  int    // at least 1
	kill       int    // the process the kill phase kills, 2 to processes (with processes > 1)
	natsServer string // the nats-server binary, with processes > 1
	exe        string // the agent processes' binary, with processes > 1
}

// plan checks cfg and fills in its defaults (see demoConfig), drawing a
// seed and a token when cfg has none. It reports the problems of the
// writers first, then those of the scenario, the duration and the address.
func (cfg demoConfig) plan() (demoPlan, error) {
	var p antifragile.Problems
	p.Add(nilcheck.Optional("out", cfg.Out))
	p.Add(nilcheck.Optional("dashboard", cfg.Dashboard))
	if err := p.Err(); err != nil {
		return demoPlan{}, err
	}
	pl := demoPlan{
		out: cfg.Out, addr: cmp.Or(cfg.Addr, system.DefaultListen),
		reportPath: cmp.Or(cfg.Report, report.DefaultFile), seed: cfg.Seed, token: cfg.Token,
		processes: max(cfg.Processes, 1),
	}
	if cfg.Processes < 0 || cfg.Processes > MaxDemoProcesses {
		return demoPlan{}, antifragile.Invalid("processes", cfg.Processes, "must be within 1 and %d (one agent per process at most; 0 means 1)", MaxDemoProcesses)
	}
	if pl.kill = cmp.Or(cfg.Kill, pl.processes); cfg.Kill != 0 && (cfg.Kill < 2 || cfg.Kill > pl.processes) {
		return demoPlan{}, antifragile.Invalid("kill", cfg.Kill, "must be within 2 and processes (%d): demo-1 runs the game day; 0 means the last", pl.processes)
	}
	if pl.out == nil {
		pl.out = io.Discard
	}
	var err error
	if pl.scenario, pl.scale, err = cfg.scaledScenario(); err != nil {
		return demoPlan{}, err
	}
	if _, _, err := net.SplitHostPort(pl.addr); err != nil {
		return demoPlan{}, antifragile.Invalid("addr", pl.addr, "must be host:port, such as 127.0.0.1:8080 (port 0 picks a free port)")
	}
	if pl.seed == 0 {
		pl.seed = newSeed()
	}
	if pl.token == "" {
		if pl.token, err = newToken(); err != nil {
			return demoPlan{}, err
		}
	}
	if pl.processes > 1 {
		if err := cfg.planProcesses(&pl); err != nil {
			return demoPlan{}, err
		}
	}
	return pl, nil
}

// planProcesses fills in the binaries of a demo across processes: the
// nats-server one on PATH and this program, unless cfg names them.
func (cfg demoConfig) planProcesses(pl *demoPlan) error {
	var err error
	pl.natsServer, pl.exe = cfg.NATSServer, cfg.Executable
	if pl.natsServer == "" {
		if pl.natsServer, err = exec.LookPath("nats-server"); err != nil {
			return antifragile.Invalid("nats_server", "nats-server", "is not on PATH (%s): a demo across processes needs it", natsInstall)
		}
	}
	if pl.exe == "" {
		if pl.exe, err = os.Executable(); err != nil {
			return fmt.Errorf("demo: the agent processes' binary: %w", err)
		}
	}
	return nil
}

// scaledScenario returns the game day of cfg (Default() when it has none),
// checked against the simulated agents and scaled to cfg.Duration, with
// the scale factor.
func (cfg demoConfig) scaledScenario() (*scenario.Scenario, float64, error) {
	sc := cfg.Scenario
	if sc == nil {
		sc = scenario.Default()
	}
	if err := sc.CheckTargets(agentsim.Agents()); err != nil {
		return nil, 0, err
	}
	if cfg.Duration < 0 {
		return nil, 0, antifragile.Invalid("duration", cfg.Duration, "must not be negative (0 keeps the scenario's durations)")
	}
	if cfg.Processes > 1 {
		sc = withKillPhase(sc)
	}
	scaled, scale := sc.Scaled(cfg.Duration)
	return scaled, scale, nil
}

// printBanner prints what the demo runs and how to reach it: the game
// day, the dashboard's URL, the token and the seed.
func (pl demoPlan) printBanner(url string) {
	sc := pl.scenario
	fmt.Fprintf(pl.out, "antifragile demo: game day %q, %d phases in %s\n", sc.Name, len(sc.Phases), gameday.RoundDuration(sc.Total()))
	fmt.Fprintf(pl.out, "  dashboard  %s/\n", url)
	fmt.Fprintf(pl.out, "  token      %s   (the dashboard asks for it before write actions)\n", pl.token)
	fmt.Fprintf(pl.out, "  seed       %d   (-seed %d injects the same faults again)\n\n", pl.seed, pl.seed)
}

// writeResults prints the summary table of res, writes the HTML report and
// prints its path. It returns the error of writing the report, if any.
func (pl demoPlan) writeResults(res *gameday.Result) []error {
	fmt.Fprintln(pl.out)
	_ = report.WriteSummary(pl.out, res)
	if err := report.WriteReportFile(pl.reportPath, res); err != nil {
		return []error{fmt.Errorf("gameday: writing the report: %w", err)}
	}
	abs, err := filepath.Abs(pl.reportPath)
	if err != nil {
		abs = pl.reportPath
	}
	fmt.Fprintf(pl.out, "report: %s\n", abs)
	return nil
}

// demoServer is the running part of the demo: the daemon, and the
// simulated agents' traffic on its bus. It owns the goroutines running
// them until stop returns.
type demoServer struct {
	d      *daemon.Daemon
	sim    *agentsim.Simulation
	target *gameday.LocalTarget // the game day's view of sim

	stopDaemon context.CancelFunc // ends the daemon's context
	daemonErr  chan error         // receives the daemon's Run result

	stopTraffic context.CancelFunc // nil until startTraffic
	traffic     sync.WaitGroup     // the goroutine running sim
}

// startDemoServer builds the daemon of fc and the simulation of sc on its
// bus, and runs the daemon until it serves. The daemon outlives ctx: it
// runs until stop, so that the game day can clean up after an
// interruption. When ctx ends before the daemon serves, startDemoServer
// stops it, waits for it and returns ctx's error.
func startDemoServer(ctx context.Context, fc *system.Config, sc agentsim.SimConfig) (*demoServer, error) {
	d, err := daemon.New(fc)
	if err != nil {
		return nil, err
	}
	sim, err := agentsim.NewSimulation(d.System, sc)
	if err != nil {
		_ = d.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	s := &demoServer{d: d, sim: sim, target: gameday.NewLocalTarget(sim.System(), sim.Traffic()), daemonErr: make(chan error, 1)}
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	s.stopDaemon = stopDaemon
	go func() { s.daemonErr <- d.Run(dctx) }()
	select {
	case <-d.Ready():
		return s, nil
	case err := <-s.daemonErr:
		stopDaemon()
		return nil, fmt.Errorf("gameday: the demo server did not start: %w", err)
	case <-ctx.Done():
		stopDaemon()
		<-s.daemonErr
		return nil, ctx.Err()
	}
}

// startTraffic starts the simulated agents' traffic in a goroutine of s. It
// runs until stop, whatever ctx does; ctx gives it its values only.
func (s *demoServer) startTraffic(ctx context.Context) {
	tctx, stopTraffic := context.WithCancel(context.WithoutCancel(ctx))
	s.stopTraffic = stopTraffic
	s.traffic.Go(func() { _ = s.sim.Run(tctx) })
}

// haltTraffic ends the traffic and waits until every message in flight has
// ended. startTraffic may start it again.
func (s *demoServer) haltTraffic() {
	if s.stopTraffic != nil {
		s.stopTraffic()
	}
	s.traffic.Wait()
}

// stop ends the traffic and waits for it, then stops the daemon and returns
// its Run result. It is called once.
func (s *demoServer) stop() error {
	s.haltTraffic()
	s.stopDaemon()
	return <-s.daemonErr
}
