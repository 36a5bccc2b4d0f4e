package gameday

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// PhaseResult holds the figures of one phase.
type PhaseResult struct {
	Name     string               `json:"name"`
	Expect   scenario.Expectation `json:"expect"`
	Duration time.Duration        `json:"duration"`
	// Ran is false for a phase an interruption kept from starting.
	Ran bool `json:"ran"`
	// Start and End are offsets from the start of the game day.
	Start time.Duration `json:"start"`
	End   time.Duration `json:"end"`
	// FaultStart and FaultEnd bound the phase's injected faults; FaultEnd
	// is -1 when one of them was still active at the end of the game day.
	// Both are 0 for a phase without faults.
	FaultStart time.Duration `json:"fault_start"`
	FaultEnd   time.Duration `json:"fault_end"`
	// Detected says whether the faults were noticed: an observation
	// disturbed by them (see Judge) came while they lasted or one sample
	// interval after. TimeToDetect is measured from FaultStart.
	Detected     bool          `json:"detected"`
	TimeToDetect time.Duration `json:"time_to_detect"`
	// Warned says whether anomaly detection found a breaker the faults
	// target at risk while they lasted (and one sample interval after);
	// Tripped whether such a breaker opened by itself in that span. The
	// times are measured from FaultStart; Lead tells how long the warning
	// came before the trip.
	// Opened lists the breakers that opened by themselves while the
	// faults lasted (and one sample interval after), first opening each,
	// in order, with its offset from FaultStart: the cascade. Contained
	// is true when they are all targets of the faults (or none opened):
	// nothing upstream failed with them.
	Opened     []Opening     `json:"opened,omitempty"`
	Contained  bool          `json:"contained,omitempty"`
	Warned     bool          `json:"warned,omitempty"`
	TimeToWarn time.Duration `json:"time_to_warn,omitempty"`
	Tripped    bool          `json:"tripped,omitempty"`
	TimeToTrip time.Duration `json:"time_to_trip,omitempty"`
	// Recovered says whether, after FaultEnd, an observation was no longer
	// disturbed by the faults: the status back at the steady-state minimum
	// (or held down by another phase's faults) and every targeted breaker
	// closed. TimeToRecover is measured from FaultEnd, even when the
	// recovery ends in a later phase.
	Recovered     bool          `json:"recovered"`
	TimeToRecover time.Duration `json:"time_to_recover"`
	// Worst is the worst status seen during the phase.
	Worst health.Status `json:"worst"`
	// Failed counts the messages that failed during the phase; Metered the
	// metered events per tenant.
	Failed  uint64           `json:"failed"`
	Metered map[string]int64 `json:"metered"`
	// Messages counts the messages the system handled during the phase and
	// Calls the calls that reached its breakers: its traffic.
	Messages uint64 `json:"messages"`
	Calls    uint64 `json:"calls"`
	// BelowMin is how long a steady phase was below the steady-state
	// minimum on its own account; Excused how long it was below while an
	// earlier phase's faults, named in ExcusedBy, were still being
	// recovered from within their budget.
	BelowMin  time.Duration `json:"below_min,omitempty"`
	Excused   time.Duration `json:"excused,omitempty"`
	ExcusedBy []string      `json:"excused_by,omitempty"`
	// Problems say why the phase failed the hypothesis; empty when it held.
	Problems []string `json:"problems,omitempty"`
	// Inconclusive say why the phase tested nothing: its faults hit
	// nothing, or no traffic reached the system.
	Inconclusive []string `json:"inconclusive,omitempty"`
}

// Opening is one breaker opening in a phase (see PhaseResult.Opened).
type Opening struct {
	Breaker string        `json:"breaker"`
	At      time.Duration `json:"at"`
}

// Lead returns how long before the first trip of a targeted breaker the
// first at-risk signal came (negative: after it), and whether the phase
// had both.
func (p PhaseResult) Lead() (time.Duration, bool) {
	if !p.Warned || !p.Tripped {
		return 0, false
	}
	return p.TimeToTrip - p.TimeToWarn, true
}

