package chaos

import (
	"sync"
	"sync/atomic"
	"time"
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
const DefaultSubscriptionBuffer = 256

// Subscription receives events on C. Sends never block the engine: when C's
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
	if subs := h.subs.Load(); subs != nil {
		for _, s := range *subs {
			s.deliver(ev)
		}
	}
}
