package gameday_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/breaker"
	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/health"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

const ms = time.Millisecond

// timeline builds a result of three phases — baseline [0, 1s), storm
// [1s, 2s) with a fault on "db" from 1s to ended, after [2s, 4s) — whose
// samples, every 100 ms, have the statuses of status(at).
func timeline(ended time.Duration, afterExpect scenario.Expectation, status func(at time.Duration) health.Status) *gameday.Result {
	sc := &scenario.Scenario{Name: "t", SteadyState: scenario.SteadyState{MinStatus: health.Healthy, RecoveryBudget: 500 * ms}}
	r := &gameday.Result{
		Scenario: sc, Name: "t", Elapsed: 4 * time.Second, SampleInterval: 100 * ms,
		Phases: []gameday.PhaseResult{
			{Name: "baseline", Expect: scenario.ExpectSteady, Ran: true, Start: 0, End: time.Second},
			{Name: "storm", Expect: scenario.ExpectDegrade, Ran: true, Start: time.Second, End: 2 * time.Second},
			{Name: "after", Expect: afterExpect, Ran: true, Start: 2 * time.Second, End: 4 * time.Second},
		},
		Faults: []gameday.FaultResult{{Phase: 1, Scenario: chaos.PartitionScenario("db", time.Second), Injected: time.Second, Ended: ended, Reached: 50}},
	}
	for at := time.Duration(0); at <= 4*time.Second; at += 100 * ms {
		phase := min(int(at/time.Second), 2)
		if at == 4*time.Second {
			phase = 2
		}
		st := status(at)
		s := gameday.Sample{At: at, Phase: phase, OK: st != health.Unknown, Status: st, Messages: 20, Calls: 10}
		if st != health.Healthy {
			s.NotClosed = map[string]breaker.State{"db": breaker.Open}
		}
		r.Samples = append(r.Samples, s)
	}
	return r
}

// degradedBetween returns a status function: DEGRADED in [from, to).
func degradedBetween(from, to time.Duration) func(time.Duration) health.Status {
	return func(at time.Duration) health.Status {
		if at >= from && at < to {
			return health.Degraded
		}
		return health.Healthy
	}
}

func TestJudge(t *testing.T) {
	t.Run("passes when the status is back within the budget", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(1200*ms, 2300*ms))
		gameday.Judge(r)
		if !r.Verdict.Passed || r.Err() != nil {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
		storm := r.Phases[1]
		if !storm.Detected || storm.TimeToDetect != 200*ms {
			t.Errorf("detect = %v %s, want true 200ms", storm.Detected, storm.TimeToDetect)
		}
		if !storm.Recovered || storm.TimeToRecover != 300*ms {
			t.Errorf("recover = %v %s, want true 300ms", storm.Recovered, storm.TimeToRecover)
		}
		if storm.Worst != health.Degraded || r.Phases[0].Worst != health.Healthy {
			t.Errorf("worst = %s, %s", storm.Worst, r.Phases[0].Worst)
		}
	})
	t.Run("fails when the status comes back after the budget", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectDegrade, degradedBetween(1200*ms, 2800*ms))
		gameday.Judge(r)
		if r.Verdict.Passed {
			t.Fatal("passed")
		}
		if got := strings.Join(r.Verdict.Reasons, "\n"); !strings.Contains(got, `phase "storm": back to HEALTHY only 800ms after its faults ended (budget 500ms)`) {
			t.Errorf("reasons = %s", got)
		}
	})
	t.Run("fails when the status never comes back", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectDegrade, degradedBetween(1200*ms, time.Hour))
		gameday.Judge(r)
		if r.Verdict.Passed || !strings.Contains(r.Verdict.Reasons[0], "not back to HEALTHY before the game day ended") {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
		if r.Phases[1].Recovered {
			t.Error("Recovered = true")
		}
	})
	t.Run("fails when a fault never ends", func(t *testing.T) {
		r := timeline(-1, scenario.ExpectDegrade, degradedBetween(1200*ms, time.Hour))
		gameday.Judge(r)
		if r.Verdict.Passed || !strings.Contains(r.Verdict.Reasons[0], "still active when the game day ended") {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
		var ve *gameday.VerdictError
		if err := r.Err(); err == nil || !errors.As(err, &ve) || ve.ExitCode() == 0 || !errors.Is(err, gameday.ErrFailed) {
			t.Errorf("Err() = %v", err)
		}
	})
	t.Run("a steady phase must hold the minimum once the budget is spent", func(t *testing.T) {
		// Recovered at 2.3s, then a relapse at 3s.
		r := timeline(2*time.Second, scenario.ExpectSteady, func(at time.Duration) health.Status {
			switch {
			case at >= 1200*ms && at < 2300*ms, at >= 3*time.Second && at < 3200*ms:
				return health.Degraded
			}
			return health.Healthy
		})
		gameday.Judge(r)
		if r.Verdict.Passed {
			t.Fatal("passed")
		}
		if got := r.Phases[2].Problems; len(got) != 1 || !strings.Contains(got[0], "below HEALTHY for 200ms in all in a steady phase (tolerance 0s), first DEGRADED at 3s") {
			t.Errorf("problems of the steady phase = %q", got)
		}
		if len(r.Phases[1].Problems) != 0 {
			t.Errorf("storm problems = %q", r.Phases[1].Problems)
		}
	})
	t.Run("a degrade phase may drop without a fault", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectDegrade, func(at time.Duration) health.Status {
			switch {
			case at >= 1200*ms && at < 2300*ms, at >= 3*time.Second && at < 3200*ms:
				return health.Degraded
			}
			return health.Healthy
		})
		gameday.Judge(r)
		if !r.Verdict.Passed {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
	})
	t.Run("a failed observation is below the minimum", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectSteady, func(at time.Duration) health.Status {
			if at == 3500*ms {
				return health.Unknown
			}
			return health.Healthy
		})
		gameday.Judge(r)
		if r.Verdict.Passed || !strings.Contains(r.Verdict.Reasons[0], "first UNKNOWN at 3.5s") {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
	})
	t.Run("a lower minimum accepts DEGRADED", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(1200*ms, time.Hour))
		r.Scenario.SteadyState.MinStatus = health.Degraded
		gameday.Judge(r)
		if !r.Verdict.Passed {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
		if !r.Phases[1].Detected {
			t.Error("the open breaker of the target was not detected")
		}
	})
	t.Run("a fault that could not be injected fails", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(0, 0))
		r.Faults[0] = gameday.FaultResult{Phase: 1, Scenario: r.Faults[0].Scenario, Error: "chaos: emergency stop active"}
		gameday.Judge(r)
		if r.Verdict.Passed || !strings.Contains(r.Verdict.Reasons[0], "could not be injected: chaos: emergency stop active") {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
	})
	t.Run("an interrupted game day fails", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(0, 0))
		r.Interrupted = true
		r.Faults[0].Ended = -1 // still active when interrupted
		gameday.Judge(r)
		if r.Verdict.Passed || len(r.Verdict.Reasons) != 1 || !strings.Contains(r.Verdict.Reasons[0], `interrupted after 4s during phase "after"`) {
			t.Fatalf("verdict = %+v", r.Verdict)
		}
	})
	t.Run("an undetected degradation is only a note", func(t *testing.T) {
		r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(0, 0))
		gameday.Judge(r)
		if !r.Verdict.Passed || len(r.Verdict.Notes) != 1 || r.Phases[1].Detected {
			t.Fatalf("verdict = %+v, detected %v", r.Verdict, r.Phases[1].Detected)
		}
	})
}
