package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/health"
)

const healthUsage = `
usage: antifragile health [-watch [-interval d]] [-circuits] [-json] [-addr URL]

Shows the system's health: status, score, breaker counts and the breakers
that pull the score down, and the breakers at risk when anomaly detection is
on. -circuits adds a line per breaker.

-watch follows the health until interrupted: it prints a line for the
current health, then one per change of status and per breaker transition,
and per at-risk signal of anomaly detection (health.anomaly in the config),
as the server's event stream (GET /events) reports them. With -interval it
polls GET /health that often instead, printing a line when something
changed. With -json each line is a JSON object.
`

func runHealth(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("health", healthUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	watch := fs.Bool("watch", false, "follow changes until interrupted")
	interval := fs.Duration("interval", 0, "with -watch, poll every `interval` instead of following events")
	circuits := fs.Bool("circuits", false, "list every breaker")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile health [flags]"); err != nil {
		return err
	}
	if *interval < 0 {
		return usageErrorf("-interval %v: must be positive", *interval)
	}
	if *interval > 0 && !*watch {
		return usageErrorf("-interval needs -watch: antifragile health -watch -interval 5s")
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	switch {
	case *watch && *interval > 0:
		return pollHealth(ctx, c, *interval, rf.json, stdout)
	case *watch:
		return followHealth(ctx, c, rf.json, stdout)
	}
	rep, err := c.Health(ctx)
	if err != nil {
		return err
	}
	if rf.json {
		return writeJSON(stdout, rep)
	}
	printReport(stdout, rep, *circuits)
	return nil
}

func printReport(w io.Writer, rep *health.Report, circuits bool) {
	tw := table(w)
	fmt.Fprintf(tw, "status\t%s — %s\n", rep.Status, openSummary(rep))
	fmt.Fprintf(tw, "score\t%.3f — %s\n", float64(rep.Score), scoreWhy(rep))
	fmt.Fprintf(tw, "breakers\t%d: %d closed, %d half-open, %d open, %d disabled\n",
		rep.Total, rep.Closed, rep.HalfOpen, rep.Open, rep.Disabled)
	fmt.Fprintf(tw, "critical\t%s\n", orDash(strings.Join(rep.Critical, ", ")))
	fmt.Fprintf(tw, "degraded\t%s\n", orDash(strings.Join(rep.Degraded, ", ")))
	taken := "-"
	if !rep.Timestamp.IsZero() {
		taken = rep.Timestamp.Format(time.RFC3339)
	}
	fmt.Fprintf(tw, "taken\t%s\n", taken)
	_ = tw.Flush()
	if len(rep.TopOffenders) > 0 {
		fmt.Fprintln(w, "\ntop offenders:")
		tw = table(w)
		fmt.Fprintln(tw, "NAME\tSTATE\tLOSS")
		for _, o := range rep.TopOffenders {
			fmt.Fprintf(tw, "%s\t%s\t%.3f\n", o.Name, o.State, float64(o.Loss))
		}
		_ = tw.Flush()
	}
	printAnomalies(w, rep.Anomalies)
	if circuits && len(rep.Circuits) > 0 {
		fmt.Fprintln(w, "\nbreakers:")
		tw = table(w)
		fmt.Fprintln(tw, "NAME\tSTATE\tWEIGHT\tSUCCESSES\tFAILURES\tIN A ROW\tSINCE")
		now := time.Now()
		for _, c := range rep.Circuits {
			fmt.Fprintf(tw, "%s\t%s\t%g\t%d\t%d\t%d\t%s\n", c.Name, c.State, c.Weight, c.Successes, c.Failures,
				c.ConsecutiveFailures, ago(c.Since, now))
		}
		_ = tw.Flush()
	}
}

// printAnomalies lists the breakers at risk, if any.
func printAnomalies(w io.Writer, as []health.Anomaly) {
	if len(as) == 0 {
		return
	}
	fmt.Fprintln(w, "\nat risk (departed from their baseline, not tripped yet if closed):")
	tw := table(w)
	fmt.Fprintln(tw, "BREAKER\tMETRIC\tBASELINE\tTHRESHOLD\tCURRENT\tSINCE")
	now := time.Now()
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.Breaker, a.Metric, metricValue(a.Metric, a.Baseline),
			metricValue(a.Metric, a.Threshold), metricValue(a.Metric, a.Current), ago(a.Since, now))
	}
	_ = tw.Flush()
}

// metricValue shows a value of metric m in its unit.
func metricValue(m health.Metric, v float64) string {
	if m == health.MeanLatency {
		return time.Duration(v * float64(time.Second)).Round(10 * time.Microsecond).String()
	}
	return fmt.Sprintf("%.1f%%", 100*v)
}

// anomalyLine is the `health -watch` line of an anomaly event.
func anomalyLine(ev health.AnomalyEvent) string {
	a := ev.Anomaly
	what := map[string]string{"at_risk": "at risk", "cleared": "back to normal", "adapted": "new normal", "removed": "gone"}[ev.Kind]
	return fmt.Sprintf("%s    %s %s: %s %s (baseline %s, threshold %s)", stamp(ev.Time), a.Breaker, orDash(what), a.Metric,
		metricValue(a.Metric, a.Current), metricValue(a.Metric, a.Baseline), metricValue(a.Metric, a.Threshold))
}

// openSummary says how many breakers are open, and half-open, of how many.
func openSummary(rep *health.Report) string {
	s := fmt.Sprintf("%d of %d breakers open", rep.Open, rep.Total)
	if rep.HalfOpen > 0 {
		s += fmt.Sprintf(", %d half-open", rep.HalfOpen)
	}
	if rep.Disabled > 0 {
		s += fmt.Sprintf(", %d disabled (not counted)", rep.Disabled)
	}
	return s
}

