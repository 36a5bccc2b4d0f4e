package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/bus/busnats"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/system"
)

// demoAgentsCommand is the hidden subcommand that runs one agent process of
// `demo -processes N`; the demo starts it, it is not listed in the usage.
const demoAgentsCommand = "demo-agents"

// The lines of the protocol between the demo and an agent process: the
// process prints demoReady on stdout once it serves its agents, a
// demoEventPrefix line per transition of one of its breakers (a
// breaker.Event as JSON), and a demoStatsPrefix line with its counters
// (demoStats as JSON) for every demoStatsRequest line it reads on stdin;
// it stops at the end of stdin (or on SIGINT/SIGTERM).
const (
	demoReady        = "READY"
	demoEventPrefix  = "EVENT "
	demoStatsPrefix  = "STATS "
	demoStatsRequest = "stats"
)

// demoStats are an agent process's counters of messages across processes.
type demoStats struct {
	// Sent, Undelivered: its bus's messages to agents of other processes,
	// and those that reached none; Received: those that arrived from
	// another process; TimedOut: its requests that got no reply in time.
	Sent        uint64 `json:"sent"`
	Received    uint64 `json:"received"`
	Undelivered uint64 `json:"undelivered"`
	TimedOut    uint64 `json:"timed_out"`
}

const demoAgentsUsage = `usage: antifragile demo-agents -nats url -instance name -agents a,b [-seed n] [-scale f] [-topology flow|cascade] [-fallback]

Runs one agent process of 'antifragile demo -processes N', which starts and
stops it: the simulated agents named by -agents on a bus that reaches the
others over NATS, in the demo's cluster. Not meant to be run by hand.
`

// agentsSpec is what one agent process runs.
type agentsSpec struct {
	nats, instance, topology string
	agents                   []string
	seed                     uint64
	scale                    float64
	fallback                 bool
}

// runDemoAgents runs the demo-agents subcommand (see demoAgentsUsage). It
// blocks until stdin ends or ctx does. The goroutine reading stdin ends at
// the end of stdin; when ctx ends first, runDemoAgents returns without it
// (the process exits).
func runDemoAgents(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet(demoAgentsCommand, demoAgentsUsage, stderr)
	var spec agentsSpec
	var agents string
	fs.StringVar(&spec.nats, "nats", "", "the NATS server's `url`")
	fs.StringVar(&spec.instance, "instance", "", "this process's `name` in the cluster and on the wire")
	fs.StringVar(&agents, "agents", "", "the `agents` this process hosts, comma-separated")
	fs.Uint64Var(&spec.seed, "seed", 1, "`seed` of the chaos engine and recovery")
	fs.Float64Var(&spec.scale, "scale", 1, "`factor` of the breaker and recovery timings")
	fs.StringVar(&spec.topology, "topology", scenario.TopologyFlow, "the traffic's `topology`")
	fs.BoolVar(&spec.fallback, "fallback", false, "with the cascade topology, go on without a failed downstream")
	if _, err := parseFlags(fs, args); err != nil {
		return helpOK(err)
	}
	spec.agents = strings.Split(agents, ",")
	switch {
	case spec.nats == "":
		return usageErrorf("%s: -nats is required", demoAgentsCommand)
	case spec.instance == "":
		return usageErrorf("%s: -instance is required", demoAgentsCommand)
	case agents == "":
		return usageErrorf("%s: -agents is required", demoAgentsCommand)
	case !(spec.scale > 0):
		return usageErrorf("%s: -scale %g must be positive", demoAgentsCommand, spec.scale)
	}
	return serveDemoAgents(ctx, spec, stdin, stdout)
}

// serveDemoAgents runs the system of one agent process, serves its agents
// over NATS, prints demoReady and answers the demo's requests until stdin
// ends or ctx does; then it stops serving and stops the system.
func serveDemoAgents(ctx context.Context, spec agentsSpec, stdin io.Reader, stdout io.Writer) error {
	tr, err := busnats.New(busnats.Config{URL: spec.nats, Process: spec.instance, ReconnectWait: 100 * time.Millisecond, PingInterval: 500 * time.Millisecond})
	if err != nil {
		return err
	}
	defer tr.Close(context.WithoutCancel(ctx))
	sys, err := system.New(*demoAgentsConfig(spec, tr))
	if err != nil {
		return fmt.Errorf("%s: %w", demoAgentsCommand, err)
	}
	sim, err := agentsim.NewSimulation(sys, agentsim.SimConfig{Scale: spec.scale, Local: spec.agents, Remote: tr, Fallback: spec.fallback,
		Traffic: agentsim.GeneratorConfig{Topology: spec.topology, Seed: spec.seed}})
	if err != nil {
		_ = sys.Close(context.WithoutCancel(ctx))
		return fmt.Errorf("%s: %w", demoAgentsCommand, err)
	}
	sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- sys.Run(sctx) }()
	select {
	case <-sys.Started():
	case err := <-ran:
		return err
	case <-ctx.Done():
		stop()
		return <-ran
	}
	for _, a := range sim.Local() {
		if err := tr.Serve(sys.Bus(), a); err != nil {
			stop()
			return errors.Join(err, <-ran)
		}
	}
	if err := tr.Conn().FlushTimeout(5 * time.Second); err != nil {
		stop()
		return errors.Join(fmt.Errorf("%s: reaching NATS: %w", demoAgentsCommand, err), <-ran)
	}
	fmt.Fprintln(stdout, demoReady)
	answerDemo(ctx, sys, tr, stdin, stdout)
	_ = tr.Close(context.WithoutCancel(ctx)) // no new deliveries; those in flight end
	stop()
	return <-ran
}

