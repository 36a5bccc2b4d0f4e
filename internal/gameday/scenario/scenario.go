package scenario

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
)

// ValidationError reports one problem of a scenario file; its Field is the
// JSON path of the offending value ("phases[2].faults[0].error_rate").
type ValidationError = antifragile.ValidationError

// Expectation says what a phase allows the health status to do.
type Expectation string

// The expectations of a phase.
const (
	// ExpectSteady asserts the steady-state hypothesis during the whole
	// phase: the status stays at Scenario.SteadyState.MinStatus or better,
	// but for SteadyState.Tolerance in all, and but for the time an earlier
	// phase's fault is still being recovered from within its recovery
	// budget (that time is the fault's, judged by the budget).
	ExpectSteady Expectation = "steady"
	// ExpectDegrade allows the status to drop during the phase. It is not an
	// assertion that it does drop: a system that shrugs a fault off passes.
	ExpectDegrade Expectation = "degrade"
)

// Defaults of a scenario file's optional fields.
const (
	DefaultMinStatus      = health.Healthy
	DefaultRecoveryBudget = 30 * time.Second
	DefaultRate           = 100.0
	// MaxRate bounds Traffic.Rate (messages per second).
	MaxRate = 5000.0
	// MaxTenants bounds Traffic.Tenants.
	MaxTenants = 16
	// MaxPhases bounds Scenario.Phases.
	MaxPhases = 64
	// MaxTotal bounds the sum of the phase durations.
	MaxTotal = time.Hour
)

// DefaultTenants are the tenants of a scenario file without a traffic
// section.
var defaultTenants = []string{"acme", "globex", "initech"}

// DefaultTenants returns the tenants of a scenario without
// traffic.tenants: acme, globex and initech.
func DefaultTenants() []string { return slices.Clone(defaultTenants) }

// Scenario is a game day: a steady-state hypothesis, the traffic to run and
// the phases, each with the chaos faults injected while it lasts. It is
// plain data; Parse reads its JSON form:
//
//	{
//	  "name": "governance",
//	  "steady_state": {"min_status": "HEALTHY", "recovery_budget": "20s", "tolerance": "1s"},
//	  "traffic": {"rate": 200, "tenants": ["acme", "globex"]},
//	  "phases": [
//	    {"name": "baseline", "duration": "5s", "expect": "steady"},
//	    {"name": "storm", "duration": "10s", "expect": "degrade",
//	     "faults": [{"type": "error", "target": "policy_engine", "error_rate": 1}]}
//	  ]
//	}
type Scenario struct {
	// Name names the game day in the report.
	Name string
	// Description says what it is about, for the report; optional.
	Description string
	// SteadyState is the hypothesis the verdict checks.
	SteadyState SteadyState
	// Traffic is the load a simulation generates (the demo); a game day
	// against a remote service leaves the load to it.
	Traffic Traffic
	// Phases run one after the other.
	Phases []Phase
	// Objective is what `antifragile tune` minimises over runs of the game
	// day; the verdict does not use it.
	Objective Objective
}

// The metrics an Objective may minimise.
const (
	// MetricBelowMin is the time the status spent below the steady-state
	// minimum, over the whole game day (the default).
	MetricBelowMin = "time_below_min"
	// MetricFailed is the number of messages that failed.
	MetricFailed = "failed"
	// MetricTimeToRecover is the mean time to recover over the phases
	// with faults (a fault never recovered from counts the rest of the
	// game day).
	MetricTimeToRecover = "time_to_recover"
	// MetricTimeToDetect is the mean time to detect over the phases with
	// faults (a fault never detected counts its whole span).
	MetricTimeToDetect = "time_to_detect"
)

// Metrics lists every metric an Objective may name.
func Metrics() []string {
	return []string{MetricBelowMin, MetricFailed, MetricTimeToRecover, MetricTimeToDetect}
}

// Objective is what tuning minimises: one metric, under an error budget.
type Objective struct {
	// Metric is one of Metrics(). Default MetricBelowMin.
	Metric string
	// ErrorBudget, if positive, is the most messages a candidate setting
	// may fail in a run: one that fails more is refused, whatever its
	// metric. 0 means no budget.
	ErrorBudget uint64
}

