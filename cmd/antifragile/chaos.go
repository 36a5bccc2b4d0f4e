package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
)

const chaosUsage = `
usage: antifragile chaos [list] [-json]
       antifragile chaos inject TYPE -target NAME [fault flags] [-for d] [-name n] [-blast a,b]
       antifragile chaos inject -f scenario.json
       antifragile chaos stop NAME
       antifragile chaos emergency-stop
       antifragile chaos reset
       antifragile chaos metrics [-json]

Lists, injects and stops chaos scenarios (all but list and metrics need the
token). Fault types and their flags:
  latency       -delay d           every call waits d
  error         -rate r [-message] calls fail with probability r (default 1)
  breaker       (none)             the breaker named by -target is forced open
  partition     (none)             calls fail at once
  timeout       (none)             calls hang until their deadline
  resource      -resource R -level L  consume cpu, memory, connections,
                                   disk_io or network_bandwidth at level L

A scenario lasts -for (default 10s, at most 5m) and touches -target and
the -blast targets only. -f reads a scenario in its JSON form from a file
(- for stdin), for example:

  {"name":"slow-db","type":"latency","target":"db","delay":"250ms","duration":"30s"}

emergency-stop ends every scenario at once and refuses new ones until reset.
`

// chaosTypes maps the fault type names the CLI accepts to chaos types.
func chaosTypes() map[string]chaos.Type {
	return map[string]chaos.Type{
		"latency": chaos.TypeLatency, "error": chaos.TypeError, "errors": chaos.TypeError,
		"breaker": chaos.TypeCircuitBreaker, "circuit_breaker": chaos.TypeCircuitBreaker,
		"partition": chaos.TypeNetworkPartition, "network_partition": chaos.TypeNetworkPartition,
		"timeout":  chaos.TypeTimeout,
		"resource": chaos.TypeResourceExhaustion, "resource_exhaustion": chaos.TypeResourceExhaustion,
	}
}

func runChaos(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	action := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		action, args = args[0], args[1:]
	}
	const usage = "antifragile chaos list|inject|stop|emergency-stop|reset|metrics"
	if !oneOf(action, "list", "inject", "stop", "emergency-stop", "reset", "metrics") {
		return usageErrorf("unknown action %q: usage: %s", action, usage)
	}
	fs := newFlagSet("chaos "+action, chaosUsage, stderr)
	var rf remoteFlags
	rf.register(fs)
	var (
		file, target, name, blast, message, resource string
		delay, dur                                   time.Duration
		rate, level                                  float64
	)
	if action == "inject" {
		fs.StringVar(&file, "f", "", "read the scenario from this JSON `file` (- for stdin)")
		fs.StringVar(&target, "target", "", "the `service` (or breaker) to hit")
		fs.DurationVar(&delay, "delay", 0, "latency: the `delay` to add")
		fs.Float64Var(&rate, "rate", 1, "error: the failure `probability`, within [0, 1]")
		fs.StringVar(&message, "message", "", "error: the injected error's `message`")
		fs.StringVar(&resource, "resource", "", "resource: cpu, memory, connections, disk_io or network_bandwidth")
		fs.Float64Var(&level, "level", 0, "resource: the share consumed, within [0, 1]")
		fs.DurationVar(&dur, "for", chaos.DefaultDuration, "how long the scenario lasts")
		fs.StringVar(&name, "name", "", "the scenario's `name` (default: derived from type and target)")
		fs.StringVar(&blast, "blast", "", "comma-separated further `targets` the scenario may touch")
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}

	var body []byte // the scenario to inject, in its JSON form
	switch action {
	case "list", "emergency-stop", "reset", "metrics":
		if err := needArgs(pos, 0, "antifragile chaos "+action); err != nil {
			return err
		}
	case "stop":
		if err := needArgs(pos, 1, "antifragile chaos stop NAME"); err != nil {
			return err
		}
	case "inject":
		if body, err = scenarioFromArgs(fs.Visit, pos, stdin, file, target, name, blast, message, resource, delay, dur, rate, level); err != nil {
			return err
		}
	}

	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	switch action {
	case "list":
		sc, err := c.Scenarios(ctx)
		if err != nil {
			return err
		}
		if rf.json {
			return writeJSON(stdout, sc)
		}
		printScenarios(stdout, sc)
	case "inject":
		sc, err := c.InjectScenarioJSON(ctx, body)
		if err != nil {
			return err
		}
		if rf.json {
			return writeJSON(stdout, sc)
		}
		fmt.Fprintf(stdout, "injected %s: %s until %s\n", sc.Name, sc.Describe(), sc.ExpiresAt().Local().Format("15:04:05"))
	case "stop":
		a, err := c.StopScenario(ctx, pos[0])
		if err != nil {
			return err
		}
		if rf.json {
			return writeJSON(stdout, a)
		}
		fmt.Fprintf(stdout, "stopped %s\n", a.Scenario)
	case "emergency-stop", "reset", "metrics":
		var m chaos.Metrics
		switch action {
		case "emergency-stop":
			m, err = c.EmergencyStop(ctx)
		case "reset":
			m, err = c.ResetChaos(ctx)
		default:
			m, err = c.ChaosMetrics(ctx)
		}
		if err != nil {
			return err
		}
		if rf.json {
			return writeJSON(stdout, m)
		}
		switch action {
		case "emergency-stop":
			fmt.Fprintln(stdout, "emergency stop: every scenario ended; injections refused until 'antifragile chaos reset'")
		case "reset":
			fmt.Fprintln(stdout, "chaos reset: injections allowed again")
		default:
			printChaosMetrics(stdout, m)
		}
	}
	return nil
}