// HasFaults reports whether the phase injected at least one fault.
func (p PhaseResult) HasFaults() bool { return p.FaultStart > 0 || p.FaultEnd != 0 }

// The outcomes of a game day.
const (
	OutcomePass         = "PASS"
	OutcomeFail         = "FAIL"
	OutcomeInconclusive = "INCONCLUSIVE"
)

// Verdict is the outcome of a game day.
type Verdict struct {
	// Outcome is OutcomePass, OutcomeFail or OutcomeInconclusive: FAIL
	// when a reason refutes the hypothesis, else INCONCLUSIVE when a phase
	// tested nothing, else PASS.
	Outcome string `json:"outcome"`
	// Passed is true when the steady-state hypothesis held and was tested:
	// after every fault, the status was back at the minimum within the
	// recovery budget, steady phases stayed at it (see Judge), every fault
	// could be injected and hit its target, traffic reached the system in
	// every phase, and the run was not interrupted.
	Passed bool `json:"passed"`
	// Reasons say why it failed, one per problem.
	Reasons []string `json:"reasons,omitempty"`
	// Inconclusive say why a phase tested nothing.
	Inconclusive []string `json:"inconclusive,omitempty"`
	// Notes are remarks that do not fail it (an expected degradation that
	// did not happen).
	Notes []string `json:"notes,omitempty"`
}

// ok reports whether st meets the minimum status min: known and no worse.
func ok(st, min health.Status) bool { return st != health.Unknown && st <= min }

// worse reports whether a is a worse status than b (UNKNOWN is the worst).
func worse(a, b health.Status) bool {
	rank := func(s health.Status) int {
		if s == health.Unknown {
			return 4
		}
		return int(s)
	}
	return rank(a) > rank(b)
}

// ProcessWide reports whether s acts on the whole process rather than on
// a named target (cpu, memory and disk_io exhaustion): its target need not
// be a breaker or agent of the system.
func ProcessWide(s chaos.Scenario) bool {
	if s.Type != chaos.TypeResourceExhaustion {
		return false
	}
	switch s.ResourceType {
	case chaos.ResourceCPU, chaos.ResourceMemory, chaos.ResourceDiskIO:
		return true
	}
	return false
}

// steadyOf returns the hypothesis of r: its scenario's, or the defaults.
func steadyOf(r *Result) scenario.SteadyState {
	if r.Scenario != nil {
		return r.Scenario.SteadyState
	}
	return scenario.SteadyState{MinStatus: scenario.DefaultMinStatus, RecoveryBudget: scenario.DefaultRecoveryBudget}
}

// Judge computes the per-phase detection and recovery figures of r and its
// verdict, from its samples and faults. It is deterministic: the same
// result gives the same verdict.
//
// An observation is disturbed by a phase's faults when one of their
// targeted breakers is not closed in it, or when its status is below
// SteadyState.MinStatus and that is theirs: they have a targeted breaker
// not closed, or no phase's faults have one and theirs are the latest
// injected. So a recovery that ends in a later phase still belongs to its
// fault, and a later fault's effect is never an earlier one's.
//
// The rules (FAIL):
//
//   - every fault must have been injected;
//   - after the end of a phase's faults, the status must be back (no longer
//     below the minimum on their account) within the recovery budget — a
//     fault still active at the end of the game day fails;
//   - a phase expecting "steady" may spend SteadyState.Tolerance in all
//     below the minimum, not counting the time an earlier phase's faults
//     hold it down within their recovery budget (their recovery judges it);
//   - the run must not have been interrupted.
//
// And (INCONCLUSIVE, when nothing fails): every injected fault must have
// hit something — a target the system knows that calls reached (or whose
// breaker left the closed state) while it lasted, or for a fault on the
// whole process, traffic in the system — and traffic must have reached
// the system in every phase.
func Judge(r *Result) {
	ss := steadyOf(r)
	j := judge{r: r, min: ss.MinStatus, budget: ss.RecoveryBudget, tolerance: ss.Tolerance}
	j.spans = make([]faultSpan, len(r.Phases))
	for i := range r.Phases {
		ph := &r.Phases[i]
		ph.clearJudged()
		ph.Worst = r.worst(i)
		if ph.Ran {
			j.spans[i] = r.phaseFaults(i, ph)
		}
	}
	for i := range r.Phases {
		j.phase(i)
	}
	if r.Interrupted {
		j.reasons = append([]string{r.interruption()}, j.reasons...)
	}
	if len(r.Samples) == 0 {
		j.reasons = append(j.reasons, "no observation of the target succeeded")
	}
	j.cluster()
	v := Verdict{Outcome: OutcomePass, Reasons: j.reasons, Inconclusive: j.inconclusive, Notes: j.notes}
	switch {
	case len(v.Reasons) > 0:
		v.Outcome = OutcomeFail
	case len(v.Inconclusive) > 0:
		v.Outcome = OutcomeInconclusive
	default:
		v.Passed = true
	}
	r.Verdict = v
}

