package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
	"github.com/antifragile-go/antifragile/cluster"
)

const clusterUsage = `
usage: antifragile cluster status|lever|usage [-json] [-addr URL]
       antifragile cluster emergency-stop|reset [-by NAME] [-json] [-addr URL] [-token T]
       antifragile cluster inject -f scenario.json [-names a,b] [-label k=v]... [-fraction F -seed N] [-by NAME]
       antifragile cluster fleet|stop NAME [-json] [-addr URL] [-token T]

Cluster mode, through any instance of the cluster (its config has a
cluster section with a url):
  status          every instance by freshness (stale and lost marked), the
                  breakers rolled up by name, the cluster's status and what
                  pulled it down
  lever           the cluster-wide emergency stop and who acknowledged it
  usage           usage per tenant across every instance metering into the
                  same JetStream stream (metering.sink nats://), each batch
                  counted once
  emergency-stop  latch the stop: every instance ends its chaos, releases
                  forced breakers and refuses injections until reset;
                  instances that start later boot stopped (needs the token)
  reset           clear the latched stop (needs the token)
  inject          fleet chaos: the scenario of -f (- is stdin) on the live
                  instances the selector chooses (needs the token)
  fleet NAME      a fleet run and each instance's outcome
  stop NAME       end a fleet run everywhere (needs the token)
`

// labelFlags collects -label k=v flags.
type labelFlags map[string]string

func (l labelFlags) String() string { return fmt.Sprint(map[string]string(l)) }

func (l labelFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	l[k] = val
	return nil
}

// clusterFlags are the flags of the cluster command.
type clusterFlags struct {
	remoteFlags
	by, file, names string
	labels          labelFlags
	fraction        float64
	seed            uint64
}

func (f *clusterFlags) register(fs *flag.FlagSet) {
	f.remoteFlags.register(fs)
	f.labels = labelFlags{}
	fs.StringVar(&f.by, "by", "", "who acts, for the cluster's records (default: the client's address)")
	fs.StringVar(&f.file, "f", "", "inject: the scenario's JSON `file` (- is stdin)")
	fs.StringVar(&f.names, "names", "", "inject: the instances to choose from, comma-separated (default: every live one)")
	fs.Var(f.labels, "label", "inject: a `key=value` label the instances must carry (repeatable)")
	fs.Float64Var(&f.fraction, "fraction", 0, "inject: keep this share of the candidates, ranked by -seed (0 or 1: all)")
	fs.Uint64Var(&f.seed, "seed", 0, "inject: the seed ranking the candidates for -fraction")
}

func (f *clusterFlags) selector() cluster.Selector {
	sel := cluster.Selector{Labels: f.labels, Fraction: f.fraction, Seed: f.seed}
	if f.names != "" {
		sel.Names = strings.Split(f.names, ",")
	}
	return sel
}

func runCluster(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlagSet("cluster", clusterUsage, stdout)
	var f clusterFlags
	f.register(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	const usage = "antifragile cluster status|lever|usage|emergency-stop|reset|inject|fleet|stop"
	if len(pos) == 0 {
		return usageErrorf("missing action: usage: %s", usage)
	}
	action, rest := pos[0], pos[1:]
	want := 0
	if oneOf(action, "fleet", "stop") {
		want = 1
	} else if !oneOf(action, "status", "lever", "usage", "emergency-stop", "reset", "inject") {
		return usageErrorf("unknown action %q: usage: %s", action, usage)
	}
	if err := needArgs(rest, want, "antifragile cluster "+action+strings.Repeat(" NAME", want)); err != nil {
		return err
	}
	var scenario []byte
	if action == "inject" {
		if f.file == "" {
			return usageErrorf("inject needs the scenario: -f scenario.json (- is stdin)")
		}
		if scenario, err = readScenarioFile(f.file, nil, stdin); err != nil {
			return err
		}
	}
	c, err := f.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	v, print, err := clusterAction(ctx, c, action, rest, &f, scenario)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(stdout, v)
	}
	print(stdout)
	return nil
}

// clusterAction performs one action and returns its result and how to print
// it as text.
func clusterAction(ctx context.Context, c *client.Client, action string, rest []string, f *clusterFlags, scenario []byte) (any, func(io.Writer), error) {
	switch action {
	case "status":
		v, err := c.Cluster(ctx)
		return v, func(w io.Writer) { printView(w, v) }, err
	case "usage":
		u, err := c.ClusterUsage(ctx)
		return u, func(w io.Writer) { printClusterUsage(w, u) }, err
	case "lever", "emergency-stop", "reset":
		var l cluster.Lever
		var err error
		switch action {
		case "lever":
			l, err = c.ClusterLever(ctx)
		case "emergency-stop":
			l, err = c.ClusterEmergencyStop(ctx, f.by)
		default:
			l, err = c.ClusterReset(ctx, f.by)
		}
		return l, func(w io.Writer) { printLever(w, l) }, err
	case "inject":
		s, err := chaos.ParseScenario(scenario)
		if err != nil {
			return nil, nil, usageErrorf("%s: %v", f.file, err)
		}
		run, err := c.InjectFleet(ctx, s, f.selector(), f.by)
		return run, func(w io.Writer) {
			fmt.Fprintf(w, "fleet scenario %s (run %s) assigned to %d instances: %s; ends %s\n",
				run.Scenario.Name, run.ID, len(run.Selected), strings.Join(run.Selected, ", "), run.ExpiresAt.Format(time.RFC3339))
			if note := run.Scenario.CapNote(); note != "" {
				fmt.Fprintf(w, "warning: duration %s (an instance with a lower max_duration caps it further)\n", note)
			}
			fmt.Fprintf(w, "each instance checks the target itself: 'antifragile cluster fleet %s' shows what each did\n", run.Scenario.Name)
		}, err
	case "fleet":
		st, err := c.Fleet(ctx, rest[0])
		return st, func(w io.Writer) { printFleet(w, st) }, err
	default: // stop
		st, err := c.StopFleet(ctx, rest[0])
		return st, func(w io.Writer) { fmt.Fprintf(w, "fleet scenario %s: ended on %d instances\n", st.Name, st.Stopped) }, err
	}
}

