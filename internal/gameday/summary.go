package gameday

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// phaseRow is the text of one phase's line in the summary table and the
// report.
type phaseRow struct {
	Name, Expect, Faults, Detect, Recover, Failed, Worst, Result string
	Metered                                                      []string
	Passed                                                       bool
}

func (r *Result) rows() []phaseRow {
	var out []phaseRow
	for i, ph := range r.Phases {
		row := phaseRow{Name: ph.Name, Expect: string(ph.Expect), Faults: "—", Detect: "—", Recover: "—",
			Failed: strconv.FormatUint(ph.Failed, 10), Worst: ph.Worst.String(), Result: "ok", Passed: true}
		var faults []string
		for _, f := range r.Faults {
			if f.Phase == i {
				faults = append(faults, describeFault(f.Scenario))
			}
		}
		if len(faults) > 0 {
			row.Faults = strings.Join(faults, "; ")
		}
		if ph.HasFaults() {
			if ph.Detected {
				row.Detect = roundDuration(ph.TimeToDetect).String()
				switch {
				case ph.Recovered:
					row.Recover = roundDuration(ph.TimeToRecover).String()
				case ph.FaultEnd < 0:
					row.Recover = "never (fault outlasted the game day)"
				default:
					row.Recover = "not recovered"
				}
			} else if ph.FaultEnd < 0 {
				row.Recover = "never (fault outlasted the game day)"
			}
		}
		for _, t := range r.Tenants {
			row.Metered = append(row.Metered, strconv.FormatInt(ph.Metered[t], 10))
		}
		switch {
		case !ph.Ran:
			row.Result, row.Passed, row.Worst, row.Failed = "not run", false, "—", "—"
		case len(ph.Problems) > 0:
			row.Result, row.Passed = "FAIL: "+strings.Join(ph.Problems, "; "), false
		}
		out = append(out, row)
	}
	return out
}

// WriteSummary writes the per-phase table of r — time to detect, time to
// recover, messages failed, messages metered per tenant — and its verdict,
// as aligned text.
func WriteSummary(w io.Writer, r *Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	metered := "METERED"
	if len(r.Tenants) > 0 {
		metered += " (" + strings.Join(r.Tenants, "/") + ")"
	}
	fmt.Fprintf(tw, "PHASE\tEXPECT\tFAULTS\tDETECT\tRECOVER\tFAILED\t%s\tWORST\tRESULT\n", metered)
	for _, row := range r.rows() {
		m := strings.Join(row.Metered, "/")
		if m == "" {
			m = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			row.Name, row.Expect, row.Faults, row.Detect, row.Recover, row.Failed, m, row.Worst, row.Result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n"+r.VerdictText())
	return err
}

// VerdictText is the verdict in a few lines of text, ending with a newline.
func (r *Result) VerdictText() string {
	var b strings.Builder
	min, budget := scenario.DefaultMinStatus, scenario.DefaultRecoveryBudget
	if r.Scenario != nil {
		min, budget = r.Scenario.SteadyState.MinStatus, r.Scenario.SteadyState.RecoveryBudget
	}
	if r.Verdict.Passed {
		fmt.Fprintf(&b, "verdict: PASS — back to %s within %s after every fault (game day %q, %s)\n",
			min, budget, r.Name, roundDuration(r.Elapsed))
	} else {
		fmt.Fprintf(&b, "verdict: FAIL — the steady-state hypothesis (%s within %s after every fault) did not hold:\n", min, budget)
		for _, reason := range r.Verdict.Reasons {
			fmt.Fprintf(&b, "  - %s\n", reason)
		}
	}
	for _, n := range r.Verdict.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

// seconds formats d as seconds for chart labels.
func seconds(d time.Duration) string {
	s := d.Seconds()
	if s == float64(int64(s)) {
		return strconv.FormatInt(int64(s), 10) + "s"
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + "s"
}
