package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/internal/tune"
)

const tuneUsage = `usage: antifragile tune [-scenario file.json] [-duration d] [-seed n] [-knobs a,b] [-report tune.json] [-json] [-apply -addr URL]
       antifragile tune -remote -addr URL [-services a,b] [-settle d] [-scenario file.json] [-knobs a,b] [-apply] ...
       antifragile tune -ledger [-addr URL] [-json]

Searches for better settings of the simulated agents' breakers and recovery
— the run of failures that trips, the open timeout and its cap, the recovery
strategy and its first and longest delay — by running the same seeded game
day (the built-in one, or -scenario) in this process with candidates, and
measuring each against the scenario's objective ("objective": {"metric":
"time_below_min" | "failed" | "time_to_recover" | "time_to_detect",
"error_budget": n}; default: the time below the steady-state minimum).

It runs the current settings twice (the difference is the noise), then
changes one setting at a time, keeping a value only when it beats the best
so far by more than the noise (and 5 %), and proves the proposal in one
more run. It prints every run, then current and proposed side by side, and
the change as a config patch (breakers.default, recovery.default_policy).
When nothing beats the current settings it says so. -report writes the
whole outcome as JSON.

-apply sends a proven proposal to the server at -addr (POST /tune/apply,
with the token): each simulated agent's breaker and recovery policy get the
changed settings live, and the server's tuning ledger records when, what,
why and the measurements before and after (-ledger prints it; the daemon
keeps it in tune.ledger_path across restarts). A proposal that did not beat
the current settings is never sent.

-remote runs every trial against the server at -addr instead (a token is
required): the search starts from the server's own settings of -services
(every breaker of the server by default), and each run puts its candidate
in force as a tuning trial (POST /tune/trial: the changed settings on top of
each service's own, saved first), waits up to -settle for the service to be
back at steady state, and runs the game day against it as 'gameday' does,
with the service's own traffic. When the search ends — or fails, or is
interrupted — the trial ends (DELETE /tune/trial) and the server puts every
service's settings back; a tuner that dies leaves the server to end the
trial itself when its TTL passes. Nothing is compressed against a server:
-duration shrinks the phases, not the server's timings.

Time: each run lasts as long as the game day (about a minute for the
built-in one; expect 15-20 runs). -duration shrinks every run to that long
and multiplies the tuned settings' durations by the same factor, then
reports full-length times; what it cannot shrink — handler latencies, the
cost of a call, the traffic's per-phase message counts — makes a shrunk
run a coarser estimate.
`

// runTune runs the `tune` subcommand (see tuneUsage).
func runTune(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("tune", tuneUsage, stdout)
	var tf tuneFlags
	tf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile tune [flags]"); err != nil {
		return err
	}
	if tf.ledger {
		return printLedger(ctx, &tf.rf, stdout)
	}
	if err := tf.check(); err != nil {
		return err
	}
	knobs, err := pickKnobs(tf.knobs)
	if err != nil {
		return err
	}
	sc, err := tuneScenario(tf.scenario, !tf.remote)
	if err != nil {
		return err
	}
	sc, scale := sc.Scaled(tf.duration)
	if tf.seed == 0 {
		tf.seed = newSeed()
	}
	progress := stdout
	if tf.rf.json {
		progress = stderr
	}
	fmt.Fprintf(progress, "tuning %q (%s a run, seed %d), objective %s\n", sc.Name, gameday.RoundDuration(sc.Total()), tf.seed, objectiveText(sc.Objective))
	cfg := tune.Config{Objective: sc.Objective, Knobs: knobs, Progress: progress}
	services := agentsim.Agents()
	var out *tune.Outcome
	if tf.remote {
		out, services, err = searchRemote(ctx, &tf, cfg, sc, progress)
	} else {
		cfg.Current = tune.Settings{Breaker: agentsim.BreakerConfig(1), Recovery: agentsim.RecoveryPolicy(1, nil)}
		cfg.Run = tune.Local{Scenario: sc, Seed: tf.seed, Scale: scale}.Run
		out, err = tune.Search(ctx, cfg)
	}
	if err != nil {
		return err
	}
	if err := writeTuneOutcome(out, tf.report, tf.rf.json, stdout); err != nil {
		return err
	}
	if tf.apply {
		return applyTune(ctx, &tf.rf, out, services, progress)
	}
	return nil
}

// tuneFlags are the flags of `tune`.
type tuneFlags struct {
	scenario, knobs, report, services string
	duration, settle                  time.Duration
	seed                              uint64
	apply, ledger, remote             bool
	rf                                remoteFlags
}