// scenarioFromArgs returns the JSON form of the scenario that `chaos
// inject` describes: the -f file as it is (after checking it), or one built
// from the type argument and the flags. Mistakes are usage errors that name
// the flag or the file.
func scenarioFromArgs(visit func(func(*flag.Flag)), pos []string, stdin io.Reader, file, target, name, blast, message, resource string,
	delay, dur time.Duration, rate, level float64) ([]byte, error) {
	if file != "" {
		if len(pos) > 0 {
			return nil, usageErrorf("give either a scenario file (-f) or a fault type, not both")
		}
		var data []byte
		var err error
		if file == "-" {
			data, err = io.ReadAll(stdin)
		} else {
			data, err = os.ReadFile(file)
		}
		if err != nil {
			return nil, usageErrorf("reading the scenario: %v", err)
		}
		if _, err := chaos.ParseScenario(data); err != nil {
			return nil, usageErrorf("%s: %s", file, flagNames(err, nil))
		}
		return data, nil
	}
	const usage = "antifragile chaos inject TYPE -target NAME [flags], or -f scenario.json"
	if len(pos) == 0 {
		return nil, usageErrorf("missing fault type (latency, error, breaker, partition, timeout or resource): usage: %s", usage)
	}
	if len(pos) > 1 {
		return nil, usageErrorf("unexpected argument %q: usage: %s", pos[1], usage)
	}
	typ, ok := chaosTypes()[pos[0]]
	if !ok {
		return nil, usageErrorf("unknown fault type %q: want latency, error, breaker, partition, timeout or resource", pos[0])
	}
	if target == "" {
		return nil, usageErrorf("-target is required: the service (or breaker) to hit, e.g. -target validator")
	}
	set := map[string]bool{}
	visit(func(f *flag.Flag) { set[f.Name] = true })
	// Flags that do not belong to the type are mistakes, not silently ignored.
	for field, f := range faultFlags {
		if set[f] && !slices.Contains(typ.Fields(), field) {
			return nil, usageErrorf("-%s does not apply to a %s fault", f, typ)
		}
	}
	var blastRadius []string
	for _, b := range strings.Split(blast, ",") {
		if b = strings.TrimSpace(b); b != "" {
			blastRadius = append(blastRadius, b)
		}
	}
	var sc chaos.Scenario
	switch typ {
	case chaos.TypeLatency:
		if !set["delay"] {
			return nil, usageErrorf("a latency fault needs -delay, e.g. -delay 100ms")
		}
		sc = chaos.LatencyScenario(target, delay, dur, blastRadius...)
	case chaos.TypeError:
		sc = chaos.ErrorScenario(target, rate, nil, dur, blastRadius...)
		sc.ErrorMessage = message
	case chaos.TypeCircuitBreaker:
		sc = chaos.BreakerScenario(target, dur, blastRadius...)
	case chaos.TypeNetworkPartition:
		sc = chaos.PartitionScenario(target, dur, blastRadius...)
	case chaos.TypeTimeout:
		sc = chaos.TimeoutScenario(target, dur, blastRadius...)
	case chaos.TypeResourceExhaustion:
		if !set["resource"] || !set["level"] {
			return nil, usageErrorf("a resource fault needs -resource (cpu, memory, connections, disk_io or network_bandwidth) and -level, e.g. -resource cpu -level 0.5")
		}
		sc = chaos.ResourceScenario(chaos.ResourceType(resource), level, target, dur, blastRadius...)
	}
	if name != "" {
		sc.Name = name
	}
	if err := sc.Validate(); err != nil {
		names := map[string]string{"name": "-name", "target": "-target", "duration": "-for", "blast_radius": "-blast"}
		for field, f := range faultFlags {
			names[field] = "-" + f
		}
		return nil, usageErrorf("%s", flagNames(err, names))
	}
	return sc.MarshalJSON()
}

