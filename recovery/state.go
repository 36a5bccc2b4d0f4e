package recovery

import (
	"fmt"

	"github.com/antifragile-go/antifragile"
	"github.com/antifragile-go/antifragile/backoff"
)

// ValidationError reports an invalid Config or Policy field. It is the
// toolkit-wide antifragile.ValidationError; errors.Is(err,
// antifragile.ErrInvalid) holds.
type ValidationError = antifragile.ValidationError

// Strategy says when a failed recovery attempt is retried. It is
// backoff.Strategy; its zero value is ExponentialBackoff and its text form is
// one of "exponential_backoff", "linear_backoff", "immediate", "manual",
// "learned".
type Strategy = backoff.Strategy

// The five strategies. The first attempt of a task waits the delay of attempt
// 1 (the initial delay for the growing strategies, nothing for Immediate and
// Manual); a failed attempt n waits the delay of attempt n+1.
const (
	// ExponentialBackoff waits InitialDelay·BackoffMultiplier^(n−1) before
	// attempt n, capped at MaxDelay: 1 s, 2 s, 4 s … with the defaults.
	ExponentialBackoff = backoff.Exponential
	// LinearBackoff waits InitialDelay·n before attempt n, capped at MaxDelay.
	LinearBackoff = backoff.Linear
	// Immediate retries without waiting.
	Immediate = backoff.Immediate
	// Manual makes one attempt at once; a failure waits for an operator
	// (Resume or Resolve) in state AwaitingManual.
	Manual = backoff.Manual
	// Learned aims the attempts at times learned from the service's past
	// outages (see LearnLevels), within the policy's InitialDelay,
	// MaxDelay and MaxRetryAttempts, and uses the policy's Fallback while
	// the service has fewer than Config.LearnMinOutages healed outages.
	// It is opt-in: nothing learns unless a policy or Schedule asks.
	Learned = backoff.Learned
)

// ParseStrategy parses the text form of a Strategy (backoff.Parse).
func ParseStrategy(s string) (Strategy, error) { return backoff.Parse(s) }

// State is where a service's recovery stands. Its text form (JSON included)
// is one of the strings listed with the constants.
type State uint8

const (
	// Idle: no recovery is tracked ("idle"); a resolved task ends here.
	Idle State = iota
	// Scheduled: waiting for its next attempt ("scheduled").
	Scheduled
	// InProgress: an attempt is running ("in_progress").
	InProgress
	// Succeeded: the service recovered and left the active set ("succeeded").
	Succeeded
	// Failed: every attempt failed and the task left the active set ("failed").
	Failed
	// Cancelled: Cancel removed the task ("cancelled").
	Cancelled
	// AwaitingManual: kept until an operator calls Resume or Resolve
	// ("awaiting_manual").
	AwaitingManual
)

var stateNames = [...]string{"idle", "scheduled", "in_progress", "succeeded", "failed", "cancelled", "awaiting_manual"}

// String returns the state's text form, or "state(N)" for an unknown value.
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// ParseState parses the text form of a State.
func ParseState(s string) (State, error) {
	for i, n := range stateNames {
		if n == s {
			return State(i), nil
		}
	}
	return 0, fmt.Errorf("recovery: unknown state %q (want one of idle, scheduled, in_progress, succeeded, failed, cancelled, awaiting_manual)", s)
}

// MarshalText encodes the state as its text form; an unknown value is an
// error.
func (s State) MarshalText() ([]byte, error) {
	if int(s) >= len(stateNames) {
		return nil, fmt.Errorf("recovery: unknown state %d", uint8(s))
	}
	return []byte(stateNames[s]), nil
}

// UnmarshalText decodes the text form of a state.
func (s *State) UnmarshalText(b []byte) error {
	v, err := ParseState(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Terminal reports whether the state ends a task: succeeded, failed,
// cancelled or idle.
func (s State) Terminal() bool {
	switch s {
	case Idle, Succeeded, Failed, Cancelled:
		return true
	}
	return false
}
