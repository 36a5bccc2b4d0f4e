package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

const gamedayUsage = `usage: antifragile gameday -f scenario.json [-addr URL] [-token token] [-report gameday.html] [-duration d] [-json]


Runs a game day against any service that mounts the ops API: for each phase
of the scenario file it injects the phase's chaos scenarios through the API
(POST /chaos/scenarios, which needs the token), watches GET /health,
/recovery, /metering and /events, and ends every scenario it injected when
its duration is over — or, when interrupted (Ctrl-C), stops the chaos
engine at once (POST /chaos/emergency-stop) before ending them. Then it
prints a summary table and writes an HTML report with charts.

The scenario file (see 'antifragile demo -print-scenario' for an example):
  {"name": "...", "steady_state": {"min_status": "HEALTHY", "recovery_budget": "20s", "tolerance": "0s"},
   "phases": [{"name": "storm", "duration": "10s", "expect": "degrade",
               "faults": [{"type": "error", "target": "payments", "error_rate": 1}]}]}
A fault is a chaos scenario in its JSON form; without a duration it lasts
its phase. The traffic section is ignored: the service makes its own. The
tolerance is how long in all a steady phase may be below min_status (time
an earlier fault is still being recovered from, within its budget, is that
fault's). Each fault must hit something — a breaker or agent the service
knows, which calls reach while the fault lasts — and every phase needs
traffic, or the phase is INCONCLUSIVE.

Exit status:
  0  PASS: the steady-state hypothesis held, and was tested
  1  FAIL: it did not hold, or the game day was interrupted
  2  usage error (bad flag, invalid scenario file, unwritable -report)
  3  the server refused the first request (token, emergency stop)
  4  the server could not be reached
  5  INCONCLUSIVE: nothing failed, but a phase tested nothing (a fault hit
     no service the server knows, or no traffic reached it)
`

// runGameday runs the `gameday` subcommand (see gamedayUsage) and returns
// a *gameday.VerdictError (exit code 1) when the hypothesis did not hold.
func runGameday(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("gameday", gamedayUsage, stdout)
	var remote remoteFlags
	remote.register(fs)
	file := fs.String("f", "", "game day scenario `file` (JSON; - reads stdin); required")
	reportFile := fs.String("report", report.DefaultFile, "HTML report `file`")
	duration := fs.Duration("duration", 0, "stretch or shrink the game day to last this `long` in all (0: as the file says)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := checkGamedayArgs(pos, *file, *duration); err != nil {
		return err
	}
	if err := report.CheckWritable(*reportFile); err != nil {
		return usageErrorf("gameday: -report %s: %v", *reportFile, err)
	}
	sc, err := readGamedayScenario(*file, stdin)
	if err != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("gameday: %w", err)}
	}
	c, err := remote.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	if remote.token == "" && os.Getenv(envToken) == "" {
		return usageErrorf("gameday: a token is required to inject faults: set $%s or pass -token", envToken)
	}
	if err := gamedayPreflight(ctx, c); err != nil {
		return err
	}
	progress := stdout
	if remote.json {
		progress = stderr
	}
	res, err := runRemoteGameday(ctx, c, sc, *duration, progress)
	if err != nil {
		return err
	}
	if err := writeGamedayResult(stdout, res, remote.json); err != nil {
		return err
	}
	if err := report.WriteReportFile(*reportFile, res); err != nil {
		return fmt.Errorf("gameday: writing the report: %w", err)
	}
	if abs, err := filepath.Abs(*reportFile); err == nil {
		fmt.Fprintf(progress, "report: %s\n", abs)
	}
	return res.Err()
}

// checkGamedayArgs checks the arguments of `gameday`: no positional
// argument, a scenario file, a duration that is not negative.
func checkGamedayArgs(pos []string, file string, duration time.Duration) error {
	switch {
	case len(pos) > 0:
		return usageErrorf("gameday: unexpected argument %q: pass the scenario with -f", pos[0])
	case file == "":
		return usageErrorf("gameday: -f scenario.json is required (run 'antifragile gameday -h' for the flags)")
	case duration < 0:
		return usageErrorf("gameday: -duration %s must not be negative", duration)
	}
	return nil
}

// runRemoteGameday runs the game day sc, scaled to last duration (0: as
// it is), against the server of c, printing a banner and the progress to
// progress, and returns its result (see gameday.Run).
func runRemoteGameday(ctx context.Context, c *client.Client, sc *scenario.Scenario, duration time.Duration, progress io.Writer) (*gameday.Result, error) {
	scaled, scale := sc.Scaled(duration)
	fmt.Fprintf(progress, "antifragile gameday: %q against %s, %d phases in %s\n\n",
		scaled.Name, c.BaseURL(), len(scaled.Phases), scaled.Total().Round(time.Millisecond))
	return gameday.Run(ctx, gameday.Config{
		Scenario: scaled, Target: gameday.NewRemoteTarget(c), Progress: progress,
		Terminal: gameday.IsTerminal(progress), Description: c.BaseURL(), Scale: scale,
		Traffic: "the service's own (the scenario's traffic section is not used)",
	})
}

// writeGamedayResult writes res to w: as indented JSON when asJSON, else
// as the summary table after a blank line.
func writeGamedayResult(w io.Writer, res *gameday.Result, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintln(w)
	return report.WriteSummary(w, res)
}

// gamedayPreflight checks, before any fault is injected, that the server
// answers (exit code 4 otherwise), that the token is accepted and that the
// chaos engine is not emergency-stopped (exit code 3 otherwise). The token
// is checked by ending a scenario that does not exist: the answer is 404
// with the right token, 401 or 403 with a wrong one, and nothing changes.
func gamedayPreflight(ctx context.Context, c *client.Client) error {
	if _, err := c.Health(ctx); err != nil {
		return fmt.Errorf("gameday: %w", err)
	}
	probe, err := newToken()
	if err != nil {
		return err
	}
	_, err = c.StopScenario(ctx, "gameday-token-check-"+probe[:12])
	switch {
	case err == nil, errors.Is(err, client.ErrNotFound):
	case errors.Is(err, client.ErrUnauthorized), errors.Is(err, client.ErrForbidden):
		return fmt.Errorf("gameday: the server refuses the token, so no fault could be injected: %w", err)
	default:
		return fmt.Errorf("gameday: %w", err)
	}
	st, err := c.Scenarios(ctx)
	if err != nil {
		return fmt.Errorf("gameday: %w", err)
	}
	if st.EmergencyStop {
		return &exitError{code: exitRefused, err: errors.New("gameday: the server's chaos engine is emergency-stopped and refuses faults; lift the stop first ('antifragile chaos reset')")}
	}
	return nil
}

// readGamedayScenario parses the scenario file at path ("-" is stdin).
func readGamedayScenario(path string, stdin io.Reader) (*scenario.Scenario, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	sc, err := scenario.ParseReader(r)
	if err != nil {
		return nil, fmt.Errorf("scenario %s:\n%w", path, err)
	}
	return sc, nil
}
