package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/daemon"
	"github.com/antifragile-go/antifragile/internal/dashboard"
	"github.com/antifragile-go/antifragile/system"
)

const serveUsage = `usage: antifragile serve [-config file.json|file.yaml] [-listen host:port] [-token token] [-simulate] [-log-level level] [-print-config]

Runs the antifragile daemon: circuit breakers, health aggregation, recovery,
chaos engine, metering, the agent bus, and the ops HTTP API with its
dashboard. It prints the API's URL on stdout once it listens, logs to
stderr, and shuts down cleanly on SIGINT or SIGTERM (metering flushed,
chaos scenarios ended, forced breakers released). SIGHUP (or POST
/config/reload, 'antifragile reload') re-reads the file, the environment and
these flags and applies what can change live: breakers, recovery policies,
chaos limits, the tokens; an invalid configuration changes nothing and is
logged problem by problem (docs/configuration.md, "Live reload").

Without -config it runs on the embedded defaults (127.0.0.1:8080, metering
in memory). A file ending in .yaml or .yml is YAML, any other JSON (one
schema). The ANTIFRAGILE_* variables of docs/configuration.md
(ANTIFRAGILE_LISTEN, ANTIFRAGILE_METERING_SINK, ANTIFRAGILE_CLUSTER_URL, …)
override the file, and -listen and -token override both. The write routes need a bearer token: ops.token in the file,
-token, or the environment variable ops.token_env names (ANTIFRAGILE_TOKEN
by default; preferred, since a flag is visible to other users in ps).
Without one they are disabled.

-simulate puts the demo's six simulated governance agents (proposer,
validator, policy_engine, deliberation, executor, auditor) on the bus, with
their breakers, health weights and recovery policies, and sends their
traffic between them until shutdown: a system for a game day to break
('antifragile demo -print-scenario' prints one that targets them).
`

// runServe runs the `serve` subcommand: it loads the configuration (the
// -config file, or the embedded defaults), applies -listen and -token,
// builds the daemon, prints the ops API's URL on stdout once it listens
// and runs it until ctx ends (main cancels ctx on SIGINT and SIGTERM). It
// returns the daemon's result: nil after a clean shutdown. Bad flags are a
// usage error (exit code 2); an invalid configuration file reports every
// problem with its JSON path (exit code 1).
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", serveUsage, stdout)
	configPath := fs.String("config", "", "configuration `file` (JSON); the embedded defaults when absent")
	listen := fs.String("listen", "", "listen `address` host:port, overriding ops.listen (port 0 picks a free port)")
	token := fs.String("token", "", "bearer `token` of the write routes, overriding ops.token and the environment")
	logLevel := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	simulate := fs.Bool("simulate", false, "run the simulated governance agents and their traffic on the bus")
	printConfig := fs.Bool("print-config", false, "print the configuration in force, every default filled in, as JSON and exit (tokens masked)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return usageErrorf("serve takes no arguments, got %q: pass a config file with -config", pos)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageErrorf("-log-level %q: want debug, info, warn or error", *logLevel)
	}
	cfg, err := serveConfig(*configPath, *listen, *token)
	if err != nil {
		return err
	}
	if *printConfig {
		return printServeConfig(stdout, cfg)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	cfg.Logger, cfg.Dashboard = logger, dashboard.Handler()
	cfg.Source = func() (*system.Config, error) { // SIGHUP and POST /config/reload: the same sources again
		return serveConfig(*configPath, *listen, *token)
	}
	return serveDaemon(ctx, cfg, *simulate, stdout)
}

// serveConfig returns the configuration of `serve`: the file at path (the
// embedded defaults when path is empty; YAML when it ends in .yaml or
// .yml), then the ANTIFRAGILE_* overrides of system.EnvVars, then listen
// and token, when not empty, overriding ops.listen and ops.token. A problem
// they bring is a usage error.
func serveConfig(path, listen, token string) (*system.Config, error) {
	cfg := system.Default()
	if path != "" {
		var err error
		if cfg, err = system.Load(path); err != nil {
			return nil, err
		}
	}
	if err := cfg.ApplyEnv(nil); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("serve: the ANTIFRAGILE_* environment (see docs/configuration.md):\n%w", err)}
	}
	if listen != "" {
		cfg.Ops.Listen = listen
	}
	if token != "" {
		cfg.Ops.Token = token
	}
	if err := cfg.Validate(); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("serve: invalid -listen or -token:\n%w", err)}
	}
	return cfg, nil
}

