package gameday_test

import (
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// phaseSpec is a phase of a built result: a second long, with the faults
// given, ending with the phase unless they say otherwise.
type phaseSpec struct {
	name   string
	expect scenario.Expectation
	faults []chaos.Scenario
}

// built returns a result of one-second phases, sampled every 100 ms,
// whose breakers are open while open(name, at) says so (the status is then
// DEGRADED), judged with ss.
func built(ss scenario.SteadyState, specs []phaseSpec, open func(name string, at time.Duration) bool) *gameday.Result {
	sc := &scenario.Scenario{Name: "built", SteadyState: ss}
	total := time.Duration(len(specs)) * time.Second
	r := &gameday.Result{Scenario: sc, Name: "built", Elapsed: total, SampleInterval: 100 * ms, Breakers: []string{"cache", "db"}}
	for i, p := range specs {
		start := time.Duration(i) * time.Second
		r.Phases = append(r.Phases, gameday.PhaseResult{Name: p.name, Expect: p.expect, Ran: true, Start: start, End: start + time.Second})
		for _, f := range p.faults {
			r.Faults = append(r.Faults, gameday.FaultResult{Phase: i, Scenario: f, Injected: start, Ended: start + f.Duration, Reached: 10})
		}
	}
	for at := time.Duration(0); at <= total; at += 100 * ms {
		s := gameday.Sample{At: at, Phase: min(int(at/time.Second), len(specs)-1), OK: true, Status: health.Healthy, Messages: 20, Calls: 10}
		for _, name := range []string{"cache", "db"} {
			if open(name, at) {
				if s.NotClosed == nil {
					s.NotClosed = map[string]breaker.State{}
				}
				s.NotClosed[name] = breaker.Open
				s.Status = health.Degraded
			}
		}
		r.Samples = append(r.Samples, s)
	}
	gameday.Judge(r)
	return r
}

func between(from, to time.Duration) func(time.Duration) bool {
	return func(at time.Duration) bool { return at >= from && at < to }
}

var budget = scenario.SteadyState{MinStatus: health.Healthy, RecoveryBudget: 800 * ms}

func TestJudge_Attribution(t *testing.T) {
	cpu := chaos.Scenario{Name: "cpu", Type: chaos.TypeResourceExhaustion, Target: "auditor", ResourceType: chaos.ResourceCPU, ResourceLevel: 0.25, Duration: time.Second}
	t.Run("a recovery that ends in the next phase belongs to its fault", func(t *testing.T) {
		r := built(budget, []phaseSpec{
			{"storm", scenario.ExpectDegrade, []chaos.Scenario{chaos.PartitionScenario("db", time.Second)}},
			{"cache-latency", scenario.ExpectSteady, []chaos.Scenario{chaos.LatencyScenario("cache", 10*ms, time.Second)}},
		}, func(name string, at time.Duration) bool { return name == "db" && between(200*ms, 1300*ms)(at) })
		storm, next := r.Phases[0], r.Phases[1]
		if !storm.Detected || storm.TimeToDetect != 200*ms || !storm.Recovered || storm.TimeToRecover != 300*ms {
			t.Errorf("storm: detected %v after %s, recovered %v after %s; want 200ms and 300ms", storm.Detected, storm.TimeToDetect, storm.Recovered, storm.TimeToRecover)
		}
		if next.Detected || !next.Recovered || next.TimeToRecover != 0 {
			t.Errorf("the next phase took the storm's figures: %+v", next)
		}
		if !r.Verdict.Passed {
			t.Errorf("verdict %+v", r.Verdict)
		}
	})
	t.Run("a later fault's effect is not an earlier one's", func(t *testing.T) {
		// The cpu-exhaustion row: a fault on the whole process that
		// changes nothing, then a partition that degrades.
		r := built(budget, []phaseSpec{
			{"cpu-exhaustion", scenario.ExpectSteady, []chaos.Scenario{cpu}},
			{"partition", scenario.ExpectDegrade, []chaos.Scenario{chaos.PartitionScenario("db", time.Second)}},
			{"final-steady", scenario.ExpectSteady, nil},
		}, func(name string, at time.Duration) bool { return name == "db" && between(1100*ms, 2200*ms)(at) })
		cpuPhase, part := r.Phases[0], r.Phases[1]
		if cpuPhase.Detected || !cpuPhase.Recovered || cpuPhase.TimeToRecover != 0 {
			t.Errorf("cpu-exhaustion shows the partition's figures: detected %v %s, recovered %v %s",
				cpuPhase.Detected, cpuPhase.TimeToDetect, cpuPhase.Recovered, cpuPhase.TimeToRecover)
		}
		if !part.Detected || part.TimeToDetect != 100*ms || !part.Recovered || part.TimeToRecover != 200*ms {
			t.Errorf("partition: %+v", part)
		}
		final := r.Phases[2]
		if final.Excused != 200*ms || len(final.ExcusedBy) != 1 || final.ExcusedBy[0] != "partition" || final.BelowMin != 0 {
			t.Errorf("final-steady: excused %s by %v, below %s; want 200ms by partition", final.Excused, final.ExcusedBy, final.BelowMin)
		}
		if !r.Verdict.Passed {
			t.Fatalf("verdict %+v", r.Verdict)
		}
		var sum strings.Builder
		_ = report.WriteSummary(&sum, r)
		if !strings.Contains(sum.String(), "ok (DEGRADED below the minimum: 200ms while partition recovered, within its budget)") {
			t.Errorf("the summary does not say why final-steady is ok while DEGRADED:\n%s", sum.String())
		}
		if !strings.Contains(sum.String(), "rule: after every fault, back to HEALTHY within 800ms; a steady phase may spend 0s in all below HEALTHY") {
			t.Errorf("the summary does not print the steady rule:\n%s", sum.String())
		}
	})
	t.Run("a steady phase may spend its tolerance below the minimum", func(t *testing.T) {
		specs := []phaseSpec{{"steady", scenario.ExpectSteady, nil}}
		blip := func(name string, at time.Duration) bool { return name == "cache" && between(300*ms, 500*ms)(at) }
		strict := built(budget, specs, blip)
		if strict.Verdict.Passed || !strings.Contains(strict.Verdict.Reasons[0], "below HEALTHY for 200ms in all in a steady phase (tolerance 0s), first DEGRADED at 300ms") {
			t.Errorf("tolerance 0: verdict %+v", strict.Verdict)
		}
		lenient := budget
		lenient.Tolerance = 200 * ms
		if r := built(lenient, specs, blip); !r.Verdict.Passed || r.Phases[0].BelowMin != 200*ms {
			t.Errorf("tolerance 200ms: verdict %+v, below %s", r.Verdict, r.Phases[0].BelowMin)
		}
	})
	t.Run("a recovery past the budget is not excused in the steady phase", func(t *testing.T) {
		r := built(budget, []phaseSpec{
			{"partition", scenario.ExpectDegrade, []chaos.Scenario{chaos.PartitionScenario("db", time.Second)}},
			{"final-steady", scenario.ExpectSteady, nil},
		}, func(name string, at time.Duration) bool { return name == "db" && between(100*ms, 1900*ms)(at) })
		if r.Verdict.Passed || r.Phases[1].BelowMin != 100*ms || r.Phases[1].Excused != 800*ms {
			t.Errorf("verdict %+v; final-steady below %s, excused %s", r.Verdict, r.Phases[1].BelowMin, r.Phases[1].Excused)
		}
	})
	t.Run("a fault whose target got no call is inconclusive", func(t *testing.T) {
		r := built(budget, []phaseSpec{{"latency", scenario.ExpectSteady, []chaos.Scenario{chaos.LatencyScenario("db", 10*ms, time.Second)}}},
			func(string, time.Duration) bool { return false })
		r.Faults[0].Reached = 0
		gameday.Judge(r)
		if r.Verdict.Outcome != gameday.OutcomeInconclusive || !strings.Contains(r.Verdict.Inconclusive[0], `hit nothing: no call reached "db" while it lasted`) {
			t.Errorf("verdict %+v", r.Verdict)
		}
		r.Faults[0].Unknown = []string{"db"}
		gameday.Judge(r)
		if !strings.Contains(r.Verdict.Inconclusive[0], `"db" is not a service or agent of the system (it has: cache, db)`) {
			t.Errorf("verdict %+v", r.Verdict)
		}
	})
	t.Run("a failure outweighs an inconclusive phase", func(t *testing.T) {
		r := built(budget, []phaseSpec{
			{"quiet", scenario.ExpectSteady, nil},
			{"storm", scenario.ExpectDegrade, []chaos.Scenario{chaos.PartitionScenario("db", time.Second)}},
		}, func(name string, at time.Duration) bool { return name == "db" && at >= 1100*ms })
		for k := range r.Samples {
			if r.Samples[k].Phase == 0 {
				r.Samples[k].Messages, r.Samples[k].Calls = 0, 0
			}
		}
		gameday.Judge(r)
		if r.Verdict.Outcome != gameday.OutcomeFail || len(r.Verdict.Inconclusive) != 1 || !strings.Contains(r.VerdictText(), "inconclusive: phase \"quiet\": no traffic") {
			t.Errorf("verdict %+v\n%s", r.Verdict, r.VerdictText())
		}
	})
}