// printView prints the cluster view: a summary line, the instances, the
// breakers and what pulled the status down.
func printView(w io.Writer, v *cluster.View) {
	stale := ""
	if v.Stale {
		stale = fmt.Sprintf(" — STALE: the control plane did not answer (%s); as read at %s", v.Error, v.ReadAt.Format(time.TimeOnly))
	}
	fmt.Fprintf(w, "cluster %s: %s — %d live, %d stale, %d lost; emergency stop %s%s\n",
		v.Cluster, v.Status, v.Live, v.StaleCount, v.Lost, latched(v.Lever.Stopped), stale)
	tw := table(w)
	fmt.Fprintln(tw, "INSTANCE\tFRESHNESS\tSTATUS\tSCORE\tAGE\tOPEN\tFORCED\tCHAOS\tRECOVERY\tVERSION")
	for _, in := range v.Instances {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%s\t%d/%d\t%d\t%s\t%d\t%s\n", in.Instance, freshness(in), in.Status, float64(in.Score),
			time.Duration(in.Age).Round(time.Millisecond), in.OpenCount, in.Breakers, in.ForcedCount, chaosCell(in.Heartbeat), in.RecoveryQueue, in.Version)
	}
	tw.Flush()
	if len(v.Breakers) > 0 {
		fmt.Fprintln(w, "\nBREAKERS")
		for _, b := range v.Breakers {
			fmt.Fprintf(w, "  %s\n", b.Summary)
		}
	}
	if c := v.PulledDownBy; len(c.Instances) > 0 {
		fmt.Fprintln(w, "\nPULLED DOWN BY")
		for _, in := range c.Instances {
			fmt.Fprintf(w, "  %s: %s", in.Instance, in.Reason)
			if len(in.Breakers) > 0 {
				fmt.Fprintf(w, " (%s)", strings.Join(in.Breakers, ", "))
			}
			fmt.Fprintln(w)
		}
	}
}

func freshness(in cluster.Instance) string {
	switch {
	case in.Lost:
		return "LOST"
	case in.Stale:
		return "stale"
	}
	return "live"
}

func chaosCell(h cluster.Heartbeat) string {
	s := strconv.Itoa(h.ChaosCount)
	if h.ChaosStopped {
		s += " (stopped)"
	}
	return s
}

func latched(stopped bool) string {
	if stopped {
		return "LATCHED"
	}
	return "off"
}

// printLever prints the lever and its acknowledgements.
func printLever(w io.Writer, l cluster.Lever) {
	fmt.Fprintf(w, "emergency stop %s", latched(l.Stopped))
	if l.By != "" {
		fmt.Fprintf(w, " (by %s at %s, revision %d)", l.By, l.At.Format(time.RFC3339), l.Revision)
	}
	fmt.Fprintln(w)
	for _, a := range l.Acked {
		fmt.Fprintf(w, "  acknowledged by %s at %s (chaos stopped: %v)\n", a.Instance, a.At.Format(time.TimeOnly), a.ChaosStopped)
	}
	if len(l.Pending) > 0 {
		fmt.Fprintf(w, "  not yet acknowledged by: %s\n", strings.Join(l.Pending, ", "))
	}
}

// printFleet prints a fleet run's outcome per instance.
func printFleet(w io.Writer, st cluster.FleetStatus) {
	fmt.Fprintf(w, "fleet scenario %s (run %s): %d accepted, %d refused, %d pending\n",
		st.Run.Scenario.Name, st.Run.ID, st.Accepted, st.Refused, st.Pending)
	tw := table(w)
	fmt.Fprintln(tw, "INSTANCE\tOUTCOME\tERROR")
	for _, r := range st.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Instance, r.Outcome, r.Error)
	}
	tw.Flush()
}

// printClusterUsage prints the usage per tenant across the cluster and how
// far the folding of the stored batches got.
func printClusterUsage(w io.Writer, u api.ClusterUsage) {
	behind := ""
	if u.LastSeq > u.FoldedThrough {
		behind = fmt.Sprintf("; %d later batches may not be counted yet", u.LastSeq-u.FoldedThrough)
	}
	fmt.Fprintf(w, "cluster usage from stream %s: %d tenants, batches folded through %d of %d%s\n",
		u.Stream, len(u.Usage), u.FoldedThrough, u.LastSeq, behind)
	if len(u.Usage) == 0 {
		return
	}
	tw := table(w)
	fmt.Fprintln(tw, "TENANT\tCOUNT\tTOKENS\tLATENCY MEAN\tLATENCY MAX\tCOMPLIANCE\tERRORS\tREJECTED\tINJECTED")
	for _, t := range u.Usage {
		mean := time.Duration(0)
		if t.Count > 0 {
			mean = t.LatencySum / time.Duration(t.Count)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%.3f\t%d\t%d\t%d\n", t.Tenant, t.Count, t.Tokens, mean, t.LatencyMax,
			t.ComplianceMean, t.Errors, t.Rejected, t.Injected)
	}
	tw.Flush()
}