// printServeConfig writes the configuration serve runs with to w as
// indented JSON: cfg with every default filled in (system.Config.Effective),
// the tokens masked and the secrets of the sink's and the cluster's URLs
// redacted.
func printServeConfig(w io.Writer, cfg *system.Config) error {
	shown := cfg.Effective()
	for _, tok := range []*string{&shown.Ops.Token, &shown.Ops.ReadToken} {
		if *tok != "" {
			*tok = "xxxxx"
		}
	}
	shown.Metering.Sink = system.RedactSink(shown.Metering.Sink)
	if shown.Cluster.URL != "" {
		urls := strings.Split(shown.Cluster.URL, ",")
		for i, u := range urls {
			urls[i] = system.RedactSink(strings.TrimSpace(u))
		}
		shown.Cluster.URL = strings.Join(urls, ",")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(shown)
}

// serveDaemon builds the daemon of cfg (with the simulated agents on its
// bus when simulate) and runs it until ctx ends, printing the ops API's
// URL to stdout once it listens (and warning through cfg.Logger when no
// token enables the write routes). It returns the daemon's result. The
// traffic, when there is some, starts once the daemon serves and stops
// before the daemon does, so that no message meets a closing bus.
func serveDaemon(ctx context.Context, cfg *system.Config, simulate bool, stdout io.Writer) error {
	d, err := daemon.New(cfg)
	if err != nil {
		return err
	}
	var sim *agentsim.Simulation
	if simulate {
		if sim, err = agentsim.NewSimulation(d.System, agentsim.SimConfig{}); err != nil {
			_ = d.Close(context.WithoutCancel(ctx))
			return fmt.Errorf("serve: the simulated agents: %w", err)
		}
	}
	dctx, stopDaemon := context.WithCancel(context.WithoutCancel(ctx))
	defer stopDaemon()
	result := make(chan error, 1)
	go func() { result <- d.Run(dctx) }()
	defer reloadOnHangup(d)()
	select {
	case <-d.Ready():
	case <-ctx.Done():
		stopDaemon()
		return <-result
	case err := <-result:
		return err
	}
	fmt.Fprintln(stdout, d.URL())
	if !d.HasToken() {
		cfg.Logger.Warn("no token configured: the write routes are disabled",
			"fix", "set $"+cfg.TokenEnvName()+", ops.token in the config file, or -token")
	}
	if sim != nil {
		cfg.Logger.Info("simulated agents on the bus", "agents", strings.Join(agentsim.Agents(), ","))
		return runTraffic(ctx, sim, stopDaemon, result)
	}
	select {
	case <-ctx.Done():
		stopDaemon()
	case err := <-result:
		return err
	}
	return <-result
}

// runTraffic sends sim's traffic until ctx ends or the daemon stops by
// itself (its result arrives on result), then stops the traffic, waits for
// it, stops the daemon and returns the daemon's result.
func runTraffic(ctx context.Context, sim *agentsim.Simulation, stopDaemon context.CancelFunc, result <-chan error) error {
	tctx, stopTraffic := context.WithCancel(ctx)
	traffic := make(chan struct{})
	go func() {
		defer close(traffic)
		_ = sim.Run(tctx)
	}()
	var err error
	select {
	case <-ctx.Done():
		stopTraffic()
		<-traffic
		stopDaemon()
		err = <-result
	case err = <-result:
		stopTraffic()
		<-traffic
	}
	return err
}

// reloadOnHangup makes SIGHUP reload d's configuration (daemon.ReloadOn)
// until the function it returns is called, which stops that and waits for
// it.
func reloadOnHangup(d *daemon.Daemon) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		d.ReloadOn(ctx, hup)
	}()
	return func() {
		signal.Stop(hup)
		cancel()
		<-done
	}
}
