package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/api"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/client"
)

const chaosUsage = `
usage: antifragile chaos [list] [-json]
       antifragile chaos inject TYPE -target NAME [fault flags] [-for d] [-name n] [-blast a,b] [-strict]
       antifragile chaos inject -f scenario.json [-strict]
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
Message faults, on the messages the agent bus delivers to -target (-rate r:
the share of them hit, default every one):
  corrupt_reply [-rate r]          the agent's replies are garbled
  duplicate     [-rate r]          messages are delivered twice
  reorder       [-rate r]          published messages overtake each other
  wrong_hash    [-rate r]          messages carry a wrong constitutional hash
  poison        -delay d [-rate r] messages take d longer to handle
  crash         [-rate r]          the agent's handler stops: messages fail

A scenario lasts -for (default 10s, at most the server's max_duration, 5m
by default: a longer one is capped, and the answer says "capped from 10m
to 5m") and touches -target and the -blast targets only. A target the
server has never seen (no breaker, bus agent, connection pool or call by
that name) is injected with a warning, since the fault may hit nothing;
-strict refuses it instead (exit status 3). -f reads a scenario in its JSON form from a file
(- for stdin), for example:

  {"name":"slow-db","type":"latency","target":"db","delay":"250ms","duration":"30s"}

emergency-stop ends every scenario at once and refuses new ones until reset.
`

// chaosTypes maps the fault type names the CLI accepts to chaos types.
func chaosTypes() map[string]chaos.Type {
	m := map[string]chaos.Type{
		"latency": chaos.TypeLatency, "error": chaos.TypeError, "errors": chaos.TypeError,
		"breaker": chaos.TypeCircuitBreaker, "circuit_breaker": chaos.TypeCircuitBreaker,
		"partition": chaos.TypeNetworkPartition, "network_partition": chaos.TypeNetworkPartition,
		"timeout":  chaos.TypeTimeout,
		"resource": chaos.TypeResourceExhaustion, "resource_exhaustion": chaos.TypeResourceExhaustion,
	}
	for _, t := range chaos.MessageTypes() {
		m[string(t)] = t
	}
	return m
}

// runChaos runs the `chaos` subcommand (see chaosUsage): it checks the
// action, its arguments and, for inject, the scenario locally (mistakes are
// usage errors naming the flag), then sends the one request of the action
// and prints the answer.
func runChaos(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	action, args := splitAction(args, "list")
	const usage = "antifragile chaos list|inject|stop|emergency-stop|reset|metrics"
	if !oneOf(action, "list", "inject", "stop", "emergency-stop", "reset", "metrics") {
		return usageErrorf("unknown action %q: usage: %s", action, usage)
	}
	fs := newFlagSet("chaos "+action, chaosUsage, stdout)
	var rf remoteFlags
	rf.register(fs)
	var inject injectFlags
	if action == "inject" {
		inject.register(fs)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return helpOK(err)
	}
	var body []byte // the scenario to inject, in its JSON form
	switch action {
	case "inject":
		body, err = inject.scenario(fs, pos, stdin)
	case "stop":
		err = needArgs(pos, 1, "antifragile chaos stop NAME")
	default:
		err = needArgs(pos, 0, "antifragile chaos "+action)
	}
	if err != nil {
		return err
	}
	c, err := rf.client()
	if err != nil {
		return err
	}
	defer c.CloseIdleConnections()
	return chaosRequest(ctx, c, action, pos, body, inject.strict, rf.json, stdout)
}

// chaosRequest sends the request of a checked chaos action to the server
// of c and prints the answer to w, as JSON when asJSON. pos holds the
// action's positional arguments, body the scenario of inject, strict
// whether inject refuses an unknown target.
func chaosRequest(ctx context.Context, c *client.Client, action string, pos []string, body []byte, strict, asJSON bool, w io.Writer) error {
	switch action {
	case "list":
		sc, err := c.Scenarios(ctx)
		if err != nil {
			return err
		}
		return output(w, asJSON, sc, printScenarios)
	case "inject":
		ans, err := c.Inject(ctx, body, client.InjectOptions{Strict: strict})
		if err != nil {
			return err
		}
		return output(w, asJSON, ans, printInjected)
	case "stop":
		a, err := c.StopScenario(ctx, pos[0])
		if err != nil {
			return err
		}
		return output(w, asJSON, a, printStopped)
	}
	call, show := engineAction(action)
	m, err := call(c, ctx)
	if err != nil {
		return err
	}
	return output(w, asJSON, m, show)
}

