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
	sc := r.Scenario
	min, budget := scenario.DefaultMinStatus, scenario.DefaultRecoveryBudget
	if sc != nil {
		min, budget = sc.SteadyState.MinStatus, sc.SteadyState.RecoveryBudget
	}
	var reasons, notes []string
	// excused are the windows in which a fault phase's degradation is
	// allowed: from its first fault until it recovered (or its budget ran
	// out).
	type window struct{ from, to time.Duration }
	var excused []window

	for i := range r.Phases {
		ph := &r.Phases[i]
		ph.Problems = nil
		ph.Detected, ph.Recovered = false, false
		ph.TimeToDetect, ph.TimeToRecover = 0, 0
		ph.FaultStart, ph.FaultEnd = 0, 0
		ph.Worst = health.Healthy
		for _, s := range r.Samples {
			if s.Phase == i && s.At > 0 && worse(s.Status, ph.Worst) {
				ph.Worst = s.Status
			}
		}
		if !ph.Ran {
			continue
		}
		var targets []string
		injected := 0
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
		if injected > 0 {
			if ph.FaultStart == 0 {
				ph.FaultStart = time.Nanosecond // tell "no faults" from "at 0"
			}
			judgeFaults(r, ph, targets, min, budget)
			to := r.Elapsed
			if ph.FaultEnd >= 0 {
				to = ph.FaultEnd + budget
				if ph.Recovered {
					to = ph.FaultEnd + ph.TimeToRecover
				}
			}
			excused = append(excused, window{ph.FaultStart, to})
			if ph.Expect == scenario.ExpectDegrade && !ph.Detected {
				notes = append(notes, fmt.Sprintf("phase %q expected a degradation; none was detected", ph.Name))
			}
		}
		if ph.Expect == scenario.ExpectSteady {
			own := len(excused)
			if injected > 0 {
				own-- // a steady phase's own faults are no excuse
			}
			var first time.Duration
			var firstStatus health.Status
			n := 0
			for _, s := range r.Samples {
				if s.Phase != i || s.At < ph.Start || ok(s.Status, min) {
					continue
				}
				if slices.ContainsFunc(excused[:own], func(w window) bool { return s.At >= w.from && s.At < w.to }) {
					continue
				}
				if n == 0 {
					first, firstStatus = s.At, s.Status
				}
				n++
			}
			if n > 0 {
				ph.Problems = append(ph.Problems, fmt.Sprintf("status %s at %s in a steady phase (%d of its samples below %s)",
					firstStatus, RoundDuration(first), n, min))
			}
		}
		for _, p := range ph.Problems {
			reasons = append(reasons, fmt.Sprintf("phase %q: %s", ph.Name, p))
		}
	}
	if r.Interrupted {
		during := ""
		for i := len(r.Phases) - 1; i >= 0; i-- {
			if r.Phases[i].Ran {
				during = fmt.Sprintf(" during phase %q", r.Phases[i].Name)
				break
			}
		}
		reasons = append([]string{fmt.Sprintf("interrupted after %s%s, before the game day ended (the chaos engine was emergency-stopped)",
			RoundDuration(r.Elapsed), during)}, reasons...)
	}
	if len(r.Samples) == 0 {
		reasons = append(reasons, "no observation of the target succeeded")
	}
	r.Verdict = Verdict{Passed: len(reasons) == 0, Reasons: reasons, Notes: notes}
}

// judgeFaults sets the detection and recovery figures of a phase whose
// faults were injected, and adds its recovery problems.
func judgeFaults(r *Result, ph *PhaseResult, targets []string, min health.Status, budget time.Duration) {
	disturbed := func(s Sample) bool {
		if !ok(s.Status, min) {
			return true
		}
		for _, t := range targets {
			if st, found := s.NotClosed[t]; found && st != breaker.Disabled {
				return true
			}
		}
		return false
	}
	// A disturbance counts as the detection of these faults while they
	// last (and one sample interval after).
	until := r.Elapsed
	if ph.FaultEnd >= 0 {
		until = ph.FaultEnd + r.SampleInterval
	}
	for _, s := range r.Samples {
		if s.At >= ph.FaultStart && s.At <= until && disturbed(s) {
			ph.Detected, ph.TimeToDetect = true, s.At-ph.FaultStart
			break
		}
	}
	if ph.FaultEnd < 0 && r.Interrupted {
		return // cut short: the interruption is the reason
	}
	if ph.FaultEnd < 0 {
		last := health.Unknown
		if n := len(r.Samples); n > 0 {
			last = r.Samples[n-1].Status
		}
		ph.Problems = append(ph.Problems, fmt.Sprintf("its faults were still active when the game day ended (status %s at the end); a fault that never ends is never recovered from", last))
		return
	}
	statusBack := time.Duration(-1)
	for _, s := range r.Samples {
		if s.At < ph.FaultEnd {
			continue
		}
		if statusBack < 0 && ok(s.Status, min) {
			statusBack = s.At - ph.FaultEnd
		}
		if !disturbed(s) {
			ph.Recovered, ph.TimeToRecover = true, s.At-ph.FaultEnd
			break
		}
	}
	switch {
	case statusBack < 0:
		last := health.Unknown
		if n := len(r.Samples); n > 0 {
			last = r.Samples[n-1].Status
		}
		ph.Problems = append(ph.Problems, fmt.Sprintf("not back to %s before the game day ended, %s after its faults ended (status %s; budget %s)",
			min, RoundDuration(max(r.Elapsed-ph.FaultEnd, 0)), last, budget))
	case statusBack > budget:
		ph.Problems = append(ph.Problems, fmt.Sprintf("back to %s only %s after its faults ended (budget %s)",
			min, RoundDuration(statusBack), budget))
	}
}
