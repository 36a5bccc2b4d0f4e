package backoff

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Strategy says how the delay before a retry grows with the attempt number.
// Its zero value is Exponential. In text and JSON it is one of the strings
// "exponential_backoff", "linear_backoff", "immediate", "manual" and
// "learned".
type Strategy uint8

const (
	// Exponential waits initial·multiplier^(n−1) before attempt n, capped
	// at the maximum delay.
	Exponential Strategy = iota
	// Linear waits initial·n before attempt n, capped at the maximum delay.
	Linear
	// Immediate retries without waiting.
	Immediate
	// Manual never retries by itself: Delay reports ok == false.
	Manual
	// Learned aims each attempt at a time learned from past outages (see
	// LadderDelay); the history lives with its user (the recovery
	// orchestrator). Delay has no history, so it answers for Learned what
	// it answers for Exponential: the schedule learning falls back to.
	Learned
)

var strategyNames = [...]string{"exponential_backoff", "linear_backoff", "immediate", "manual", "learned"}

// ErrUnknownStrategy is matched (errors.Is) by the errors of Parse,
// UnmarshalText and MarshalText for a strategy that is not one of the five.
var ErrUnknownStrategy = errors.New("backoff: unknown strategy")

// String returns "exponential_backoff", "linear_backoff", "immediate",
// "manual" or "learned", and "strategy(N)" for an unknown value.
func (s Strategy) String() string {
	if s.Valid() {
		return strategyNames[s]
	}
	return fmt.Sprintf("strategy(%d)", uint8(s))
}

// Valid reports whether s is one of the five strategies.
func (s Strategy) Valid() bool { return int(s) < len(strategyNames) }