// demoAgentsConfig is the system configuration of an agent process: the
// demo's (demoConfigFile) without a token or the environment's, in the
// demo's cluster as spec.instance, its bus reaching the other agents
// through tr.
func demoAgentsConfig(spec agentsSpec, tr *busnats.Transport) *system.Config {
	cfg := demoConfigFile("127.0.0.1:0", "", spec.seed, nil)
	cfg.Getenv = func(string) string { return "" }
	cfg.Bus.Transport = tr
	demoCluster(cfg, spec.nats, spec.instance)
	return cfg
}

// answerDemo answers each demoStatsRequest line of stdin with a stats
// line, and prints an event line per breaker transition, until stdin ends
// or ctx does.
func answerDemo(ctx context.Context, sys *system.System, tr *busnats.Transport, stdin io.Reader, stdout io.Writer) {
	events := sys.Registry().Subscribe(1024)
	defer events.Close()
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-events.C:
			if ev.From != ev.To { // not a membership event
				b, _ := json.Marshal(ev)
				fmt.Fprintln(stdout, demoEventPrefix+string(b))
			}
		case line, ok := <-lines:
			if !ok {
				return
			}
			if line == demoStatsRequest {
				settle(ctx, tr)
				b, _ := json.Marshal(statsOf(sys, tr))
				fmt.Fprintln(stdout, demoStatsPrefix+string(b))
			}
		}
	}
}

// settle waits, at most a second, until what the server had for this
// process when settle was called has been delivered: a round trip to the
// server (its messages come before the answer), then until the served
// agents have nothing pending or in flight.
func settle(ctx context.Context, tr *busnats.Transport) {
	_ = tr.Conn().FlushTimeout(time.Second)
	deadline := time.Now().Add(time.Second)
	for m := tr.Metrics(); (m.Pending > 0 || m.InFlight > 0) && time.Now().Before(deadline) && ctx.Err() == nil; m = tr.Metrics() {
		time.Sleep(5 * time.Millisecond)
	}
}

// statsOf reads a process's counters of messages across processes.
func statsOf(sys *system.System, tr *busnats.Transport) demoStats {
	bm, tm := sys.Bus().Metrics(), tr.Metrics()
	return demoStats{Sent: bm.Remote, Received: bm.Received, Undelivered: bm.RemoteUndelivered, TimedOut: tm.TimedOut}
}

// demoSplit returns the agents of each of n processes: agentsim.Agents()
// dealt round robin, so that with three, demo-1 hosts proposer and
// deliberation, demo-2 validator and executor, demo-3 policy_engine and
// auditor.
func demoSplit(n int) [][]string {
	out := make([][]string, n)
	for i, a := range agentsim.Agents() {
		out[i%n] = append(out[i%n], a)
	}
	return out
}

// demoInstance names the i-th process (from 0) of the demo: demo-1 …
func demoInstance(i int) string { return fmt.Sprintf("demo-%d", i+1) }

// The demo's cluster.
const (
	demoClusterName   = "demo"
	demoHeartbeat     = 250 * time.Millisecond
	demoHeartbeatTTL  = time.Second
	demoReconnectWait = 100 * time.Millisecond
)

// demoCluster puts cfg in the demo's cluster on the NATS server at url as
// instance: a heartbeat every 250 ms, lost after a second.
func demoCluster(cfg *system.Config, url, instance string) {
	cfg.Cluster.URL = url
	m := &cfg.Cluster.Member
	m.Name, m.Instance = demoClusterName, instance
	m.HeartbeatInterval, m.TTL = demoHeartbeat, demoHeartbeatTTL
	cfg.Cluster.NATS.ReconnectWait = demoReconnectWait
}
