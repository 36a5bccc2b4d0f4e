package gameday_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/antifragile-go/antifragile/internal/agentsim"
	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/report"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// bubbleScenario is the built-in game day with its cpu burn swapped for a
// latency fault on the same agent: a burner spins on the CPU until the
// clock moves, and a synctest bubble's clock moves only when every
// goroutine is blocked. Its latency faults end 10 ms before their phases:
// ending one wakes the messages it delays, which would otherwise finish at
// the very instant of the phase's last observation, before or after it as
// the scheduler pleases.
func bubbleScenario(t *testing.T) *scenario.Scenario {
	t.Helper()
	data := strings.Replace(string(scenario.DefaultJSON()),
		`"name": "cpu-burn", "type": "resource_exhaustion", "target": "auditor", "resource_type": "cpu", "resource_level": 0.25`,
		`"name": "auditor-latency", "type": "latency", "target": "auditor", "delay": "30ms"`, 1)
	if !strings.Contains(data, "auditor-latency") {
		t.Fatal("the built-in scenario no longer has the cpu burn this test replaces")
	}
	sc := mustParse(t, data)
	for i := range sc.Phases {
		for j := range sc.Phases[i].Faults {
			if f := &sc.Phases[i].Faults[j]; f.Scenario.Type == "latency" {
				f.ForPhase, f.Scenario.Duration = false, f.Scenario.Duration-10*time.Millisecond
			}
		}
	}
	return sc
}

// bubbleRun runs sc at full length against a local system with seed,
// inside a synctest bubble (a minute of fake time in about a second), and
// returns its summary table.
func bubbleRun(t *testing.T, sc *scenario.Scenario, seed uint64) (string, *gameday.Result) {
	var table string
	var res *gameday.Result
	synctest.Test(t, func(t *testing.T) {
		// The agents' timings stretched by 1.0005: a breaker that trips on
		// a message goes half-open 2001 ms later, off the 10 ms ticks too.
		l := newLocal(t, 1.0005, seed, agentsim.GeneratorConfig{Rate: sc.Traffic.Rate, Tenants: sc.Traffic.Tenants})
		stop := l.start(t)
		// Off the traffic's 10 ms ticks, so that no observation or injection
		// shares an instant with a message (their order would be up to the
		// scheduler).
		time.Sleep(500 * time.Microsecond)
		var err error
		res, err = gameday.Run(context.Background(), gameday.Config{Scenario: sc,
			Target: gameday.NewLocalTarget(l.System, l.sim.Traffic()), Seed: seed, Scale: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := report.WriteSummary(&b, res); err != nil {
			t.Fatal(err)
		}
		table = b.String()
	})
	return table, res
}

// TestIssue14_SameSeedSameTable: the same seed gives the same phase table
// twice — detection and recovery times, failures, metered counts, worst
// statuses and results — and the table is the one the game day should
// give: a pass whose figures belong to the phases whose faults caused them.
func TestIssue14_SameSeedSameTable(t *testing.T) {
	sc := bubbleScenario(t)
	first, res := bubbleRun(t, sc, 42)
	second, _ := bubbleRun(t, sc, 42)
	if first != second {
		t.Fatalf("the same seed gave two tables:\n%s\n%s", first, second)
	}
	if !res.Verdict.Passed {
		t.Fatalf("verdict %s:\n%s", res.Verdict.Outcome, first)
	}
	byName := map[string]gameday.PhaseResult{}
	for _, ph := range res.Phases {
		byName[ph.Name] = ph
	}
	if storm := byName["error-storm"]; !storm.Detected || !storm.Recovered {
		t.Errorf("error-storm not detected and recovered:\n%s", first)
	}
	if part := byName["partition"]; !part.Detected || !part.Recovered {
		t.Errorf("partition not detected and recovered:\n%s", first)
	}
	if al := byName["cpu-exhaustion"]; al.Detected || al.Worst.String() != "HEALTHY" {
		t.Errorf("the phase before the partition took its figures:\n%s", first)
	}
	t.Logf("\n%s", first)
}