// engineAction returns the request of a chaos action on the engine as a
// whole (emergency-stop, reset or metrics) and how its answer is printed.
func engineAction(action string) (func(*client.Client, context.Context) (chaos.Metrics, error), func(io.Writer, chaos.Metrics)) {
	switch action {
	case "emergency-stop":
		return (*client.Client).EmergencyStop,
			printLine("emergency stop: every scenario ended; injections refused until 'antifragile chaos reset'")
	case "reset":
		return (*client.Client).ResetChaos, printLine("chaos reset: injections allowed again")
	}
	return (*client.Client).ChaosMetrics, printChaosMetrics
}

// printLine returns a printer that prints msg whatever the answer.
func printLine(msg string) func(io.Writer, chaos.Metrics) {
	return func(w io.Writer, _ chaos.Metrics) { fmt.Fprintln(w, msg) }
}

// printInjected prints the scenario inject activated, then a "warning:"
// line for each of the server's warnings (an unknown target, a capped
// duration).
func printInjected(w io.Writer, ans api.Injected) {
	sc := ans.Scenario
	fmt.Fprintf(w, "injected %s: %s until %s\n", sc.Name, sc.Describe(), sc.ExpiresAt().Local().Format("15:04:05"))
	for _, warning := range ans.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warning)
	}
}

// printStopped prints the answer of stop.
func printStopped(w io.Writer, a api.ScenarioAction) { fmt.Fprintf(w, "stopped %s\n", a.Scenario) }

// injectFlags are the flags of `chaos inject`.
type injectFlags struct {
	file, target, name, blast, message, resource string
	delay, dur                                   time.Duration
	rate, level                                  float64
	strict                                       bool
}

// register adds the flags of `chaos inject` to fs.
func (f *injectFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.file, "f", "", "read the scenario from this JSON `file` (- for stdin)")
	fs.StringVar(&f.target, "target", "", "the `service` (or breaker) to hit")
	fs.DurationVar(&f.delay, "delay", 0, "latency: the `delay` to add, such as 100ms")
	fs.Float64Var(&f.rate, "rate", 1, "error: the failure `probability`, within [0, 1]")
	fs.StringVar(&f.message, "message", "", "error: the injected error's `message`")
	fs.StringVar(&f.resource, "resource", "", "resource: cpu, memory, connections, disk_io or network_bandwidth")
	fs.Float64Var(&f.level, "level", 0, "resource: the share consumed, within [0, 1], such as 0.5")
	fs.DurationVar(&f.dur, "for", chaos.DefaultDuration, "how long the scenario lasts")
	fs.StringVar(&f.name, "name", "", "the scenario's `name` (default: derived from type and target)")
	fs.StringVar(&f.blast, "blast", "", "comma-separated further `targets` the scenario may touch")
	fs.BoolVar(&f.strict, "strict", false, "refuse a target the server has never seen instead of injecting it with a warning")
}

// scenario returns the JSON form of the scenario that `chaos inject`
// describes: the -f file as it is (after checking it), or one built from
// the type argument in pos and the flags f was registered on in fs.
// Mistakes are usage errors that name the flag or the file.
func (f *injectFlags) scenario(fs *flag.FlagSet, pos []string, stdin io.Reader) ([]byte, error) {
	if f.file != "" {
		return readScenarioFile(f.file, pos, stdin)
	}
	typ, err := faultType(pos)
	if err != nil {
		return nil, err
	}
	if f.target == "" {
		return nil, usageErrorf("-target is required: the service (or breaker) to hit, e.g. -target validator")
	}
	// Flags that do not belong to the type are mistakes, not silently ignored.
	for field, name := range faultFlags {
		if isFlagSet(fs, name) && !slices.Contains(typ.Fields(), field) {
			return nil, usageErrorf("-%s does not apply to a %s fault", name, typ)
		}
	}
	sc, err := f.build(fs, typ)
	if err != nil {
		return nil, err
	}
	if f.name != "" {
		sc.Name = f.name
	}
	if err := sc.Validate(); err != nil {
		return nil, usageErrorf("%s", flagNames(err, scenarioFlags()))
	}
	return sc.MarshalJSON()
}