func (tf *tuneFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&tf.scenario, "scenario", "", "game day scenario `file` (JSON); the built-in one when absent")
	fs.DurationVar(&tf.duration, "duration", 0, "shrink or stretch every run to last this `long` (0: as the scenario says)")
	fs.Uint64Var(&tf.seed, "seed", 0, "`seed` of every run (0: random, printed)")
	fs.StringVar(&tf.knobs, "knobs", "", "comma-separated `settings` to tune (default: all of "+strings.Join(knobNames(), ", ")+")")
	fs.StringVar(&tf.report, "report", "", "write the outcome as JSON to `file`")
	fs.BoolVar(&tf.apply, "apply", false, "send a proven proposal to the server at -addr and record it in its ledger")
	fs.BoolVar(&tf.ledger, "ledger", false, "print the tuning ledger of the server at -addr and exit")
	fs.BoolVar(&tf.remote, "remote", false, "run every trial against the server at -addr (a tuning trial of its live settings) instead of in this process")
	fs.StringVar(&tf.services, "services", "", "with -remote, comma-separated `names` of the services to tune (default: every breaker of the server)")
	fs.DurationVar(&tf.settle, "settle", tune.DefaultSettle, "with -remote, the longest `wait` before a run for the service to be back at steady state")
	tf.rf.register(fs)
}

// check refuses the flag values and combinations that make no sense.
func (tf *tuneFlags) check() error {
	switch {
	case tf.duration < 0:
		return usageErrorf("tune: -duration %s must not be negative", tf.duration)
	case tf.settle <= 0:
		return usageErrorf("tune: -settle %s must be positive", tf.settle)
	case tf.services != "" && !tf.remote:
		return usageErrorf("tune: -services names the services of a server: it needs -remote")
	case tf.remote && tf.rf.token == "" && os.Getenv(envToken) == "":
		return usageErrorf("tune: -remote changes the server's settings and injects faults: a token is required (set $%s or pass -token)", envToken)
	}
	return nil
}

// searchRemote runs the search against the server at -addr: the services
// named by -services (every breaker of the server by default) are tuned
// through a tuning trial, ended when the search ends, however it ends.
func searchRemote(ctx context.Context, tf *tuneFlags, cfg tune.Config, sc *scenario.Scenario, progress io.Writer) (*tune.Outcome, []string, error) {
	c, err := tf.rf.client()
	if err != nil {
		return nil, nil, err
	}
	defer c.CloseIdleConnections()
	if err := gamedayPreflight(ctx, c); err != nil {
		return nil, nil, err
	}
	services, err := remoteServices(ctx, c, tf.services)
	if err != nil {
		return nil, nil, err
	}
	r, err := tune.NewRemote(ctx, tune.RemoteConfig{Client: c, Scenario: sc, Services: services, Knobs: cfg.Knobs,
		Settle: tf.settle, Seed: tf.seed, By: "antifragile tune", Progress: progress})
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if cerr := r.Close(closeCtx); cerr != nil {
			fmt.Fprintln(progress, cerr)
		}
	}()
	fmt.Fprintf(progress, "against %s: a trial of %s (real time: nothing is compressed against a server)\n", c.BaseURL(), strings.Join(services, ", "))
	if w := r.DifferText(); w != "" {
		fmt.Fprintln(progress, "note: "+w)
	}
	cfg.Current, cfg.Run = r.Current(), r.Run
	out, err := tune.Search(ctx, cfg)
	return out, services, err
}

// remoteServices returns the services of list, or every breaker of the
// server when list is empty.
func remoteServices(ctx context.Context, c *client.Client, list string) ([]string, error) {
	if list != "" {
		var out []string
		for _, name := range strings.Split(list, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out = append(out, name)
			}
		}
		return out, nil
	}
	bs, err := c.Breakers(ctx)
	if err != nil {
		return nil, fmt.Errorf("tune: GET /breakers: %w", err)
	}
	var out []string
	for _, b := range bs.Breakers {
		out = append(out, b.Name)
	}
	if len(out) == 0 {
		return nil, errors.New("tune: the server has no breakers to tune")
	}
	return out, nil
}

// writeTuneOutcome writes out to the -report file, if any, and prints it
// as JSON or as tables.
func writeTuneOutcome(out *tune.Outcome, reportFile string, asJSON bool, stdout io.Writer) error {
	if reportFile != "" {
		if err := writeTuneReport(reportFile, out); err != nil {
			return err
		}
	}
	if asJSON {
		return writeJSON(stdout, tuneJSON{Outcome: out, Patch: out.Patch()})
	}
	printTune(stdout, out)
	return nil
}

