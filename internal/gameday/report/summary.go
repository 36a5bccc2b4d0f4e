package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// phaseRow is the text of one phase's line in the summary table and the
// report.
type phaseRow struct {
	Name, Expect, Faults, Detect, Warn, Recover, Failed, Worst, Result string
	Metered                                                            []string
	Passed                                                             bool
	// Inconclusive is set for a phase that tested nothing (and did not
	// fail).
	Inconclusive bool
}

func rows(r *gameday.Result) []phaseRow {
	var out []phaseRow
	for i, ph := range r.Phases {
		row := phaseRow{Name: ph.Name, Expect: string(ph.Expect), Faults: "—", Detect: "—", Warn: "—", Recover: "—",
			Failed: strconv.FormatUint(ph.Failed, 10), Worst: ph.Worst.String(), Result: "ok", Passed: true}
		var faults []string
		for _, f := range r.Faults {
			if f.Phase == i {
				faults = append(faults, f.Describe())
			}
		}
		if len(faults) > 0 {
			row.Faults = strings.Join(faults, "; ")
		}
		if ph.HasFaults() {
			row.Warn = warnText(ph)
			if ph.Detected {
				row.Detect = gameday.RoundDuration(ph.TimeToDetect).String()
				switch {
				case ph.Recovered:
					row.Recover = gameday.RoundDuration(ph.TimeToRecover).String()
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
		row.judged(ph)
		out = append(out, row)
	}
	return out
}

// Predictions says how anomaly detection's at-risk signals fared over the
// game day as predictions of outages: "" when there were neither
// predictions nor outages.
func Predictions(r *gameday.Result) string {
	p := r.Predictions
	if p.TruePositives+p.FalsePositives+p.Misses == 0 && p.Pending == 0 {
		return ""
	}
	s := fmt.Sprintf("%d followed by an outage, %d not, %d outages unpredicted", p.TruePositives, p.FalsePositives, p.Misses)
	if p.Pending > 0 {
		s += fmt.Sprintf(", %d still pending", p.Pending)
	}
	if p.Precision != nil {
		s += fmt.Sprintf(" — precision %.0f%%", 100**p.Precision)
	}
	if p.Recall != nil {
		s += fmt.Sprintf(", recall %.0f%%", 100**p.Recall)
	}
	return s
}

// Cascades returns a line per phase in which breakers opened while its
// faults lasted: which, in order, with their offsets from the faults'
// start, and whether the faults' targets were the only ones (contained).
func Cascades(r *gameday.Result) []string {
	var out []string
	for _, ph := range r.Phases {
		if len(ph.Opened) == 0 {
			continue
		}
		steps := make([]string, len(ph.Opened))
		for i, o := range ph.Opened {
			steps[i] = fmt.Sprintf("%s +%s", o.Breaker, gameday.RoundDuration(o.At))
		}
		verdict := "contained: only the faults' targets opened"
		if !ph.Contained {
			verdict = "not contained: the failure spread to breakers the faults did not target"
		}
		out = append(out, fmt.Sprintf("%s: %s — %s", ph.Name, strings.Join(steps, " → "), verdict))
	}
	return out
}

// warnText says when anomaly detection found a targeted breaker at risk,
// and how that compares with its first trip.
func warnText(ph gameday.PhaseResult) string {
	trip := gameday.RoundDuration(ph.TimeToTrip)
	switch lead, both := ph.Lead(); {
	case both && lead >= 0:
		return fmt.Sprintf("%s (%s before the trip)", gameday.RoundDuration(ph.TimeToWarn), gameday.RoundDuration(lead))
	case both:
		return fmt.Sprintf("%s (after the trip at %s)", gameday.RoundDuration(ph.TimeToWarn), trip)
	case ph.Warned:
		return gameday.RoundDuration(ph.TimeToWarn).String() + " (no trip)"
	case ph.Tripped:
		return fmt.Sprintf("— (tripped at %s)", trip)
	}
	return "—"
}

// judged sets the result of the row of ph: not run, FAIL with its
// problems, INCONCLUSIVE with why, or ok — saying how long a steady phase
// was below the minimum and why that was allowed.
func (row *phaseRow) judged(ph gameday.PhaseResult) {
	switch {
	case !ph.Ran:
		row.Result, row.Passed, row.Worst, row.Failed = "not run", false, "—", "—"
	case len(ph.Problems) > 0:
		row.Result, row.Passed = "FAIL: "+strings.Join(ph.Problems, "; "), false
	case len(ph.Inconclusive) > 0:
		row.Result, row.Passed, row.Inconclusive = "INCONCLUSIVE: "+strings.Join(ph.Inconclusive, "; "), false, true
	case ph.Expect == scenario.ExpectSteady && (ph.Excused > 0 || ph.BelowMin > 0):
		var why []string
		if ph.Excused > 0 {
			why = append(why, fmt.Sprintf("%s while %s recovered, within its budget", gameday.RoundDuration(ph.Excused), strings.Join(ph.ExcusedBy, ", ")))
		}
		if ph.BelowMin > 0 {
			why = append(why, fmt.Sprintf("%s within the tolerance", gameday.RoundDuration(ph.BelowMin)))
		}
		row.Result = fmt.Sprintf("ok (%s below the minimum: %s)", ph.Worst, strings.Join(why, "; "))
	}
}

// WriteSummary writes the per-phase table of r — time to detect, when
// anomaly detection found a targeted breaker at risk, time to recover,
// messages failed, messages metered per tenant —, the cluster table of a
// game day across processes, and its verdict, as aligned text.
func WriteSummary(w io.Writer, r *gameday.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	metered := "METERED"
	if len(r.Tenants) > 0 {
		metered += " (" + strings.Join(r.Tenants, "/") + ")"
	}
	fmt.Fprintf(tw, "PHASE\tEXPECT\tFAULTS\tDETECT\tAT RISK\tRECOVER\tFAILED\t%s\tWORST\tRESULT\n", metered)
	for _, row := range rows(r) {
		m := strings.Join(row.Metered, "/")
		if m == "" {
			m = "—"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			row.Name, row.Expect, row.Faults, row.Detect, row.Warn, row.Recover, row.Failed, m, row.Worst, row.Result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if p := Predictions(r); p != "" {
		fmt.Fprintf(w, "\npredictions: %s\n", p)
	}
	if cs := Cascades(r); len(cs) > 0 {
		fmt.Fprintf(w, "\nbreakers opened, in order:\n  %s\n", strings.Join(cs, "\n  "))
	}
	if err := writeCluster(w, r); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n"+r.VerdictText())
	return err
}

// seconds formats d as seconds for chart labels.
func seconds(d time.Duration) string {
	s := d.Seconds()
	if s == float64(int64(s)) {
		return strconv.FormatInt(int64(s), 10) + "s"
	}
	return strconv.FormatFloat(s, 'f', -1, 64) + "s"
}