// SteadyState is the hypothesis of a game day: after every fault, the health
// status is back at MinStatus or better within RecoveryBudget, and a phase
// expecting steady stays there but for Tolerance.
type SteadyState struct {
	// MinStatus is the worst acceptable status: HEALTHY (the default),
	// DEGRADED or CRITICAL.
	MinStatus health.Status
	// RecoveryBudget is how long after the end of a phase's faults the
	// status may stay below MinStatus. Default 30 s.
	RecoveryBudget time.Duration
	// Tolerance is how long, in all, a phase expecting steady may spend
	// below MinStatus, beyond the time an earlier phase's fault is still
	// being recovered from within its recovery budget. Default 0: not one
	// observation below it; at most MaxTolerance.
	Tolerance time.Duration
}

// MaxTolerance bounds SteadyState.Tolerance.
const MaxTolerance = time.Hour

// Rule says the steady-state rule in a sentence, for the reports.
func (st SteadyState) Rule() string {
	return fmt.Sprintf("after every fault, back to %s within %s; a steady phase may spend %s in all below %s "+
		"(time an earlier fault is still being recovered from, within its budget, is that fault's)",
		st.MinStatus, st.RecoveryBudget, st.Tolerance, st.MinStatus)
}

// Traffic is the load of a simulated game day.
type Traffic struct {
	// Rate is the messages sent per second, within (0, MaxRate]. Default
	// 100.
	Rate float64
	// Tenants are the tenants the messages are sent for, round robin.
	// Default acme, globex, initech.
	Tenants []string
	// Topology is how the simulated agents call each other: TopologyFlow
	// (the default: each message goes to one agent) or TopologyCascade
	// (proposer calls policy_engine, which calls validator, within one
	// message, so that a fault downstream propagates up through real
	// calls).
	Topology string
	// Fallback, with TopologyCascade, makes an agent whose call to its
	// downstream failed go on without it instead of failing: a graceful
	// degradation that, with the downstream's breaker failing fast,
	// contains the fault.
	Fallback bool
}

// The topologies of Traffic.
const (
	TopologyFlow    = "flow"
	TopologyCascade = "cascade"
)

// Phase is one step of a game day.
type Phase struct {
	// Name names the phase; names are unique within a scenario.
	Name string
	// Duration is how long the phase lasts; positive.
	Duration time.Duration
	// Expect is ExpectSteady or ExpectDegrade. Default: degrade when the
	// phase has faults, steady otherwise.
	Expect Expectation
	// Faults are injected when the phase starts.
	Faults []Fault
}

// Fault is one chaos scenario of a phase.
type Fault struct {
	// Scenario is the chaos scenario, in the JSON form of chaos.Scenario.
	// Its name defaults to "<phase>-<type>-<target>"; names are unique
	// within a game day.
	Scenario chaos.Scenario
	// ForPhase is true when the fault lasts as long as its phase: the file
	// gave no duration (Scenario.Duration is then the phase's) or the
	// phase's own. A fault with a longer duration may outlast its phase.
	ForPhase bool
}

// Total returns the sum of the phase durations.
func (s *Scenario) Total() time.Duration {
	var t time.Duration
	for _, p := range s.Phases {
		t += p.Duration
	}
	return t
}

// Scaled returns a copy of s whose phase durations, fault durations,
// recovery budget and steady tolerance are multiplied so that the phases last total in all, and
// the factor used. A total ≤ 0 returns a copy of s and 1. Durations never
// fall below a millisecond.
func (s *Scenario) Scaled(total time.Duration) (*Scenario, float64) {
	out := s.clone()
	cur := s.Total()
	if total <= 0 || cur <= 0 || total == cur {
		return out, 1
	}
	f := float64(total) / float64(cur)
	out.SteadyState.RecoveryBudget = ScaleDuration(s.SteadyState.RecoveryBudget, f)
	out.SteadyState.Tolerance = ScaleDuration(s.SteadyState.Tolerance, f)
	for i := range out.Phases {
		p := &out.Phases[i]
		p.Duration = ScaleDuration(p.Duration, f)
		for j := range p.Faults {
			fl := &p.Faults[j]
			if fl.ForPhase {
				fl.Scenario.Duration = p.Duration
			} else {
				fl.Scenario.Duration = ScaleDuration(fl.Scenario.Duration, f)
			}
		}
	}
	return out, f
}

// ScaleDuration returns d × f rounded to the millisecond, at least a
// millisecond for a positive d.
func ScaleDuration(d time.Duration, f float64) time.Duration {
	if d <= 0 {
		return d
	}
	v := time.Duration(math.Round(float64(d)*f/float64(time.Millisecond))) * time.Millisecond
	return max(v, time.Millisecond)
}

