package chaos

import (
	"math/rand/v2"
	"time"
)

// MessageFault is what the message faults active on a target do to one
// message (see Engine.Message). The zero value does nothing.
type MessageFault struct {
	// CorruptReply: garble the handler's reply.
	CorruptReply bool
	// Duplicate: deliver the message a second time.
	Duplicate bool
	// Reorder: let the next published message overtake this one.
	Reorder bool
	// WrongHash: stamp the message with a wrong constitutional hash.
	WrongHash bool
	// Poison is how much longer handling the message takes.
	Poison time.Duration
	// Crash: fail the message with ErrCrashed without running the handler.
	Crash bool
	// Scenarios names the scenarios that hit the message, in activation
	// order; nil when none did.
	Scenarios []string
}

// Any reports whether f does anything.
func (f MessageFault) Any() bool { return len(f.Scenarios) > 0 }

// Message returns what the active message faults (see MessageTypes) do to
// one message to target: each scenario admitting target draws
// independently with its Share, from the seeded source when Config.Seed is
// set. With nothing active it is one atomic load and returns the zero
// MessageFault; otherwise it allocates only the Scenarios of a message hit.
// Metrics counts each hit in MessageFaults. It never blocks on I/O.
func (e *Engine) Message(target string) MessageFault {
	e.seen.note(target)
	if e.idx.Load() == nil {
		return MessageFault{}
	}
	return e.message(target)
}

func (e *Engine) message(target string) MessageFault {
	f, _ := e.lookup(target)
	var out MessageFault
	if f == nil || len(f.msgs) == 0 {
		return out
	}
	if e.seeded {
		e.rngMu.Lock()
		defer e.rngMu.Unlock()
	}
	for _, m := range f.msgs {
		if m.share < 1 && !e.roll(m.share) {
			continue
		}
		switch m.kind {
		case TypeCorruptReply:
			out.CorruptReply = true
		case TypeDuplicate:
			out.Duplicate = true
		case TypeReorder:
			out.Reorder = true
		case TypeWrongHash:
			out.WrongHash = true
		case TypePoison:
			out.Poison = max(out.Poison, m.delay)
		case TypeCrash:
			out.Crash = true
		}
		out.Scenarios = append(out.Scenarios, m.name)
		e.messageFaults.Add(1)
	}
	return out
}

// roll draws true with probability p: from the seeded source (its lock
// held by the caller) when the engine is seeded.
func (e *Engine) roll(p float64) bool {
	if e.seeded {
		return e.rng.Float64() < p
	}
	return rand.Float64() < p
}