// judge is one run of Judge: the result, its hypothesis and what the
// phases judged so far found.
type judge struct {
	r            *Result
	min          health.Status
	budget       time.Duration
	tolerance    time.Duration
	spans        []faultSpan // per phase; injected 0 for a phase without faults
	reasons      []string    // why the verdict fails, in phase order
	inconclusive []string
	notes        []string
}

// faultSpan is what Judge needs of a phase's injected faults.
type faultSpan struct {
	injected   int
	start, end time.Duration // FaultStart, FaultEnd
	targets    []string      // the breakers they aim at (none for process-wide faults)
}

// phase computes the figures of phase i and adds its problems to the
// reasons and its inconclusive findings to theirs.
func (j *judge) phase(i int) {
	ph := &j.r.Phases[i]
	if !ph.Ran {
		return
	}
	if j.spans[i].injected > 0 {
		j.faults(i, ph)
	}
	if ph.Expect == scenario.ExpectSteady {
		j.steady(i, ph)
	}
	j.traffic(i, ph)
	for _, p := range ph.Problems {
		j.reasons = append(j.reasons, fmt.Sprintf("phase %q: %s", ph.Name, p))
	}
	for _, p := range ph.Inconclusive {
		j.inconclusive = append(j.inconclusive, fmt.Sprintf("phase %q: %s", ph.Name, p))
	}
}

// clearJudged zeroes the figures Judge computes, so that judging a result
// again starts afresh.
func (p *PhaseResult) clearJudged() {
	p.Problems, p.Inconclusive = nil, nil
	p.Detected, p.Recovered = false, false
	p.TimeToDetect, p.TimeToRecover = 0, 0
	p.Warned, p.Tripped, p.TimeToWarn, p.TimeToTrip = false, false, 0, 0
	p.Opened, p.Contained = nil, false
	p.FaultStart, p.FaultEnd = 0, 0
	p.Messages, p.Calls = 0, 0
	p.BelowMin, p.Excused, p.ExcusedBy = 0, 0, nil
}

// worst returns the worst status of the samples of phase i, leaving out
// the first observation of the game day; HEALTHY when there are none.
func (r *Result) worst(i int) health.Status {
	w := health.Healthy
	for _, s := range r.Samples {
		if s.Phase == i && s.At > 0 && worse(s.Status, w) {
			w = s.Status
		}
	}
	return w
}

// phaseFaults sets the span of phase i's injected faults (FaultStart and
// FaultEnd, see PhaseResult), adds a problem for each of its faults that
// could not be injected, and returns the span with the breakers the
// injected ones target.
func (r *Result) phaseFaults(i int, ph *PhaseResult) faultSpan {
	var fs faultSpan
	var first time.Duration // the first fault's injection
	for _, f := range r.Faults {
		if f.Phase != i {
			continue
		}
		if !f.WasInjected() {
			ph.Problems = append(ph.Problems, fmt.Sprintf("fault %q could not be injected: %s", f.Scenario.Name, f.Error))
			continue
		}
		if !ProcessWide(f.Scenario) {
			fs.targets = append(fs.targets, f.Scenario.Targets()...)
		}
		if fs.injected == 0 || f.Injected < first {
			first = f.Injected
		}
		switch {
		case f.Ended < 0 || ph.FaultEnd < 0:
			ph.FaultEnd = -1
		case f.Ended > ph.FaultEnd:
			ph.FaultEnd = f.Ended
		}
		fs.injected++
	}
	ph.FaultStart = first
	if fs.injected > 0 && first == 0 {
		ph.FaultStart = time.Nanosecond // tell "no faults" from "at 0"
	}
	fs.start, fs.end = first, ph.FaultEnd
	return fs
}

