package gameday

import (
	"fmt"
	"slices"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
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
	// Detected says whether the faults were noticed: the status fell below
	// the steady-state minimum or a breaker of a fault's targets left the
	// closed state. TimeToDetect is measured from FaultStart.
	Detected     bool          `json:"detected"`
	TimeToDetect time.Duration `json:"time_to_detect"`
	// Recovered says whether, after FaultEnd, the status was back at the
	// steady-state minimum with every targeted breaker closed;
	// TimeToRecover is measured from FaultEnd.
	Recovered     bool          `json:"recovered"`
	TimeToRecover time.Duration `json:"time_to_recover"`
	// Worst is the worst status seen during the phase.
	Worst health.Status `json:"worst"`
	// Failed counts the messages that failed during the phase; Metered the
	// metered events per tenant.
	Failed  uint64           `json:"failed"`
	Metered map[string]int64 `json:"metered"`
	// Problems say why the phase failed the hypothesis; empty when it held.
	Problems []string `json:"problems,omitempty"`
}

// HasFaults reports whether the phase injected at least one fault.
func (p PhaseResult) HasFaults() bool { return p.FaultStart > 0 || p.FaultEnd != 0 }

// Verdict is the outcome of a game day.
type Verdict struct {
	// Passed is true when the steady-state hypothesis held: after every
	// fault, the status was back at the minimum within the recovery budget,
	// steady phases stayed at it, every fault could be injected and the run
	// was not interrupted.
	Passed bool `json:"passed"`
	// Reasons say why it failed, one per problem.
	Reasons []string `json:"reasons,omitempty"`
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

// Judge computes the per-phase detection and recovery figures of r and its
// verdict, from its samples and faults. It is deterministic: the same
// result gives the same verdict. The rules:
//
//   - every fault must have been injected;
//   - after the end of a phase's faults, the first sample whose status is
//     SteadyState.MinStatus or better must come within the recovery budget
//     — a fault still active at the end of the game day fails;
//   - in a phase expecting "steady", every sample must meet the minimum,
//     except while an earlier phase's faults are still inside their
//     recovery budget and not yet recovered from;
//   - the run must not have been interrupted.
func Judge(r *Result) {
	j := judge{r: r, min: scenario.DefaultMinStatus, budget: scenario.DefaultRecoveryBudget}
	if sc := r.Scenario; sc != nil {
		j.min, j.budget = sc.SteadyState.MinStatus, sc.SteadyState.RecoveryBudget
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
	r.Verdict = Verdict{Passed: len(j.reasons) == 0, Reasons: j.reasons, Notes: j.notes}
}

// judge is one run of Judge: the result, its hypothesis (the minimum
// status and the recovery budget) and what the phases judged so far found.
type judge struct {
	r       *Result
	min     health.Status
	budget  time.Duration
	reasons []string // why the verdict fails, in phase order
	notes   []string
	// excused are the windows in which a fault phase's degradation is
	// allowed: from its first fault until it recovered (or its budget ran
	// out), one per phase with injected faults, in phase order.
	excused []window
}

// window is a span of the game day, from its start: [from, to).
type window struct{ from, to time.Duration }

// phase computes the figures of phase i and adds its problems to the
// reasons: the faults that could not be injected, those of its recovery
// and, for a steady phase, the samples below the minimum.
func (j *judge) phase(i int) {
	ph := &j.r.Phases[i]
	ph.clearJudged()
	ph.Worst = j.r.worst(i)
	if !ph.Ran {
		return
	}
	targets, injected := j.r.phaseFaults(i, ph)
	if injected > 0 {
		j.faults(ph, targets)
	}
	if ph.Expect == scenario.ExpectSteady {
		j.steady(i, ph, injected > 0)
	}
	for _, p := range ph.Problems {
		j.reasons = append(j.reasons, fmt.Sprintf("phase %q: %s", ph.Name, p))
	}
}

// clearJudged zeroes the figures Judge computes, so that judging a result
// again starts afresh.
func (p *PhaseResult) clearJudged() {
	p.Problems = nil
	p.Detected, p.Recovered = false, false
	p.TimeToDetect, p.TimeToRecover = 0, 0
	p.FaultStart, p.FaultEnd = 0, 0
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
// could not be injected, and returns the targets of the injected ones and
// their number.
func (r *Result) phaseFaults(i int, ph *PhaseResult) (targets []string, injected int) {
	for _, f := range r.Faults {
		if f.Phase != i {
			continue
		}
		if !f.WasInjected() {
			ph.Problems = append(ph.Problems, fmt.Sprintf("fault %q could not be injected: %s", f.Scenario.Name, f.Error))
			continue
		}
		targets = append(targets, f.Scenario.Targets()...)
		if injected == 0 || f.Injected < ph.FaultStart {
			ph.FaultStart = f.Injected
		}
		switch {
		case f.Ended < 0 || ph.FaultEnd < 0:
			ph.FaultEnd = -1
		case f.Ended > ph.FaultEnd:
			ph.FaultEnd = f.Ended
		}
		injected++
	}
	if injected > 0 && ph.FaultStart == 0 {
		ph.FaultStart = time.Nanosecond // tell "no faults" from "at 0"
	}
	return targets, injected
}

// faults judges a phase whose faults were injected: their detection and
// recovery (see recovery), the window in which the degradation they cause
// is excused, and the note of an expected degradation that did not happen.
func (j *judge) faults(ph *PhaseResult, targets []string) {
	j.recovery(ph, targets)
	to := j.r.Elapsed
	if ph.FaultEnd >= 0 {
		to = ph.FaultEnd + j.budget
		if ph.Recovered {
			to = ph.FaultEnd + ph.TimeToRecover
		}
	}
	j.excused = append(j.excused, window{ph.FaultStart, to})
	if ph.Expect == scenario.ExpectDegrade && !ph.Detected {
		j.notes = append(j.notes, fmt.Sprintf("phase %q expected a degradation; none was detected", ph.Name))
	}
}

// steady adds the problem of a steady phase i with samples below the
// minimum outside the windows excused by earlier phases' faults; a steady
// phase's own faults (ownFaults) are no excuse.
func (j *judge) steady(i int, ph *PhaseResult, ownFaults bool) {
	excused := j.excused
	if ownFaults {
		excused = excused[:len(excused)-1]
	}
	var first Sample
	n := 0
	for _, s := range j.r.Samples {
		if s.Phase != i || s.At < ph.Start || ok(s.Status, j.min) {
			continue
		}
		if slices.ContainsFunc(excused, func(w window) bool { return s.At >= w.from && s.At < w.to }) {
			continue
		}
		if n == 0 {
			first = s
		}
		n++
	}
	if n > 0 {
		ph.Problems = append(ph.Problems, fmt.Sprintf("status %s at %s in a steady phase (%d of its samples below %s)",
			first.Status, RoundDuration(first.At), n, j.min))
	}
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

// recovery sets the detection and recovery figures of a phase whose faults
// were injected, and adds its recovery problems: faults still active at the
// end of an uninterrupted game day, a status not back at the minimum, or
// back only after the budget.
func (j *judge) recovery(ph *PhaseResult, targets []string) {
	disturbed := func(s Sample) bool {
		if !ok(s.Status, j.min) {
			return true
		}
		for _, t := range targets {
			if st, found := s.NotClosed[t]; found && st != breaker.Disabled {
				return true
			}
		}
		return false
	}
	j.detect(ph, disturbed)
	if ph.FaultEnd < 0 {
		if !j.r.Interrupted { // cut short, the interruption is the reason
			ph.Problems = append(ph.Problems, fmt.Sprintf("its faults were still active when the game day ended (status %s at the end); a fault that never ends is never recovered from", j.r.lastStatus()))
		}
		return
	}
	statusBack := j.recoveryTimes(ph, disturbed)
	switch {
	case statusBack < 0:
		ph.Problems = append(ph.Problems, fmt.Sprintf("not back to %s before the game day ended, %s after its faults ended (status %s; budget %s)",
			j.min, RoundDuration(max(j.r.Elapsed-ph.FaultEnd, 0)), j.r.lastStatus(), j.budget))
	case statusBack > j.budget:
		ph.Problems = append(ph.Problems, fmt.Sprintf("back to %s only %s after its faults ended (budget %s)",
			j.min, RoundDuration(statusBack), j.budget))
	}
}

// detect sets Detected and TimeToDetect of ph: the first disturbed sample
// counts as the detection of its faults while they last (and one sample
// interval after).
func (j *judge) detect(ph *PhaseResult, disturbed func(Sample) bool) {
	until := j.r.Elapsed
	if ph.FaultEnd >= 0 {
		until = ph.FaultEnd + j.r.SampleInterval
	}
	for _, s := range j.r.Samples {
		if s.At >= ph.FaultStart && s.At <= until && disturbed(s) {
			ph.Detected, ph.TimeToDetect = true, s.At-ph.FaultStart
			return
		}
	}
}

// recoveryTimes sets Recovered and TimeToRecover of ph, whose faults ended: the
// first sample from FaultEnd on that is not disturbed. It returns how long
// after FaultEnd the status was first back at the minimum, or -1 if it
// never was up to that sample.
func (j *judge) recoveryTimes(ph *PhaseResult, disturbed func(Sample) bool) (statusBack time.Duration) {
	statusBack = -1
	for _, s := range j.r.Samples {
		if s.At < ph.FaultEnd {
			continue
		}
		if statusBack < 0 && ok(s.Status, j.min) {
			statusBack = s.At - ph.FaultEnd
		}
		if !disturbed(s) {
			ph.Recovered, ph.TimeToRecover = true, s.At-ph.FaultEnd
			break
		}
	}
	return statusBack
}

// lastStatus is the status of the last sample, UNKNOWN without one.
func (r *Result) lastStatus() health.Status {
	if n := len(r.Samples); n > 0 {
		return r.Samples[n-1].Status
	}
	return health.Unknown
}