// scoreWhy says how the score maps to the status: the weighted share of
// the breakers that are closed, against the thresholds.
func scoreWhy(rep *health.Report) string {
	th := rep.Thresholds
	if th.Degraded == 0 && th.Critical == 0 {
		return "the weighted share of closed breakers (half-open count half)"
	}
	return fmt.Sprintf("the weighted share of closed breakers (half-open count half): HEALTHY from %.3f, DEGRADED from %.3f, CRITICAL below",
		th.Degraded, th.Critical)
}

// healthLine is one line of `health -watch`.
func healthLine(rep *health.Report) string {
	line := fmt.Sprintf("%s  %-8s  score %.3f  %d of %d open", stamp(rep.Timestamp), rep.Status, float64(rep.Score), rep.Open, rep.Total)
	if len(rep.Critical) > 0 {
		line += "  open: " + strings.Join(rep.Critical, ", ")
	}
	if len(rep.Degraded) > 0 {
		line += "  half-open: " + strings.Join(rep.Degraded, ", ")
	}
	return line
}

func stamp(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.Local().Format("15:04:05")
}

// followHealth prints the health from the hello event, then every health,
// breaker and anomaly event, until ctx ends. The server streams the health
// on a change of status only; after each breaker transition followHealth
// asks for the health, so that a change of the score alone is printed too.
func followHealth(ctx context.Context, c *client.Client, asJSON bool, w io.Writer) error {
	f := &follower{c: c, w: w}
	for ev, err := range c.Events(ctx) {
		if err != nil {
			if errors.Is(err, client.ErrStreamEnded) {
				return &exitError{code: exitUnreachable, err: fmt.Errorf("the server closed the event stream: %w", err)}
			}
			return err
		}
		if asJSON {
			if oneOf(ev.Kind, api.KindHello, api.KindHealth, api.KindBreaker, api.KindAnomaly) {
				if err := writeJSONLine(w, ev); err != nil {
					return err
				}
			}
			continue
		}
		if err := f.event(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// follower prints the lines of `health -watch` without -json.
type follower struct {
	c    *client.Client
	w    io.Writer
	last string // the healthKey of the last health line; "" before the first
}

// health prints rep's line if it differs from the last one printed.
func (f *follower) health(rep *health.Report) {
	if key := healthKey(rep); key != f.last {
		f.last = key
		fmt.Fprintln(f.w, healthLine(rep))
	}
}

// event prints what ev says.
func (f *follower) event(ctx context.Context, ev api.Event) error {
	switch ev.Kind {
	case api.KindHello:
		h, err := ev.Hello()
		if err != nil {
			return err
		}
		if h.Health == nil {
			fmt.Fprintf(f.w, "%s  the server has no health aggregator; showing breaker transitions\n", stamp(time.Time{}))
			return nil
		}
		f.health(h.Health)
	case api.KindHealth:
		rep, err := ev.Health()
		if err != nil {
			return err
		}
		f.health(&rep)
	case api.KindAnomaly:
		a, err := ev.Anomaly()
		if err != nil {
			return err
		}
		fmt.Fprintln(f.w, anomalyLine(a))
	case api.KindBreaker:
		b, err := ev.Breaker()
		if err != nil {
			return err
		}
		if b.From == b.To {
			fmt.Fprintf(f.w, "%s    breaker %s %s\n", stamp(b.At), b.Breaker, b.Reason)
		} else {
			fmt.Fprintf(f.w, "%s    breaker %s %s -> %s (%s)\n", stamp(b.At), b.Breaker, b.From, b.To, b.Reason)
		}
		if f.last != "" { // the server has an aggregator
			if rep, err := healthSince(ctx, f.c, b.At); err == nil {
				f.health(rep)
			}
		}
	}
	return nil
}

// healthSince returns the server's current health report once it was
// taken at or after at (the time of a breaker transition): GET /health
// serves the last collection, which the aggregator redoes right after a
// transition, so the first answer may predate it. It asks again every
// healthRetry, for at most healthWait, then returns the last answer.
func healthSince(ctx context.Context, c *client.Client, at time.Time) (*health.Report, error) {
	deadline := time.Now().Add(healthWait)
	for {
		rep, err := c.Health(ctx)
		if err != nil || !rep.Timestamp.Before(at) || time.Now().After(deadline) {
			return rep, err
		}
		select {
		case <-ctx.Done():
			return rep, nil
		case <-time.After(healthRetry):
		}
	}
}

// How healthSince waits for a collection after a transition.
const (
	healthRetry = 20 * time.Millisecond
	healthWait  = 2 * time.Second
)

// healthKey is what a printed health line shows: a line is printed when it
// changes.
func healthKey(rep *health.Report) string {
	return fmt.Sprintf("%s|%.3f|%v|%v", rep.Status, float64(rep.Score), rep.Critical, rep.Degraded)
}

// pollHealth prints the health every interval when it differs from the
// last one printed, until ctx ends.
func pollHealth(ctx context.Context, c *client.Client, interval time.Duration, asJSON bool, w io.Writer) error {
	last := ""
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		rep, err := c.Health(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if key := healthKey(rep); key != last {
			last = key
			if asJSON {
				err = writeJSONLine(w, rep)
			} else {
				_, err = fmt.Fprintln(w, healthLine(rep))
			}
			if err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// writeJSONLine writes v as one line of JSON.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
