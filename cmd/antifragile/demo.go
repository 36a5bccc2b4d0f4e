package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/internal/dashboard"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

const demoUsage = `usage: antifragile demo [-addr host:port] [-duration 1m] [-scenario file.json] [-report gameday.html] [-seed n] [-keep-running] [-processes n [-kill i]]

Runs the whole system in this process and watches it break and heal: six
simulated governance agents (proposer, validator, policy_engine,
deliberation, executor, auditor) exchange messages for three tenants on the
agent bus, each behind its circuit breaker, with the health aggregator, the
recovery orchestrator and metering live, and the ops API and dashboard at
-addr (the link and a fresh token for the write actions are printed).

Then it runs a game day, phase by phase — the built-in one lasts about a
minute: steady state, latency on deliberation, an error storm on
policy_engine until its breaker opens, recovery with backoff, cpu
exhaustion, a partition of validator, steady state again — showing live
progress, then a summary table and an HTML report with charts.

Exit status (the verdict, with its reasons, ends the summary):
  0  PASS: the steady-state hypothesis held — back to the scenario's
     minimum status within its recovery budget after every fault, steady
     phases below it no longer than its tolerance — and was tested
  1  FAIL: it did not hold, or the game day was interrupted
  2  usage error (bad flag, invalid scenario file, unwritable -report)
  5  INCONCLUSIVE: nothing failed, but a phase tested nothing: a fault hit
     no service the system knows, or no traffic reached it
-scenario runs a game day of your own (see the built-in one with
-print-scenario). -builtin picks another built-in game day: byzantine-bus
(corrupt replies, duplicated and reordered deliveries, wrong constitutional
hashes, poison messages, a crashed agent) or cascade (agents calling each
other; a crash downstream and which breakers it opens, in order).

-processes 3 runs the six agents in three OS processes (this one and two it
starts and stops) on a nats-server it starts on a free loopback port, in
the cluster "demo": demo-1 (this process: the ops API, the traffic, the
game day) hosts proposer and deliberation, demo-2 validator and executor,
demo-3 policy_engine and auditor. Calls to another process cross NATS
behind the sender's breaker of the agent; faults on calls to a remote agent
act on the link to it, message faults and whole-process faults on the
process hosting it (fleet chaos). A process-kill phase before the last one
kills the last process (-kill picks another: 2 for demo-2 …) with SIGKILL
and restarts it after a third of the phase; the report adds the cluster's instances, the messages that crossed
between processes and the kill's timeline. Without nats-server on PATH the
demo says so and runs in one process.
`

// checkDemoFlags checks the numbers among the demo's flags.
func checkDemoFlags(duration time.Duration, processes, kill int) error {
	switch {
	case duration < 0:
		return usageErrorf("demo: -duration %s must not be negative", duration)
	case processes < 1 || processes > MaxDemoProcesses:
		return usageErrorf("demo: -processes %d must be within 1 and %d (one agent per process at most)", processes, MaxDemoProcesses)
	case kill != 0 && processes == 1:
		return usageErrorf("demo: -kill %d picks an agent process to kill: it needs -processes 2 or more", kill)
	case kill != 0 && (kill < 2 || kill > processes):
		return usageErrorf("demo: -kill %d must be within 2 and %d (demo-1 runs the game day; 0 means the last)", kill, processes)
	}
	return nil
}

// runDemo runs the `demo` subcommand (see demoUsage). It blocks for the
// game day (and, with -keep-running, until ctx ends), prints to stdout and
// returns a *gameday.VerdictError (exit code 1) when the hypothesis did not
// hold, a usage error (exit code 2) for bad flags or an invalid scenario
// file.
func runDemo(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", demoUsage, stdout)
	addr := fs.String("addr", "127.0.0.1:8080", "listen `address` of the ops API and dashboard, host:port (port 0 picks a free port)")
	duration := fs.Duration("duration", 0, "stretch or shrink the game day to last this `long` in all (0: as the scenario says, about 1m for the built-in one)")
	scenarioFile := fs.String("scenario", "", "game day scenario `file` (JSON); the built-in one when absent")
	reportFile := fs.String("report", report.DefaultFile, "HTML report `file`")
	seed := fs.Uint64("seed", 0, "`seed` of the injected errors and the traffic: the same seed injects the same faults (0: random, printed)")
	keep := fs.Bool("keep-running", false, "leave the server and the traffic running after the game day, until interrupted")
	printScenario := fs.Bool("print-scenario", false, "print the built-in scenario (-builtin) as JSON and exit")
	builtin := fs.String("builtin", scenario.BuiltinNames()[0], "the built-in `game day` to run without -scenario: "+strings.Join(scenario.BuiltinNames(), ", "))
	processes := fs.Int("processes", 1, fmt.Sprintf("split the six agents over `n` OS processes (1 to %d) on a nats-server the demo starts", MaxDemoProcesses))
	kill := fs.Int("kill", 0, "with -processes, the `process` the process-kill phase kills: 2 for demo-2, … (0: the last)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if len(pos) > 0 {
		return usageErrorf("demo: unexpected argument %q: pass a scenario file with -scenario", pos[0])
	}
	doc, ok := scenario.BuiltinJSON(*builtin)
	if !ok {
		return usageErrorf("demo: -builtin %q: must be one of %s", *builtin, strings.Join(scenario.BuiltinNames(), ", "))
	}
	if *printScenario {
		_, err := stdout.Write(doc)
		return err
	}
	if err := checkDemoFlags(*duration, *processes, *kill); err != nil {
		return err
	}
	if err := report.CheckWritable(*reportFile); err != nil {
		return usageErrorf("demo: -report %s: %v", *reportFile, err)
	}
	sc, err := demoScenario(*builtin, *scenarioFile)
	if err != nil {
		return err
	}
	cfg := demoConfig{
		Addr: *addr, Scenario: sc, Duration: *duration, Report: *reportFile, Seed: *seed, Processes: *processes, Kill: *kill,
		KeepRunning: *keep, Dashboard: dashboard.Handler(), Out: stdout, Terminal: gameday.IsTerminal(stdout),
	}
	if *processes > 1 {
		if cfg.NATSServer, err = exec.LookPath("nats-server"); err != nil {
			fmt.Fprintf(stdout, "demo: -processes %d needs nats-server on PATH, which has none (install it: %s); running the single-process demo instead\n\n", *processes, natsInstall)
			cfg.Processes, cfg.Kill = 1, 0
		}
	}
	return judgeDemo(playDemo(ctx, cfg))
}

// demoScenario returns the game day of the demo: the scenario file, or
// else the built-in game day named builtin.
func demoScenario(builtin, file string) (*scenario.Scenario, error) {
	if file == "" {
		return scenario.Builtin(builtin)
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("demo: %w", err)}
	}
	defer f.Close()
	sc, err := scenario.ParseReader(f)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("demo: scenario %s:\n%w", file, err)}
	}
	return sc, nil
}

// judgeDemo turns playDemo's outcome into runDemo's error: a scenario that
// does not fit the agents is a usage error, a game day that did not pass
// its verdict's error.
func judgeDemo(res *gameday.Result, err error) error {
	if err != nil {
		var ve *scenario.ValidationError
		if res == nil && errors.As(err, &ve) {
			return &exitError{code: exitUsage, err: fmt.Errorf("demo: %w", err)}
		}
		return err
	}
	return res.Err()
}