func (s *Scenario) clone() *Scenario {
	out := *s
	out.Traffic.Tenants = slices.Clone(s.Traffic.Tenants)
	out.Phases = slices.Clone(s.Phases)
	for i := range out.Phases {
		out.Phases[i].Faults = slices.Clone(out.Phases[i].Faults)
		for j := range out.Phases[i].Faults {
			sc := &out.Phases[i].Faults[j].Scenario
			sc.BlastRadius = slices.Clone(sc.BlastRadius)
		}
	}
	return &out
}

// Targets returns every target and blast-radius entry of the scenario's
// faults, sorted, without duplicates.
func (s *Scenario) Targets() []string {
	var out []string
	for _, p := range s.Phases {
		for _, f := range p.Faults {
			out = append(out, f.Scenario.Targets()...)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckTargets reports, with its JSON path, every fault aimed at a target
// that is not in known. Resource faults on cpu, memory and disk_io act on
// the whole process and are not checked.
func (s *Scenario) CheckTargets(known []string) error {
	var p antifragile.Problems
	for i, ph := range s.Phases {
		for j, f := range ph.Faults {
			sc := f.Scenario
			if sc.Type == chaos.TypeResourceExhaustion {
				switch sc.ResourceType {
				case chaos.ResourceCPU, chaos.ResourceMemory, chaos.ResourceDiskIO:
					continue
				}
			}
			path := fmt.Sprintf("phases[%d].faults[%d]", i, j)
			if !slices.Contains(known, sc.Target) {
				p.Invalid(path+".target", sc.Target, "is not one of the agents (%s)", strings.Join(known, ", "))
			}
			for k, t := range sc.BlastRadius {
				if !slices.Contains(known, t) {
					p.Invalid(fmt.Sprintf("%s.blast_radius[%d]", path, k), t, "is not one of the agents (%s)", strings.Join(known, ", "))
				}
			}
		}
	}
	return p.Err()
}

//go:embed default.json
var defaultScenario []byte

//go:embed byzantine.json
var byzantineScenario []byte

//go:embed cascade.json
var cascadeScenario []byte

// builtins are the built-in game days by name, the default first.
var builtins = []struct {
	name string
	doc  []byte
}{{"governance-bus", defaultScenario}, {"byzantine-bus", byzantineScenario}, {"cascade", cascadeScenario}}

// BuiltinNames lists the built-in game days: "governance-bus" (Default),
// "byzantine-bus" (the message faults: corrupt replies, duplicates,
// reordering, wrong hashes, poison messages, a crash) and "cascade" (a
// crash that propagates through agents calling each other).
func BuiltinNames() []string {
	out := make([]string, len(builtins))
	for i, b := range builtins {
		out[i] = b.name
	}
	return out
}

// BuiltinJSON returns the JSON of the built-in game day called name (a
// copy), or false.
func BuiltinJSON(name string) ([]byte, bool) {
	for _, b := range builtins {
		if b.name == name {
			return bytes.Clone(b.doc), true
		}
	}
	return nil, false
}

// Builtin returns the built-in game day called name (see BuiltinNames), or
// a *ValidationError naming the known ones.
func Builtin(name string) (*Scenario, error) {
	doc, ok := BuiltinJSON(name)
	if !ok {
		return nil, antifragile.Invalid("builtin", name, "must be one of %s", strings.Join(BuiltinNames(), ", "))
	}
	s, err := Parse(doc)
	if err != nil {
		panic("gameday: the built-in scenario " + name + " is invalid: " + err.Error())
	}
	return s, nil
}

// DefaultJSON returns the JSON of the built-in game day (a copy).
func DefaultJSON() []byte { return bytes.Clone(defaultScenario) }

// Default returns the built-in game day of the demo, about a minute long:
// steady state, latency on deliberation, an error storm on policy_engine
// until its breaker opens, recovery, cpu exhaustion, a partition of
// validator and a final steady state.
func Default() *Scenario {
	s, err := Parse(defaultScenario)
	if err != nil {
		panic("gameday: the built-in scenario is invalid: " + err.Error())
	}
	return s
}

// Parse decodes and validates a scenario file of at most MaxFileSize
// bytes (a larger one matches antifragile.ErrTooLarge). Durations are strings such
// as "250ms"; unknown fields, trailing data and invalid values are errors.
// It reports every problem it finds, each a *ValidationError whose Field is
// the JSON path of the value, joined with errors.Join.
func Parse(data []byte) (*Scenario, error) {
	if len(data) > MaxFileSize {
		return nil, tooLarge()
	}
	var p parser
	root, ok := p.object("", data)
	if !ok {
		return nil, p.err()
	}
	if err := trailing(data); err != nil {
		return nil, err
	}
	s := &Scenario{
		SteadyState: SteadyState{MinStatus: DefaultMinStatus, RecoveryBudget: DefaultRecoveryBudget},
		Traffic:     Traffic{Rate: DefaultRate, Tenants: DefaultTenants(), Topology: TopologyFlow},
		Objective:   Objective{Metric: MetricBelowMin},
	}
	root.known("name", "description", "steady_state", "traffic", "phases", "objective")
	root.name(&s.Name)
	root.str("description", &s.Description)
	if ss, ok := root.child("steady_state"); ok {
		p.parseSteadyState(ss, &s.SteadyState)
	}
	if tr, ok := root.child("traffic"); ok {
		p.parseTraffic(tr, &s.Traffic)
	}
	p.parsePhases(root, s)
	if ob, ok := root.child("objective"); ok {
		p.parseObjective(ob, &s.Objective)
	}
	if t := s.Total(); t > MaxTotal {
		p.bad("phases", t.String(), "last %s in all; at most %s", t, MaxTotal)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return s, nil
}

// parseSteadyState reads the steady_state object ss into st.
func (p *parser) parseSteadyState(ss *object, st *SteadyState) {
	ss.known("min_status", "recovery_budget", "tolerance")
	var name string
	if ss.str("min_status", &name) {
		v, err := health.ParseStatus(name)
		switch {
		case err != nil || v == health.Unknown:
			p.bad(ss.path("min_status"), name, "must be one of HEALTHY, DEGRADED, CRITICAL")
		default:
			st.MinStatus = v
		}
	}
	if ss.duration("recovery_budget", &st.RecoveryBudget) && st.RecoveryBudget <= 0 {
		p.bad(ss.path("recovery_budget"), st.RecoveryBudget.String(), "must be positive")
	}
	if ss.duration("tolerance", &st.Tolerance) && (st.Tolerance < 0 || st.Tolerance > MaxTolerance) {
		p.bad(ss.path("tolerance"), st.Tolerance.String(), "must be within [0s, %s] (0: not one observation below min_status)", MaxTolerance)
	}
}

// MaxErrorBudget bounds Objective.ErrorBudget.
const MaxErrorBudget = 1 << 40

// parseObjective reads the objective object ob into o.
func (p *parser) parseObjective(ob *object, o *Objective) {
	ob.known("metric", "error_budget")
	if ob.str("metric", &o.Metric) && !slices.Contains(Metrics(), o.Metric) {
		p.bad(ob.path("metric"), o.Metric, "must be one of %s", strings.Join(Metrics(), ", "))
		o.Metric = MetricBelowMin
	}
	var budget float64
	if ob.float("error_budget", &budget) {
		if budget < 0 || budget > MaxErrorBudget || budget != math.Trunc(budget) {
			p.bad(ob.path("error_budget"), budget, "must be a whole number of messages within [0, %d] (0: no budget)", uint64(MaxErrorBudget))
		} else {
			o.ErrorBudget = uint64(budget)
		}
	}
}

// parseTraffic reads the traffic object tr into t.
func (p *parser) parseTraffic(tr *object, t *Traffic) {
	tr.known("rate", "tenants", "topology", "fallback")
	if tr.float("rate", &t.Rate) && !(t.Rate > 0 && t.Rate <= MaxRate) {
		p.bad(tr.path("rate"), t.Rate, "must be within (0, %g] messages per second", MaxRate)
	}
	if tr.str("topology", &t.Topology) && t.Topology != TopologyFlow && t.Topology != TopologyCascade {
		p.bad(tr.path("topology"), t.Topology, "must be %s or %s", TopologyFlow, TopologyCascade)
	}
	tr.decode("fallback", &t.Fallback, "true or false")
	var tenants []string
	if !tr.strs("tenants", &tenants) {
		return
	}
	t.Tenants = tenants
	path := tr.path("tenants")
	switch {
	case len(tenants) == 0:
		p.bad(path, tenants, "must name at least one tenant")
	case len(tenants) > MaxTenants:
		p.bad(path, len(tenants), "must name at most %d tenants", MaxTenants)
	}
	for i, name := range tenants {
		switch {
		case strings.TrimSpace(name) == "":
			p.bad(fmt.Sprintf("%s[%d]", path, i), name, "must not be empty")
		case slices.Index(tenants, name) < i:
			p.bad(fmt.Sprintf("%s[%d]", path, i), name, "is listed twice")
		}
	}
}

// parsePhases reads the phases array of root into s.Phases: at least one,
// at most MaxPhases (the others are not read), with unique names and
// unique fault names.
func (p *parser) parsePhases(root *object, s *Scenario) {
	raws, ok := root.array("phases")
	switch {
	case !ok && !root.has("phases"):
		p.bad("phases", nil, "is required")
	case ok && len(raws) == 0:
		p.bad("phases", nil, "must hold at least one phase")
	case len(raws) > MaxPhases:
		p.bad("phases", len(raws), "must hold at most %d phases", MaxPhases)
		raws = raws[:MaxPhases]
	}
	faultNames := map[string]string{}
	for i, raw := range raws {
		path := fmt.Sprintf("phases[%d]", i)
		ph, ok := p.parsePhase(path, raw, faultNames)
		if !ok {
			continue
		}
		for _, prev := range s.Phases {
			if prev.Name == ph.Name && ph.Name != "" {
				p.bad(path+".name", ph.Name, "is the name of an earlier phase")
			}
		}
		s.Phases = append(s.Phases, ph)
	}
}

// MaxFileSize bounds the size of a scenario file: 4 MiB.
const MaxFileSize = 4 << 20

// ParseReader reads all of r and parses it (see Parse). More than
// MaxFileSize bytes is an error matching antifragile.ErrTooLarge, reported
// without reading the rest.
func ParseReader(r io.Reader) (*Scenario, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxFileSize {
		return nil, tooLarge()
	}
	return Parse(data)
}

func tooLarge() error {
	return fmt.Errorf("scenario file %w: more than %d bytes (4 MiB)", antifragile.ErrTooLarge, MaxFileSize)
}

func (p *parser) parsePhase(path string, raw json.RawMessage, faultNames map[string]string) (Phase, bool) {
	o, ok := p.object(path, raw)
	if !ok {
		return Phase{}, false
	}
	o.known("name", "duration", "expect", "faults")
	var ph Phase
	o.name(&ph.Name)
	if !o.duration("duration", &ph.Duration) {
		if !o.has("duration") {
			p.bad(o.path("duration"), nil, "is required")
		}
	} else if ph.Duration <= 0 {
		p.bad(o.path("duration"), ph.Duration.String(), "must be positive")
	}
	var expect string
	if o.str("expect", &expect) {
		ph.Expect = Expectation(expect)
		if ph.Expect != ExpectSteady && ph.Expect != ExpectDegrade {
			p.bad(o.path("expect"), expect, "must be %q or %q", ExpectSteady, ExpectDegrade)
		}
	}
	raws, _ := o.array("faults")
	for j, fr := range raws {
		fpath := fmt.Sprintf("%s.faults[%d]", path, j)
		f, ok := p.parseFault(fpath, fr, ph)
		if !ok {
			continue
		}
		if prev, dup := faultNames[f.Scenario.Name]; dup {
			p.bad(fpath+".name", f.Scenario.Name, "is the name of the fault at %s", prev)
			continue
		}
		faultNames[f.Scenario.Name] = fpath
		ph.Faults = append(ph.Faults, f)
	}
	if ph.Expect == "" {
		ph.Expect = ExpectSteady
		if len(raws) > 0 {
			ph.Expect = ExpectDegrade
		}
	}
	return ph, true
}

// parseFault reads the fault at path of phase ph: a chaos scenario as a
// request gives it (chaos.DecodeRequest, so that this format names none of
// its fields), named "<phase>-<type>-<target>" unless it has a name and
// lasting the phase unless it has a duration, checked by
// chaos.Scenario.Validate.
func (p *parser) parseFault(path string, raw json.RawMessage, ph Phase) (Fault, bool) {
	if _, ok := p.object(path, raw); !ok {
		return Fault{}, false
	}
	phase := max(ph.Duration, time.Millisecond)
	sc, err := chaos.DecodeRequest(raw, chaos.Scenario{Duration: phase})
	if err != nil {
		p.wrap(path, err)
		return Fault{}, false
	}
	if sc.Name == "" {
		sc.Name = ph.Name + "-" + string(sc.Type) + "-" + sc.Target
	}
	if err := sc.Validate(); err != nil {
		p.wrap(path, err)
		return Fault{}, false
	}
	sc.ConstitutionalHash = antifragile.HashOrDefault(sc.ConstitutionalHash)
	// A fault as long as its phase lasts as long as its phase when the
	// scenario is scaled, whether or not the file said so.
	return Fault{Scenario: sc, ForPhase: sc.Duration == phase}, true
}

// trailing reports data after the first JSON value.
func trailing(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return antifragile.Invalid("$", nil, "unexpected data after the JSON object")
	}
	return nil
}

// parser collects the problems of a scenario file.
type parser struct{ problems antifragile.Problems }

func (p *parser) bad(field string, value any, format string, args ...any) {
	if field == "" {
		field = "$"
	}
	p.problems.Invalid(field, value, format, args...)
}

func (p *parser) err() error { return p.problems.Err() }

// wrap adds err, the error of decoding or validating the value at path,
// prefixing the fields of its validation errors with path.
func (p *parser) wrap(path string, err error) {
	for _, e := range antifragile.Leaves(err) {
		var ve *ValidationError
		switch {
		case errors.As(e, &ve):
			p.problems.Add(&ValidationError{Field: path + "." + ve.Field, Value: ve.Value, Err: ve.Err})
		case errors.Is(e, antifragile.ErrHashMismatch):
			p.problems.Add(&ValidationError{Field: path + ".constitutional_hash", Err: e})
		default:
			p.problems.Add(&ValidationError{Field: path, Err: e})
		}
	}
}

// object is a JSON object being read at a path.
type object struct {
	p       *parser
	at      string
	m       map[string]json.RawMessage
	unknown []string
}

// object decodes data as a JSON object, reporting a problem at path if it
// is not one.
func (p *parser) object(path string, data []byte) (*object, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil || m == nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			p.bad(path, nil, "is not valid JSON: %v (at byte %d)", err, se.Offset)
		case err != nil && path == "":
			p.bad(path, nil, "is not valid JSON: %v", err)
		default:
			p.bad(path, kindOf(data), "must be a JSON object")
		}
		return nil, false
	}
	return &object{p: p, at: path, m: m}, true
}

func (o *object) path(key string) string {
	if o.at == "" {
		return key
	}
	return o.at + "." + key
}

// name reads the required name of o, which must not be blank.
func (o *object) name(dst *string) {
	if !o.has("name") {
		o.p.bad(o.path("name"), nil, "is required")
	} else if o.str("name", dst) && strings.TrimSpace(*dst) == "" {
		o.p.bad(o.path("name"), *dst, "must not be empty")
	}
}

func (o *object) has(key string) bool {
	_, ok := o.m[key]
	return ok
}

// known reports every field of o that is not in keys, sorted.
func (o *object) known(keys ...string) {
	var unknown []string
	for k := range o.m {
		if !slices.Contains(keys, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		o.p.bad(o.path(k), nil, "is not a known field (known: %s)", strings.Join(keys, ", "))
	}
	o.unknown = unknown
}

// decode reads key into dst; it reports whether the key was present and
// valid, and reports a problem when present and of the wrong kind.
func (o *object) decode(key string, dst any, want string) bool {
	raw, ok := o.m[key]
	if !ok {
		return false
	}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		o.p.bad(o.path(key), nil, "must be %s, not null", want)
		return false
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		o.p.bad(o.path(key), kindOf(raw), "must be %s", want)
		return false
	}
	return true
}

func (o *object) str(key string, dst *string) bool { return o.decode(key, dst, "a string") }

func (o *object) float(key string, dst *float64) bool { return o.decode(key, dst, "a number") }

func (o *object) strs(key string, dst *[]string) bool {
	return o.decode(key, dst, "an array of strings")
}

func (o *object) duration(key string, dst *time.Duration) bool {
	var s string
	if !o.decode(key, &s, `a duration string such as "250ms" or "10s"`) {
		return false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		o.p.bad(o.path(key), s, `must be a duration such as "250ms" or "10s"`)
		return false
	}
	*dst = d
	return true
}

func (o *object) array(key string) ([]json.RawMessage, bool) {
	var a []json.RawMessage
	if !o.decode(key, &a, "an array") {
		return nil, false
	}
	return a, true
}

func (o *object) child(key string) (*object, bool) {
	raw, ok := o.m[key]
	if !ok {
		return nil, false
	}
	return o.p.object(o.path(key), raw)
}

// kindOf names the JSON kind of raw for error messages.
func kindOf(raw []byte) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