// evidence reports whether a breaker targeted by the faults of span i is
// neither closed nor disabled in s.
func (j *judge) evidence(i int, s Sample) bool {
	fs := j.spans[i]
	if fs.injected == 0 || s.At < fs.start {
		return false
	}
	for _, t := range fs.targets {
		if st, found := s.NotClosed[t]; found && st != breaker.Disabled {
			return true
		}
	}
	return false
}

// statusBlame reports whether the status of s is below the minimum on the
// account of phase i's faults: they have evidence in s, or no phase's
// faults have and theirs are the latest injected by then.
func (j *judge) statusBlame(i int, s Sample) bool {
	if ok(s.Status, j.min) || j.spans[i].injected == 0 || s.At < j.spans[i].start {
		return false
	}
	if j.evidence(i, s) {
		return true
	}
	owner := -1
	for k, fs := range j.spans {
		if j.evidence(k, s) {
			return false
		}
		if fs.injected > 0 && fs.start <= s.At && (owner < 0 || fs.start >= j.spans[owner].start) {
			owner = k
		}
	}
	return owner == i
}

// disturbed reports whether s is disturbed by phase i's faults.
func (j *judge) disturbed(i int, s Sample) bool { return j.evidence(i, s) || j.statusBlame(i, s) }

// faults judges phase i, whose faults were injected: their detection and
// recovery, whether they hit anything, and the note of an expected
// degradation that did not happen.
func (j *judge) faults(i int, ph *PhaseResult) {
	j.detect(i, ph)
	j.warn(i, ph)
	j.recovery(i, ph)
	for _, f := range j.r.Faults {
		if f.Phase == i && f.WasInjected() {
			if why := j.r.missed(f); why != "" {
				ph.Inconclusive = append(ph.Inconclusive, fmt.Sprintf("fault %q hit nothing: %s", f.Scenario.Name, why))
			}
		}
	}
	if ph.Expect == scenario.ExpectDegrade && !ph.Detected {
		j.notes = append(j.notes, fmt.Sprintf("phase %q expected a degradation; none was detected", ph.Name))
	}
}

