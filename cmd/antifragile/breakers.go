package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/breaker"
)

const breakersUsage = `
usage: antifragile breakers [-state s] [-json] [-addr URL]

Lists the circuit breakers with their state and counters, sorted by name,
then the trip rules in force. CALLS to TRIPS are lifetime totals (since the
breaker was created or reset); NOW is what the rules see in the current
state: the run of consecutive failures and the rate window while closed, when
an open breaker moves to half-open, the trials of a half-open one.
-state keeps those in one state: closed, open, half_open, forced_open or
disabled.
`

func runBreakers(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("breakers", breakersUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	stateFlag := fs.String("state", "", "only breakers in this `state`")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	if err := needArgs(pos, 0, "antifragile breakers [flags]"); err != nil {
		return err
	}
	var want breaker.State
	if *stateFlag != "" {
		if want, err = breaker.ParseState(*stateFlag); err != nil {
			return usageErrorf("-state %q: want closed, open, half_open, forced_open or disabled", *stateFlag)
		}
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	bs, err := c.Breakers(ctx)
	if err != nil {
		return err
	}
	if *stateFlag != "" {
		kept := bs.Breakers[:0]
		for _, b := range bs.Breakers {
			if b.State == want {
				kept = append(kept, b)
			}
		}
		bs.Breakers, bs.Count = kept, len(kept)
	}
	if rf.json {
		return writeJSON(stdout, bs)
	}
	printBreakers(stdout, bs)
	return nil
}

func printBreakers(w io.Writer, bs api.Breakers) {
	if len(bs.Breakers) == 0 {
		fmt.Fprintln(w, "no breakers")
		return
	}
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tSTATE\tCALLS\tFAILURES\tIGNORED\tLATE\tREJECTED\tSLOW\tTRIPS\tSINCE\tNOW")
	now := time.Now()
	for _, b := range bs.Breakers {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\n", b.Name, b.State, b.Calls, b.Failures,
			b.Ignored, b.Late, b.Rejections, b.SlowCalls, b.Trips, ago(b.LastTransition, now), breakerNow(b.Metrics, now))
	}
	_ = tw.Flush()
	printRules(w, bs.Breakers)
}

// breakerNow says in a few words what a breaker's rules see in its current
// state.
func breakerNow(m breaker.Metrics, now time.Time) string {
	switch m.State {
	case breaker.Closed:
		s := fmt.Sprintf("%d failing in a row", m.ConsecutiveFailures)
		if w := m.Window; w.Calls > 0 {
			s += fmt.Sprintf(", window %d calls: %.0f%% failed", w.Calls, 100*w.FailureRate)
			if w.SlowCalls > 0 {
				s += fmt.Sprintf(", %.0f%% slow", 100*w.SlowCallRate)
			}
		}
		return s
	case breaker.Open:
		return fmt.Sprintf("half-open %s (open for %s)", ago(m.HalfOpenAt, now), m.OpenTimeout)
	case breaker.HalfOpen:
		return fmt.Sprintf("%d trials out, %d succeeded", m.TrialCalls, m.TrialSuccesses)
	}
	return "-"
}

// printRules lists the trip rules in force, one line per distinct set of
// rules with the breakers that share it.
func printRules(w io.Writer, bs []breaker.Snapshot) {
	var order []string
	names := map[string][]string{}
	for _, b := range bs {
		key := strings.Join(b.Rules, " or ")
		if key == "" {
			key = "none (never trips by itself)"
		}
		if _, ok := names[key]; !ok {
			order = append(order, key)
		}
		names[key] = append(names[key], b.Name)
	}
	fmt.Fprintln(w, "\nTRIP RULES")
	for _, key := range order {
		fmt.Fprintf(w, "  %s: %s\n", strings.Join(names[key], ", "), key)
	}
}