// applyTune sends a proven proposal to the server and prints its ledger
// entry; an unproven one is not sent.
func applyTune(ctx context.Context, rf *remoteFlags, out *tune.Outcome, services []string, w io.Writer) error {
	if !out.Better {
		fmt.Fprintln(w, "nothing applied: no better setting was proven")
		return nil
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	b, r := out.Fields()
	before, _ := json.Marshal(out.Before)
	after, _ := json.Marshal(out.After)
	e, err := c.ApplyTuning(ctx, api.TuningChange{Services: services, Breaker: b, Recovery: r, Why: out.Why, Before: before, After: after})
	if err != nil {
		return fmt.Errorf("tune: -apply: %w", err)
	}
	fmt.Fprintf(w, "applied as ledger entry %d at %s: %s\n", e.Seq, e.At.Local().Format(time.RFC3339), strings.Join(e.Applied, ", "))
	return nil
}

// printLedger prints the server's tuning ledger.
func printLedger(ctx context.Context, rf *remoteFlags, w io.Writer) error {
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	l, err := c.Ledger(ctx)
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSON(w, l)
	}
	if len(l.Entries) == 0 {
		fmt.Fprintln(w, "the tuning ledger is empty")
		return nil
	}
	tw := table(w)
	fmt.Fprintln(tw, "SEQ\tAT\tAPPLIED\tWHY")
	for _, e := range l.Entries {
		fmt.Fprintf(tw, "%d\t%s\t%d settings on %s\t%s\n", e.Seq, e.At.Local().Format(time.RFC3339), len(e.Applied), strings.Join(e.Services, ", "), e.Why)
	}
	return tw.Flush()
}

// tuneJSON is the -json and -report form of an outcome.
type tuneJSON struct {
	*tune.Outcome
	Patch json.RawMessage `json:"patch"`
}

func writeTuneReport(path string, out *tune.Outcome) error {
	b, err := json.MarshalIndent(tuneJSON{Outcome: out, Patch: out.Patch()}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("tune: -report: %w", err)
	}
	return nil
}

func knobNames() []string {
	var out []string
	for _, k := range tune.DefaultKnobs() {
		out = append(out, k.Name)
	}
	return out
}

// pickKnobs returns the knobs named in list (all when empty).
func pickKnobs(list string) ([]tune.Knob, error) {
	all := tune.DefaultKnobs()
	if list == "" {
		return all, nil
	}
	var out []tune.Knob
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, k := range all {
			if k.Name == name {
				out, found = append(out, k), true
			}
		}
		if !found {
			return nil, usageErrorf("tune: -knobs: unknown setting %q (known: %s)", name, strings.Join(knobNames(), ", "))
		}
	}
	return out, nil
}

// tuneScenario reads the scenario file (the built-in game day when file is
// empty); simulated says that its targets must be the simulated agents.
func tuneScenario(file string, simulated bool) (*scenario.Scenario, error) {
	if file == "" {
		return scenario.Default(), nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("tune: %w", err)}
	}
	defer f.Close()
	sc, err := scenario.ParseReader(f)
	if err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("tune: %s: %w", file, err)}
	}
	if !simulated {
		return sc, nil
	}
	if err := sc.CheckTargets(agentsim.Agents()); err != nil {
		return nil, &exitError{code: exitUsage, err: fmt.Errorf("tune: %s: %w", file, err)}
	}
	return sc, nil
}

func objectiveText(o scenario.Objective) string {
	s := "minimise " + o.Metric
	if o.ErrorBudget > 0 {
		s += fmt.Sprintf(", at most %d failed messages", o.ErrorBudget)
	}
	return s
}

// printTune prints the side-by-side table, the verdict and the patch.
func printTune(w io.Writer, out *tune.Outcome) {
	fmt.Fprintln(w)
	tw := table(w)
	fmt.Fprintln(tw, "\tCURRENT\tPROPOSED")
	for _, c := range out.Changes {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Setting, c.From, c.To)
	}
	b, a := out.Before, out.After
	d := func(v time.Duration) string { return gameday.RoundDuration(v).String() }
	fmt.Fprintf(tw, "time below minimum\t%s\t%s\n", d(b.BelowMin), d(a.BelowMin))
	fmt.Fprintf(tw, "failed messages\t%d\t%d\n", b.Failed, a.Failed)
	fmt.Fprintf(tw, "time to detect (mean of detected)\t%s (%d not)\t%s (%d not)\n", d(b.TimeToDetect), b.Undetected, d(a.TimeToDetect), a.Undetected)
	fmt.Fprintf(tw, "time to recover (mean)\t%s\t%s\n", d(b.TimeToRecover), d(a.TimeToRecover))
	fmt.Fprintf(tw, "verdict\t%s\t%s\n", b.Verdict, a.Verdict)
	_ = tw.Flush()
	fmt.Fprintf(w, "\n%s\n", out.Why)
	if out.Better {
		fmt.Fprintf(w, "config patch: %s\n", out.Patch())
	}
}
