package breaker

import (
	"fmt"
	"time"

	"github.com/antifragile-go/antifragile/internal/fanout"
)

// State is a breaker's state.
type State uint8

const (
	// Closed admits every call and watches the trip rules.
	Closed State = iota
	// Open rejects every call with ErrOpen until the open timeout ends.
	Open
	// HalfOpen admits a limited number of trial calls; the rest are rejected
	// with ErrTooManyRequests.
	HalfOpen
	// ForcedOpen rejects every call until Release or Reset. Operators and the
	// chaos engine use it; no timeout ends it.
	ForcedOpen
	// Disabled admits every call and still records outcomes, but never trips.
	Disabled
)

var stateNames = [...]string{"closed", "open", "half_open", "forced_open", "disabled"}

// String returns "closed", "open", "half_open", "forced_open" or "disabled".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState parses the String form of a State.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("breaker: unknown state %q (want one of closed, open, half_open, forced_open, disabled)", s)
}

// Rejecting reports whether the state rejects calls (open or forced open).
func (s State) Rejecting() bool { return s == Open || s == ForcedOpen }

// MarshalText encodes the state as its String form.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes the String form of a state.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Reason says why a breaker changed state.
type Reason string

// Reasons carried by events.
const (
	ReasonConsecutiveFailures Reason = "consecutive_failures" // closed → open
	ReasonFailureRate         Reason = "failure_rate"         // closed → open
	ReasonSlowCallRate        Reason = "slow_call_rate"       // closed → open
	ReasonTimeout             Reason = "timeout"              // open → half-open
	ReasonProbeSuccess        Reason = "probe_success"        // half-open → closed
	ReasonProbeFailure        Reason = "probe_failure"        // half-open → open
	ReasonProbeSlow           Reason = "probe_slow"           // half-open → open: a slow trial, slow-call rule on
	ReasonHalfOpenTimeout     Reason = "half_open_timeout"    // half-open → open: a trial never reported
	ReasonForced              Reason = "forced"               // → forced open
	ReasonReleased            Reason = "released"             // forced open → closed
	ReasonReset               Reason = "reset"                // → closed, counts cleared
	ReasonDisabled            Reason = "disabled"             // → disabled
	ReasonAdded               Reason = "added"                // a registry gained the breaker (From == To)
	ReasonRemoved             Reason = "removed"              // a registry lost the breaker (From == To)
)

// Tripped reports whether the reason is a trip rule firing or a failed probe,
// that is, the breaker opened by itself.
func (r Reason) Tripped() bool {
	switch r {
	case ReasonConsecutiveFailures, ReasonFailureRate, ReasonSlowCallRate, ReasonProbeFailure,
		ReasonProbeSlow, ReasonHalfOpenTimeout:
		return true
	}
	return false
}

// Event is one state transition of a breaker. Registry membership changes
// are events too, with From == To and reason added or removed.
type Event struct {
	Breaker string    `json:"breaker"`
	From    State     `json:"from"`
	To      State     `json:"to"`
	At      time.Time `json:"at"`
	Reason  Reason    `json:"reason"`
}

// Subscription receives events on C. Sends never block the breaker: when
// C's buffer is full the event is dropped and counted (Dropped). Close it
// when done; Close is idempotent.
type Subscription = fanout.Subscription[Event]

// DefaultSubscriptionBuffer is the buffer of a subscription asked for with a
// size ≤ 0.
const DefaultSubscriptionBuffer = fanout.DefaultBuffer
