package chaos

import (
	"time"

	"github.com/antifragile-go/antifragile/internal/fanout"
)

// EventKind says whether an Event starts or ends a scenario.
type EventKind string

// Event kinds.
const (
	EventStarted EventKind = "started"
	EventEnded   EventKind = "ended"
)

// Reason says why a scenario started or ended.
type Reason string

// Reasons carried by events.
const (
	ReasonInjected      Reason = "injected"       // started by Inject
	ReasonExpired       Reason = "expired"        // its duration ended
	ReasonDeactivated   Reason = "deactivated"    // Deactivate, With or chaostest ended it
	ReasonReplaced      Reason = "replaced"       // a scenario with the same name was injected
	ReasonEmergencyStop Reason = "emergency_stop" // EmergencyStop
	ReasonStopCondition Reason = "stop_condition" // a stop condition held
	ReasonClosed        Reason = "closed"         // the engine was closed
	ReasonUnwatched     Reason = "unwatched"      // Run returned, so its stop conditions went unwatched
	ReasonLimits        Reason = "limits"         // Reconfigure lowered a limit it held more than
)

// Event is a scenario starting or ending.
type Event struct {
	Scenario string    `json:"scenario"`
	Type     Type      `json:"type"`
	Target   string    `json:"target"`
	Kind     EventKind `json:"kind"`
	Reason   Reason    `json:"reason"`
	At       time.Time `json:"at"`
}

// DefaultSubscriptionBuffer is the buffer of a subscription asked for with a
// size ≤ 0.
const DefaultSubscriptionBuffer = fanout.DefaultBuffer

// Subscription receives events on C. Sends never block the engine: when C's
// buffer is full the event is dropped and counted (Dropped). Close it when
// done; Close is idempotent.
type Subscription = fanout.Subscription[Event]
