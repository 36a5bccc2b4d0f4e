package fanout

import (
	"sync"
	"sync/atomic"
)

// DefaultBuffer is the buffer of a subscription asked for with a size ≤ 0.
const DefaultBuffer = 256

// Subscription receives events on C. Sends never block the publisher: when
// C's buffer is full the event is dropped and counted. Close it when done.
type Subscription[E any] struct {
	// C delivers the events. It is never closed by the sender; stop reading
	// after Close.
	C <-chan E

	ch      chan E
	hub     *Hub[E]
	dropped atomic.Uint64
	closed  atomic.Bool
}

// Dropped returns how many events were lost because C was full.
func (s *Subscription[E]) Dropped() uint64 { return s.dropped.Load() }

// Close stops delivery to the subscription. It is idempotent and safe for
// concurrent use; events already buffered in C stay readable.
func (s *Subscription[E]) Close() {
	if s.closed.CompareAndSwap(false, true) {
		s.hub.remove(s)
	}
}

func (s *Subscription[E]) deliver(ev E) {
	if s.closed.Load() {
		return
	}
	select {
	case s.ch <- ev:
	default:
		s.dropped.Add(1)
	}
}

// Hub fans events out to subscriptions. Its zero value is ready to use.
// Publish takes no lock: the subscription list is copy-on-write.
type Hub[E any] struct {
	mu   sync.Mutex                         // serialises writers of subs
	subs atomic.Pointer[[]*Subscription[E]] // read without a lock
}

// Subscribe adds a subscription buffered to buffer events (≤ 0 means
// DefaultBuffer).
func (h *Hub[E]) Subscribe(buffer int) *Subscription[E] {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	ch := make(chan E, buffer)
	s := &Subscription[E]{C: ch, ch: ch, hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	var next []*Subscription[E]
	if cur := h.subs.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, s)
	h.subs.Store(&next)
	return s
}

func (h *Hub[E]) remove(s *Subscription[E]) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cur := h.subs.Load()
	if cur == nil {
		return
	}
	next := make([]*Subscription[E], 0, len(*cur))
	for _, x := range *cur {
		if x != s {
			next = append(next, x)
		}
	}
	h.subs.Store(&next)
}

// Publish offers ev to every subscription without blocking. A nil *Hub
// publishes nothing.
func (h *Hub[E]) Publish(ev E) {
	if h == nil {
		return
	}
	if subs := h.subs.Load(); subs != nil {
		for _, s := range *subs {
			s.deliver(ev)
		}
	}
}

// Len returns the number of open subscriptions.
func (h *Hub[E]) Len() int {
	if subs := h.subs.Load(); subs != nil {
		return len(*subs)
	}
	return 0
}
