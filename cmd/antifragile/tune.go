package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
	"github.com/antifragile-go/antifragile/internal/tune"
)

const tuneUsage = `usage: antifragile tune [-scenario file.json] [-duration d] [-seed n] [-knobs a,b] [-report tune.json] [-json] [-apply -addr URL]
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
	scenarioFile := fs.String("scenario", "", "game day scenario `file` (JSON); the built-in one when absent")
	duration := fs.Duration("duration", 0, "shrink or stretch every run to last this `long` (0: as the scenario says)")
	seed := fs.Uint64("seed", 0, "`seed` of every run (0: random, printed)")
	knobList := fs.String("knobs", "", "comma-separated `settings` to tune (default: all of "+strings.Join(knobNames(), ", ")+")")
	reportFile := fs.String("report", "", "write the outcome as JSON to `file`")
	apply := fs.Bool("apply", false, "send a proven proposal to the server at -addr and record it in its ledger")
	showLedger := fs.Bool("ledger", false, "print the tuning ledger of the server at -addr and exit")
	var rf remoteFlags
	rf.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile tune [flags]"); err != nil {
		return err
	}
	if *showLedger {
		return printLedger(ctx, &rf, stdout)
	}
	if *duration < 0 {
		return usageErrorf("tune: -duration %s must not be negative", *duration)
	}
	knobs, err := pickKnobs(*knobList)
	if err != nil {
		return err
	}
	sc, err := tuneScenario(*scenarioFile)
	if err != nil {
		return err
	}
	sc, scale := sc.Scaled(*duration)
	if *seed == 0 {
		*seed = newSeed()
	}
	progress := stdout
	if rf.json {
		progress = stderr
	}
	fmt.Fprintf(progress, "tuning %q (%s a run, seed %d), objective %s\n", sc.Name, gameday.RoundDuration(sc.Total()), *seed, objectiveText(sc.Objective))
	out, err := tune.Search(ctx, tune.Config{
		Current:   tune.Settings{Breaker: agentsim.BreakerConfig(1), Recovery: agentsim.RecoveryPolicy(1, nil)},
		Objective: sc.Objective, Knobs: knobs, Progress: progress,
		Run: tune.Local{Scenario: sc, Seed: *seed, Scale: scale}.Run,
	})
	if err != nil {
		return err
	}
	if err := writeTuneOutcome(out, *reportFile, rf.json, stdout); err != nil {
		return err
	}
	if *apply {
		return applyTune(ctx, &rf, out, progress)
	}
	return nil
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
func applyTune(ctx context.Context, rf *remoteFlags, out *tune.Outcome, w io.Writer) error {
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
	e, err := c.ApplyTuning(ctx, api.TuningChange{Services: agentsim.Agents(), Breaker: b, Recovery: r, Why: out.Why, Before: before, After: after})
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

func tuneScenario(file string) (*scenario.Scenario, error) {
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