// missed says why the injected fault f hit nothing, or "" when it hit
// something (see Judge).
func (r *Result) missed(f FaultResult) string {
	if ProcessWide(f.Scenario) {
		if f.Reached == 0 {
			return "the system handled no message while it lasted"
		}
		return ""
	}
	targets := f.Scenario.Targets()
	if len(f.Unknown) >= len(targets) {
		return fmt.Sprintf("%s %s not a service or agent of the system (it has: %s)",
			quoteList(f.Unknown), isAre(len(f.Unknown)), knownList(r.Breakers))
	}
	if f.Reached == 0 && !f.Touched {
		return fmt.Sprintf("no call reached %s while it lasted", quoteList(targets))
	}
	return ""
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// quoteList returns the names quoted and joined with commas.
func quoteList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// knownList returns at most 8 of names, joined, or "nothing".
func knownList(names []string) string {
	switch {
	case len(names) == 0:
		return "nothing"
	case len(names) > 8:
		return strings.Join(names[:8], ", ") + fmt.Sprintf(" and %d more", len(names)-8)
	}
	return strings.Join(names, ", ")
}

// traffic sums the traffic of phase i and finds it inconclusive when none
// reached the system (or no observation succeeded during it).
func (j *judge) traffic(i int, ph *PhaseResult) {
	observed := false
	for _, s := range j.r.Samples {
		if s.Phase != i || s.At == 0 || !s.OK {
			continue
		}
		observed = true
		ph.Messages += s.Messages
		ph.Calls += s.Calls
	}
	switch {
	case !observed && ph.End > ph.Start:
		ph.Inconclusive = append(ph.Inconclusive, "no observation of the target succeeded during it")
	case observed && ph.Messages == 0 && ph.Calls == 0:
		ph.Inconclusive = append(ph.Inconclusive, "no traffic: the system handled no message and no breaker saw a call, so its health says nothing")
	}
}

// steady adds the problem of a steady phase i below the minimum for longer
// than the tolerance, not counting the time excused by an earlier phase's
// faults still being recovered from within their budget.
func (j *judge) steady(i int, ph *PhaseResult) {
	var first Sample
	for k, s := range j.r.Samples {
		if s.Phase != i || s.At < ph.Start || s.At == 0 || ok(s.Status, j.min) {
			continue
		}
		span := j.r.SampleInterval
		if k+1 < len(j.r.Samples) && j.r.Samples[k+1].At > s.At {
			span = j.r.Samples[k+1].At - s.At
		}
		if by := j.excuse(i, s); by != "" {
			ph.Excused += span
			if !slices.Contains(ph.ExcusedBy, by) {
				ph.ExcusedBy = append(ph.ExcusedBy, by)
			}
			continue
		}
		if ph.BelowMin == 0 {
			first = s
		}
		ph.BelowMin += span
	}
	if ph.BelowMin > j.tolerance {
		ph.Problems = append(ph.Problems, fmt.Sprintf("below %s for %s in all in a steady phase (tolerance %s), first %s at %s",
			j.min, RoundDuration(ph.BelowMin), j.tolerance, first.Status, RoundDuration(first.At)))
	}
}

// excuse returns the name of the earlier phase whose faults hold s below
// the minimum within their recovery budget, or "".
func (j *judge) excuse(i int, s Sample) string {
	for k := i - 1; k >= 0; k-- {
		fs := j.spans[k]
		if fs.injected == 0 || !j.statusBlame(k, s) {
			continue
		}
		if fs.end < 0 || s.At < fs.end+j.budget {
			return j.r.Phases[k].Name
		}
	}
	return ""
}

// interruption is the reason of an interrupted run: when it was cut short
// and during which phase.
func (r *Result) interruption() string {
	during := ""
	for i := len(r.Phases) - 1; i >= 0; i-- {
		if r.Phases[i].Ran {
			during = fmt.Sprintf(" during phase %q", r.Phases[i].Name)
			break
		}
	}
	return fmt.Sprintf("interrupted after %s%s, before the game day ended (the chaos engine was emergency-stopped)",
		RoundDuration(r.Elapsed), during)
}

// detect sets Detected and TimeToDetect of phase i: the first observation
// disturbed by its faults while they last (and one sample interval after).
func (j *judge) detect(i int, ph *PhaseResult) {
	until := j.r.Elapsed
	if ph.FaultEnd >= 0 {
		until = ph.FaultEnd + j.r.SampleInterval
	}
	for _, s := range j.r.Samples {
		if start := j.spans[i].start; s.At >= start && s.At <= until && j.disturbed(i, s) {
			ph.Detected, ph.TimeToDetect = true, s.At-start
			return
		}
	}
}

// warn sets the early-warning figures of phase i (Warned, Tripped and
// their times) and its cascade (Opened, Contained) from the event log: the
// first at-risk signal and the first opening by itself of a breaker its
// faults target, and every breaker's first opening, while they last and
// one sample interval after — but never once a later phase's faults have
// started.
func (j *judge) warn(i int, ph *PhaseResult) {
	fs := j.spans[i]
	until := j.r.Elapsed
	if ph.FaultEnd >= 0 {
		until = ph.FaultEnd + j.r.SampleInterval
	}
	for _, later := range j.spans[i+1:] {
		if later.injected > 0 { // a later fault's effect is never this phase's
			until = min(until, later.start-1)
			break
		}
	}
	ph.Contained = true
	for _, ev := range j.r.Events {
		if ev.At < fs.start || ev.At > until {
			continue
		}
		target := slices.Contains(fs.targets, ev.Subject)
		if ev.Kind == "breaker" && ev.State == breaker.Open.String() && !slices.ContainsFunc(ph.Opened, func(o Opening) bool { return o.Breaker == ev.Subject }) {
			ph.Opened = append(ph.Opened, Opening{Breaker: ev.Subject, At: ev.At - fs.start})
			ph.Contained = ph.Contained && target
		}
		if !target {
			continue
		}
		switch {
		case !ph.Warned && ev.Kind == "anomaly" && ev.State == "at_risk":
			ph.Warned, ph.TimeToWarn = true, ev.At-fs.start
		case !ph.Tripped && ev.Kind == "breaker" && ev.State == breaker.Open.String():
			ph.Tripped, ph.TimeToTrip = true, ev.At-fs.start
		}
	}
}

// recovery sets the recovery figures of phase i, whose faults were
// injected, and adds its recovery problems: faults still active at the end
// of an uninterrupted game day, a status not back, or back only after the
// budget.
func (j *judge) recovery(i int, ph *PhaseResult) {
	if ph.FaultEnd < 0 {
		if !j.r.Interrupted { // cut short, the interruption is the reason
			ph.Problems = append(ph.Problems, fmt.Sprintf("its faults were still active when the game day ended (status %s at the end); a fault that never ends is never recovered from", j.r.lastStatus()))
		}
		return
	}
	statusBack := j.recoveryTimes(i, ph)
	switch {
	case statusBack < 0:
		ph.Problems = append(ph.Problems, fmt.Sprintf("not back to %s before the game day ended, %s after its faults ended (status %s; budget %s)",
			j.min, RoundDuration(max(j.r.Elapsed-ph.FaultEnd, 0)), j.r.lastStatus(), j.budget))
	case statusBack > j.budget:
		ph.Problems = append(ph.Problems, fmt.Sprintf("back to %s only %s after its faults ended (budget %s)",
			j.min, RoundDuration(statusBack), j.budget))
	}
}

// recoveryTimes sets Recovered and TimeToRecover of phase i, whose faults
// ended: the first observation from FaultEnd on that they do not disturb,
// and after which none they disturb comes within the recovery budget (a
// relapse is no recovery). It returns how long after FaultEnd the status
// was back by the same rule for the status alone (see statusBlame), or -1
// if it never was.
func (j *judge) recoveryTimes(i int, ph *PhaseResult) (statusBack time.Duration) {
	disturbed := func(s Sample) bool { return j.disturbed(i, s) || s.Status == health.Unknown }
	held := func(s Sample) bool { return j.statusBlame(i, s) || s.Status == health.Unknown }
	if at, found := j.settled(ph.FaultEnd, disturbed); found {
		ph.Recovered, ph.TimeToRecover = true, at-ph.FaultEnd
	}
	if at, found := j.settled(ph.FaultEnd, held); found {
		return at - ph.FaultEnd
	}
	return -1
}

// settled returns the first sample from end on for which bad is false and
// after which bad is false up to end plus the recovery budget.
func (j *judge) settled(end time.Duration, bad func(Sample) bool) (time.Duration, bool) {
	from := -1 // the index after the last bad sample within the budget
	for k, s := range j.r.Samples {
		if s.At < end {
			continue
		}
		if from < 0 {
			from = k
		}
		if s.At <= end+j.budget && bad(s) {
			from = k + 1
		}
	}
	for k := max(from, 0); from >= 0 && k < len(j.r.Samples); k++ {
		if s := j.r.Samples[k]; !bad(s) {
			return s.At, true
		}
	}
	return 0, false
}

// lastStatus is the status of the last sample, UNKNOWN without one.
func (r *Result) lastStatus() health.Status {
	if n := len(r.Samples); n > 0 {
		return r.Samples[n-1].Status
	}
	return health.Unknown
}
