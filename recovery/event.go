package recovery

import (
	"time"

	"github.com/antifragile-go/antifragile/internal/fanout"
)

// Event is one step of a service's recovery. State says which:
//
//   - scheduled: the task was created, updated, resumed or is waiting to
//     retry (Detail then holds the failed attempt's error)
//   - in_progress: an attempt started
//   - succeeded, failed, cancelled: the task left the active set (Detail
//     says "breaker closed by itself" when no attempt was needed)
//   - awaiting_manual: it waits for an operator (Detail says why)
//   - idle: an operator resolved it
//
// Detail is empty when there is nothing to add.
type Event struct {
	Service string    `json:"service"`
	State   State     `json:"state"`
	Attempt int       `json:"attempt"` // attempts made so far
	At      time.Time `json:"at"`
	Detail  string    `json:"detail,omitempty"`
}

// DefaultSubscriptionBuffer is the buffer of a subscription asked for with a
// size ≤ 0.
const DefaultSubscriptionBuffer = fanout.DefaultBuffer

// Subscription receives events on C, in the order they happened. The
// orchestrator never waits on it: when C's buffer is full the event is
// dropped and counted (Dropped). Close it when done; Close is idempotent.
type Subscription = fanout.Subscription[Event]
