package chaos

import (
	"slices"
	"time"
)

// RecentEnded is how many ended scenarios an Engine remembers for Recent.
const RecentEnded = 32

// Ended is a scenario that has ended: the scenario as it ran, when it
// ended and why. Detail says more for an emergency stop or a stop
// condition (the engine's stop reason, such as `stop condition "health
// status is CRITICAL" held`); it is empty otherwise.
type Ended struct {
	Scenario Scenario  `json:"scenario"`
	Reason   Reason    `json:"reason"`
	Detail   string    `json:"detail,omitempty"`
	EndedAt  time.Time `json:"ended_at"`
}

// rememberLocked adds a, ending now for reason, to the recent history,
// forgetting the oldest entry beyond RecentEnded. The caller holds e.mu.
func (e *Engine) rememberLocked(a *active, reason Reason, at time.Time) {
	en := Ended{Scenario: a.s.clone(), Reason: reason, EndedAt: at.UTC()}
	en.Scenario.Active = false
	if reason == ReasonEmergencyStop || reason == ReasonStopCondition {
		en.Detail = e.stopReason
	}
	if len(e.recent) >= RecentEnded {
		e.recent = slices.Delete(e.recent, 0, len(e.recent)-RecentEnded+1)
	}
	e.recent = append(e.recent, en)
}

// Recent returns the scenarios that ended last, at most RecentEnded, the
// latest first, each with the reason it ended. It is a new slice, safe for
// concurrent use; it takes the engine's lock briefly.
func (e *Engine) Recent() []Ended {
	e.mu.Lock()
	out := make([]Ended, len(e.recent))
	for i, en := range e.recent {
		en.Scenario = en.Scenario.clone()
		out[len(out)-1-i] = en
	}
	e.mu.Unlock()
	return out
}