// readScenarioFile returns the scenario file of -f (- is stdin) after
// checking that it parses; pos must be empty, since a file and a fault type
// exclude each other.
func readScenarioFile(file string, pos []string, stdin io.Reader) ([]byte, error) {
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

// faultType returns the fault type named by the one positional argument
// of `chaos inject TYPE`.
func faultType(pos []string) (chaos.Type, error) {
	const usage = "antifragile chaos inject TYPE -target NAME [flags], or -f scenario.json"
	if len(pos) == 0 {
		return "", usageErrorf("missing fault type (latency, error, breaker, partition, timeout or resource): usage: %s", usage)
	}
	if len(pos) > 1 {
		return "", usageErrorf("unexpected argument %q: usage: %s", pos[1], usage)
	}
	typ, ok := chaosTypes()[pos[0]]
	if !ok {
		return "", usageErrorf("unknown fault type %q: want latency, error, breaker, partition, timeout or resource", pos[0])
	}
	return typ, nil
}

// build returns the typ scenario the flags describe, not yet validated:
// the fields every scenario has from -target, -for and -blast, the fields
// of the kind (chaos.Type.Fields) from their flags (faultFlags), and the
// kind's default name. The flags of the fields a kind requires
// (chaos.Type.Required) must be given.
func (f *injectFlags) build(fs *flag.FlagSet, typ chaos.Type) (chaos.Scenario, error) {
	var blast []string
	for _, b := range strings.Split(f.blast, ",") {
		if b = strings.TrimSpace(b); b != "" {
			blast = append(blast, b)
		}
	}
	if err := requireFlags(fs, typ); err != nil {
		return chaos.Scenario{}, err
	}
	fields := map[string]any{}
	for _, field := range typ.Fields() {
		name, ok := faultFlags[field]
		if !ok {
			return chaos.Scenario{}, fmt.Errorf("chaos inject: no flag sets the %s field of a %s fault (add one to faultFlags)", field, typ)
		}
		v := fs.Lookup(name).Value.(flag.Getter).Get()
		if d, ok := v.(time.Duration); ok {
			v = d.String() // the JSON form of a duration
		}
		fields[field] = v
	}
	data, err := json.Marshal(fields)
	if err != nil {
		return chaos.Scenario{}, err
	}
	base := chaos.Scenario{Type: typ, Target: f.target, Duration: f.dur, BlastRadius: blast}
	sc, err := chaos.DecodeRequest(data, base)
	if err != nil {
		return chaos.Scenario{}, usageErrorf("%s", flagNames(err, scenarioFlags()))
	}
	sc.Name = sc.DefaultName()
	return sc, nil
}

// requireFlags reports the flags of the fields a typ fault requires that
// fs was not given, with what each means.
func requireFlags(fs *flag.FlagSet, typ chaos.Type) error {
	var need, hints []string
	for _, field := range typ.Required() {
		name := faultFlags[field]
		need = append(need, "-"+name)
		if fl := fs.Lookup(name); fl != nil && !isFlagSet(fs, name) {
			_, usage := flag.UnquoteUsage(fl)
			hints = append(hints, "-"+name+" is missing: "+usage)
		}
	}
	if len(hints) == 0 {
		return nil
	}
	return usageErrorf("a %s fault needs %s (%s)", typ, strings.Join(need, " and "), strings.Join(hints, "; "))
}

// scenarioFlags maps the JSON fields of a scenario to the flags of `chaos
// inject` that set them, for flagNames.
func scenarioFlags() map[string]string {
	names := map[string]string{"name": "-name", "target": "-target", "duration": "-for", "blast_radius": "-blast"}
	for field, f := range faultFlags {
		names[field] = "-" + f
	}
	return names
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
		ends := ago(s.ExpiresAt(), now)
		if note := s.CapNote(); note != "" {
			ends += " (" + note + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", s.Name, s.Type, s.Describe(), ends)
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
