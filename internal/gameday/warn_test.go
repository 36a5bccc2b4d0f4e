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
