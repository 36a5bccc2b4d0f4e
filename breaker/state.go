package breaker

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
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
	case ReasonConsecutiveFailures, ReasonFailureRate, ReasonSlowCallRate, ReasonProbeFailure:
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

// Subscription receives events on C. Sends never block the breaker: when C's
// buffer is full the event is dropped and counted. Close it when done.
type Subscription struct {
	// C delivers the events. It is never closed by the sender; stop reading
	// after Close.
	C <-chan Event

	ch      chan Event
	hub     *hub
	dropped atomic.Uint64
	closed  atomic.Bool
}

// Dropped returns how many events were lost because C was full.
func (s *Subscription) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery to the subscription. It is idempotent and safe for
// concurrent use; events already buffered in C stay readable.
func (s *Subscription) Close() {
	if s.closed.CompareAndSwap(false, true) {
		s.hub.remove(s)
	}
}

func (s *Subscription) deliver(ev Event) {
	if s.closed.Load() {
		return
	}
	select {
	case s.ch <- ev:
	default:
		s.dropped.Add(1)
	}
}

// hub fans events out to subscriptions; the list is copy-on-write so that
// publishing takes no lock.
type hub struct {
	mu   sync.Mutex                      // serialises writers of subs
	subs atomic.Pointer[[]*Subscription] // read without a lock
}

// DefaultSubscriptionBuffer is the buffer of a subscription asked for with a
// size ≤ 0.
const DefaultSubscriptionBuffer = 256

func (h *hub) subscribe(buffer int) *Subscription {
	if buffer <= 0 {
		buffer = DefaultSubscriptionBuffer
	}
	ch := make(chan Event, buffer)
	s := &Subscription{C: ch, ch: ch, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	var next []*Subscription
	if cur := h.subs.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, s)
	h.subs.Store(&next)
	return s
}

func (h *hub) remove(s *Subscription) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.subs.Load()
	if cur == nil {
		return
	}
	next := make([]*Subscription, 0, len(*cur))
	for _, x := range *cur {
		if x != s {
			next = append(next, x)
		}
	}
	h.subs.Store(&next)
}

func (h *hub) publish(ev Event) {
	if h == nil {
		return
	}
	if subs := h.subs.Load(); subs != nil {
		for _, s := range *subs {
			s.deliver(ev)
		}
	}
}