// faultFlags names the flag of each kind-specific scenario field (see
// chaos.Type.Fields).
var faultFlags = map[string]string{
	"delay": "delay", "error_rate": "rate", "error_message": "message", "resource_type": "resource", "resource_level": "level",
}

func printScenarios(w io.Writer, sc api.Scenarios) {
	if sc.EmergencyStop {
		fmt.Fprintln(w, "EMERGENCY STOP in force: injections refused until 'antifragile chaos reset'")
	}
	if len(sc.Scenarios) == 0 {
		fmt.Fprintln(w, "no active scenarios")
		return
	}
	tw := table(w)
	fmt.Fprintln(tw, "NAME\tTYPE\tFAULT\tENDS")
	now := time.Now()
	for _, s := range sc.Scenarios {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Type, s.Describe(), ago(s.ExpiresAt(), now))
	}
	_ = tw.Flush()
}

func printChaosMetrics(w io.Writer, m chaos.Metrics) {
	tw := table(w)
	stop := "no"
	if m.EmergencyStop {
		stop = "yes"
		if m.StopReason != "" {
			stop += " (" + m.StopReason + ")"
		}
	}
	fmt.Fprintf(tw, "active scenarios\t%d\n", m.ActiveScenarios)
	fmt.Fprintf(tw, "scenarios run\t%d\n", m.ScenariosRun)
	fmt.Fprintf(tw, "emergency stop\t%s\n", stop)
	fmt.Fprintf(tw, "latency injected\t%d calls, %s\n", m.LatencyInjections, m.LatencyInjected)
	fmt.Fprintf(tw, "errors injected\t%d\n", m.ErrorsInjected)
	fmt.Fprintf(tw, "partitions / timeouts\t%d / %d\n", m.PartitionsInjected, m.TimeoutsInjected)
	fmt.Fprintf(tw, "breakers forced\t%d\n", m.BreakersForced)
	fmt.Fprintf(tw, "durations capped\t%d\n", m.DurationsCapped)
	r := m.Resources
	fmt.Fprintf(tw, "resources\tcpu %d goroutines, memory %d B, disk %d writers, %d connections\n",
		r.CPUGoroutines, r.MemoryHeld, r.DiskWriters, r.ConnectionsOccupied)
	_ = tw.Flush()
}
