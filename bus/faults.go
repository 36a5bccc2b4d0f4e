package bus

import (
	"context"
	"slices"
	"sync/atomic"
	"time"

	"github.com/antifragile-go/antifragile/chaos"
	"github.com/antifragile-go/antifragile/metering"
)

// MessageInjector is the part of a chaos engine that acts on the messages
// themselves rather than on calls: *chaos.Engine implements it. When
// Config.Chaos implements it too, the bus asks it about every message to a
// local agent (sent, published, or arrived from another process) and
// applies what it says (see chaos.MessageTypes):
//
//   - wrong_hash: the message's constitutional hash is replaced before the
//     bus's hash check, which refuses it (counted in HashMismatches and
//     metered as a rejected constitutional_validation event);
//   - crash: the handler does not run; the delivery fails with
//     chaos.ErrCrashed, counted by the agent's breaker and metered as
//     injected;
//   - poison: the delivery waits the poison's delay before the handler
//     runs (holding a published message's mailbox that long);
//   - duplicate: the handler runs a second time, metered as a delivery of
//     its own;
//   - corrupt_reply: the reply's payload is garbled (a string reversed and
//     altered, bytes flipped, a number negated, anything else nil) and
//     returned as if the handler had said so — the bus cannot tell; only
//     the sender's checks can;
//   - reorder: a published message lets the next one in its mailbox be
//     delivered first.
//
// Each is counted in Metrics.MessageFaults.
type MessageInjector interface {
	Message(target string) chaos.MessageFault
}

// WrongHash is the constitutional hash a wrong_hash fault stamps on a
// message.
const WrongHash = "0000000000000000"

// MessageFaultMetrics count what message faults did (see MessageInjector).
type MessageFaultMetrics struct {
	WrongHash      uint64 `json:"wrong_hash"`
	Crashed        uint64 `json:"crashed"`
	Poisoned       uint64 `json:"poisoned"`
	Duplicated     uint64 `json:"duplicated"`
	CorruptReplies uint64 `json:"corrupt_replies"`
	Reordered      uint64 `json:"reordered"`
}

type faultCounters struct {
	wrongHash, crashed, poisoned, duplicated, corrupted, reordered atomic.Uint64
}

func (c *faultCounters) metrics() MessageFaultMetrics {
	return MessageFaultMetrics{WrongHash: c.wrongHash.Load(), Crashed: c.crashed.Load(), Poisoned: c.poisoned.Load(),
		Duplicated: c.duplicated.Load(), CorruptReplies: c.corrupted.Load(), Reordered: c.reordered.Load()}
}

// tamper asks the chaos engine about msg, to a local agent, and keeps what
// it says on msg; a wrong hash it stamps at once, for the caller's hash
// check to refuse. It costs one call with nothing active.
func (b *Bus) tamper(msg *Message) {
	if b.msgChaos == nil {
		return
	}
	f := b.msgChaos.Message(msg.To)
	if !f.Any() {
		return
	}
	if f.WrongHash {
		b.faults.wrongHash.Add(1)
		msg.ConstitutionalHash = WrongHash
	}
	hit := new(chaos.MessageFault) // allocated only for a message hit: f itself stays on the stack
	*hit = f
	msg.fault = hit
}

// callFaulty runs a's handler on msg under its message faults f (not nil):
// a crash instead of it, a poison before it, a duplicate and a corrupted
// reply after it.
func (b *Bus) callFaulty(ctx context.Context, a *agent, msg *Message, f *chaos.MessageFault) (Reply, error) {
	if f.Crash {
		b.faults.crashed.Add(1)
		return Reply{}, chaos.ErrCrashed
	}
	if f.Poison > 0 {
		b.faults.poisoned.Add(1)
		t := time.NewTimer(f.Poison)
		select {
		case <-ctx.Done():
			t.Stop()
			return Reply{}, ctx.Err()
		case <-t.C:
		}
	}
	reply, err := b.call(ctx, a, msg)
	if f.Duplicate {
		b.faults.duplicated.Add(1)
		start := time.Now()
		again, err2 := b.call(ctx, a, msg)
		outcome := metering.OutcomeOK
		if err2 != nil {
			outcome = metering.OutcomeError
		}
		b.account(a, msg, outcome, time.Since(start), again.Tokens, nil)
	}
	if f.CorruptReply && err == nil {
		b.faults.corrupted.Add(1)
		reply.Payload = Corrupt(reply.Payload)
	}
	return reply, err
}

// Corrupt returns v garbled the way a corrupt_reply fault garbles a reply:
// a string reversed with its first character changed, a byte slice copied
// with every bit flipped, a number negated and moved by one, a bool
// negated; anything else nil. It never returns v itself.
func Corrupt(v any) any {
	switch x := v.(type) {
	case string:
		r := []rune(x)
		slices.Reverse(r)
		if len(r) == 0 {
			return "\x00"
		}
		r[0] ^= 1
		return string(r)
	case []byte:
		out := make([]byte, len(x))
		for i, c := range x {
			out[i] = ^c
		}
		if len(out) == 0 {
			out = []byte{0}
		}
		return out
	case float64:
		return -x - 1
	case int:
		return -x - 1
	case int64:
		return -x - 1
	case bool:
		return !x
	}
	return nil
}

// reorder delivers the message queued after msg, if there is one already,
// before msg (a reorder fault). It reports whether it did.
func (b *Bus) reorder(ctx context.Context, a *agent, msg *Message) {
	select {
	case next := <-a.mailbox:
		b.faults.reordered.Add(1)
		b.dispatchQueued(ctx, a, &next)
	default:
	}
	b.dispatchQueued(ctx, a, msg)
}