// Parse returns the strategy whose String form is s. Anything else is an
// error matching ErrUnknownStrategy that lists the accepted names.
func Parse(s string) (Strategy, error) {
	for i, n := range strategyNames {
		if n == s {
			return Strategy(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q (want one of exponential_backoff, linear_backoff, immediate, manual, learned)", ErrUnknownStrategy, s)
}

// MarshalText encodes s as its String form; an unknown value is an error.
func (s Strategy) MarshalText() ([]byte, error) {
	if !s.Valid() {
		return nil, fmt.Errorf("%w: %d", ErrUnknownStrategy, uint8(s))
	}
	return []byte(strategyNames[s]), nil
}

// UnmarshalText decodes the String form of a strategy.
func (s *Strategy) UnmarshalText(b []byte) error {
	v, err := Parse(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Delay returns how long to wait before attempt number attempt (counting
// from 1) under strategy s, and ok == false when the strategy never retries
// by itself (Manual, or an unknown strategy).
//
//   - Exponential (and Learned, which has no history here): initial·multiplier^(attempt−1)
//   - Linear: initial·attempt
//   - Immediate: 0
//
// Both growing delays are capped at maxDelay; maxDelay ≤ 0 means no cap (the delay
// saturates at the largest time.Duration instead of overflowing). Delay
// applies no defaults: attempt < 1 counts as 1, a negative initial as 0 and a
// multiplier below 1 (or NaN) as 1. It is pure, safe for concurrent use and
// allocates nothing.
func Delay(s Strategy, attempt int, initial, maxDelay time.Duration, multiplier float64) (time.Duration, bool) {
	if attempt < 1 {
		attempt = 1
	}
	if initial < 0 {
		initial = 0
	}
	limit := maxDelay
	if limit <= 0 {
		limit = math.MaxInt64
	}
	switch s {
	case Exponential, Learned:
		if attempt == 1 {
			return min(initial, limit), true
		}
		if !(multiplier >= 1) { // also catches NaN
			multiplier = 1
		}
		d := float64(initial) * math.Pow(multiplier, float64(attempt-1))
		if d >= float64(limit) { // also catches +Inf
			return limit, true
		}
		return time.Duration(d), true
	case Linear:
		if initial != 0 && int64(attempt) > int64(limit)/int64(initial) {
			return limit, true
		}
		return min(initial*time.Duration(attempt), limit), true
	case Immediate:
		return 0, true
	}
	return 0, false
}

// Jitter spreads d uniformly over [d·(1−fraction), d·(1+fraction)] using r.
// fraction is clamped to [0, 1]; a nil r or a zero fraction returns d
// unchanged. r is not safe for concurrent use, so neither is a call that
// shares it with another goroutine.
func Jitter(d time.Duration, fraction float64, r *rand.Rand) time.Duration {
	if r == nil || !(fraction > 0) || d <= 0 {
		return d
	}
	fraction = min(fraction, 1)
	j := float64(d) * (1 + fraction*(2*r.Float64()-1))
	if j >= float64(math.MaxInt64) {
		return math.MaxInt64
	}
	return max(time.Duration(j), 0)
}

// Schedule bundles the parameters of Delay with a jitter fraction. Its zero
// value is an exponential schedule whose delays are all 0; Schedule applies
// no defaults (see Delay).
type Schedule struct {
	// Strategy selects how the delay grows.
	Strategy Strategy
	// Initial is the delay before the first attempt (exponential, linear).
	Initial time.Duration
	// Max caps every delay, jitter included; ≤ 0 means no cap.
	Max time.Duration
	// Multiplier is the growth factor of the exponential strategy; below 1
	// counts as 1.
	Multiplier float64
	// Jitter is the fraction by which a delay is spread up or down, within
	// [0, 1]; 0 means none.
	Jitter float64
}

// Delay returns the delay before attempt (counting from 1) like the package
// function Delay, then spreads it by s.Jitter using r (nil means no jitter)
// and caps the result at s.Max. ok is false for Manual. It is safe for
// concurrent use only if r is not shared.
func (s Schedule) Delay(attempt int, r *rand.Rand) (time.Duration, bool) {
	d, ok := Delay(s.Strategy, attempt, s.Initial, s.Max, s.Multiplier)
	if !ok {
		return 0, false
	}
	d = Jitter(d, s.Jitter, r)
	if s.Max > 0 && d > s.Max {
		d = s.Max
	}
	return d, true
}

// LadderDelay returns the wait before attempt number attempt (counting from
// 1) of a schedule that aims each attempt at a point in time measured from
// the start of an outage: attempt n at targets[n−1], and past the last
// target at targets[len−1]·multiplier^k for the k-th attempt beyond it
// (a multiplier below 1, or NaN, counts as 1). elapsed is the time since
// the start; the wait is the time left to the target, clamped to
// [minDelay, maxDelay] — so an attempt that comes late (the previous one
// ran long) waits at least minDelay, and none waits past maxDelay (≤ 0
// means no cap). Empty targets fall back to Delay(Exponential, attempt,
// minDelay, maxDelay, multiplier). Negative targets or elapsed count as 0.
//
// LadderDelay is pure, safe for concurrent use and allocates nothing; it
// costs what Delay costs (at most one math.Pow).
func LadderDelay(attempt int, elapsed time.Duration, targets []time.Duration, multiplier float64, minDelay, maxDelay time.Duration) time.Duration {
	if len(targets) == 0 {
		d, _ := Delay(Exponential, attempt, minDelay, maxDelay, multiplier)
		return d
	}
	if attempt < 1 {
		attempt = 1
	}
	minDelay = max(minDelay, 0)
	limit := maxDelay
	if limit <= 0 {
		limit = math.MaxInt64
	}
	minDelay = min(minDelay, limit)
	var target float64
	if attempt <= len(targets) {
		target = float64(max(targets[attempt-1], 0))
	} else {
		if !(multiplier >= 1) {
			multiplier = 1
		}
		target = float64(max(targets[len(targets)-1], 0)) * math.Pow(multiplier, float64(attempt-len(targets)))
	}
	wait := target - float64(max(elapsed, 0))
	switch {
	case wait <= float64(minDelay):
		return minDelay
	case wait >= float64(limit): // also catches +Inf
		return limit
	}
	return time.Duration(wait)
}
