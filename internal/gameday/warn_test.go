package gameday_test

import (
	"testing"
	"time"

	"github.com/antifragile-go/antifragile/internal/gameday"
	"github.com/antifragile-go/antifragile/internal/gameday/scenario"
)

// TestJudge_earlyWarning: the at-risk and trip figures of a fault phase
// come from the event log — the first signal and the first opening of a
// breaker the faults target, within the faults' span.
func TestJudge_earlyWarning(t *testing.T) {
	ev := func(at time.Duration, kind, subject, state string) gameday.TimedEvent {
		return gameday.TimedEvent{At: at, Event: gameday.Event{Kind: kind, Subject: subject, State: state}}
	}
	cases := []struct {
		name   string
		events []gameday.TimedEvent
		warned bool
		warnAt time.Duration
		trip   bool
		tripAt time.Duration
		lead   time.Duration
	}{
		{"warned before the trip", []gameday.TimedEvent{
			ev(900*ms, "anomaly", "db", "at_risk"), // before the fault: not this phase's
			ev(1300*ms, "anomaly", "other", "at_risk"),
			ev(1400*ms, "anomaly", "db", "at_risk"),
			ev(1700*ms, "breaker", "db", "open"),
		}, true, 400 * ms, true, 700 * ms, 300 * ms},
		{"tripped with no warning", []gameday.TimedEvent{ev(1100*ms, "breaker", "db", "open")}, false, 0, true, 100 * ms, 0},
		{"warned after the trip", []gameday.TimedEvent{ev(1100*ms, "breaker", "db", "open"), ev(1500*ms, "anomaly", "db", "at_risk")}, true, 500 * ms, true, 100 * ms, -400 * ms},
		{"a cleared signal is no warning", []gameday.TimedEvent{ev(1500*ms, "anomaly", "db", "cleared")}, false, 0, false, 0, 0},
		{"after the span", []gameday.TimedEvent{ev(2500*ms, "anomaly", "db", "at_risk")}, false, 0, false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(1200*ms, 2300*ms))
			r.Events = tc.events
			gameday.Judge(r)
			p := r.Phases[1]
			if p.Warned != tc.warned || p.TimeToWarn != tc.warnAt || p.Tripped != tc.trip || p.TimeToTrip != tc.tripAt {
				t.Errorf("warned %v at %s, tripped %v at %s; want %v at %s, %v at %s",
					p.Warned, p.TimeToWarn, p.Tripped, p.TimeToTrip, tc.warned, tc.warnAt, tc.trip, tc.tripAt)
			}
			lead, both := p.Lead()
			if both != (tc.warned && tc.trip) || lead != tc.lead {
				t.Errorf("lead = %s %v, want %s", lead, both, tc.lead)
			}
			gameday.Judge(r) // judging again starts afresh
			if q := r.Phases[1]; q.Warned != p.Warned || q.TimeToWarn != p.TimeToWarn {
				t.Errorf("judged twice: %+v", q)
			}
		})
	}
}

// TestJudge_laterFaultsAreNotThisPhases: a breaker that opens once the next
// phase's faults have begun is not in this phase's cascade.
func TestJudge_laterFaultsAreNotThisPhases(t *testing.T) {
	r := timeline(2*time.Second, scenario.ExpectSteady, degradedBetween(1200*ms, 2300*ms))
	r.Phases[2].Start = 2 * time.Second
	r.Faults = append(r.Faults, gameday.FaultResult{Phase: 2, Scenario: r.Faults[0].Scenario, Injected: 2 * time.Second, Ended: 3 * time.Second, Reached: 10})
	r.Faults[1].Scenario.Name = "later"
	r.Events = []gameday.TimedEvent{
		{At: 1500 * ms, Event: gameday.Event{Kind: "breaker", Subject: "db", State: "open"}},
		{At: 2050 * ms, Event: gameday.Event{Kind: "breaker", Subject: "other", State: "open"}},
	}
	gameday.Judge(r)
	if p := r.Phases[1]; len(p.Opened) != 1 || p.Opened[0].Breaker != "db" || !p.Contained {
		t.Errorf("storm: opened %+v, contained %v; want db alone", p.Opened, p.Contained)
	}
}
